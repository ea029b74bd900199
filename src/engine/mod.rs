//! Engine.IO v4 sessions: handshake, long-polling, upgrade to WebSocket, heartbeat, send
//! queues and backpressure.
//!
//! Sans-IO: the front door ([`crate::front`]) parses requests and frames and calls in here
//! with a `now` and the engine's handle on the loop's timer wheel ([`Timers`]); the engine
//! answers with values, and queues what must happen on connections ([`Action`]s) and what the
//! layer above must learn ([`Event`]s), which its one drive loop, [`Engine::settle`], hands
//! out. The engine never touches a socket or a clock, and knows nothing of Socket.IO.
//!
//! Behaviour follows the reference `engine.io` npm server, including its order of checks
//! (see `verify`).

pub(crate) mod deadlines;
mod errors;
mod flow;
mod heartbeat;
mod polling;
mod session;
mod timers;
mod upgrade;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::util::arena::{Arena, Full, Handle};
use crate::util::timer::TimerId;
use crate::wire::eio::{self, Frame, PacketKind};
use crate::wire::http_head::Method;
use crate::wire::payload;
use crate::wire::query::EngineQuery;
use crate::wire::sid::Sid;

pub use errors::{Reply, RequestError};
pub use session::{CloseReason, Transport};
use session::{Heartbeat, Session, TransportState};
pub use timers::{AppTimers, LayerTimers, Timer, Timers};

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
    /// How long a session may have bytes queued with none of them written.
    pub stall_timeout: Duration,
    /// Bytes the process may hold for all clients together (`MEMORY_BUDGET`). The front door
    /// refuses inputs past it; the engine keeps answers within it ([`Engine::queue_room`]).
    pub memory_budget: usize,
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
    /// The layer above set a deadline with [`Engine::set_layer_deadline`] and it passed.
    LayerDeadline(SessionId),
    /// Every receiver this session was waiting for has drained: it may send again.
    Resumed(SessionId),
}

/// The layer above the engine (Socket.IO, or any other user of Engine.IO messages).
pub trait Layer {
    /// The application's deadline key, handed back to [`Layer::timer_fired`].
    type Timer: Copy;

    /// Handles one event. It may call back into the engine, which may queue more events.
    fn handle(
        &mut self,
        engine: &mut Engine,
        timers: &mut dyn LayerTimers<Self::Timer>,
        now: Instant,
        event: Event,
    );

    /// A deadline the application set passed.
    fn timer_fired(
        &mut self,
        engine: &mut Engine,
        timers: &mut dyn LayerTimers<Self::Timer>,
        now: Instant,
        key: Self::Timer,
    );

    /// Bytes this layer holds for clients (messages it keeps until more arrive), counted
    /// against the process's memory budget.
    fn held_bytes(&self) -> usize;
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
    /// Effects on connections, for the front door to carry out (handed out by
    /// [`Engine::settle`]).
    actions: VecDeque<Action>,
    /// News for the layer above (handed to it by [`Engine::settle`]).
    events: VecDeque<Event>,
    /// Polling sessions that got frames this turn; answered together by [`Engine::flush`].
    dirty: Vec<SessionId>,
    /// Sessions whose stall clock must (re)start at the next [`Engine::flush`]: bytes got
    /// queued, or some were written and some are left (so `send` and `ws_written` need no
    /// clock).
    stall_watch: Vec<SessionId>,
}

impl Engine {
    /// The engine's one drive loop, which the front door runs after every input and deadline
    /// and the tests' harness runs the same way: hands every event to `layer` (which may call
    /// back and queue more), answers the polling requests that got frames and starts stall
    /// clocks, and returns the next action for the caller to carry out, or `None` once all is
    /// quiet. Carrying an action out may call back into the engine; the caller calls again
    /// until `None`. The engine's own answers (a `3probe`) come before the layer's reactions.
    pub fn settle<L: Layer>(
        &mut self,
        layer: &mut L,
        timers: &mut dyn LayerTimers<L::Timer>,
        now: Instant,
    ) -> Option<Action> {
        loop {
            if let Some(action) = self.actions.pop_front() {
                return Some(action);
            }
            if self.events.is_empty() && self.dirty.is_empty() && self.stall_watch.is_empty() {
                return None;
            }
            while let Some(event) = self.events.pop_front() {
                layer.handle(self, timers, now, event);
            }
            self.flush(timers, now);
        }
    }

    pub fn new(config: EngineConfig) -> Engine {
        Engine {
            sessions: Arena::with_capacity(config.max_sessions),
            by_sid: HashMap::with_capacity(config.max_sessions),
            actions: VecDeque::new(),
            events: VecDeque::new(),
            dirty: Vec::new(),
            stall_watch: Vec::new(),
            config,
        }
    }

    // ----- requests ------------------------------------------------------------------------

    /// Decides what to do with a request at the Engine.IO path, checking in the reference
    /// server's order: transport, then sid (unknown sid, transport mismatch), then for a
    /// handshake the method, a WebSocket without upgrade, and the protocol version. Beyond
    /// the reference, a sid used from another client address than its handshake's is unknown.
    pub fn request(
        &mut self,
        timers: &mut dyn Timers,
        now: Instant,
        req: &Request<'_>,
        conn: ConnId,
    ) -> Outcome {
        let transport = match req.query.transport.as_deref() {
            Some("polling") => Transport::Polling,
            Some("websocket") => Transport::WebSocket,
            _ => return self.refuse(req, RequestError::UnknownTransport),
        };
        let Some(sid_text) = req.query.sid.as_deref() else {
            return self.handshake(timers, now, req, transport, conn);
        };
        let Some(id) = sid_text
            .parse::<Sid>()
            .ok()
            .and_then(|sid| self.by_sid.get(&sid).copied())
        else {
            return self.refuse(req, RequestError::UnknownSid);
        };
        // A sid belongs to the address that opened it: from anywhere else (a sid read from a
        // log, say) it is unknown, and the session is left alone.
        if self
            .sessions
            .get(id)
            .is_some_and(|s| s.remote != req.remote)
        {
            return self.refuse(req, RequestError::UnknownSid);
        }
        if self.close_if_pong_overdue(timers, now, id) {
            return self.refuse(req, RequestError::UnknownSid);
        }
        let current = self.sessions.get(id).map(|s| s.transport.kind());
        if req.websocket && transport == Transport::WebSocket {
            return self.begin_upgrade(timers, now, id, conn);
        }
        if current != Some(transport) || req.websocket {
            return self.refuse(req, RequestError::BadRequest);
        }
        match req.method {
            Method::Get => self.polling_get(timers, id, conn),
            Method::Post => self.polling_post_start(timers, id, conn),
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
        timers: &mut dyn Timers,
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
        self.schedule_ping(timers, now, id);
        self.events.push_back(Event::Open(id));
        match transport {
            Transport::Polling => {
                // The open packet is the whole answer to the handshake GET.
                Outcome::Reply(Reply::ok_text(open.into_bytes()))
            }
            Transport::WebSocket => {
                self.send(timers, id, Frame::Text(Bytes::from(open)));
                Outcome::AcceptWebSocket(id)
            }
        }
    }

    // ----- packets -------------------------------------------------------------------------

    fn on_packet(
        &mut self,
        timers: &mut dyn Timers,
        now: Instant,
        id: SessionId,
        packet: Incoming,
    ) {
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
                    self.schedule_ping(timers, now, id);
                }
            }
            Incoming::Text(PacketKind::Close, _) => {
                // Reference (polling `onClose`): a parked GET ends with a noop, not a close
                // packet, since the client is the one closing.
                self.answer_held_get(id, vec![PacketKind::Noop.digit()]);
                self.close(timers, id, CloseReason::TransportClose);
            }
            Incoming::Text(PacketKind::Ping, _) => {
                // v4: the server pings; a client ping is "invalid heartbeat direction".
                log::debug!("closing session: client sent a ping");
                self.close(timers, id, CloseReason::ParseError);
            }
            Incoming::Text(kind, _) => {
                log::debug!("closing session: unexpected packet {kind:?}");
                self.close(timers, id, CloseReason::ParseError);
            }
        }
    }

    // ----- closing -------------------------------------------------------------------------

    /// Closes the session: the layer above gets [`Event::Close`], the connections are told.
    pub fn close(&mut self, timers: &mut dyn Timers, id: SessionId, reason: CloseReason) {
        let Some(session) = self.sessions.remove(id) else {
            return;
        };
        self.by_sid.remove(&session.sid);
        for timer in [
            session.heartbeat_timer,
            session.upgrade_timer,
            session.stall_timer,
            session.layer_deadline,
        ]
        .into_iter()
        .flatten()
        {
            timers.cancel(timer);
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

    /// Bytes that may still be queued for the session before its queue passes its
    /// high-water mark, or the bytes queued for everyone together plus `held_above` (what the
    /// layers above hold) pass the memory budget; 0 for an unknown session. An answer built
    /// in pieces (a listing, a fetch) stops where this runs out, instead of being queued whole
    /// and then disconnecting its asker.
    pub fn queue_room(&self, id: SessionId, held_above: usize) -> usize {
        let Some(session) = self.sessions.get(id) else {
            return 0;
        };
        let own = self
            .config
            .high_water()
            .saturating_sub(session.queued_bytes);
        let process = self
            .config
            .memory_budget
            .saturating_sub(self.total_queued_bytes().saturating_add(held_above));
        own.min(process)
    }

    /// Bytes queued on polling sessions (a WebSocket's are in the front door's queues).
    pub fn polling_queued_bytes(&self) -> usize {
        self.sessions
            .iter()
            .filter(|(_, s)| s.transport.kind() == Transport::Polling)
            .map(|(_, s)| s.queued_bytes)
            .sum()
    }

    pub fn count_by_transport(&self) -> (usize, usize) {
        let ws = self
            .sessions
            .iter()
            .filter(|(_, s)| s.transport.kind() == Transport::WebSocket)
            .count();
        (self.sessions.len().saturating_sub(ws), ws)
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
