//! Leaving a room: removing members (announced to the others), and rooms expiring once empty.

use super::*;

impl ShareThings {
    /// Removes a member now: the others get `client-left`; an empty room starts expiring.
    pub(super) fn remove_member(&mut self, io: &mut Io<'_, AppTimer>, member: Handle, why: &str) {
        let Some(m) = self.members.remove(member) else {
            return;
        };
        if let Some(grace) = m.grace {
            io.cancel_timer(grace);
        }
        if let Some(socket) = m.socket {
            self.member_of.remove(&socket);
        }
        let now = io.now();
        let Some(room) = self.rooms.get_mut(m.room) else {
            return;
        };
        room.members.retain(|h| *h != member);
        let left = Outgoing::event(
            "/",
            "client-left",
            vec![member_event(&room.name, &m.client_id, &m.name)],
            Vec::new(),
        );
        log::debug!(
            "member {why} session {} ({} members)",
            room.route,
            room.members.len()
        );
        if room.members.is_empty() {
            room.empty_since = Some(now);
        }
        if room.members.is_empty() && room.expiry.is_none() {
            room.expiry = io
                .set_timer(
                    now + self.config.session_timeout,
                    AppTimer::RoomExpiry(m.room),
                )
                .ok();
        }
        self.announce(io, m.room, &left, None);
        self.publish();
    }

    /// Tells the connected members of `room` (but `except`) about a change of membership.
    pub(super) fn announce(
        &self,
        io: &mut Io<'_, AppTimer>,
        room: Handle,
        packet: &Outgoing,
        except: Option<SocketId>,
    ) {
        for socket in self.room_sockets(room).filter(|s| Some(*s) != except) {
            io.send(socket, packet);
        }
    }

    /// The member's tokens stop rejoining (it left on purpose).
    pub(super) fn revoke_token(&mut self, member: Handle, now: Instant) {
        let now_ms = self.now_ms(now);
        let Some(m) = self.members.get(member) else {
            return;
        };
        if let Some(room) = self.rooms.get_mut(m.room) {
            room.revoked
                .revoke(&m.client_id, m.token_issue, m.token_expires_ms, now_ms);
        }
    }

    /// A socket that is no member gets `JOIN_TIMEOUT` to become one (closed at once if the
    /// deadline cannot be kept).
    pub(super) fn arm_join_deadline(&mut self, io: &mut Io<'_, AppTimer>, socket: SocketId) {
        let deadline = io.now() + self.config.join_timeout;
        match io.set_timer(deadline, AppTimer::JoinDeadline(socket)) {
            Ok(timer) => {
                if let Some(old) = self.join_deadlines.insert(socket, timer) {
                    io.cancel_timer(old);
                }
            }
            Err(_) => io.close_client(socket),
        }
    }

    /// The socket became a member: its join deadline is over.
    pub(super) fn joined(&mut self, io: &mut Io<'_, AppTimer>, socket: SocketId) {
        if let Some(timer) = self.join_deadlines.remove(&socket) {
            io.cancel_timer(timer);
        }
    }

    pub(super) fn expire_room(&mut self, io: &mut Io<'_, AppTimer>, room: Handle) {
        let empty = self.rooms.get(room).is_some_and(|r| r.members.is_empty());
        if !empty {
            return;
        }
        self.close_inbox(io, room);
        if let Some(r) = self.rooms.remove(room) {
            self.rooms_by_name.remove(&r.name);
            self.limits.forget_room(room);
            log::info!("session {} expired", r.route);
        }
        self.publish();
    }
}
