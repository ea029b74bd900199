//! The rooms ("sessions" in the UI) and their members: which rooms exist under which name, who
//! is in each, on which socket. The one owner of that state. No I/O and no clock of its own:
//! the application passes `now`, arms the deadlines and records their ids here.

use std::collections::HashMap;
use std::time::Instant;

use crate::socketio::SocketId;
use crate::util::arena::{Arena, Full, Handle};
use crate::util::timer::TimerId;

use super::authority::Owner;
use super::revocations::Revocations;

/// What lets a device in as a member, fixed when the room is created: the room's format for
/// its life (docs/protocol.md, "Legacy sessions").
pub(super) enum Gate {
    /// Format 2: a keyed hash of the fingerprint the creating join gave.
    Fingerprint { verifier: [u8; 32] },
    /// Format 3: the room's access key; a member proves it over a nonce of the server's.
    AccessKey([u8; 32]),
}

/// A room's format, and the format a join asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    V2,
    V3,
}

impl Gate {
    pub(super) fn format(&self) -> Format {
        match self {
            Gate::Fingerprint { .. } => Format::V2,
            Gate::AccessKey(_) => Format::V3,
        }
    }
}

pub(super) struct Room {
    pub(super) name: String,
    /// Logged instead of the name.
    pub(super) route: String,
    /// Changes with every incarnation of a name, so old tokens die with the room.
    pub(super) nonce: u64,
    pub(super) gate: Gate,
    /// Members, in the order they joined.
    members: Vec<Handle>,
    pub(super) expiry: Option<TimerId>,
    /// Since when the room has had no member (`None` while it has one). When the arena is
    /// full, the room empty longest gives way to a new one.
    pub(super) empty_since: Option<Instant>,
    /// Tokens issued for this room so far (each token carries its number).
    pub(super) tokens_issued: u64,
    /// The tokens of members that left with `leave`: they no longer rejoin.
    pub(super) revoked: Revocations,
    /// Format 3: the creator's device key, which alone clears the inbox unless it lets
    /// everyone. `None` in a v2 room, where any member may.
    pub(super) owner: Option<Owner>,
}

impl Room {
    /// A room with no member yet, empty since `now`.
    pub(super) fn new(name: String, route: String, nonce: u64, gate: Gate, now: Instant) -> Room {
        Room {
            name,
            route,
            nonce,
            gate,
            members: Vec::new(),
            expiry: None,
            empty_since: Some(now),
            tokens_issued: 0,
            revoked: Revocations::default(),
            owner: None,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub(super) fn size(&self) -> usize {
        self.members.len()
    }

    pub(super) fn format(&self) -> Format {
        self.gate.format()
    }
}

pub(super) struct Member {
    pub(super) room: Handle,
    pub(super) client_id: String,
    /// Its display name in a v2 room; v3 members have none (their names travel sealed).
    pub(super) name: Option<String>,
    /// Its connection; `None` while it is lost and waits for a rejoin.
    socket: Option<SocketId>,
    pub(super) grace: Option<TimerId>,
    /// When the member's token expires: set by a join with the fingerprint, kept by a token
    /// rejoin (a token never renews itself).
    pub(super) token_expires_ms: u64,
    /// The issue number of the last token the member was given.
    pub(super) token_issue: u64,
}

impl Member {
    pub(super) fn new(room: Handle, client_id: String, name: Option<String>) -> Member {
        Member {
            room,
            client_id,
            name,
            socket: None,
            grace: None,
            token_expires_ms: 0,
            token_issue: 0,
        }
    }

    pub(super) fn socket(&self) -> Option<SocketId> {
        self.socket
    }
}

pub(super) struct Rooms {
    rooms: Arena<Room>,
    by_name: HashMap<String, Handle>,
    members: Arena<Member>,
    by_socket: HashMap<SocketId, Handle>,
}

impl Rooms {
    pub(super) fn new(max_rooms: usize, max_members: usize) -> Rooms {
        Rooms {
            rooms: Arena::with_capacity(max_rooms),
            by_name: HashMap::with_capacity(max_rooms),
            members: Arena::with_capacity(max_members),
            by_socket: HashMap::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.rooms.len()
    }

    pub(super) fn member_count(&self) -> usize {
        self.members.len()
    }

    pub(super) fn is_full(&self) -> bool {
        self.rooms.is_full()
    }

    pub(super) fn named(&self, name: &str) -> Option<Handle> {
        self.by_name.get(name).copied()
    }

    pub(super) fn room(&self, room: Handle) -> Option<&Room> {
        self.rooms.get(room)
    }

    pub(super) fn room_mut(&mut self, room: Handle) -> Option<&mut Room> {
        self.rooms.get_mut(room)
    }

    /// The empty room that gives way first to a new one when the arena is full: rooms for
    /// which `keeps_items` says yes (their inbox holds items) after every other, then the one
    /// empty longest.
    pub(super) fn longest_empty(&self, keeps_items: impl Fn(Handle) -> bool) -> Option<Handle> {
        self.rooms
            .iter()
            .filter_map(|(handle, r)| Some(((keeps_items(handle), r.empty_since?), handle)))
            .min_by_key(|(order, _)| *order)
            .map(|(_, handle)| handle)
    }

    pub(super) fn create(&mut self, room: Room) -> Result<Handle, Full> {
        let name = room.name.clone();
        let handle = self.rooms.try_insert(room)?;
        self.by_name.insert(name, handle);
        Ok(handle)
    }

    /// Removes a room that has no member; `None` (and nothing removed) otherwise.
    pub(super) fn remove_empty(&mut self, room: Handle) -> Option<Room> {
        if !self.rooms.get(room)?.is_empty() {
            return None;
        }
        let removed = self.rooms.remove(room)?;
        self.by_name.remove(&removed.name);
        Some(removed)
    }

    pub(super) fn member(&self, member: Handle) -> Option<&Member> {
        self.members.get(member)
    }

    pub(super) fn member_mut(&mut self, member: Handle) -> Option<&mut Member> {
        self.members.get_mut(member)
    }

    /// The member a socket is, if it is one.
    pub(super) fn member_on(&self, socket: SocketId) -> Option<Handle> {
        self.by_socket.get(&socket).copied()
    }

    /// The member of `room` with this client id.
    pub(super) fn find(&self, room: Handle, client_id: &str) -> Option<Handle> {
        self.rooms.get(room)?.members.iter().copied().find(|h| {
            self.members
                .get(*h)
                .is_some_and(|m| m.client_id == client_id)
        })
    }

    /// Adds a member on `socket` to its room; the room is no longer empty.
    pub(super) fn admit(&mut self, member: Member, socket: SocketId) -> Result<Handle, Full> {
        let room = member.room;
        let handle = self.members.try_insert(Member {
            socket: Some(socket),
            ..member
        })?;
        if let Some(r) = self.rooms.get_mut(room) {
            r.members.push(handle);
            r.empty_since = None;
        }
        self.by_socket.insert(socket, handle);
        Ok(handle)
    }

    /// Puts a member on `socket` (a rejoin); returns the socket it was on, if another.
    pub(super) fn attach(&mut self, member: Handle, socket: SocketId) -> Option<SocketId> {
        let m = self.members.get_mut(member)?;
        let old = m.socket.replace(socket).filter(|old| *old != socket);
        if let Some(old) = old {
            self.by_socket.remove(&old);
        }
        self.by_socket.insert(socket, member);
        old
    }

    /// The socket is gone: its member (if any) stays, on no socket, and is returned.
    pub(super) fn detach(&mut self, socket: SocketId) -> Option<Handle> {
        let member = self.by_socket.remove(&socket)?;
        if let Some(m) = self.members.get_mut(member) {
            m.socket = None;
        }
        Some(member)
    }

    /// Removes a member from its room; a room left without members is empty from `now`.
    pub(super) fn remove_member(&mut self, member: Handle, now: Instant) -> Option<Member> {
        let m = self.members.remove(member)?;
        if let Some(socket) = m.socket {
            self.by_socket.remove(&socket);
        }
        if let Some(room) = self.rooms.get_mut(m.room) {
            room.members.retain(|h| *h != member);
            if room.members.is_empty() {
                room.empty_since = Some(now);
            }
        }
        Some(m)
    }

    /// The members of `room`, in the order they joined.
    pub(super) fn members_of(&self, room: Handle) -> impl Iterator<Item = &Member> + '_ {
        self.rooms
            .get(room)
            .into_iter()
            .flat_map(|r| r.members.iter())
            .filter_map(|h| self.members.get(*h))
    }

    /// The sockets of `room`'s connected members.
    pub(super) fn sockets(&self, room: Handle) -> impl Iterator<Item = SocketId> + '_ {
        self.members_of(room).filter_map(Member::socket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(n: u64) -> SocketId {
        Handle::from_bits(n)
    }

    fn room(rooms: &mut Rooms, name: &str, at: Instant) -> Handle {
        rooms
            .create(Room::new(
                name.into(),
                "route".into(),
                1,
                Gate::AccessKey([0; 32]),
                at,
            ))
            .expect("room for it")
    }

    #[test]
    fn members_and_their_sockets_stay_in_step() {
        let t0 = Instant::now();
        let mut rooms = Rooms::new(4, 8);
        let r = room(&mut rooms, "r", t0);
        assert_eq!(rooms.named("r"), Some(r));
        let a = rooms
            .admit(Member::new(r, "a".into(), None), socket(1))
            .expect("admitted");
        let b = rooms
            .admit(Member::new(r, "b".into(), None), socket(2))
            .expect("admitted");
        assert_eq!(rooms.room(r).map(Room::size), Some(2));
        assert_eq!(rooms.room(r).and_then(|r| r.empty_since), None);
        assert_eq!(rooms.member_on(socket(2)), Some(b));
        assert_eq!(rooms.find(r, "a"), Some(a));
        assert_eq!(rooms.sockets(r).collect::<Vec<_>>(), [socket(1), socket(2)]);

        // B's connection is lost: B stays, on no socket; its rejoin takes a new one.
        assert_eq!(rooms.detach(socket(2)), Some(b));
        assert_eq!(rooms.member_on(socket(2)), None);
        assert_eq!(rooms.sockets(r).collect::<Vec<_>>(), [socket(1)]);
        assert_eq!(rooms.attach(b, socket(3)), None);
        // A rejoins from another connection while the first is open: the old one is let go.
        assert_eq!(rooms.attach(a, socket(4)), Some(socket(1)));
        assert_eq!(rooms.member_on(socket(1)), None);
        assert_eq!(rooms.member_on(socket(4)), Some(a));

        // Removing both empties the room from then on, and it can go.
        let later = t0 + std::time::Duration::from_secs(5);
        assert!(rooms.remove_empty(r).is_none(), "a room with members stays");
        rooms.remove_member(a, later);
        rooms.remove_member(b, later);
        assert_eq!(rooms.member_on(socket(3)), None);
        assert_eq!(rooms.room(r).and_then(|r| r.empty_since), Some(later));
        assert!(rooms.remove_empty(r).is_some());
        assert_eq!(rooms.named("r"), None);
        assert_eq!((rooms.len(), rooms.member_count()), (0, 0));
    }

    #[test]
    fn the_room_empty_longest_gives_way_first_and_rooms_keeping_items_last() {
        let t0 = Instant::now();
        let at = |s| t0 + std::time::Duration::from_secs(s);
        let mut rooms = Rooms::new(4, 8);
        let keeping = room(&mut rooms, "keeping", at(0));
        let older = room(&mut rooms, "older", at(1));
        let newer = room(&mut rooms, "newer", at(2));
        let busy = room(&mut rooms, "busy", at(0));
        rooms
            .admit(Member::new(busy, "m".into(), None), socket(1))
            .expect("admitted");
        assert!(rooms.is_full());
        let keeps = |h: Handle| h == keeping;
        assert_eq!(rooms.longest_empty(keeps), Some(older));
        rooms.remove_empty(older);
        assert_eq!(rooms.longest_empty(keeps), Some(newer));
        rooms.remove_empty(newer);
        assert_eq!(rooms.longest_empty(keeps), Some(keeping));
        rooms.remove_empty(keeping);
        assert_eq!(
            rooms.longest_empty(keeps),
            None,
            "a room with members never gives way"
        );
    }
}
