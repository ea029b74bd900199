//! ShareThings on Socket.IO: rooms ("sessions" in the UI), members, passphrase verification,
//! rejoin tokens, rate limits, expiry and the relay of opaque encrypted items.
//!
//! The server never sees a key or plaintext: it compares keyed hashes of fingerprints and
//! forwards ciphertext, encoded once and shared by every receiver. It never logs content,
//! fingerprints, tokens or session names (logs show a session's routing key instead).

mod limits;
mod payload;
mod tokens;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use miniserde::json::{Array, Object, Value};

use crate::metrics::{JoinRejection, Metrics};
use crate::socketio::{Application, DisconnectReason, IncomingEvent, Io, Outgoing, SocketId};
use crate::util::arena::{Arena, Handle};
use crate::util::timer::TimerId;
use crate::wire::query;

use self::limits::JoinLimits;
use self::payload::{Code, Failure};
pub use self::tokens::route_key;
use self::tokens::{Keys, TokenClaims};

/// How long a token stays valid at most (it also dies with its room).
const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// ShareThings settings.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub max_rooms: usize,
    pub max_members: usize,
    pub session_timeout: Duration,
    pub rejoin_grace: Duration,
    pub join_limit_per_address: u32,
    pub join_limit_per_session: u32,
    pub join_limit_window: Duration,
}

impl AppConfig {
    /// Deadlines the application may hold at once: room expiries, member graces and
    /// rate-limit windows.
    pub fn timers_needed(&self) -> usize {
        self.max_rooms + self.member_capacity() + limits::ADDRESS_CAPACITY
    }

    fn member_capacity(&self) -> usize {
        self.max_rooms.saturating_mul(self.max_members)
    }
}

struct Room {
    name: String,
    /// Logged instead of the name.
    route: String,
    /// Changes with every incarnation of a name, so old tokens die with the room.
    nonce: u64,
    verifier: [u8; 32],
    members: Vec<Handle>,
    expiry: Option<TimerId>,
}

struct Member {
    room: Handle,
    client_id: String,
    name: String,
    socket: Option<SocketId>,
    grace: Option<TimerId>,
}

/// What each of the application's deadlines is for. The handles are generation-checked, so a
/// deadline of a room or member that is gone finds nothing; every re-arm cancels the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppTimer {
    /// An empty room's `SESSION_TIMEOUT` passed.
    RoomExpiry(Handle),
    /// A lost member's `REJOIN_GRACE` passed.
    MemberGrace(Handle),
    /// A client address's failed-join window ended.
    AddressWindow(Handle),
}

pub struct ShareThings {
    config: AppConfig,
    keys: Keys,
    started: Instant,
    rooms: Arena<Room>,
    rooms_by_name: HashMap<String, Handle>,
    members: Arena<Member>,
    member_of: HashMap<SocketId, Handle>,
    limits: JoinLimits,
    metrics: Arc<Metrics>,
}

enum Relay {
    /// To every other member (or the one named by `to`).
    Others,
    /// To every member including the sender.
    Everyone,
}

impl ShareThings {
    pub fn new(
        config: AppConfig,
        key: [u8; 32],
        now: Instant,
        metrics: Arc<Metrics>,
    ) -> ShareThings {
        metrics
            .session_slots
            .store(config.max_rooms as u64, Ordering::Relaxed);
        metrics
            .member_slots
            .store(config.member_capacity() as u64, Ordering::Relaxed);
        ShareThings {
            rooms: Arena::with_capacity(config.max_rooms),
            rooms_by_name: HashMap::with_capacity(config.max_rooms),
            members: Arena::with_capacity(config.member_capacity()),
            member_of: HashMap::new(),
            limits: JoinLimits::new(
                config.join_limit_per_address,
                config.join_limit_per_session,
                config.join_limit_window,
            ),
            keys: Keys::new(key),
            started: now,
            metrics,
            config,
        }
    }

    fn publish(&self) {
        self.metrics
            .sessions
            .store(self.rooms.len() as u64, Ordering::Relaxed);
        self.metrics
            .members
            .store(self.members.len() as u64, Ordering::Relaxed);
    }

    fn now_ms(&self, now: Instant) -> u64 {
        u64::try_from(now.duration_since(self.started).as_millis()).unwrap_or(u64::MAX)
    }

    // ----- join ----------------------------------------------------------------------------

    fn join(
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
        if let Some(wait) = address.and_then(|a| self.limits.address_blocked(a, now)) {
            return Err(rate_limited(wait));
        }
        // One session per connection: a repeated join to the same room refreshes the token.
        if let Some(&member) = self.member_of.get(&socket) {
            let same_room = self
                .members
                .get(member)
                .and_then(|m| self.rooms.get(m.room))
                .is_some_and(|r| r.name == name);
            if same_room {
                return self.joined_ack(member, false, now);
            }
            self.remove_member(io, member, "left");
        }
        let existing = self.rooms_by_name.get(&name).copied();
        let claims = token.and_then(|t| self.keys.verify(t, self.now_ms(now)));
        if let (Some(room), Some(claims)) = (existing, claims.as_ref()) {
            if self
                .rooms
                .get(room)
                .is_some_and(|r| r.nonce == claims.room_nonce)
            {
                return self.rejoin(io, socket, room, claims, client_name, now);
            }
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
                if let Some(wait) = self.limits.room_blocked(room, now) {
                    return Err(rate_limited(wait));
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
            None => (self.create_room(name, route.clone(), verifier)?, true),
        };
        let member = self.add_member(io, socket, room, None, client_name)?;
        log::info!(
            "member joined session {route} ({} members)",
            self.room_size(room)
        );
        self.joined_ack(member, created, now)
    }

    fn create_room(
        &mut self,
        name: String,
        route: String,
        verifier: [u8; 32],
    ) -> Result<Handle, Failure> {
        let nonce = u64::from_le_bytes(random_key()[..8].try_into().unwrap_or([0; 8]));
        let room = Room {
            name: name.clone(),
            route: route.clone(),
            nonce,
            verifier,
            members: Vec::new(),
            expiry: None,
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

    fn rejoin(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        room: Handle,
        claims: &TokenClaims,
        client_name: String,
        now: Instant,
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
            return self.joined_ack(member, false, now);
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
        if let Some(old) = old.filter(|old| *old != socket) {
            self.member_of.remove(&old);
            let failure = Failure::new(
                Code::Replaced,
                "this member rejoined from another connection",
            );
            io.emit(old, "error", vec![failure.event_body()], Vec::new());
        }
        if let Some(r) = self.rooms.get(room) {
            log::info!("member rejoined session {} with its token", r.route);
        }
        self.joined_ack(member, false, now)
    }

    fn add_member(
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
            if let Some(expiry) = r.expiry.take() {
                io.cancel_timer(expiry);
            }
        }
        self.member_of.insert(socket, handle);
        self.publish();
        Ok(handle)
    }

    fn room_size(&self, room: Handle) -> usize {
        self.rooms.get(room).map_or(0, |r| r.members.len())
    }

    fn joined_ack(&self, member: Handle, created: bool, now: Instant) -> Result<Value, Failure> {
        let m = self
            .members
            .get(member)
            .ok_or_else(|| Failure::new(Code::NotJoined, "member vanished"))?;
        let room = self
            .rooms
            .get(m.room)
            .ok_or_else(|| Failure::new(Code::NotJoined, "session vanished"))?;
        let token = self.keys.sign(&TokenClaims {
            room_nonce: room.nonce,
            client_id: m.client_id.clone(),
            expires_ms: self
                .now_ms(now)
                .saturating_add(TOKEN_LIFETIME.as_millis() as u64),
        });
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
        Ok(Value::Object(ack))
    }

    // ----- leaving -------------------------------------------------------------------------

    /// Removes a member now: the others get `client-left`; an empty room starts expiring.
    fn remove_member(&mut self, io: &mut Io<'_, AppTimer>, member: Handle, why: &str) {
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
        log::info!(
            "member {why} session {} ({} members)",
            room.route,
            room.members.len()
        );
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
    fn announce(
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

    fn expire_room(&mut self, room: Handle) {
        let empty = self.rooms.get(room).is_some_and(|r| r.members.is_empty());
        if !empty {
            return;
        }
        if let Some(r) = self.rooms.remove(room) {
            self.rooms_by_name.remove(&r.name);
            self.limits.forget_room(room);
            log::info!("session {} expired", r.route);
        }
        self.publish();
    }

    // ----- relaying ------------------------------------------------------------------------

    /// Checks membership of the payload's `sessionId`; returns the member and its room.
    fn sender(&self, socket: SocketId, object: &Object) -> Result<(Handle, Handle), Failure> {
        let name = payload::session_id(object)?;
        let member = self.member_of.get(&socket).copied();
        let found = member.and_then(|h| self.members.get(h).map(|m| (h, m.room)));
        match found {
            Some((member, room)) if self.rooms.get(room).is_some_and(|r| r.name == name) => {
                Ok((member, room))
            }
            _ => Err(Failure::new(Code::NotJoined, "join this session first")),
        }
    }

    fn relay(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        out_event: &str,
        mut object: Object,
        attachments: Vec<Bytes>,
        to_whom: Relay,
    ) -> Result<(), Failure> {
        let (member, room) = self.sender(socket, &object)?;
        let target = match payload::optional_string(&object, "to")? {
            None => None,
            Some(to) => {
                let found = self.rooms.get(room).and_then(|r| {
                    r.members
                        .iter()
                        .copied()
                        .find(|h| self.members.get(*h).is_some_and(|m| m.client_id == to))
                });
                match found {
                    Some(h) => Some(h),
                    None => {
                        return Err(Failure::invalid(
                            "`to` does not name a member of this session",
                        ))
                    }
                }
            }
        };
        let from = self
            .members
            .get(member)
            .map(|m| m.client_id.clone())
            .unwrap_or_default();
        object.insert("from".into(), Value::String(from));
        let packet = Outgoing::event("/", out_event, vec![Value::Object(object)], attachments);
        let receivers: Vec<SocketId> = match (target, to_whom) {
            (Some(h), _) => self
                .members
                .get(h)
                .and_then(|m| m.socket)
                .into_iter()
                .collect(),
            (None, Relay::Everyone) => self.room_sockets(room).collect(),
            (None, Relay::Others) => self.room_sockets(room).filter(|s| *s != socket).collect(),
        };
        let sent = io.relay(socket, receivers, &packet);
        self.metrics
            .bytes_relayed
            .fetch_add((packet.len() * sent) as u64, Ordering::Relaxed);
        self.metrics.events_relayed.fetch_add(1, Ordering::Relaxed);
        log::trace!("relayed {out_event}");
        Ok(())
    }

    fn room_sockets(&self, room: Handle) -> impl Iterator<Item = SocketId> + '_ {
        self.rooms
            .get(room)
            .into_iter()
            .flat_map(|r| r.members.iter())
            .filter_map(|h| self.members.get(*h).and_then(|m| m.socket))
    }

    fn handle(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        kind: ClientEvent,
        event: IncomingEvent,
    ) -> Result<Value, Failure> {
        match kind {
            ClientEvent::Join => {
                let result = self.join(io, socket, event.args);
                if let Err(failure) = &result {
                    self.metrics.reject_join(rejection(failure.code));
                }
                result
            }
            ClientEvent::Leave => {
                let object = payload::object(event.args)?;
                let (member, _) = self.sender(socket, &object)?;
                self.remove_member(io, member, "left");
                Ok(success())
            }
            ClientEvent::Relayed(relayed) => {
                let object = payload::object(event.args)?;
                let (out_event, to_whom) = relayed.check(&object)?;
                self.relay(io, socket, out_event, object, event.attachments, to_whom)?;
                Ok(success())
            }
        }
    }
}

/// The events a client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientEvent {
    Join,
    Leave,
    Relayed(Relayed),
}

/// The events relayed to other members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relayed {
    Content,
    Chunk,
    RemoveContent,
    ClearAll,
}

impl ClientEvent {
    fn from_name(name: &str) -> Option<ClientEvent> {
        Some(match name {
            "join" => ClientEvent::Join,
            "leave" => ClientEvent::Leave,
            "content" => ClientEvent::Relayed(Relayed::Content),
            "chunk" => ClientEvent::Relayed(Relayed::Chunk),
            "remove-content" => ClientEvent::Relayed(Relayed::RemoveContent),
            "clear-all-content" => ClientEvent::Relayed(Relayed::ClearAll),
            _ => return None,
        })
    }
}

impl Relayed {
    /// Checks the payload's shape; says under which name and to whom it is relayed.
    fn check(self, object: &Object) -> Result<(&'static str, Relay), Failure> {
        match self {
            Relayed::Content => {
                payload::check_content(object)?;
                Ok(("content", Relay::Others))
            }
            Relayed::Chunk => {
                payload::check_chunk(object)?;
                Ok(("chunk", Relay::Others))
            }
            Relayed::RemoveContent => {
                payload::check_content_id(object)?;
                Ok(("content-removed", Relay::Others))
            }
            Relayed::ClearAll => Ok(("all-content-cleared", Relay::Everyone)),
        }
    }
}

impl Application for ShareThings {
    type Timer = AppTimer;

    fn on_connect(
        &mut self,
        _io: &mut Io<'_, AppTimer>,
        _socket: SocketId,
        _nsp: &str,
        _auth: Option<Value>,
    ) {
    }

    fn on_event(&mut self, io: &mut Io<'_, AppTimer>, socket: SocketId, event: IncomingEvent) {
        let ack = event.ack;
        let result = match ClientEvent::from_name(&event.name) {
            Some(kind) => self.handle(io, socket, kind, event),
            // Unknown events without an ack are ignored.
            None if ack.is_none() => return,
            None => Err(Failure::invalid("unknown event")),
        };
        match (result, ack) {
            (Ok(body), Some(ack)) => io.ack(socket, ack, vec![body], Vec::new()),
            (Err(failure), Some(ack)) => io.ack(socket, ack, vec![failure.ack_body()], Vec::new()),
            (Err(failure), None) => {
                io.emit(socket, "error", vec![failure.event_body()], Vec::new())
            }
            (Ok(_), None) => {}
        }
    }

    fn on_disconnect(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        reason: DisconnectReason,
    ) {
        let Some(member) = self.member_of.remove(&socket) else {
            return;
        };
        if reason.is_clean() {
            return self.remove_member(io, member, "left");
        }
        // Lost, not left: keep the member for the grace, so a rejoin is seamless.
        let deadline = io.now() + self.config.rejoin_grace;
        let timer = io.set_timer(deadline, AppTimer::MemberGrace(member)).ok();
        match self.members.get_mut(member) {
            Some(m) if timer.is_some() => {
                m.socket = None;
                m.grace = timer;
            }
            _ => self.remove_member(io, member, "lost"),
        }
    }

    fn on_timer(&mut self, io: &mut Io<'_, AppTimer>, key: AppTimer) {
        match key {
            AppTimer::RoomExpiry(room) => {
                if let Some(r) = self.rooms.get_mut(room) {
                    r.expiry = None;
                }
                self.expire_room(room);
            }
            AppTimer::MemberGrace(member) => {
                if let Some(m) = self.members.get_mut(member) {
                    m.grace = None;
                    self.remove_member(io, member, "timed out of");
                }
            }
            AppTimer::AddressWindow(window) => self.limits.window_ended(window),
        }
    }
}

fn member_event(session: &str, client_id: &str, name: &str) -> Value {
    let mut object = Object::new();
    object.insert("sessionId".into(), Value::String(session.to_string()));
    object.insert("clientId".into(), Value::String(client_id.to_string()));
    object.insert("clientName".into(), Value::String(name.to_string()));
    Value::Object(object)
}

fn success() -> Value {
    let mut object = Object::new();
    object.insert("success".into(), Value::Bool(true));
    Value::Object(object)
}

fn rate_limited(wait: Duration) -> Failure {
    let mut failure = Failure::new(
        Code::RateLimited,
        "too many failed attempts; try again later",
    );
    failure.retry_after_ms = Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1));
    failure
}

fn rejection(code: Code) -> JoinRejection {
    match code {
        Code::InvalidPassphrase => JoinRejection::InvalidPassphrase,
        Code::SessionFull => JoinRejection::SessionFull,
        Code::ServerFull => JoinRejection::ServerFull,
        Code::RateLimited => JoinRejection::RateLimited,
        _ => JoinRejection::InvalidRequest,
    }
}

/// 32 random bytes from the operating system (the server key, room nonces).
pub fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    if let Err(err) = getrandom::fill(&mut key) {
        panic!("the operating system's random number generator failed: {err}");
    }
    key
}
