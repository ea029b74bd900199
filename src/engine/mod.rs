//! Engine.IO v4 sessions: handshake, long-polling, upgrade to WebSocket, heartbeat, send
//! queues and backpressure.
//!
//! Sans-IO: the front door ([`crate::front`]) parses requests and frames and calls in here
//! with a `now`; the engine answers with values and pushes what must happen on connections
//! into [`Engine::actions`] and what the layer above must learn into [`Engine::events`]. The
//! engine never touches a socket and knows nothing of Socket.IO.
//!
//! Behaviour follows the reference `engine.io` npm server, including its order of checks
//! (see `verify`).

mod session;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::util::arena::{Arena, Full, Handle};
use crate::util::timer::{TimerId, TimerWheel};
use crate::wire::eio::{self, Frame, PacketKind};
use crate::wire::http_head::Method;
use crate::wire::payload;
use crate::wire::query::EngineQuery;
use crate::wire::sid::Sid;

pub use session::{CloseReason, Transport};
use session::{Heartbeat, Session, TransportState};

/// An Engine.IO session (arena handle; stale handles are harmless).
pub type SessionId = Handle;
/// A connection of the front door (arena handle).
pub type ConnId = Handle;

/// Engine.IO settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub upgrade_timeout: Duration,
    pub max_payload: usize,
    pub max_sessions: usize,
    /// Bytes queued for one session at most; above this the receiver is disconnected.
    pub send_queue_bytes: usize,
    /// How long a session may stay above its high-water mark.
    pub stall_timeout: Duration,
}

impl EngineConfig {
    /// Above this, senders feeding the session are paused.
    pub fn high_water(&self) -> usize {
        self.send_queue_bytes / 2
    }

    /// Paused senders resume once the queue is below this.
    pub fn low_water(&self) -> usize {
        self.send_queue_bytes / 4
    }
}

/// Every deadline of the process lives in one wheel; this says what a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// The front door's deadline for a connection (request head, held request).
    Conn(ConnId),
    /// Send the next ping, or the pong did not come in time.
    Heartbeat(SessionId),
    /// A started upgrade did not finish.
    Upgrade(SessionId),
    /// The session stayed above its high-water mark too long.
    Stall(SessionId),
    /// A deadline the layer above set for this session.
    Upper(SessionId),
    /// A deadline of the application, with its own meaning.
    App(u64),
}

/// A message the session received.
#[derive(Debug, Clone)]
pub enum Message {
    Text(Bytes),
    Binary(Bytes),
}

/// What the layer above learns.
#[derive(Debug)]
pub enum Event {
    Open(SessionId),
    Message(SessionId, Message),
    Close(SessionId, CloseReason),
    /// The layer above set a deadline with [`Engine::set_upper_timer`] and it passed.
    UpperTimer(SessionId),
    /// A deadline set with [`Engine::set_app_timer`] passed.
    AppTimer(u64),
    /// Every receiver this session was waiting for has drained: it may send again.
    Resumed(SessionId),
}

/// The layer above the engine (Socket.IO, or any other user of Engine.IO messages).
pub trait Layer {
    /// Handles one event. It may call back into the engine, which may queue more events.
    fn handle(&mut self, engine: &mut Engine, now: Instant, event: Event);
}

/// What the front door must do on a connection.
#[derive(Debug)]
pub enum Action {
    /// Answer the held polling GET on this connection with 200 and this payload.
    AnswerPoll { conn: ConnId, body: Vec<u8> },
    /// Queue this Engine.IO packet as a WebSocket message.
    SendWs { conn: ConnId, frame: Frame },
    /// Send a WebSocket close frame, then close the connection once it is written.
    CloseWs { conn: ConnId, code: u16 },
    /// Stop reading from this connection (backpressure).
    PauseRead { conn: ConnId },
    /// Read from this connection again.
    ResumeRead { conn: ConnId },
    /// Write what is queued on this connection now rather than at the end of the turn.
    Flush { conn: ConnId },
}

/// An HTTP answer decided by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    fn ok_text(body: Vec<u8>) -> Reply {
        Reply {
            status: 200,
            content_type: "text/plain; charset=UTF-8",
            body,
        }
    }

    /// The reference's JSON error body, e.g. `{"code":1,"message":"Session ID unknown"}`.
    pub fn error(error: RequestError) -> Reply {
        Reply {
            status: error.status(),
            content_type: "application/json",
            body: format!(
                "{{\"code\":{},\"message\":\"{}\"}}",
                error.code(),
                error.message()
            )
            .into_bytes(),
        }
    }

    /// A bare status with an empty body (the reference's answer to overlapping requests).
    fn bare(status: u16) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=UTF-8",
            body: Vec::new(),
        }
    }
}

/// The reference server's request errors (`Server.errors` in `engine.io`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    UnknownTransport,
    UnknownSid,
    BadHandshakeMethod,
    BadRequest,
    Forbidden,
    UnsupportedProtocolVersion,
}

impl RequestError {
    pub fn code(self) -> u8 {
        match self {
            RequestError::UnknownTransport => 0,
            RequestError::UnknownSid => 1,
            RequestError::BadHandshakeMethod => 2,
            RequestError::BadRequest => 3,
            RequestError::Forbidden => 4,
            RequestError::UnsupportedProtocolVersion => 5,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            RequestError::UnknownTransport => "Transport unknown",
            RequestError::UnknownSid => "Session ID unknown",
            RequestError::BadHandshakeMethod => "Bad handshake method",
            RequestError::BadRequest => "Bad request",
            RequestError::Forbidden => "Forbidden",
            RequestError::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            RequestError::Forbidden => 403,
            _ => 400,
        }
    }
}

/// A request at the Engine.IO path, as the front door parsed it.
#[derive(Debug)]
pub struct Request<'a> {
    pub method: Method,
    pub query: &'a EngineQuery,
    /// `Upgrade: websocket` with a valid WebSocket handshake.
    pub websocket: bool,
    /// The client's address (after trusted-proxy resolution).
    pub remote: IpAddr,
    /// The whole query string, for the layers above (e.g. a routing key).
    pub raw_query: &'a str,
    /// Which of the front door's Engine.IO paths it came to (0 for the first).
    pub mount: usize,
}

/// The engine's decision about a request.
#[derive(Debug)]
pub enum Outcome {
    /// Answer now.
    Reply(Reply),
    /// A polling GET with nothing to send: park it on this connection.
    Hold(SessionId),
    /// A polling POST: read the body (bounded by [`EngineConfig::max_payload`]), then call
    /// [`Engine::polling_body`].
    ReadBody(SessionId),
    /// Complete the WebSocket handshake and attach the connection to this session.
    AcceptWebSocket(SessionId),
    /// Complete the WebSocket handshake, then close it at once (a second WebSocket for a
    /// session that is already upgrading or upgraded).
    AcceptThenClose,
    /// Refuse the WebSocket handshake: plain HTTP 400 with this message, then close.
    RejectWebSocket(&'static str),
}

/// Engine.IO state of the whole process.
pub struct Engine {
    config: EngineConfig,
    sessions: Arena<Session>,
    by_sid: HashMap<Sid, SessionId>,
    timers: TimerWheel<Timer>,
    /// Effects on connections, for the front door to carry out.
    pub actions: VecDeque<Action>,
    /// News for the layer above.
    pub events: VecDeque<Event>,
    /// Polling sessions that got frames this turn; answered together by [`Engine::flush`].
    dirty: Vec<SessionId>,
    /// Sessions that passed their high-water mark since the last [`Engine::flush`], which
    /// arms their stall timers (so `send` needs no clock).
    newly_congested: Vec<SessionId>,
}

impl Engine {
    /// `timer_capacity` covers every deadline of the process: connections, sessions and the
    /// application's.
    pub fn new(config: EngineConfig, now: Instant, timer_capacity: usize) -> Engine {
        Engine {
            sessions: Arena::with_capacity(config.max_sessions),
            by_sid: HashMap::with_capacity(config.max_sessions),
            timers: TimerWheel::new(now, Duration::from_millis(5), 1024, timer_capacity),
            actions: VecDeque::new(),
            events: VecDeque::new(),
            dirty: Vec::new(),
            newly_congested: Vec::new(),
            config,
        }
    }

    // ----- requests ------------------------------------------------------------------------

    /// Decides what to do with a request at the Engine.IO path, checking in the reference
    /// server's order: transport, then sid (unknown sid, transport mismatch), then for a
    /// handshake the method, a WebSocket without upgrade, and the protocol version.
    pub fn request(&mut self, now: Instant, req: &Request<'_>, conn: ConnId) -> Outcome {
        let transport = match req.query.transport.as_deref() {
            Some("polling") => Transport::Polling,
            Some("websocket") => Transport::WebSocket,
            _ => return self.refuse(req, RequestError::UnknownTransport),
        };
        let Some(sid_text) = req.query.sid.as_deref() else {
            return self.handshake(now, req, transport, conn);
        };
        let Some(id) = sid_text
            .parse::<Sid>()
            .ok()
            .and_then(|sid| self.by_sid.get(&sid).copied())
        else {
            return self.refuse(req, RequestError::UnknownSid);
        };
        if self.close_if_pong_overdue(now, id) {
            return self.refuse(req, RequestError::UnknownSid);
        }
        let current = self.sessions.get(id).map(|s| s.transport.kind());
        if req.websocket && transport == Transport::WebSocket {
            return self.begin_upgrade(now, id, conn);
        }
        if current != Some(transport) || req.websocket {
            return self.refuse(req, RequestError::BadRequest);
        }
        match req.method {
            Method::Get => self.polling_get(id, conn),
            Method::Post => self.polling_post_start(id, conn),
            _ => Outcome::Reply(Reply::error(RequestError::BadRequest)),
        }
    }

    fn refuse(&self, req: &Request<'_>, error: RequestError) -> Outcome {
        if req.websocket {
            Outcome::RejectWebSocket(error.message())
        } else {
            Outcome::Reply(Reply::error(error))
        }
    }

    fn handshake(
        &mut self,
        now: Instant,
        req: &Request<'_>,
        transport: Transport,
        conn: ConnId,
    ) -> Outcome {
        if req.method != Method::Get {
            return self.refuse(req, RequestError::BadHandshakeMethod);
        }
        if transport == Transport::WebSocket && !req.websocket {
            return self.refuse(req, RequestError::BadRequest);
        }
        if req.query.eio.as_deref() != Some("4") {
            return self.refuse(req, RequestError::UnsupportedProtocolVersion);
        }
        let sid = Sid::from_random(random_bytes());
        let state = match transport {
            Transport::Polling => TransportState::Polling {
                held_get: None,
                reading_post: None,
            },
            Transport::WebSocket => TransportState::WebSocket { conn },
        };
        let pong_deadline = now + self.config.ping_interval + self.config.ping_timeout;
        let session = Session::new(
            sid,
            state,
            req.remote,
            req.raw_query,
            req.mount,
            pong_deadline,
        );
        let Ok(id) = self.sessions.try_insert(session) else {
            // The reference has no cap; a full arena is "Forbidden" to a polling client and a
            // plain refusal to a WebSocket, which socket.io-client retries with backoff.
            log::warn!("engine.io session arena full; refusing handshake");
            return self.refuse(req, RequestError::Forbidden);
        };
        self.by_sid.insert(sid, id);
        let upgrades: &[&str] = match transport {
            Transport::Polling => &["websocket"],
            Transport::WebSocket => &[],
        };
        let open = eio::open_packet(
            &sid,
            upgrades,
            millis(self.config.ping_interval),
            millis(self.config.ping_timeout),
            self.config.max_payload as u64,
        );
        self.schedule_ping(now, id);
        self.events.push_back(Event::Open(id));
        match transport {
            Transport::Polling => {
                // The open packet is the whole answer to the handshake GET.
                Outcome::Reply(Reply::ok_text(open.into_bytes()))
            }
            Transport::WebSocket => {
                self.send(id, Frame::Text(Bytes::from(open)));
                Outcome::AcceptWebSocket(id)
            }
        }
    }

    fn polling_get(&mut self, id: SessionId, conn: ConnId) -> Outcome {
        let Some(session) = self.sessions.get_mut(id) else {
            return Outcome::Reply(Reply::error(RequestError::UnknownSid));
        };
        let upgrading = session.upgrading();
        let nothing_queued = session.queue.is_empty();
        let TransportState::Polling { held_get, .. } = &mut session.transport else {
            return Outcome::Reply(Reply::error(RequestError::BadRequest));
        };
        if let Some(first) = held_get.take() {
            // Reference: "overlap from client" is a transport error that closes the session;
            // the parked GET gets the close packet, the second a bare 400.
            self.actions.push_back(Action::AnswerPoll {
                conn: first,
                body: vec![PacketKind::Close.digit()],
            });
            self.close(id, CloseReason::TransportError);
            return Outcome::Reply(Reply::bare(400));
        }
        if nothing_queued && upgrading {
            // During an upgrade a GET must not be parked, or the client could not finish.
            return Outcome::Reply(Reply::ok_text(vec![PacketKind::Noop.digit()]));
        }
        if nothing_queued {
            *held_get = Some(conn);
            return Outcome::Hold(id);
        }
        let (body, sent) = session.take_payload();
        self.after_dequeue(id, sent);
        Outcome::Reply(Reply::ok_text(body))
    }

    fn polling_post_start(&mut self, id: SessionId, conn: ConnId) -> Outcome {
        let Some(session) = self.sessions.get_mut(id) else {
            return Outcome::Reply(Reply::error(RequestError::UnknownSid));
        };
        let TransportState::Polling { reading_post, .. } = &mut session.transport else {
            return Outcome::Reply(Reply::error(RequestError::BadRequest));
        };
        if reading_post.is_some() {
            // Reference: "data request overlap from client" closes the session.
            self.close(id, CloseReason::TransportError);
            return Outcome::Reply(Reply::bare(400));
        }
        *reading_post = Some(conn);
        Outcome::ReadBody(id)
    }

    /// The body of a polling POST arrived (the front door enforced `max_payload`).
    pub fn polling_body(&mut self, now: Instant, id: SessionId, body: &[u8]) -> Reply {
        if self.close_if_pong_overdue(now, id) {
            return Reply::error(RequestError::UnknownSid);
        }
        match self.sessions.get_mut(id).map(|s| &mut s.transport) {
            Some(TransportState::Polling { reading_post, .. }) => *reading_post = None,
            // The session was upgraded or closed while the body was in flight.
            _ => return Reply::error(RequestError::BadRequest),
        }
        let parts = match payload::decode(body) {
            Ok(parts) => parts,
            Err(err) => {
                log::debug!("closing session: bad polling payload: {err}");
                self.close(id, CloseReason::ParseError);
                return Reply::error(RequestError::BadRequest);
            }
        };
        for part in parts {
            let packet = match part {
                payload::Part::Text(kind, data) => {
                    Incoming::Text(kind, Bytes::copy_from_slice(data.as_bytes()))
                }
                payload::Part::Binary(data) => Incoming::Binary(Bytes::from(data)),
            };
            self.on_packet(now, id, packet);
            if !self.sessions.contains(id) {
                break;
            }
        }
        Reply {
            status: 200,
            content_type: "text/html",
            body: b"ok".to_vec(),
        }
    }

    /// A polling POST whose body is larger than `max_payload`: the reference answers 413 and
    /// the session survives.
    pub fn polling_body_too_large(&mut self, id: SessionId) -> Reply {
        if let Some(TransportState::Polling { reading_post, .. }) =
            self.sessions.get_mut(id).map(|s| &mut s.transport)
        {
            *reading_post = None;
        }
        Reply::bare(413)
    }

    /// The connection holding a parked GET or a POST being read ended before it was answered.
    /// Like the reference ("poll connection closed prematurely"), that is a transport error
    /// which closes the session: a closed tab is noticed at once, not at the ping timeout.
    pub fn polling_conn_gone(&mut self, id: SessionId, conn: ConnId) {
        let was_in_flight = matches!(
            self.sessions.get(id).map(|s| &s.transport),
            Some(TransportState::Polling { held_get, reading_post })
                if *held_get == Some(conn) || *reading_post == Some(conn)
        );
        if was_in_flight {
            self.close(id, CloseReason::TransportError);
        }
    }

    // ----- WebSocket -----------------------------------------------------------------------

    fn begin_upgrade(&mut self, now: Instant, id: SessionId, conn: ConnId) -> Outcome {
        let Some(session) = self.sessions.get_mut(id) else {
            return Outcome::RejectWebSocket(RequestError::UnknownSid.message());
        };
        if session.transport.kind() != Transport::Polling || session.upgrading() {
            // Reference ("transport has already been upgrading/upgraded"): the handshake
            // completes, then the server closes that WebSocket; the session is untouched.
            return Outcome::AcceptThenClose;
        }
        session.probe = Some(conn);
        let deadline = now + self.config.upgrade_timeout;
        session.upgrade_timer = self.timers.insert(deadline, Timer::Upgrade(id)).ok();
        Outcome::AcceptWebSocket(id)
    }

    /// A complete WebSocket message arrived on `conn`, which belongs to session `id`.
    pub fn ws_message(&mut self, now: Instant, id: SessionId, conn: ConnId, message: Message) {
        if self.close_if_pong_overdue(now, id) {
            return;
        }
        let Some(session) = self.sessions.get(id) else {
            return;
        };
        let packet = match message {
            Message::Binary(data) => Incoming::Binary(data),
            Message::Text(data) => match decode_text(&data) {
                Some(kind) => Incoming::Text(kind, data.slice(1..)),
                None => {
                    log::debug!("closing session: bad engine.io packet on websocket");
                    return self.ws_protocol_error(id, conn);
                }
            },
        };
        if session.probe == Some(conn) {
            return self.probe_packet(id, conn, packet);
        }
        if session.transport.ws_conn() != Some(conn) {
            return;
        }
        self.on_packet(now, id, packet);
    }

    /// The probing WebSocket speaks: `2probe` is answered `3probe`, `5` completes the upgrade.
    fn probe_packet(&mut self, id: SessionId, conn: ConnId, packet: Incoming) {
        match packet {
            Incoming::Text(PacketKind::Ping, data) if &data[..] == b"probe" => {
                let pong = Frame::text(PacketKind::Pong, "probe");
                // Counted like any frame, since the front door reports it when written.
                if let Some(session) = self.sessions.get_mut(id) {
                    session.queued_bytes = session.queued_bytes.saturating_add(pong.len());
                }
                self.actions.push_back(Action::SendWs { conn, frame: pong });
                // Written now, before requests on other connections this turn: the client
                // sends its next poll only once it has the `3probe`.
                self.actions.push_back(Action::Flush { conn });
                // Release a parked GET at once so the client can pause polling and send `5`.
                self.release_held_get(id, PacketKind::Noop);
            }
            Incoming::Text(PacketKind::Upgrade, _) => self.complete_upgrade(id, conn),
            _ => {
                log::debug!("closing probe: unexpected packet during upgrade");
                self.abandon_probe(id);
            }
        }
    }

    fn complete_upgrade(&mut self, id: SessionId, conn: ConnId) {
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        session.probe = None;
        if let Some(timer) = session.upgrade_timer.take() {
            self.timers.cancel(timer);
        }
        let old = std::mem::replace(&mut session.transport, TransportState::WebSocket { conn });
        let queued: Vec<Frame> = session.queue.drain(..).collect();
        if let TransportState::Polling {
            held_get: Some(get),
            ..
        } = old
        {
            self.actions.push_back(Action::AnswerPoll {
                conn: get,
                body: vec![PacketKind::Noop.digit()],
            });
        }
        for frame in queued {
            self.actions.push_back(Action::SendWs { conn, frame });
        }
        self.dirty.retain(|d| *d != id);
    }

    fn abandon_probe(&mut self, id: SessionId) {
        if let Some(session) = self.sessions.get_mut(id) {
            if let Some(conn) = session.probe.take() {
                self.actions.push_back(Action::CloseWs { conn, code: 1002 });
            }
            if let Some(timer) = session.upgrade_timer.take() {
                self.timers.cancel(timer);
            }
        }
    }

    fn ws_protocol_error(&mut self, id: SessionId, conn: ConnId) {
        let is_probe = self.sessions.get(id).and_then(|s| s.probe) == Some(conn);
        if is_probe {
            self.abandon_probe(id);
        } else {
            self.close(id, CloseReason::ParseError);
        }
    }

    /// The WebSocket connection of session `id` ended: `clean` when the peer sent a close
    /// frame, otherwise it was lost (EOF, reset, I/O error, protocol violation).
    pub fn ws_closed(&mut self, id: SessionId, conn: ConnId, clean: bool) {
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        if session.probe == Some(conn) {
            session.probe = None;
            if let Some(timer) = session.upgrade_timer.take() {
                self.timers.cancel(timer);
            }
            return;
        }
        if session.transport.ws_conn() == Some(conn) {
            let reason = if clean {
                CloseReason::TransportClose
            } else {
                CloseReason::TransportError
            };
            self.close(id, reason);
        }
    }

    /// A WebSocket message was larger than `max_payload` (close code 1009).
    pub fn ws_too_large(&mut self, id: SessionId, conn: ConnId) {
        self.actions.push_back(Action::CloseWs { conn, code: 1009 });
        self.ws_closed(id, conn, false);
    }

    // ----- packets -------------------------------------------------------------------------

    fn on_packet(&mut self, now: Instant, id: SessionId, packet: Incoming) {
        match packet {
            Incoming::Text(PacketKind::Message, data) => {
                self.events
                    .push_back(Event::Message(id, Message::Text(data)));
            }
            Incoming::Binary(data) => {
                self.events
                    .push_back(Event::Message(id, Message::Binary(data)));
            }
            Incoming::Text(PacketKind::Pong, _) => {
                let awaiting = self
                    .sessions
                    .get(id)
                    .is_some_and(|s| s.heartbeat == Heartbeat::AwaitingPong);
                if awaiting {
                    self.schedule_ping(now, id);
                }
            }
            Incoming::Text(PacketKind::Close, _) => {
                // Reference (polling `onClose`): a parked GET ends with a noop, not a close
                // packet, since the client is the one closing.
                self.answer_held_get(id, vec![PacketKind::Noop.digit()]);
                self.close(id, CloseReason::TransportClose);
            }
            Incoming::Text(PacketKind::Ping, _) => {
                // v4: the server pings; a client ping is "invalid heartbeat direction".
                log::debug!("closing session: client sent a ping");
                self.close(id, CloseReason::ParseError);
            }
            Incoming::Text(kind, _) => {
                log::debug!("closing session: unexpected packet {kind:?}");
                self.close(id, CloseReason::ParseError);
            }
        }
    }

    // ----- sending -------------------------------------------------------------------------

    /// Queues one Engine.IO packet for the session. Frames of the same session leave in order.
    pub fn send(&mut self, id: SessionId, frame: Frame) {
        let hard_cap = self.config.send_queue_bytes;
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        session.queued_bytes = session.queued_bytes.saturating_add(frame.len());
        let over_cap = session.queued_bytes > hard_cap;
        match session.transport {
            TransportState::WebSocket { conn } => {
                self.actions.push_back(Action::SendWs { conn, frame });
            }
            TransportState::Polling { held_get, .. } => {
                session.queue.push_back(frame);
                if held_get.is_some() && !self.dirty.contains(&id) {
                    self.dirty.push(id);
                }
            }
        }
        if over_cap {
            log::info!("disconnecting a client whose send queue passed its cap");
            self.close(id, CloseReason::QueueFull);
            return;
        }
        self.watch_high_water(id);
    }

    /// Sends a text message (`4` + text).
    pub fn send_text(&mut self, id: SessionId, text: &str) {
        self.send(id, Frame::text(PacketKind::Message, text));
    }

    /// Answers parked polling GETs that have something to send, and arms the stall timers of
    /// receivers that became congested. Call once per loop turn, so that everything queued in
    /// one turn leaves in one response.
    pub fn flush(&mut self, now: Instant) {
        self.arm_stall_timers(now);
        for id in std::mem::take(&mut self.dirty) {
            let Some(session) = self.sessions.get_mut(id) else {
                continue;
            };
            let TransportState::Polling { held_get, .. } = &mut session.transport else {
                continue;
            };
            let Some(conn) = held_get.take() else {
                continue;
            };
            let (body, sent) = session.take_payload();
            self.actions.push_back(Action::AnswerPoll { conn, body });
            self.after_dequeue(id, sent);
        }
    }

    /// Answers the parked GET, if any, with exactly `body`; the queue stays (or is dropped
    /// with the session).
    fn answer_held_get(&mut self, id: SessionId, body: Vec<u8>) {
        let held = match self.sessions.get_mut(id).map(|s| &mut s.transport) {
            Some(TransportState::Polling { held_get, .. }) => held_get.take(),
            _ => None,
        };
        if let Some(conn) = held {
            self.actions.push_back(Action::AnswerPoll { conn, body });
        }
    }

    fn release_held_get(&mut self, id: SessionId, kind: PacketKind) {
        if let Some(session) = self.sessions.get_mut(id) {
            if let TransportState::Polling { held_get, .. } = &mut session.transport {
                if let Some(conn) = held_get.take() {
                    let (body, sent) = if session.queue.is_empty() {
                        (vec![kind.digit()], 0)
                    } else {
                        session.take_payload()
                    };
                    self.actions.push_back(Action::AnswerPoll { conn, body });
                    self.after_dequeue(id, sent);
                }
            }
        }
    }

    /// The front door wrote `bytes` of this session's WebSocket frames to the kernel.
    pub fn ws_written(&mut self, id: SessionId, bytes: usize) {
        self.after_dequeue(id, bytes);
    }

    fn after_dequeue(&mut self, id: SessionId, bytes: usize) {
        let low_water = self.config.low_water();
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        session.queued_bytes = session.queued_bytes.saturating_sub(bytes);
        if session.queued_bytes > low_water {
            return;
        }
        if let Some(timer) = session.stall_timer.take() {
            self.timers.cancel(timer);
        }
        let waiters = std::mem::take(&mut session.waiters);
        for sender in waiters {
            self.release_sender(sender);
        }
    }

    fn watch_high_water(&mut self, id: SessionId) {
        let high_water = self.config.high_water();
        let Some(session) = self.sessions.get(id) else {
            return;
        };
        if session.queued_bytes > high_water
            && session.stall_timer.is_none()
            && !self.newly_congested.contains(&id)
        {
            self.newly_congested.push(id);
        }
    }

    /// Arms the stall timer of every session that became congested since the last call and
    /// is still above its low-water mark.
    fn arm_stall_timers(&mut self, now: Instant) {
        let deadline = now + self.config.stall_timeout;
        let low_water = self.config.low_water();
        for id in std::mem::take(&mut self.newly_congested) {
            let Some(session) = self.sessions.get_mut(id) else {
                continue;
            };
            if session.queued_bytes > low_water && session.stall_timer.is_none() {
                session.stall_timer = self.timers.insert(deadline, Timer::Stall(id)).ok();
            }
        }
    }

    /// Whether the session's queue is above its high-water mark.
    pub fn is_congested(&self, id: SessionId) -> bool {
        self.sessions
            .get(id)
            .is_some_and(|s| s.queued_bytes > self.config.high_water())
    }

    /// Pauses `sender` until `receiver` drains below its low-water mark. The sender stops
    /// being read (on WebSocket) and [`Event::Resumed`] tells the layer above when it may go
    /// on (for example to send the acks it held).
    pub fn hold_sender(&mut self, sender: SessionId, receiver: SessionId) {
        if !self.sessions.contains(sender) {
            return;
        }
        let Some(r) = self.sessions.get_mut(receiver) else {
            return;
        };
        r.waiters.push(sender);
        if let Some(s) = self.sessions.get_mut(sender) {
            s.held_by = s.held_by.saturating_add(1);
            if s.held_by == 1 {
                if let Some(conn) = s.transport.ws_conn() {
                    self.actions.push_back(Action::PauseRead { conn });
                }
            }
        }
    }

    /// Whether the session waits for receivers to drain.
    pub fn is_held(&self, id: SessionId) -> bool {
        self.sessions.get(id).is_some_and(|s| s.held_by > 0)
    }

    fn release_sender(&mut self, sender: SessionId) {
        let Some(s) = self.sessions.get_mut(sender) else {
            return;
        };
        s.held_by = s.held_by.saturating_sub(1);
        if s.held_by == 0 {
            if let Some(conn) = s.transport.ws_conn() {
                self.actions.push_back(Action::ResumeRead { conn });
            }
            self.events.push_back(Event::Resumed(sender));
        }
    }

    // ----- closing -------------------------------------------------------------------------

    /// Closes the session: the layer above gets [`Event::Close`], the connections are told.
    pub fn close(&mut self, id: SessionId, reason: CloseReason) {
        let Some(session) = self.sessions.remove(id) else {
            return;
        };
        self.by_sid.remove(&session.sid);
        for timer in [
            session.heartbeat_timer,
            session.upgrade_timer,
            session.stall_timer,
            session.upper_timer,
        ]
        .into_iter()
        .flatten()
        {
            self.timers.cancel(timer);
        }
        match session.transport {
            TransportState::WebSocket { conn } => {
                let code = reason.ws_close_code();
                self.actions.push_back(Action::CloseWs { conn, code });
            }
            TransportState::Polling { held_get, .. } => {
                if let Some(conn) = held_get {
                    self.actions.push_back(Action::AnswerPoll {
                        conn,
                        body: vec![PacketKind::Close.digit()],
                    });
                }
            }
        }
        if let Some(conn) = session.probe {
            self.actions.push_back(Action::CloseWs { conn, code: 1000 });
        }
        for sender in session.waiters {
            self.release_sender(sender);
        }
        self.dirty.retain(|d| *d != id);
        self.events.push_back(Event::Close(id, reason));
    }

    /// The client's address as the front door resolved it at the handshake.
    pub fn remote(&self, id: SessionId) -> Option<IpAddr> {
        self.sessions.get(id).map(|s| s.remote)
    }

    /// The handshake's query string (bounded by the head size cap).
    pub fn handshake_query(&self, id: SessionId) -> Option<&str> {
        self.sessions.get(id).map(|s| s.query.as_str())
    }

    /// Which Engine.IO path the session was opened on.
    pub fn mount(&self, id: SessionId) -> Option<usize> {
        self.sessions.get(id).map(|s| s.mount)
    }

    /// Bytes queued for all clients (for metrics).
    pub fn total_queued_bytes(&self) -> usize {
        self.sessions.iter().map(|(_, s)| s.queued_bytes).sum()
    }

    pub fn count_by_transport(&self) -> (usize, usize) {
        let ws = self
            .sessions
            .iter()
            .filter(|(_, s)| s.transport.kind() == Transport::WebSocket)
            .count();
        (self.sessions.len().saturating_sub(ws), ws)
    }

    // ----- time ----------------------------------------------------------------------------

    fn schedule_ping(&mut self, now: Instant, id: SessionId) {
        let deadline = now + self.config.ping_interval;
        let timer = self.timers.insert(deadline, Timer::Heartbeat(id)).ok();
        if let Some(session) = self.sessions.get_mut(id) {
            if let Some(old) = session.heartbeat_timer.take() {
                self.timers.cancel(old);
            }
            session.heartbeat = Heartbeat::WaitingToPing;
            session.heartbeat_timer = timer;
            session.pong_deadline = deadline + self.config.ping_timeout;
        }
    }

    /// Closes the session if its pong deadline has passed, whether or not its timer fired
    /// yet (the reference's `setTimeout` would have). Returns whether it did.
    fn close_if_pong_overdue(&mut self, now: Instant, id: SessionId) -> bool {
        let overdue = self
            .sessions
            .get(id)
            .is_some_and(|s| now >= s.pong_deadline);
        if overdue {
            self.close(id, CloseReason::PingTimeout);
        }
        overdue
    }

    /// Sets (or replaces) the one deadline the layer above may keep per session.
    pub fn set_upper_timer(&mut self, id: SessionId, deadline: Instant) {
        let timer = self.timers.insert(deadline, Timer::Upper(id)).ok();
        if let Some(session) = self.sessions.get_mut(id) {
            if let Some(old) = std::mem::replace(&mut session.upper_timer, timer) {
                self.timers.cancel(old);
            }
        }
    }

    pub fn clear_upper_timer(&mut self, id: SessionId) {
        if let Some(timer) = self.sessions.get_mut(id).and_then(|s| s.upper_timer.take()) {
            self.timers.cancel(timer);
        }
    }

    /// Sets a deadline for the application; [`Event::AppTimer`] reports it.
    pub fn set_app_timer(&mut self, deadline: Instant, key: u64) -> Result<TimerId, Full> {
        self.timers.insert(deadline, Timer::App(key))
    }

    pub fn cancel_app_timer(&mut self, id: TimerId) {
        self.timers.cancel(id);
    }

    /// Sets a deadline for a connection of the front door.
    pub fn set_conn_timer(&mut self, deadline: Instant, conn: ConnId) -> Result<TimerId, Full> {
        self.timers.insert(deadline, Timer::Conn(conn))
    }

    pub fn cancel_timer(&mut self, id: TimerId) {
        self.timers.cancel(id);
    }

    /// When the loop must wake up next.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Fires every deadline up to `now`. Connection deadlines are returned for the front door;
    /// everything else is handled here or becomes an [`Event`].
    pub fn expire(&mut self, now: Instant, fired: &mut Vec<Timer>, conn_timers: &mut Vec<ConnId>) {
        fired.clear();
        self.timers.expire(now, fired);
        for timer in fired.drain(..) {
            match timer {
                Timer::Conn(conn) => conn_timers.push(conn),
                Timer::Heartbeat(id) => self.heartbeat_due(id),
                Timer::Upgrade(id) => {
                    if let Some(session) = self.sessions.get_mut(id) {
                        session.upgrade_timer = None;
                    }
                    log::debug!("upgrade timed out");
                    self.abandon_probe(id);
                }
                Timer::Stall(id) => {
                    if let Some(session) = self.sessions.get_mut(id) {
                        session.stall_timer = None;
                        log::info!("disconnecting a client that stopped reading");
                        self.close(id, CloseReason::Stalled);
                    }
                }
                Timer::Upper(id) => {
                    if let Some(session) = self.sessions.get_mut(id) {
                        session.upper_timer = None;
                        self.events.push_back(Event::UpperTimer(id));
                    }
                }
                Timer::App(key) => self.events.push_back(Event::AppTimer(key)),
            }
        }
    }

    fn heartbeat_due(&mut self, id: SessionId) {
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        session.heartbeat_timer = None;
        match session.heartbeat {
            Heartbeat::WaitingToPing => {
                session.heartbeat = Heartbeat::AwaitingPong;
                // From when the ping was due, not when this (up to a tick late) call came:
                // the rounding of the two timers must not add up.
                let deadline = session.pong_deadline;
                session.heartbeat_timer = self.timers.insert(deadline, Timer::Heartbeat(id)).ok();
                self.send(id, Frame::text(PacketKind::Ping, ""));
            }
            Heartbeat::AwaitingPong => self.close(id, CloseReason::PingTimeout),
        }
    }
}

/// A decoded Engine.IO packet from either transport.
enum Incoming {
    Text(PacketKind, Bytes),
    Binary(Bytes),
}

fn decode_text(data: &Bytes) -> Option<PacketKind> {
    let text = std::str::from_utf8(data).ok()?;
    eio::decode_text(text).ok().map(|(kind, _)| kind)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// 15 random bytes for an id. getrandom failing means the OS cannot give randomness at all;
/// continuing would hand out guessable ids, so that is the one fatal condition here.
pub fn random_bytes() -> [u8; 15] {
    let mut bytes = [0u8; 15];
    if let Err(err) = getrandom::fill(&mut bytes) {
        panic!("the operating system's random number generator failed: {err}");
    }
    bytes
}

#[cfg(test)]
mod tests;
