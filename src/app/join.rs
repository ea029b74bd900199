//! Joining a room: the route check, rate limits, token rejoin, passphrase verification,
//! creating rooms and adding members, and the join ack.

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
        let existing = self.rooms_by_name.get(&name).copied();
        // One session per connection: a repeated join to the same room answers as the first
        // did; only the fingerprint renews the token.
        if let Some(&member) = self.member_of.get(&socket) {
            let same_room = self
                .members
                .get(member)
                .and_then(|m| self.rooms.get(m.room))
                .is_some_and(|r| r.name == name);
            if same_room {
                let verified = fingerprint.as_ref().is_some_and(|f| {
                    let verifier = self.keys.verifier(f);
                    existing
                        .and_then(|r| self.rooms.get(r))
                        .is_some_and(|r| tokens::constant_time_eq(&r.verifier, &verifier))
                });
                if verified {
                    self.renew_token(member, now);
                }
                return self.joined_ack(member, false);
            }
            self.remove_member(io, member, "left");
        }
        // A valid token rejoins whatever the rate limits say: they are there against
        // guessing, and a token is no guess (revoked ones are refused in `rejoin`).
        let claims = token.and_then(|t| self.keys.verify(t, self.now_ms(now)));
        if let (Some(room), Some(claims)) = (existing, claims.as_ref()) {
            let valid = self
                .rooms
                .get(room)
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
        let verifier = self.keys.verifier(&fingerprint);
        let (room, created) = match existing {
            Some(room) => {
                // An invite from a member skips the room's limit (not the address's): the
                // room's name alone must not be a lever to keep the household's devices out.
                let invited = invite
                    .and_then(|i| self.keys.verify_invite(i, self.now_ms(now)))
                    .is_some_and(|nonce| self.rooms.get(room).is_some_and(|r| r.nonce == nonce));
                if !invited {
                    if let Some(wait) = self.limits.room_blocked(room, address, now) {
                        return Err(rate_limited(wait));
                    }
                }
                let matches = self
                    .rooms
                    .get(room)
                    .is_some_and(|r| tokens::constant_time_eq(&r.verifier, &verifier));
                if !matches {
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
            self.room_size(room)
        );
        self.joined_ack(member, created)
    }

    /// Creates a room. When every slot is taken, the room that has been empty longest gives
    /// way, so rooms created and abandoned cannot lock new ones out for `SESSION_TIMEOUT`;
    /// rooms whose inbox keeps items for absent devices give way only after every other
    /// empty one; `server_full` only when every room has members.
    pub(super) fn create_room(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        name: String,
        route: String,
        verifier: [u8; 32],
    ) -> Result<Handle, Failure> {
        if self.rooms.is_full() {
            let longest_empty = self
                .rooms
                .iter()
                .filter_map(|(handle, r)| {
                    let since = r.empty_since?;
                    Some(((self.inboxes.holds_items(handle), since), handle))
                })
                .min_by_key(|(order, _)| *order)
                .map(|(_, handle)| handle);
            if let Some(room) = longest_empty {
                if let Some(timer) = self.rooms.get_mut(room).and_then(|r| r.expiry.take()) {
                    io.cancel_timer(timer);
                }
                self.expire_room(io, room);
            }
        }
        let nonce = u64::from_le_bytes(random_key()[..8].try_into().unwrap_or([0; 8]));
        let room = Room {
            name: name.clone(),
            route: route.clone(),
            nonce,
            verifier,
            members: Vec::new(),
            expiry: None,
            empty_since: Some(io.now()),
            tokens_issued: 0,
            revoked: revocations::Revocations::default(),
        };
        let Ok(handle) = self.rooms.try_insert(room) else {
            return Err(Failure::new(
                Code::ServerFull,
                "the server has no room for another session",
            ));
        };
        self.rooms_by_name.insert(name, handle);
        log::info!("session {route} created");
        Ok(handle)
    }

    pub(super) fn rejoin(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        room: Handle,
        claims: &TokenClaims,
        client_name: String,
    ) -> Result<Value, Failure> {
        let current = self.rooms.get(room).and_then(|r| {
            r.members.iter().copied().find(|m| {
                self.members
                    .get(*m)
                    .is_some_and(|m| m.client_id == claims.client_id)
            })
        });
        let Some(member) = current else {
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
        let Some(m) = self.members.get_mut(member) else {
            return Err(Failure::new(Code::NotJoined, "member vanished"));
        };
        if let Some(grace) = m.grace.take() {
            io.cancel_timer(grace);
        }
        let old = m.socket.replace(socket);
        m.name = client_name;
        self.member_of.insert(socket, member);
        self.joined(io, socket);
        if let Some(old) = old.filter(|old| *old != socket) {
            self.member_of.remove(&old);
            let failure = Failure::new(
                Code::Replaced,
                "this member rejoined from another connection",
            );
            io.emit(old, "error", vec![failure.event_body()], Vec::new());
        }
        if let Some(r) = self.rooms.get(room) {
            log::debug!("member rejoined session {} with its token", r.route);
        }
        self.keep_token_expiry(member, claims);
        self.joined_ack(member, false)
    }

    pub(super) fn add_member(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        room: Handle,
        client_id: Option<String>,
        name: String,
    ) -> Result<Handle, Failure> {
        if self.room_size(room) >= self.config.max_members {
            return Err(Failure::new(Code::SessionFull, "this session is full"));
        }
        let Some(client_id) = client_id.or_else(|| io.socket_id(socket).map(str::to_string)) else {
            return Err(Failure::new(Code::NotJoined, "connection closed"));
        };
        let member = Member {
            room,
            client_id: client_id.clone(),
            name: name.clone(),
            socket: Some(socket),
            grace: None,
            token_expires_ms: 0,
            token_issue: 0,
        };
        let Ok(handle) = self.members.try_insert(member) else {
            return Err(Failure::new(
                Code::ServerFull,
                "the server has no room for another member",
            ));
        };
        let announce = Outgoing::event(
            "/",
            "client-joined",
            vec![member_event(
                self.rooms.get(room).map_or("", |r| r.name.as_str()),
                &client_id,
                &name,
            )],
            Vec::new(),
        );
        self.announce(io, room, &announce, Some(socket));
        if let Some(r) = self.rooms.get_mut(room) {
            r.members.push(handle);
            r.empty_since = None;
            if let Some(expiry) = r.expiry.take() {
                io.cancel_timer(expiry);
            }
        }
        self.member_of.insert(socket, handle);
        self.joined(io, socket);
        self.publish();
        Ok(handle)
    }

    pub(super) fn room_size(&self, room: Handle) -> usize {
        self.rooms.get(room).map_or(0, |r| r.members.len())
    }

    /// A join with the fingerprint: the member's token lives a full lifetime from now.
    fn renew_token(&mut self, member: Handle, now: Instant) {
        let expires = self
            .now_ms(now)
            .saturating_add(TOKEN_LIFETIME.as_millis() as u64);
        if let Some(m) = self.members.get_mut(member) {
            m.token_expires_ms = expires;
        }
    }

    /// A token rejoin: the new token expires when the one it came with did.
    fn keep_token_expiry(&mut self, member: Handle, claims: &TokenClaims) {
        if let Some(m) = self.members.get_mut(member) {
            m.token_expires_ms = claims.expires_ms;
        }
    }

    /// `invite`: an invite to the member's room for another device, valid for a token's
    /// lifetime (and as long as the room lives). Joins that carry it skip the room's limit on
    /// failed joins; their failures still count against their own address.
    pub(super) fn invite(
        &self,
        io: &Io<'_, AppTimer>,
        socket: SocketId,
        object: &Object,
    ) -> Result<Value, Failure> {
        let (_, room) = self.sender(socket, object)?;
        let nonce = self
            .rooms
            .get(room)
            .map(|r| r.nonce)
            .ok_or_else(|| Failure::new(Code::NotJoined, "session vanished"))?;
        let lifetime = u64::try_from(TOKEN_LIFETIME.as_millis()).unwrap_or(u64::MAX);
        let expires_ms = self.now_ms(io.now()).saturating_add(lifetime);
        let mut ack = Object::new();
        ack.insert("success".into(), Value::Bool(true));
        ack.insert(
            "invite".into(),
            Value::String(self.keys.sign_invite(nonce, expires_ms)),
        );
        ack.insert(
            "expiresInMs".into(),
            Value::Number(miniserde::json::Number::U64(lifetime)),
        );
        Ok(Value::Object(ack))
    }

    /// The ack of a successful join, with a fresh token for the member.
    pub(super) fn joined_ack(&mut self, member: Handle, created: bool) -> Result<Value, Failure> {
        let (room, client_id, expires_ms) = self
            .members
            .get(member)
            .map(|m| (m.room, m.client_id.clone(), m.token_expires_ms))
            .ok_or_else(|| Failure::new(Code::NotJoined, "member vanished"))?;
        let r = self
            .rooms
            .get_mut(room)
            .ok_or_else(|| Failure::new(Code::NotJoined, "session vanished"))?;
        let issue = r.tokens_issued;
        r.tokens_issued += 1;
        let token = self.keys.sign(&TokenClaims {
            room_nonce: r.nonce,
            client_id,
            expires_ms,
            issue,
        });
        if let Some(m) = self.members.get_mut(member) {
            m.token_issue = issue;
        }
        let (Some(m), Some(room)) = (self.members.get(member), self.rooms.get(room)) else {
            return Err(Failure::new(Code::NotJoined, "member vanished"));
        };
        let mut clients = Array::new();
        for other in room.members.iter().filter_map(|h| self.members.get(*h)) {
            let mut c = Object::new();
            c.insert("id".into(), Value::String(other.client_id.clone()));
            c.insert("name".into(), Value::String(other.name.clone()));
            clients.push(Value::Object(c));
        }
        let mut ack = Object::new();
        ack.insert("success".into(), Value::Bool(true));
        ack.insert("token".into(), Value::String(token));
        ack.insert("clientId".into(), Value::String(m.client_id.clone()));
        ack.insert("clients".into(), Value::Array(clients));
        ack.insert("created".into(), Value::Bool(created));
        if let Some(terms) = self.inbox_terms(m.room) {
            ack.insert("inbox".into(), terms);
        }
        Ok(Value::Object(ack))
    }
}
