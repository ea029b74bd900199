//! Joining a room: the route check, rate limits, token rejoin, passphrase verification,
//! creating rooms and adding members; and the deadline by which a connected socket must have
//! joined.

use super::*;

impl ShareThings {
    pub(super) fn join(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        args: Vec<Value>,
    ) -> Result<Value, Failure> {
        let object = payload::object(args)?;
        let name = payload::session_id(&object)?;
        let client_name = payload::client_name(&object)?;
        let fingerprint = payload::fingerprint(&object)?;
        let token = payload::optional_string(&object, "token")?;
        let invite = payload::optional_string(&object, "invite")?;
        let route = route_key(&name);
        if let Some(expected) = io
            .handshake_query(socket)
            .and_then(|q| query::query_param(q, "route"))
        {
            if expected != route {
                return Err(Failure::invalid(
                    "this connection was opened for another session",
                ));
            }
        }
        let now = io.now();
        let address = io.remote(socket);
        let existing = match self.rooms.named(&name) {
            Some(room) => Some(room),
            None => self.revive(io, &name, &route)?,
        };
        // One session per connection: a repeated join to the same room answers as the first
        // did; only the fingerprint renews the token.
        if let Some(member) = self.rooms.member_on(socket) {
            let in_room = self.rooms.member(member).map(|m| m.room);
            if in_room.is_some() && in_room == existing {
                let verified = fingerprint
                    .as_ref()
                    .is_some_and(|f| existing.is_some_and(|r| self.verifies(r, f)));
                if verified {
                    self.renew_token(member, now);
                }
                return self.joined_ack(member, false);
            }
            self.remove_member(io, member, "left");
        }
        // A valid token rejoins whatever the rate limits say: they are there against
        // guessing, and a token is no guess (revoked ones are refused here).
        let claims = token.and_then(|t| self.keys.verify(t, self.now_ms(now)));
        if let (Some(room), Some(claims)) = (existing, claims.as_ref()) {
            let valid = self
                .rooms
                .room(room)
                .is_some_and(|r| r.nonce == claims.room_nonce && r.revoked.accepts(claims));
            if valid {
                return self.rejoin(io, socket, room, claims, client_name);
            }
        }
        if let Some(wait) = address.and_then(|a| self.limits.address_blocked(a, now)) {
            return Err(rate_limited(wait));
        }
        let Some(fingerprint) = fingerprint else {
            return Err(Failure::invalid(if token.is_some() {
                "token expired or invalid, and no fingerprint given"
            } else {
                "fingerprint is required"
            }));
        };
        let (room, created) = match existing {
            Some(room) => {
                // An invite from a member skips the room's limit (not the address's): the
                // room's name alone must not be a lever to keep the household's devices out.
                if !self.invited(room, invite, now) {
                    if let Some(wait) = self.limits.room_blocked(room, address, now) {
                        return Err(rate_limited(wait));
                    }
                }
                if !self.verifies(room, &fingerprint) {
                    self.limits.record_failure(io, address, room, now);
                    log::info!("join refused for session {route}: wrong passphrase");
                    return Err(Failure::new(
                        Code::InvalidPassphrase,
                        "wrong passphrase for this session",
                    ));
                }
                (room, false)
            }
            None => {
                if let Some(wait) = address.and_then(|a| self.creations.blocked(a, now)) {
                    let mut failure = rate_limited(wait);
                    failure.message =
                        "too many sessions created from this address; try again later".into();
                    return Err(failure);
                }
                let verifier = self.keys.verifier(&fingerprint);
                let room = self.create_room(io, name, route.clone(), verifier)?;
                if matches!(object.get("inbox"), Some(Value::Bool(true))) {
                    self.open_inbox(room);
                }
                if let Some(address) = address {
                    self.creations.record(address, now);
                }
                (room, true)
            }
        };
        let member = self.add_member(io, socket, room, None, client_name)?;
        self.renew_token(member, now);
        // Debug, not info: one line per join is a write on the join's critical path (5 % of a
        // join's CPU in docs/bench.md) and a wake-up of whatever reads the log.
        log::debug!(
            "member joined session {route} ({} members)",
            self.rooms.room(room).map_or(0, Room::size)
        );
        self.joined_ack(member, created)
    }

    /// Whether `fingerprint` is the room's (compared as keyed hashes, in constant time).
    fn verifies(&self, room: Handle, fingerprint: &str) -> bool {
        let verifier = self.keys.verifier(fingerprint);
        self.rooms
            .room(room)
            .is_some_and(|r| tokens::constant_time_eq(&r.verifier, &verifier))
    }

    /// Creates a room. When every slot is taken, the room that has been empty longest gives
    /// way, so rooms created and abandoned cannot lock new ones out for `SESSION_TIMEOUT`;
    /// rooms whose inbox keeps items for absent devices give way only after every other
    /// empty one; `server_full` only when every room has members.
    fn create_room(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        name: String,
        route: String,
        verifier: [u8; 32],
    ) -> Result<Handle, Failure> {
        if self.rooms.is_full() {
            let inboxes = &self.inboxes;
            if let Some(room) = self.rooms.longest_empty(|h| inboxes.holds_items(h)) {
                if let Some(timer) = self.rooms.room_mut(room).and_then(|r| r.expiry.take()) {
                    io.cancel_timer(timer);
                }
                self.expire_room(io, room);
            }
        }
        let nonce = u64::from_le_bytes(random_key()[..8].try_into().unwrap_or([0; 8]));
        let mut room = Room::new(name, route.clone(), nonce, verifier, io.now());
        // Issue numbers only grow, across restarts too (a room on disk keeps its revocations,
        // which refuse tokens by number): a room's count starts at its clock, far above any
        // count an earlier incarnation of the process reached (1024 tokens a millisecond).
        room.tokens_issued = self.now_ms(io.now()).saturating_mul(1024);
        let Ok(handle) = self.rooms.create(room) else {
            return Err(Failure::new(
                Code::ServerFull,
                "the server has no room for another session",
            ));
        };
        log::info!("session {route} created");
        Ok(handle)
    }

    /// A room whose inbox waits on disk since the start, named again: it comes back with what
    /// admits its members, its incarnation (so its tokens work) and its revocations, empty,
    /// expiring as any empty room does. The join then goes on as for any existing room.
    fn revive(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        name: &str,
        route: &str,
    ) -> Result<Option<Handle>, Failure> {
        if !self.inboxes.is_on_disk() {
            return Ok(None);
        }
        let key = RoomKey(self.keys.room_file_key(name));
        let verifier = match self.inboxes.dormant_record(key).map(|r| &r.admission) {
            Some(Admission::Fingerprint(verifier)) => *verifier,
            Some(Admission::AccessKey(_)) | None => return Ok(None),
        };
        let room = self.create_room(io, name.to_string(), route.to_string(), verifier)?;
        let now = io.now();
        let now_ms = self.now_ms(now);
        let revived = self.inboxes.revive(key, room);
        let expires = now + self.config.room_timeout;
        let expiry = io.set_timer(expires, AppTimer::RoomExpiry(room)).ok();
        if let (Some(r), Some(revived)) = (self.rooms.room_mut(room), revived) {
            r.nonce = revived.record.nonce;
            r.expiry = expiry;
            for gone in revived.revoked {
                r.revoked
                    .revoke(&gone.client_id, gone.last_issue, gone.expires_ms, now_ms);
            }
        }
        self.arm_inbox(io, room);
        log::info!("session {route} is back, with its inbox from disk");
        Ok(Some(room))
    }

    fn rejoin(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        room: Handle,
        claims: &TokenClaims,
        client_name: String,
    ) -> Result<Value, Failure> {
        let Some(member) = self.rooms.find(room, &claims.client_id) else {
            // The grace passed: come back as the same clientId, announced again.
            let member = self.add_member(
                io,
                socket,
                room,
                Some(claims.client_id.clone()),
                client_name,
            )?;
            self.keep_token_expiry(member, claims);
            return self.joined_ack(member, false);
        };
        let Some(m) = self.rooms.member_mut(member) else {
            return Err(Failure::new(Code::NotJoined, "member vanished"));
        };
        if let Some(grace) = m.grace.take() {
            io.cancel_timer(grace);
        }
        m.name = client_name;
        if let Some(old) = self.rooms.attach(member, socket) {
            let failure = Failure::new(
                Code::Replaced,
                "this member rejoined from another connection",
            );
            io.emit(old, "error", vec![failure.event_body()], Vec::new());
        }
        self.joined(io, socket);
        if let Some(r) = self.rooms.room(room) {
            log::debug!("member rejoined session {} with its token", r.route);
        }
        self.keep_token_expiry(member, claims);
        self.joined_ack(member, false)
    }

    fn add_member(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        room: Handle,
        client_id: Option<String>,
        name: String,
    ) -> Result<Handle, Failure> {
        if self.rooms.room(room).map_or(0, Room::size) >= self.config.max_members {
            return Err(Failure::new(Code::SessionFull, "this session is full"));
        }
        let Some(client_id) = client_id.or_else(|| io.socket_id(socket).map(str::to_string)) else {
            return Err(Failure::new(Code::NotJoined, "connection closed"));
        };
        let announce = Outgoing::event(
            "/",
            "client-joined",
            vec![member_event(
                self.rooms.room(room).map_or("", |r| r.name.as_str()),
                &client_id,
                &name,
            )],
            Vec::new(),
        );
        let Ok(handle) = self.rooms.admit(Member::new(room, client_id, name), socket) else {
            return Err(Failure::new(
                Code::ServerFull,
                "the server has no room for another member",
            ));
        };
        self.announce(io, room, &announce, Some(socket));
        if let Some(expiry) = self.rooms.room_mut(room).and_then(|r| r.expiry.take()) {
            io.cancel_timer(expiry);
        }
        self.joined(io, socket);
        self.publish();
        Ok(handle)
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
    fn joined(&mut self, io: &mut Io<'_, AppTimer>, socket: SocketId) {
        if let Some(timer) = self.join_deadlines.remove(&socket) {
            io.cancel_timer(timer);
        }
    }

    /// The socket is gone: so is its join deadline.
    pub(super) fn forget_join_deadline(&mut self, io: &mut Io<'_, AppTimer>, socket: SocketId) {
        self.joined(io, socket);
    }

    /// A socket's join deadline passed: closed, unless it became a member meanwhile.
    pub(super) fn join_deadline_passed(&mut self, io: &mut Io<'_, AppTimer>, socket: SocketId) {
        self.join_deadlines.remove(&socket);
        if self.rooms.member_on(socket).is_none() {
            log::debug!("closing a connection that joined no session in time");
            io.close_client(socket);
        }
    }
}
