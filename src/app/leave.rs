//! Leaving a room: removing members (announced to the others and to the room's applicants),
//! revoking the tokens of those that left on purpose, and rooms expiring once empty.

use super::*;

impl ShareThings {
    /// Removes a member now: the others get `client-left`; an empty room starts expiring.
    pub(super) fn remove_member(&mut self, io: &mut Io<'_, AppTimer>, member: Handle, why: &str) {
        let now = io.now();
        let Some(m) = self.rooms.remove_member(member, now) else {
            return;
        };
        if let Some(grace) = m.grace {
            io.cancel_timer(grace);
        }
        let session_timeout = self.config.room_timeout;
        let Some(room) = self.rooms.room_mut(m.room) else {
            return;
        };
        let left = Outgoing::event(
            "/",
            "client-left",
            vec![member_event(&room.name, &m.client_id, m.name.as_deref())],
            Vec::new(),
        );
        log::debug!(
            "member {why} session {} ({} members)",
            room.route,
            room.size()
        );
        if room.is_empty() && room.expiry.is_none() {
            room.expiry = io
                .set_timer(now + session_timeout, AppTimer::RoomExpiry(m.room))
                .ok();
        }
        self.announce(io, m.room, &left, None);
        self.publish();
    }

    /// Tells the connected members of `room` (but `except`) about a change of membership, and
    /// its applicants, who wait for a member to come online.
    pub(super) fn announce(
        &self,
        io: &mut Io<'_, AppTimer>,
        room: Handle,
        packet: &Outgoing,
        except: Option<SocketId>,
    ) {
        let applicants = self.applicants.of_room(room).map(|(socket, _)| socket);
        for socket in self
            .rooms
            .sockets(room)
            .chain(applicants)
            .filter(|s| Some(*s) != except)
        {
            io.send(socket, packet);
        }
    }

    /// The member's tokens stop rejoining (it left on purpose), after a restart too when the
    /// room's inbox is on disk.
    pub(super) fn revoke_token(&mut self, io: &mut Io<'_, AppTimer>, member: Handle) {
        let now_ms = self.now_ms(io.now());
        let Some(m) = self.rooms.member(member) else {
            return;
        };
        let (room, client_id, issue, expires) = (
            m.room,
            m.client_id.clone(),
            m.token_issue,
            m.token_expires_ms,
        );
        if let Some(r) = self.rooms.room_mut(room) {
            r.revoked.revoke(&client_id, issue, expires, now_ms);
        }
        let revocation = Revocation {
            client_id,
            last_issue: issue,
            expires_ms: expires,
        };
        self.inbox_revoked(io, room, &revocation);
    }

    /// An empty room's time is up: it goes, with its inbox and its rate-limit window. Its
    /// applicants are closed: no member can admit them any more, and applying again tells them
    /// the session is gone.
    pub(super) fn expire_room(&mut self, io: &mut Io<'_, AppTimer>, room: Handle) {
        if !self.rooms.room(room).is_some_and(Room::is_empty) {
            return;
        }
        let applicants: Vec<SocketId> = self.applicants.of_room(room).map(|(s, _)| s).collect();
        for socket in applicants {
            self.applicants.remove(socket);
            self.forget_deadline(io, socket);
            io.close_client(socket);
        }
        self.close_inbox(io, room);
        if let Some(r) = self.rooms.remove_empty(room) {
            self.limits.forget_room(room);
            log::info!("session {} expired", r.route);
        }
        self.publish();
    }
}
