//! Joining a room as a member: the route check, the room's format, rate limits, token
//! rejoin, the credential (a v2 fingerprint or a v3 proof over the connection's nonce),
//! creating rooms and adding members. Applying (a v3 join with `apply`) is in
//! [`super::admission`]; the deadlines of sockets that are no members are here.

use super::*;
use crate::app::access::{self, Nonce};
use crate::app::authority::Owner;
use crate::app::join_request::{JoinKind, JoinRequest};

/// What a member join presents to be let in.
enum Credential {
    /// v2: the canonical JSON of its fingerprint.
    Fingerprint(String),
    /// v3: a proof of the room's access key over the connection's nonce.
    Proof {
        access: Option<[u8; 32]>,
        owner: Option<[u8; 32]>,
        proof: [u8; 32],
        nonce: Option<Nonce>,
    },
}

/// A member join, checked.
struct Entry {
    session: String,
    route: String,
    token: Option<String>,
    inbox: bool,
    /// The v2 display name; v3 members have none.
    name: Option<String>,
    invite: Option<String>,
    credential: Option<Credential>,
}

impl ShareThings {
    pub(super) fn join(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        args: Vec<Value>,
    ) -> Result<Value, Failure> {
        // Any join uses the connection's nonce up, whatever becomes of it: a proof is good for
        // one try.
        let nonce = self.challenges.take(socket);
        let object = payload::object(args)?;
        let request = JoinRequest::parse(&object)?;
        let route = route_key(&request.session);
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
        let existing = match self.rooms.named(&request.session) {
            Some(room) => Some(room),
            None => self.revive(io, &request.session, &route)?,
        };
        if let Some(room) = existing.and_then(|r| self.rooms.room(r)) {
            same_format(room.format(), request.kind.format())?;
        }
        let JoinRequest {
            session,
            token,
            inbox,
            kind,
        } = request;
        let (name, invite, credential) = match kind {
            JoinKind::Apply => return self.apply(io, socket, &session, existing),
            JoinKind::V2 {
                client_name,
                fingerprint,
                invite,
            } => (
                Some(client_name),
                invite,
                fingerprint.map(Credential::Fingerprint),
            ),
            JoinKind::V3 {
                access,
                owner,
                proof,
            } => (
                None,
                None,
                proof.map(|proof| Credential::Proof {
                    access,
                    owner,
                    proof,
                    nonce,
                }),
            ),
        };
        let entry = Entry {
            session,
            route,
            token,
            inbox,
            name,
            invite,
            credential,
        };
        self.join_member(io, socket, existing, entry)
    }

    fn join_member(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        existing: Option<Handle>,
        entry: Entry,
    ) -> Result<Value, Failure> {
        let now = io.now();
        let address = io.remote(socket);
        // One session per connection: a repeated join to the same room answers as the first
        // did; only the fingerprint or a proof renews the token.
        if let Some(member) = self.rooms.member_on(socket) {
            let in_room = self.rooms.member(member).map(|m| m.room);
            if in_room.is_some() && in_room == existing {
                let verified = match (existing, &entry.credential) {
                    (Some(room), Some(credential)) => self.verifies(room, credential),
                    _ => false,
                };
                if verified {
                    self.renew_token(member, now);
                }
                return self.joined_ack(member, false);
            }
            self.remove_member(io, member, "left");
            self.arm_join_deadline(io, socket);
        }
        // An applicant stays one while it proves itself, unless it joins another room.
        if self
            .applicants
            .get(socket)
            .is_some_and(|a| Some(a.room) != existing)
        {
            self.drop_applicant(io, socket);
            self.arm_join_deadline(io, socket);
        }
        // A valid token rejoins whatever the rate limits say: they are there against
        // guessing, and a token is no guess (revoked ones are refused here).
        let claims = entry
            .token
            .as_deref()
            .and_then(|t| self.keys.verify(t, self.now_ms(now)));
        if let (Some(room), Some(claims)) = (existing, claims.as_ref()) {
            let valid = self
                .rooms
                .room(room)
                .is_some_and(|r| r.nonce == claims.room_nonce && r.revoked.accepts(claims));
            if valid {
                return self.rejoin(io, socket, room, claims, entry.name);
            }
        }
        if let Some(wait) = address.and_then(|a| self.limits.address_blocked(a, now)) {
            return Err(rate_limited(wait));
        }
        let Some(credential) = &entry.credential else {
            return Err(missing_credential(&entry));
        };
        if let Credential::Proof { nonce: None, .. } = credential {
            return Err(Failure::invalid("ask for a challenge before joining"));
        }
        let (room, created) = match existing {
            Some(room) => {
                // The room's limit is there against passphrase guesses, so a room's name alone
                // must not be a lever to keep its devices out: an invite from a member (v2) or a
                // proof of the room key (v3, 256 bits, no guess) skips it; the address's limit
                // still applies, and their failures still count.
                let skips_room_limit = matches!(credential, Credential::Proof { .. })
                    || self.invited(room, entry.invite.as_deref(), now);
                if !skips_room_limit {
                    if let Some(wait) = self.limits.room_blocked(room, address, now) {
                        return Err(rate_limited(wait));
                    }
                }
                if !self.verifies(room, credential) {
                    let mut failure = refused(credential, &entry.route);
                    failure.failed_joins = self.limits.record_failure(io, address, room, now);
                    return Err(failure);
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
                let (gate, owner) = self.gate_for(&entry.session, credential)?;
                let room =
                    self.create_room(io, entry.session.clone(), entry.route.clone(), gate)?;
                if let Some(r) = self.rooms.room_mut(room) {
                    r.owner = owner;
                }
                if entry.inbox {
                    self.open_inbox(room);
                }
                if let Some(address) = address {
                    self.creations.record(address, now);
                }
                (room, true)
            }
        };
        let member = self.add_member(io, socket, room, None, entry.name)?;
        self.renew_token(member, now);
        // Debug, not info: one line per join is a write on the join's critical path (5 % of a
        // join's CPU in docs/bench.md) and a wake-up of whatever reads the log.
        log::debug!(
            "member joined session {} ({} members)",
            entry.route,
            self.rooms.room(room).map_or(0, Room::size)
        );
        self.joined_ack(member, created)
    }

    /// Whether `credential` lets its holder into `room` (a fingerprint as keyed hashes, a
    /// proof as HMACs, both compared in constant time).
    fn verifies(&self, room: Handle, credential: &Credential) -> bool {
        let Some(r) = self.rooms.room(room) else {
            return false;
        };
        match (&r.gate, credential) {
            (Gate::Fingerprint { verifier }, Credential::Fingerprint(fingerprint)) => {
                tokens::constant_time_eq(verifier, &self.keys.verifier(fingerprint))
            }
            (
                Gate::AccessKey(key),
                Credential::Proof {
                    proof,
                    nonce: Some(nonce),
                    ..
                },
            ) => access::proof_verifies(key, &r.name, nonce, proof),
            _ => false,
        }
    }

    /// The gate of a room a join creates: the fingerprint's keyed hash (v2), or the access key
    /// the join proves it holds (v3), with the creator's device key that governs its inbox.
    fn gate_for(
        &self,
        session: &str,
        credential: &Credential,
    ) -> Result<(Gate, Option<Owner>), Failure> {
        let (access, owner, proof, nonce) = match credential {
            Credential::Fingerprint(fingerprint) => {
                let verifier = self.keys.verifier(fingerprint);
                return Ok((Gate::Fingerprint { verifier }, None));
            }
            Credential::Proof {
                access,
                owner,
                proof,
                nonce,
            } => (access, owner, proof, nonce),
        };
        let Some(access) = access else {
            return Err(Failure::invalid("access is required to create a session"));
        };
        let Some(owner) = owner else {
            return Err(Failure::invalid("owner is required to create a session"));
        };
        let Some(owner) = Owner::new(*owner) else {
            return Err(Failure::invalid("owner must be an Ed25519 public key"));
        };
        match nonce {
            Some(nonce) if access::proof_verifies(access, session, nonce, proof) => {
                Ok((Gate::AccessKey(*access), Some(owner)))
            }
            _ => Err(Failure::new(
                Code::AccessDenied,
                "the proof does not match the access key",
            )),
        }
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
        gate: Gate,
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
        let mut room = Room::new(name, route.clone(), nonce, gate, io.now());
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
    /// admits its members (either format), its incarnation (so its tokens work) and its
    /// revocations, empty, expiring as any empty room does. The join then goes on as for any
    /// existing room.
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
        let Some(record) = self.inboxes.dormant_record(key) else {
            return Ok(None);
        };
        let (gate, owner) = (record.admission.gate(), record.owner.and_then(Owner::new));
        let room = self.create_room(io, name.to_string(), route.to_string(), gate)?;
        let now = io.now();
        let now_ms = self.now_ms(now);
        let revived = self.inboxes.revive(key, room);
        let expires = now + self.config.room_timeout;
        let expiry = io.set_timer(expires, AppTimer::RoomExpiry(room)).ok();
        if let (Some(r), Some(revived)) = (self.rooms.room_mut(room), revived) {
            r.nonce = revived.record.nonce;
            r.owner = owner;
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
        name: Option<String>,
    ) -> Result<Value, Failure> {
        let Some(member) = self.rooms.find(room, &claims.client_id) else {
            // The grace passed: come back as the same clientId, announced again.
            let member = self.add_member(io, socket, room, Some(claims.client_id.clone()), name)?;
            self.keep_token_expiry(member, claims);
            return self.joined_ack(member, false);
        };
        let Some(m) = self.rooms.member_mut(member) else {
            return Err(Failure::new(Code::NotJoined, "member vanished"));
        };
        if let Some(grace) = m.grace.take() {
            io.cancel_timer(grace);
        }
        m.name = name;
        if self.applicants.get(socket).is_some() {
            self.drop_applicant(io, socket);
        }
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
        name: Option<String>,
    ) -> Result<Handle, Failure> {
        if self.rooms.room(room).map_or(0, Room::size) >= self.config.max_members {
            return Err(Failure::new(Code::SessionFull, "this session is full"));
        }
        let Some(client_id) = client_id.or_else(|| io.socket_id(socket).map(str::to_string)) else {
            return Err(Failure::new(Code::NotJoined, "connection closed"));
        };
        // An applicant that proved the room key is a member now: the members see it stop
        // applying, then join, under the same id. Its guesses were right, and count no more.
        if let Some(applicant) = self.applicants.get(socket) {
            if let Some(guesses) = applicant.guesses().filter(|_| applicant.room == room) {
                self.limits.take_back(io.remote(socket), room, guesses);
            }
            self.drop_applicant(io, socket);
        }
        let announce = Outgoing::event(
            "/",
            "client-joined",
            vec![member_event(
                self.rooms.room(room).map_or("", |r| r.name.as_str()),
                &client_id,
                name.as_deref(),
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
        let timeout = self.config.join_timeout;
        self.arm_deadline(io, socket, timeout, AppTimer::JoinDeadline(socket));
    }

    /// Sets the socket's one deadline as a non-member (its join or applicant deadline),
    /// replacing the one it had; closes it at once if the deadline cannot be kept.
    pub(super) fn arm_deadline(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        after: Duration,
        key: AppTimer,
    ) {
        match io.set_timer(io.now() + after, key) {
            Ok(timer) => {
                if let Some(old) = self.deadlines.insert(socket, timer) {
                    io.cancel_timer(old);
                }
            }
            Err(_) => io.close_client(socket),
        }
    }

    /// The socket became a member: its join (or applicant) deadline is over.
    fn joined(&mut self, io: &mut Io<'_, AppTimer>, socket: SocketId) {
        if let Some(timer) = self.deadlines.remove(&socket) {
            io.cancel_timer(timer);
        }
    }

    /// The socket is gone: so is its deadline.
    pub(super) fn forget_deadline(&mut self, io: &mut Io<'_, AppTimer>, socket: SocketId) {
        self.joined(io, socket);
    }

    /// A socket's join deadline passed: closed, unless it became a member or an applicant
    /// meanwhile.
    pub(super) fn join_deadline_passed(&mut self, io: &mut Io<'_, AppTimer>, socket: SocketId) {
        self.deadlines.remove(&socket);
        if self.rooms.member_on(socket).is_none() && self.applicants.get(socket).is_none() {
            log::debug!("closing a connection that joined no session in time");
            io.close_client(socket);
        }
    }
}

/// A join in one format to a room of the other: each is told what to do.
fn same_format(room: Format, join: Format) -> Result<(), Failure> {
    match (room, join) {
        (Format::V2, Format::V3) => Err(Failure::new(
            Code::LegacySession,
            "this session uses format 2: join it with the passphrase's fingerprint",
        )),
        (Format::V3, Format::V2) => Err(Failure::new(
            Code::NewerSession,
            "this session needs a newer ShareThings",
        )),
        _ => Ok(()),
    }
}

fn missing_credential(entry: &Entry) -> Failure {
    let what = if entry.name.is_some() {
        "fingerprint"
    } else {
        "proof"
    };
    Failure::invalid(if entry.token.is_some() {
        format!("token expired or invalid, and no {what} given")
    } else {
        format!("{what} is required")
    })
}

/// The refusal of a credential that does not verify, logged by the session's routing key.
fn refused(credential: &Credential, route: &str) -> Failure {
    match credential {
        Credential::Fingerprint(_) => {
            log::info!("join refused for session {route}: wrong passphrase");
            Failure::new(Code::InvalidPassphrase, "wrong passphrase for this session")
        }
        Credential::Proof { .. } => {
            log::info!("join refused for session {route}: wrong access proof");
            Failure::new(
                Code::AccessDenied,
                "this device's key does not open this session",
            )
        }
    }
}
