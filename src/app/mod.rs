//! ShareThings on Socket.IO: rooms ("sessions" in the UI), members, their admission (a v2
//! passphrase fingerprint, or a v3 proof of the room's access key), applicants waiting for a
//! member to admit them, rejoin tokens, rate limits, expiry and the relay of opaque encrypted
//! items.
//!
//! The server never sees a content key or plaintext: it compares keyed hashes of v2
//! fingerprints, checks v3 proofs with an access key that derives nothing else, relays
//! admission messages it cannot read, and forwards ciphertext, encoded once and shared by
//! every receiver. It never logs content, fingerprints, proofs, access keys, admission
//! messages, tokens or session names (logs show a session's routing key instead).

mod access;
mod admission;
mod applicants;
mod authority;
mod creations;
mod credentials;
pub mod inbox;
mod join;
pub(crate) mod join_request;
mod leave;
mod limits;
pub(crate) mod payload;
mod relay;
mod revocations;
mod room_record;
mod rooms;
mod tokens;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use miniserde::json::{Array, Object, Value};

use crate::metrics::{JoinRejection, Metrics};
use crate::socketio::{Application, DisconnectReason, IncomingEvent, Io, Outgoing, SocketId};
use crate::util::arena::Handle;
use crate::util::timer::TimerId;
use crate::wire::query;

use self::access::Challenges;
use self::applicants::Applicants;
use self::creations::Creations;
use self::inbox::events::InboxEvent;
use self::inbox::Inboxes;
use self::inbox::RoomKey;
pub use self::inbox::{server_key, DiskInbox, InboxLimits, RealFiles};
use self::limits::JoinLimits;
use self::payload::{Code, Failure};
use self::room_record::Revocation;
use self::rooms::{Format, Gate, Member, Room, Rooms};
use self::tokens::{Keys, TokenClaims};
pub use sharethings_protocol::route_key;

/// How long a token stays valid at most (it also dies with its room).
const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// ShareThings settings.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub max_rooms: usize,
    pub max_members: usize,
    /// How long an empty room is kept (`SESSION_TIMEOUT`).
    pub room_timeout: Duration,
    pub rejoin_grace: Duration,
    pub join_limit_per_address: u32,
    pub join_limit_per_session: u32,
    pub join_limit_window: Duration,
    /// Sessions one client address may create per `join_limit_window`.
    pub sessions_per_address: u32,
    /// A socket that is no member of a room this long after its namespace CONNECT is closed.
    pub join_timeout: Duration,
    /// Applicants one session takes at most (`MAX_APPLICANTS`).
    pub max_applicants: usize,
    /// Applicants one session takes from one client address (`APPLICANTS_PER_ADDRESS`).
    pub applicants_per_address: usize,
    /// An applicant still no member this long after it applied is closed
    /// (`APPLICANT_TIMEOUT`).
    pub applicant_timeout: Duration,
    /// The largest `data` of an `admit` message, as canonical JSON (`ADMIT_BYTES`).
    pub admit_bytes: usize,
    /// Sockets at most (one join or applicant deadline each).
    pub max_sockets: usize,
    /// The inbox of sessions whose creator turned it on.
    pub inbox: InboxLimits,
}

impl AppConfig {
    /// Deadlines the application may hold at once: room expiries and inbox expiries (one
    /// each per room), member graces, rate-limit windows, and one join or applicant deadline
    /// per socket.
    pub fn timers_needed(&self) -> usize {
        2 * self.max_rooms
            + self.member_capacity()
            + limits::ADDRESS_CAPACITY
            + self.max_sockets
            + 1
    }

    fn member_capacity(&self) -> usize {
        self.max_rooms.saturating_mul(self.max_members)
    }
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
    /// A socket's `JOIN_TIMEOUT` after its namespace CONNECT passed.
    JoinDeadline(SocketId),
    /// An applicant's `APPLICANT_TIMEOUT` passed.
    ApplicantDeadline(SocketId),
    /// The oldest item in a room's inbox reached `INBOX_TTL`.
    InboxExpiry(Handle),
    /// The oldest item of the inboxes on disk whose rooms nobody named since the start is due.
    DormantExpiry,
}

pub struct ShareThings {
    config: AppConfig,
    keys: Keys,
    started: Instant,
    /// `started` on the tokens' clock: 0, or with the inbox on disk the milliseconds since the
    /// UNIX epoch, so that tokens and expiries on disk mean the same after a restart.
    started_ms: u64,
    rooms: Rooms,
    /// The deadline of each connected socket that is no member: its join deadline, or its
    /// applicant deadline once it applied.
    deadlines: HashMap<SocketId, TimerId>,
    /// The nonce each socket was last given by `challenge`.
    challenges: Challenges,
    applicants: Applicants,
    limits: JoinLimits,
    creations: Creations,
    inboxes: Inboxes,
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
            .room_slots
            .store(config.max_rooms as u64, Ordering::Relaxed);
        metrics
            .member_slots
            .store(config.member_capacity() as u64, Ordering::Relaxed);
        ShareThings {
            rooms: Rooms::new(config.max_rooms, config.member_capacity()),
            deadlines: HashMap::new(),
            challenges: Challenges::default(),
            applicants: Applicants::new(config.max_applicants, config.applicants_per_address),
            limits: JoinLimits::new(
                config.join_limit_per_address,
                config.join_limit_per_session,
                config.join_limit_window,
            ),
            creations: Creations::new(config.sessions_per_address, config.join_limit_window),
            inboxes: Inboxes::new(config.inbox),
            keys: Keys::new(key),
            started: now,
            started_ms: 0,
            metrics,
            config,
        }
    }

    /// Keeps inbox items in `disk` (`INBOX_DIR`) and brings back what it holds. `wall_ms` is
    /// the wall clock at `now` given to [`ShareThings::new`], in ms since the UNIX epoch.
    pub fn with_disk_inbox(mut self, disk: DiskInbox, wall_ms: u64) -> ShareThings {
        self.started_ms = wall_ms;
        self.inboxes = inbox::Inboxes::on_disk(self.config.inbox, disk);
        self.inboxes.restore(self.started, wall_ms);
        self.publish_inbox();
        self
    }

    /// The deadline to arm before the loop starts: when the first inbox item found on disk
    /// expires (see [`AppTimer::DormantExpiry`]).
    pub fn first_deadline(&self) -> Option<(Instant, AppTimer)> {
        self.inboxes
            .next_dormant_expiry()
            .map(|at| (at, AppTimer::DormantExpiry))
    }

    fn publish(&self) {
        self.metrics
            .rooms
            .store(self.rooms.len() as u64, Ordering::Relaxed);
        self.metrics
            .members
            .store(self.rooms.member_count() as u64, Ordering::Relaxed);
        self.metrics
            .applicants
            .store(self.applicants.len() as u64, Ordering::Relaxed);
    }

    fn now_ms(&self, now: Instant) -> u64 {
        let since = u64::try_from(now.duration_since(self.started).as_millis());
        self.started_ms.saturating_add(since.unwrap_or(u64::MAX))
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
            ClientEvent::Challenge => {
                let object = payload::object(event.args)?;
                payload::session_id(&object)?;
                Ok(self.challenge(socket))
            }
            ClientEvent::Leave => {
                let object = payload::object(event.args)?;
                if self.applies_to(socket, &object) {
                    self.drop_applicant(io, socket);
                } else {
                    let (member, _) = self.sender(socket, &object)?;
                    self.revoke_token(io, member);
                    self.remove_member(io, member, "left");
                }
                // Still connected, no longer a member: it gets a join deadline again.
                self.arm_join_deadline(io, socket);
                Ok(success())
            }
            ClientEvent::Admit => {
                let object = payload::object(event.args)?;
                self.admit(io, socket, object, &event.attachments)
            }
            ClientEvent::Invite => {
                let object = payload::object(event.args)?;
                self.invite(io, socket, &object)
            }
            ClientEvent::Relayed(relayed) => {
                let object = payload::object(event.args)?;
                self.relay(io, socket, relayed, object, event.attachments)
            }
            ClientEvent::Inbox(kind) => {
                let object = payload::object(event.args)?;
                self.inbox_event(io, socket, kind, &object)
            }
            ClientEvent::InboxPolicy => {
                let object = payload::object(event.args)?;
                self.inbox_policy(socket, &object)
            }
        }
    }
}

/// The events a client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientEvent {
    Challenge,
    Join,
    Leave,
    Admit,
    Invite,
    Relayed(Relayed),
    Inbox(InboxEvent),
    InboxPolicy,
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
            "challenge" => ClientEvent::Challenge,
            "join" => ClientEvent::Join,
            "leave" => ClientEvent::Leave,
            "admit" => ClientEvent::Admit,
            "invite" => ClientEvent::Invite,
            "content" => ClientEvent::Relayed(Relayed::Content),
            "chunk" => ClientEvent::Relayed(Relayed::Chunk),
            "remove-content" => ClientEvent::Relayed(Relayed::RemoveContent),
            "clear-all-content" => ClientEvent::Relayed(Relayed::ClearAll),
            "inbox-policy" => ClientEvent::InboxPolicy,
            other => ClientEvent::Inbox(InboxEvent::from_name(other)?),
        })
    }
}

impl Relayed {
    /// Checks the payload's shape; says under which name and to whom it is relayed.
    pub(super) fn check(self, object: &Object) -> Result<(&'static str, Relay), Failure> {
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

    fn held_bytes(&self) -> usize {
        self.inboxes.used_bytes()
    }

    /// A socket that joins no room in time holds a connection slot for nothing: it gets
    /// `JOIN_TIMEOUT`, then its connection is closed.
    fn on_connect(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        _nsp: &str,
        _auth: Option<Value>,
    ) {
        self.arm_join_deadline(io, socket);
    }

    fn on_event(&mut self, io: &mut Io<'_, AppTimer>, socket: SocketId, event: IncomingEvent) {
        self.metrics.events_received.fetch_add(1, Ordering::Relaxed);
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
        self.forget_deadline(io, socket);
        self.challenges.take(socket);
        if self.applicants.get(socket).is_some() {
            return self.drop_applicant(io, socket);
        }
        let Some(member) = self.rooms.detach(socket) else {
            return;
        };
        if reason.is_clean() {
            return self.remove_member(io, member, "left");
        }
        // Lost, not left: keep the member for the grace, so a rejoin is seamless.
        let deadline = io.now() + self.config.rejoin_grace;
        let timer = io.set_timer(deadline, AppTimer::MemberGrace(member)).ok();
        match self.rooms.member_mut(member) {
            Some(m) if timer.is_some() => m.grace = timer,
            _ => self.remove_member(io, member, "lost"),
        }
    }

    fn on_too_large(&mut self, io: &mut Io<'_, AppTimer>, socket: SocketId, ack: Option<u64>) {
        let failure = Failure::new(
            Code::PayloadTooLarge,
            "binary attachments larger than the server accepts",
        );
        match ack {
            Some(ack) => io.ack(socket, ack, vec![failure.ack_body()], Vec::new()),
            None => io.emit(socket, "error", vec![failure.event_body()], Vec::new()),
        }
    }

    fn on_timer(&mut self, io: &mut Io<'_, AppTimer>, key: AppTimer) {
        match key {
            AppTimer::RoomExpiry(room) => {
                if let Some(r) = self.rooms.room_mut(room) {
                    r.expiry = None;
                }
                // A room whose inbox still keeps items lives until they expire.
                if !self.inboxes.holds_items(room) {
                    self.expire_room(io, room);
                }
            }
            AppTimer::InboxExpiry(room) => self.inbox_due(io, room),
            AppTimer::DormantExpiry => self.dormant_due(io),
            AppTimer::MemberGrace(member) => {
                if let Some(m) = self.rooms.member_mut(member) {
                    m.grace = None;
                    self.remove_member(io, member, "timed out of");
                }
            }
            AppTimer::AddressWindow(window) => self.limits.window_ended(window),
            AppTimer::JoinDeadline(socket) => self.join_deadline_passed(io, socket),
            AppTimer::ApplicantDeadline(socket) => self.applicant_deadline_passed(io, socket),
        }
    }
}

/// `{sessionId, clientId, clientName?}`: who joined, left, applied or stopped applying. Only
/// v2 members have a name the server may repeat.
fn member_event(session: &str, client_id: &str, name: Option<&str>) -> Value {
    let mut object = Object::new();
    object.insert("sessionId".into(), Value::String(session.to_string()));
    object.insert("clientId".into(), Value::String(client_id.to_string()));
    if let Some(name) = name {
        object.insert("clientName".into(), Value::String(name.to_string()));
    }
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
        Code::AccessDenied => JoinRejection::AccessDenied,
        Code::LegacySession => JoinRejection::LegacySession,
        Code::NewerSession => JoinRejection::NewerSession,
        Code::NoSuchSession => JoinRejection::NoSuchSession,
        Code::TooManyApplicants => JoinRejection::TooManyApplicants,
        Code::SessionFull => JoinRejection::SessionFull,
        Code::ServerFull => JoinRejection::ServerFull,
        Code::RateLimited => JoinRejection::RateLimited,
        _ => JoinRejection::InvalidRequest,
    }
}

/// 32 random bytes from the operating system (the server key, room nonces, challenges).
pub fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    if let Err(err) = getrandom::fill(&mut key) {
        panic!("the operating system's random number generator failed: {err}");
    }
    key
}

#[cfg(test)]
mod tests;
