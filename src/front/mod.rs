//! The front door: one mio event loop that owns the public port and every connection.
//!
//! Each connection first sends a request head, read with a size cap and a time cap. Requests
//! at the Engine.IO path stay in the loop (long-polling, or a WebSocket); anything else is
//! bridged to the tiny_http workers ([`bridge`]). This is the only module of the loop thread
//! that touches sockets or reads the clock (once per turn); the layers above get `now` passed
//! in. (The tiny_http workers, on their own threads, have their own sockets and clock.)
//!
//! Readiness is edge-triggered: every read drains until `WouldBlock` or a per-turn budget;
//! connections that hit the budget are revisited next turn, so one busy client cannot starve
//! the others.

mod bridge;
mod nonblocking;
mod out;
mod pool;
mod response;
mod ws;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::{TcpListener, TcpStream, UnixStream};
use mio::{Events, Interest, Poll, Token};

use crate::engine::{self, Action, Engine, Layer, Message, Outcome, SessionId};
use crate::metrics::Metrics;
use crate::util::arena::{Arena, Handle};
use crate::util::timer::TimerId;
use crate::wire::eio::Frame;
use crate::wire::http_head::{self, Method, RequestHead};
use crate::wire::query;

use self::bridge::{Bridge, Progress};
use self::nonblocking::Got;
use self::out::OutQueue;
use self::pool::BufferPool;
use self::response::{Cors, OriginCheck};
use self::ws::{ReadStatus, WsError, WsEvent, WsReader};

const LISTENER: Token = Token(usize::MAX);
/// Bytes read from one connection per turn before others get theirs.
const READ_BUDGET: usize = 1 << 20;
/// Headers in one request head at most.
const MAX_HEADERS: usize = 64;
/// A client whose unread responses pass this is not read from until they drain.
const CLIENT_OUT_PAUSE: usize = 256 * 1024;
/// How long a closed-for-writing connection keeps draining what its client still sends.
/// A client mid-way through a refused upload needs about the time the rest takes to send.
const LINGER: Duration = Duration::from_secs(2);
/// Longest sleep, so published metrics stay fresh on an idle server.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// What the front door needs to know.
#[derive(Debug, Clone)]
pub struct FrontConfig {
    /// Where Engine.IO lives, e.g. `["/socket.io/"]`; sessions remember which one they used.
    pub engine_paths: Vec<String>,
    pub max_connections: usize,
    pub head_max_bytes: usize,
    pub head_timeout: Duration,
    pub max_payload: usize,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub cors_origins: Vec<String>,
    /// Requests in flight to the tiny_http workers at most; more wait their turn.
    pub max_bridged: usize,
    /// The workers' Unix socket; `None` answers every plain-HTTP request 404.
    pub http_socket: Option<PathBuf>,
}

/// Connection token: TCP side even, its bridge's Unix side odd.
fn tcp_token(conn: Handle) -> Token {
    Token(conn.index() * 2)
}

fn unix_token(conn: Handle) -> Token {
    Token(conn.index() * 2 + 1)
}

enum State {
    /// Reading a request head.
    Head,
    /// Reading a polling POST body of `need` bytes (into `Conn::input`), with the header
    /// lines its answer needs.
    Body {
        session: SessionId,
        need: usize,
        cors: String,
    },
    /// A polling GET parked until the session has something to send, with the CORS header
    /// lines its answer needs.
    Held {
        session: SessionId,
        cors: String,
    },
    /// Waiting for a free bridge slot, with the parsed head and its raw bytes.
    BridgeWait {
        head: RequestHead,
        raw: Vec<u8>,
    },
    Bridge(Box<Bridge>),
    WebSocket {
        session: SessionId,
        reader: Box<WsReader>,
        closing: bool,
    },
    /// Writing a last response, then closing.
    Closing,
    /// The last response is written and our side shut down; reading and dropping what the
    /// client still sends (at most `left` bytes, until the linger deadline), so that its
    /// kernel does not answer our close with a reset before it read the response.
    Lingering {
        left: usize,
    },
}

struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    state: State,
    /// Bytes read but not yet consumed (a request head, or what followed it).
    input: Vec<u8>,
    out: OutQueue,
    timer: Option<TimerId>,
    read_paused: bool,
}

/// The whole server: event loop, protocol layers and application.
pub struct Server<L: Layer> {
    poll: Poll,
    listener: TcpListener,
    conns: Arena<Conn>,
    engine: Engine,
    layer: L,
    config: FrontConfig,
    cors: Cors,
    metrics: Arc<Metrics>,
    bridged: usize,
    bridge_queue: std::collections::VecDeque<Handle>,
    /// Connections to read again next turn (budget hit, or reading resumed).
    again: Vec<Handle>,
    /// Connections with something queued to write.
    to_write: Vec<Handle>,
    last_metrics: Instant,
    /// When this turn's poll returned: the one clock reading of the turn, passed to the layers
    /// as `now` and used for deadlines set while writing.
    now: Instant,
    /// The one read buffer of the loop, for every connection (see [`ws::scratch`]).
    scratch: Vec<u8>,
    pool: BufferPool,
}

impl<L: Layer> Server<L> {
    pub fn new(
        listener: std::net::TcpListener,
        config: FrontConfig,
        engine: Engine,
        layer: L,
        metrics: Arc<Metrics>,
    ) -> io::Result<Server<L>> {
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        metrics
            .connection_slots
            .store(config.max_connections as u64, Ordering::Relaxed);
        Ok(Server {
            poll,
            listener,
            conns: Arena::with_capacity(config.max_connections),
            engine,
            layer,
            cors: Cors {
                allowed: config.cors_origins.clone(),
            },
            config,
            metrics,
            bridged: 0,
            bridge_queue: std::collections::VecDeque::new(),
            again: Vec::new(),
            to_write: Vec::new(),
            last_metrics: Instant::now(),
            now: Instant::now(),
            scratch: ws::scratch(),
            pool: BufferPool::default(),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Runs until an unrecoverable error of the poller itself.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut fired = Vec::new();
        let mut conn_timers = Vec::new();
        loop {
            let timeout = if self.again.is_empty() {
                let now = Instant::now();
                let until = self
                    .engine
                    .next_deadline()
                    .map(|d| d.saturating_duration_since(now));
                Some(until.map_or(MAX_SLEEP, |u| u.min(MAX_SLEEP)))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if nonblocking::interrupted(&e) {
                    continue;
                }
                return Err(e);
            }
            let now = Instant::now();
            self.now = now;
            // Connections left over from the last turn go after this turn's readiness, so a
            // busy one cannot take more than its budget before the others get theirs.
            let mut again = std::mem::take(&mut self.again);
            again.sort_unstable_by_key(|h| h.index());
            again.dedup();
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(now),
                    token => self.on_ready(now, token),
                }
            }
            for conn in again {
                self.read_conn(now, conn);
            }
            self.engine.expire(now, &mut fired, &mut conn_timers);
            for conn in conn_timers.drain(..) {
                self.conn_deadline(conn);
            }
            self.settle(now);
            self.write_pending();
            if now.duration_since(self.last_metrics) >= Duration::from_millis(250) {
                self.publish_metrics(now);
            }
        }
    }

    // ----- accepting -----------------------------------------------------------------------

    fn accept(&mut self, now: Instant) {
        loop {
            let (mut stream, peer) = match self.listener.accept() {
                Ok(pair) => pair,
                Err(e) if nonblocking::would_block(&e) => return,
                Err(e) if nonblocking::interrupted(&e) => continue,
                Err(e) => {
                    // EMFILE and friends: the connection stays in the backlog; try next turn.
                    log::warn!("accept failed: {e}");
                    return;
                }
            };
            if self.conns.is_full() {
                // Full: say so and close. The write may fail on a slow client; that is fine.
                let body = response::render(
                    503,
                    "text/plain",
                    "Retry-After: 5\r\n",
                    b"server full\n",
                    true,
                );
                let _ = io::Write::write(&mut stream, &body);
                log::warn!("connection limit reached; refusing {peer}");
                continue;
            }
            let _ = stream.set_nodelay(true);
            let conn = Conn {
                stream,
                peer,
                state: State::Head,
                input: Vec::new(),
                out: OutQueue::default(),
                timer: None,
                read_paused: false,
            };
            let Ok(id) = self.conns.try_insert(conn) else {
                continue;
            };
            let registered = match self.conns.get_mut(id) {
                Some(c) => self.poll.registry().register(
                    &mut c.stream,
                    tcp_token(id),
                    Interest::READABLE | Interest::WRITABLE,
                ),
                None => continue,
            };
            if registered.is_err() {
                self.conns.remove(id);
                continue;
            }
            self.arm_head_timer(now, id);
            self.read_conn(now, id);
        }
    }

    fn arm_head_timer(&mut self, now: Instant, id: Handle) {
        self.arm_deadline(now + self.config.head_timeout, id);
    }

    fn arm_deadline(&mut self, deadline: Instant, id: Handle) {
        let timer = self.engine.set_conn_timer(deadline, id).ok();
        if let Some(conn) = self.conns.get_mut(id) {
            if let Some(old) = std::mem::replace(&mut conn.timer, timer) {
                self.engine.cancel_timer(old);
            }
        }
    }

    fn disarm_timer(&mut self, id: Handle) {
        if let Some(timer) = self.conns.get_mut(id).and_then(|c| c.timer.take()) {
            self.engine.cancel_timer(timer);
        }
    }

    // ----- readiness -----------------------------------------------------------------------

    fn on_ready(&mut self, now: Instant, token: Token) {
        let index = token.0 / 2;
        let Some(id) = self.conns.handle_at(index) else {
            return; // Sporadic events for closed connections happen.
        };
        if token.0 % 2 == 1 {
            self.bridge_ready(id);
        } else {
            self.read_conn(now, id);
            if self.conns.get(id).is_some_and(|c| !c.out.is_empty()) {
                self.to_write.push(id);
            }
        }
    }

    /// Reads whatever the connection has, as its state wants it.
    fn read_conn(&mut self, now: Instant, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if conn.read_paused {
            return;
        }
        match &mut conn.state {
            State::WebSocket { closing: false, .. } => self.read_ws(now, id),
            State::WebSocket { closing: true, .. } | State::Closing => self.discard_input(id),
            State::Lingering { .. } => self.linger(id),
            State::Held { .. } | State::BridgeWait { .. } | State::Bridge(_) => {
                // Nothing may arrive while parked except EOF; detect it without consuming a
                // pipelined request (clients do not pipeline behind a long-poll).
                self.peek_eof(id);
            }
            State::Head | State::Body { .. } => self.read_http(now, id),
        }
    }

    fn peek_eof(&mut self, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let mut probe = [0u8; 1];
        match conn.stream.peek(&mut probe) {
            Ok(0) => self.close_conn(id),
            Err(e) if !nonblocking::would_block(&e) && !nonblocking::interrupted(&e) => {
                self.close_conn(id)
            }
            _ => {}
        }
    }

    /// The last response is out: shut our side down and drain the client for a while.
    fn begin_linger(&mut self, id: Handle) {
        let left = self
            .config
            .max_payload
            .saturating_add(self.config.head_max_bytes);
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if conn.stream.shutdown(std::net::Shutdown::Write).is_err() {
            return self.close_conn(id);
        }
        conn.state = State::Lingering { left };
        let deadline = self.now + LINGER;
        self.arm_deadline(deadline, id);
        self.linger(id);
    }

    /// Drops what a lingering client sends; closes at its EOF or once it sent too much.
    fn linger(&mut self, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let State::Lingering { left } = &mut conn.state else {
            return;
        };
        loop {
            let room = (*left).min(self.scratch.len());
            if room == 0 {
                return self.close_conn(id);
            }
            let buf = self.scratch.get_mut(..room).unwrap_or_default();
            match nonblocking::read(&mut conn.stream, buf) {
                Ok(Got::Data(n)) => *left = left.saturating_sub(n),
                Ok(Got::WouldBlock) => return,
                Ok(Got::Eof) | Err(_) => return self.close_conn(id),
            }
        }
    }

    fn discard_input(&mut self, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        loop {
            match nonblocking::read(&mut conn.stream, &mut self.scratch) {
                Ok(Got::Data(_)) => {}
                Ok(Got::WouldBlock) => return,
                Ok(Got::Eof) | Err(_) => return self.close_conn(id),
            }
        }
    }

    /// Reads into the connection's input buffer, bounded by `limit` bytes in total.
    /// Returns false when the connection was closed.
    fn fill_input(&mut self, id: Handle, limit: usize) -> bool {
        let Some(conn) = self.conns.get_mut(id) else {
            return false;
        };
        let chunk = &mut self.scratch;
        while conn.input.len() < limit {
            let room = (limit - conn.input.len()).min(chunk.len());
            match nonblocking::read(&mut conn.stream, chunk.get_mut(..room).unwrap_or_default()) {
                Ok(Got::Data(n)) => conn
                    .input
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Ok(Got::WouldBlock) => return true,
                Ok(Got::Eof) | Err(_) => {
                    self.close_conn(id);
                    return false;
                }
            }
        }
        // At the limit with possibly more unread: come back after this turn.
        self.again.push(id);
        true
    }

    // ----- HTTP requests -------------------------------------------------------------------

    fn read_http(&mut self, now: Instant, id: Handle) {
        loop {
            let Some(conn) = self.conns.get(id) else {
                return;
            };
            match &conn.state {
                State::Head => {
                    let limit = self.config.head_max_bytes + 1;
                    let buffered = !conn.input.is_empty()
                        && matches!(
                            http_head::parse_request_head(&conn.input, MAX_HEADERS),
                            Ok(Some(_))
                        );
                    if !buffered && !self.fill_input(id, limit) {
                        return;
                    }
                    let Some(conn) = self.conns.get(id) else {
                        return;
                    };
                    match http_head::parse_request_head(&conn.input, MAX_HEADERS) {
                        Ok(Some(head)) if head.head_len <= self.config.head_max_bytes => {
                            let raw: Vec<u8> =
                                conn.input.get(..head.head_len).unwrap_or_default().to_vec();
                            if let Some(conn) = self.conns.get_mut(id) {
                                conn.input.drain(..head.head_len);
                            }
                            self.disarm_timer(id);
                            self.on_head(now, id, head, raw);
                        }
                        Ok(Some(_)) => return self.reject(id, 431, "request head too large"),
                        Ok(None) if conn.input.len() > self.config.head_max_bytes => {
                            return self.reject(id, 431, "request head too large")
                        }
                        Ok(None) => return,
                        Err(err) => return self.reject(id, err.status(), err.reason()),
                    }
                }
                State::Body { need, .. } => {
                    let need = *need;
                    if conn.input.len() < need && !self.fill_input(id, need) {
                        return;
                    }
                    let Some(conn) = self.conns.get_mut(id) else {
                        return;
                    };
                    if conn.input.len() < need {
                        return;
                    }
                    let State::Body { session, cors, .. } =
                        std::mem::replace(&mut conn.state, State::Head)
                    else {
                        return;
                    };
                    let body: Vec<u8> = conn.input.drain(..need).collect();
                    self.disarm_timer(id);
                    let reply = self.engine.polling_body(now, session, &body);
                    let bytes = response::render(
                        reply.status,
                        reply.content_type,
                        &cors,
                        &reply.body,
                        false,
                    );
                    self.queue_response(now, id, bytes, true);
                }
                _ => return,
            }
            // Another request may already be buffered (keep-alive), or a body already
            // complete (`Content-Length: 0` needs no byte at all); stop when neither is.
            let more = self.conns.get(id).is_some_and(|c| match c.state {
                State::Head => !c.input.is_empty(),
                State::Body { need, .. } => c.input.len() >= need,
                _ => false,
            });
            if !more {
                return;
            }
        }
    }

    /// Answers with an error status and closes (malformed or oversize heads, timeouts).
    fn reject(&mut self, id: Handle, status: u16, why: &str) {
        log::debug!("rejecting request with {status}: {why}");
        let body = format!("{why}\n");
        let bytes = response::render(
            status,
            "text/plain; charset=UTF-8",
            "",
            body.as_bytes(),
            true,
        );
        self.send_and_close(id, bytes);
    }

    fn send_and_close(&mut self, id: Handle, bytes: Vec<u8>) {
        self.disarm_timer(id);
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        conn.out.push(b"", Bytes::from(bytes), 0);
        let old = std::mem::replace(&mut conn.state, State::Closing);
        self.to_write.push(id);
        self.abandon(id, old);
        self.arm_drain_timer(id);
    }

    /// Tells whoever relied on a connection's old state that it is over.
    fn abandon(&mut self, id: Handle, old: State) {
        match old {
            State::Held { session, .. } | State::Body { session, .. } => {
                self.engine.polling_conn_gone(session, id)
            }
            State::BridgeWait { .. } => self.bridge_queue.retain(|c| *c != id),
            State::Bridge(mut bridge) => {
                let _ = self.poll.registry().deregister(&mut bridge.unix);
                self.bridged = self.bridged.saturating_sub(1);
                self.start_waiting_bridge();
            }
            State::WebSocket { session, .. } => self.engine.ws_closed(session, id, false),
            State::Head | State::Closing | State::Lingering { .. } => {}
        }
    }

    fn on_head(&mut self, now: Instant, id: Handle, head: RequestHead, raw: Vec<u8>) {
        let (path, query_string) = query::split_target(&head.target);
        let mount = self
            .config
            .engine_paths
            .iter()
            .position(|p| path == p.trim_end_matches('/') || path.starts_with(p.as_str()));
        let Some(mount) = mount else {
            return self.bridge_or_wait(now, id, head, raw);
        };
        let origin = self.cors.check(&head);
        let websocket = head.header_has_token("upgrade", "websocket");
        if origin == OriginCheck::Refused {
            return self.refuse_engine(
                now,
                id,
                websocket,
                engine::RequestError::Forbidden,
                &origin,
            );
        }
        if head.method == Method::Options && !websocket {
            let bytes = response::preflight(&origin, &head);
            return self.queue_response(now, id, bytes, head.keep_alive);
        }
        let ws_key = head.header("sec-websocket-key").map(<[u8]>::to_vec);
        let ws_valid = websocket
            && head.method == Method::Get
            && head.header_has_token("connection", "upgrade")
            && ws_key.is_some()
            && head.header("sec-websocket-version") == Some(b"13");
        if websocket && !ws_valid {
            return self.refuse_engine(now, id, true, engine::RequestError::BadRequest, &origin);
        }
        let engine_query = query::parse_engine_query(query_string);
        let Some(peer) = self.conns.get(id).map(|c| c.peer) else {
            return;
        };
        let request = engine::Request {
            method: head.method,
            query: &engine_query,
            websocket: ws_valid,
            remote: response::client_address(peer, &head, &self.config.trusted_proxies),
            raw_query: query_string,
            mount,
        };
        // As the reference: polling answers must never be cached.
        let cors = format!(
            "Cache-Control: no-store\r\n{}",
            response::cors_headers(&origin)
        );
        match self.engine.request(now, &request, id) {
            Outcome::Reply(reply) => {
                let bytes = response::render(
                    reply.status,
                    reply.content_type,
                    &cors,
                    &reply.body,
                    !head.keep_alive,
                );
                self.queue_response(now, id, bytes, head.keep_alive);
            }
            Outcome::Hold(session) => {
                if let Some(conn) = self.conns.get_mut(id) {
                    conn.state = State::Held { session, cors };
                }
            }
            Outcome::ReadBody(session) => {
                let length = head.content_length.unwrap_or(0);
                if head.chunked || length > self.config.max_payload as u64 {
                    let reply = self.engine.polling_body_too_large(session);
                    let bytes = response::render(
                        reply.status,
                        reply.content_type,
                        &cors,
                        &reply.body,
                        true,
                    );
                    return self.send_and_close(id, bytes);
                }
                if let Some(conn) = self.conns.get_mut(id) {
                    conn.state = State::Body {
                        session,
                        need: length as usize,
                        cors,
                    };
                }
                self.arm_head_timer(now, id);
            }
            Outcome::AcceptWebSocket(session) => {
                let key = ws_key.unwrap_or_default();
                let Some(conn) = self.conns.get_mut(id) else {
                    return;
                };
                conn.out
                    .push(b"", Bytes::from(ws::accept_response(&key)), 0);
                let leftover = std::mem::take(&mut conn.input);
                conn.state = State::WebSocket {
                    session,
                    reader: Box::new(WsReader::new(self.config.max_payload, &leftover)),
                    closing: false,
                };
                self.to_write.push(id);
                self.again.push(id);
            }
            Outcome::AcceptThenClose => {
                let key = ws_key.unwrap_or_default();
                let Some(conn) = self.conns.get_mut(id) else {
                    return;
                };
                conn.out
                    .push(b"", Bytes::from(ws::accept_response(&key)), 0);
                let (header, len) = ws::frame_header(ws::CLOSE, 2);
                conn.out.push(
                    header.get(..len).unwrap_or_default(),
                    Bytes::from_static(&[0x03, 0xe8]), // 1000, normal closure
                    0,
                );
                conn.input.clear();
                conn.state = State::Closing;
                self.to_write.push(id);
                self.arm_drain_timer(id);
            }
            Outcome::RejectWebSocket(message) => {
                let bytes = response::render(400, "text/html", "", message.as_bytes(), true);
                self.send_and_close(id, bytes);
            }
        }
    }

    fn refuse_engine(
        &mut self,
        now: Instant,
        id: Handle,
        websocket: bool,
        error: engine::RequestError,
        origin: &OriginCheck,
    ) {
        if websocket {
            let bytes = response::render(400, "text/html", "", error.message().as_bytes(), true);
            return self.send_and_close(id, bytes);
        }
        let reply = engine::Reply::error(error);
        let bytes = response::render(
            reply.status,
            reply.content_type,
            &response::cors_headers(origin),
            &reply.body,
            false,
        );
        self.queue_response(now, id, bytes, true);
    }

    /// Queues a complete response and returns the connection to reading heads (or closes it).
    fn queue_response(&mut self, now: Instant, id: Handle, bytes: Vec<u8>, keep_alive: bool) {
        if !keep_alive {
            return self.send_and_close(id, bytes);
        }
        if let Some(conn) = self.conns.get_mut(id) {
            conn.out.push(b"", Bytes::from(bytes), 0);
            conn.state = State::Head;
            self.to_write.push(id);
        }
        self.arm_head_timer(now, id);
    }

    // ----- timers --------------------------------------------------------------------------

    fn conn_deadline(&mut self, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        conn.timer = None;
        match conn.state {
            State::Head if conn.input.is_empty() => self.close_conn(id),
            State::Head | State::Body { .. } => self.reject(id, 408, "request timeout"),
            State::BridgeWait { .. } => self.reject(id, 503, "server busy"),
            // A client that stopped reading its last response, a close frame or a bridged
            // response: it gets no more of the server's time.
            State::Closing
            | State::Lingering { .. }
            | State::Bridge(_)
            | State::WebSocket { closing: true, .. } => {
                log::debug!("closing a connection that stopped reading");
                self.close_conn(id);
            }
            State::Held { .. } | State::WebSocket { closing: false, .. } => {}
        }
    }

    /// Gives a connection that is finishing (a last response, a close frame, a bridged
    /// response) until this deadline to make progress; each write that moves bytes extends it.
    fn arm_drain_timer(&mut self, id: Handle) {
        let now = self.now;
        self.arm_head_timer(now, id);
    }

    // ----- WebSocket -----------------------------------------------------------------------

    /// Reads a WebSocket message by message: the application sees each one (and may pause
    /// this sender for backpressure) before the next is read, so a paused sender overshoots
    /// by at most one message, however many it has in flight.
    fn read_ws(&mut self, now: Instant, id: Handle) {
        let mut budget = READ_BUDGET;
        let mut events = Vec::new();
        loop {
            let (session, result) = {
                let Some(conn) = self.conns.get_mut(id) else {
                    return;
                };
                if conn.read_paused {
                    return;
                }
                let State::WebSocket {
                    session,
                    reader,
                    closing: false,
                } = &mut conn.state
                else {
                    return;
                };
                let result = reader.read(
                    &mut conn.stream,
                    &mut self.scratch,
                    &mut self.pool,
                    &mut budget,
                    &mut events,
                );
                (*session, result)
            };
            for event in events.drain(..) {
                match event {
                    WsEvent::Text(data) => {
                        self.engine
                            .ws_message(now, session, id, Message::Text(data))
                    }
                    WsEvent::Binary(data) => {
                        self.engine
                            .ws_message(now, session, id, Message::Binary(data))
                    }
                    WsEvent::Ping(data) => self.queue_ws(id, ws::PONG, data, 0),
                    WsEvent::Close(_) => {
                        self.engine.ws_closed(session, id, true);
                        self.close_ws(id, 1000);
                        return;
                    }
                }
            }
            self.settle(now);
            match result {
                Ok(ReadStatus::Decoded) => {}
                Ok(ReadStatus::WouldBlock) => return,
                Ok(ReadStatus::Budget) => return self.again.push(id),
                Err(WsError::TooLarge) => {
                    log::debug!("websocket message above maxPayload");
                    return self.engine.ws_too_large(session, id);
                }
                Err(WsError::Protocol(why, code)) => {
                    log::debug!("websocket protocol error: {why}");
                    self.engine.ws_closed(session, id, false);
                    return self.close_ws(id, code);
                }
                Err(WsError::Io(e)) => {
                    log::debug!("websocket read failed: {e}");
                    return self.close_conn(id);
                }
                Err(WsError::Eof) => return self.close_conn(id),
            }
        }
    }

    fn queue_ws(
        &mut self,
        id: Handle,
        opcode: tungstenite::protocol::frame::coding::OpCode,
        payload: Bytes,
        accounted: usize,
    ) {
        if let Some(conn) = self.conns.get_mut(id) {
            let (header, len) = ws::frame_header(opcode, payload.len());
            conn.out
                .push(header.get(..len).unwrap_or_default(), payload, accounted);
            self.to_write.push(id);
        }
    }

    /// Sends a close frame and closes once it is written.
    fn close_ws(&mut self, id: Handle, code: u16) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if let State::WebSocket { closing, .. } = &mut conn.state {
            if *closing {
                return;
            }
            *closing = true;
            self.queue_ws(
                id,
                ws::CLOSE,
                Bytes::copy_from_slice(&code.to_be_bytes()),
                0,
            );
            self.arm_drain_timer(id);
        } else {
            self.close_conn(id);
        }
    }

    // ----- applying the engine's decisions -------------------------------------------------

    /// Lets the layers above react, then carries out what the engine decided, until quiet.
    fn settle(&mut self, now: Instant) {
        loop {
            while let Some(event) = self.engine.events.pop_front() {
                self.layer.handle(&mut self.engine, now, event);
            }
            self.engine.flush(now);
            if self.engine.actions.is_empty() {
                if self.engine.events.is_empty() {
                    return;
                }
                continue;
            }
            while let Some(action) = self.engine.actions.pop_front() {
                self.apply(now, action);
            }
        }
    }

    fn apply(&mut self, now: Instant, action: Action) {
        match action {
            Action::AnswerPoll { conn, body } => {
                let cors = match self.conns.get_mut(conn).map(|c| &mut c.state) {
                    Some(State::Held { cors, .. }) => Some(std::mem::take(cors)),
                    _ => None,
                };
                if let Some(cors) = cors {
                    let bytes =
                        response::render(200, "text/plain; charset=UTF-8", &cors, &body, false);
                    self.queue_response(now, conn, bytes, true);
                    // Anything the client sent meanwhile (a next request) can now be read.
                    self.again.push(conn);
                }
            }
            Action::SendWs { conn, frame } => {
                let (opcode, payload, accounted) = match frame {
                    Frame::Text(bytes) => (ws::TEXT, bytes.clone(), bytes.len()),
                    Frame::Binary(bytes) => (ws::BINARY, bytes.clone(), bytes.len()),
                };
                let open = self
                    .conns
                    .get(conn)
                    .is_some_and(|c| matches!(c.state, State::WebSocket { closing: false, .. }));
                if open {
                    self.queue_ws(conn, opcode, payload, accounted);
                }
            }
            Action::CloseWs { conn, code } => self.close_ws(conn, code),
            Action::PauseRead { conn } => {
                if let Some(c) = self.conns.get_mut(conn) {
                    c.read_paused = true;
                }
            }
            Action::ResumeRead { conn } => {
                if let Some(c) = self.conns.get_mut(conn) {
                    c.read_paused = false;
                    self.again.push(conn);
                }
            }
            Action::Flush { conn } => self.write_conn(conn),
        }
    }

    fn write_pending(&mut self) {
        let mut list = std::mem::take(&mut self.to_write);
        list.sort_unstable_by_key(|h| h.index());
        list.dedup();
        for id in list {
            self.write_conn(id);
        }
        // Writing can complete bridged responses and closes, which may queue more work.
        if !self.engine.actions.is_empty() || !self.engine.events.is_empty() {
            self.settle(self.now);
            let more = std::mem::take(&mut self.to_write);
            for id in more {
                self.write_conn(id);
            }
        }
    }

    fn write_conn(&mut self, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let written = match conn.out.write_to(&mut conn.stream, &mut self.pool) {
            Ok(written) => written,
            Err(_) => return self.close_conn(id),
        };
        if let State::WebSocket { session, .. } = conn.state {
            if written.accounted > 0 {
                self.engine.ws_written(session, written.accounted);
            }
        }
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let bridged = matches!(conn.state, State::Bridge(_));
        let finishing = bridged
            || matches!(
                conn.state,
                State::Closing | State::WebSocket { closing: true, .. }
            );
        let drained_enough = conn.out.len() < CLIENT_OUT_PAUSE;
        if written.empty && matches!(conn.state, State::Closing) {
            return self.begin_linger(id);
        }
        if written.empty && finishing && !bridged {
            return self.close_conn(id);
        }
        if finishing && written.bytes > 0 {
            self.arm_drain_timer(id);
        }
        // A bridged response paused for a slow client can go on once it drained.
        if bridged && drained_enough {
            self.pump_bridge_response(id);
        }
    }

    // ----- the bridge to tiny_http ---------------------------------------------------------

    fn bridge_or_wait(&mut self, now: Instant, id: Handle, head: RequestHead, raw: Vec<u8>) {
        // Every plain-HTTP route is GET or HEAD. Refusing bodies here keeps the bridge simple
        // and keeps a client from tying up a worker by trickling a large body into it.
        if head.chunked || head.content_length.is_some_and(|n| n > 0) {
            return self.reject(id, 413, "request bodies are not accepted here");
        }
        if head.header("expect").is_some() {
            return self.reject(id, 417, "expectations are not supported");
        }
        if self.bridged >= self.config.max_bridged {
            if let Some(conn) = self.conns.get_mut(id) {
                conn.state = State::BridgeWait { head, raw };
            }
            self.bridge_queue.push_back(id);
            self.arm_head_timer(now, id);
            return;
        }
        self.start_bridge(id, head, raw);
    }

    fn start_bridge(&mut self, id: Handle, head: RequestHead, raw: Vec<u8>) {
        let Some(path) = self.config.http_socket.clone() else {
            return self.reject(id, 404, "not found");
        };
        let unix = match UnixStream::connect(&path) {
            Ok(unix) => unix,
            Err(e) => {
                log::error!("cannot reach the HTTP workers: {e}");
                return self.reject(id, 503, "server busy");
            }
        };
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let mut bridge = Box::new(Bridge::new(unix, &head, &raw, conn.peer));
        if self
            .poll
            .registry()
            .register(
                &mut bridge.unix,
                unix_token(id),
                Interest::READABLE | Interest::WRITABLE,
            )
            .is_err()
        {
            return self.reject(id, 503, "server busy");
        }
        conn.state = State::Bridge(bridge);
        self.bridged += 1;
        self.arm_drain_timer(id);
        self.bridge_write(id);
    }

    fn bridge_write(&mut self, id: Handle) {
        let failed = match self.conns.get_mut(id).map(|c| &mut c.state) {
            Some(State::Bridge(bridge)) => bridge.write().is_err(),
            _ => false,
        };
        if failed {
            self.end_bridge(id, false);
            self.reject(id, 502, "bad gateway");
        }
    }

    fn bridge_ready(&mut self, id: Handle) {
        self.bridge_write(id);
        self.pump_bridge_response(id);
    }

    /// Moves the worker's response to the client until one side would block: the worker
    /// (resumed by its next readiness event) or the client (resumed when it drained, from
    /// `write_conn`). Under edge-triggered readiness stopping any earlier would stall.
    fn pump_bridge_response(&mut self, id: Handle) {
        loop {
            let Some(conn) = self.conns.get_mut(id) else {
                return;
            };
            if conn.out.len() >= CLIENT_OUT_PAUSE {
                if conn.out.write_to(&mut conn.stream, &mut self.pool).is_err() {
                    self.end_bridge(id, false);
                    return self.close_conn(id);
                }
                if conn.out.len() >= CLIENT_OUT_PAUSE {
                    return; // The client's socket is full.
                }
            }
            let State::Bridge(bridge) = &mut conn.state else {
                return;
            };
            match bridge.read() {
                Ok(Progress::ToClient(bytes)) => {
                    conn.out.push(b"", bytes, 0);
                    self.to_write.push(id);
                }
                Ok(Progress::Partial) => {}
                Ok(Progress::Blocked) if !bridge.is_done() => return,
                Ok(Progress::Blocked) => {}
                Err(e) => {
                    log::warn!("HTTP worker connection failed: {e}");
                    self.end_bridge(id, false);
                    return self.close_conn(id);
                }
            }
            if bridge.is_done() {
                let keep_alive = bridge.keep_alive;
                return self.end_bridge(id, keep_alive);
            }
        }
    }

    /// Finishes a bridged request: frees the slot, and either goes back to reading heads or
    /// closes once the response is written.
    fn end_bridge(&mut self, id: Handle, keep_alive: bool) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let state = std::mem::replace(
            &mut conn.state,
            if keep_alive {
                State::Head
            } else {
                State::Closing
            },
        );
        if let State::Bridge(mut bridge) = state {
            let _ = self.poll.registry().deregister(&mut bridge.unix);
            self.bridged = self.bridged.saturating_sub(1);
        }
        self.to_write.push(id);
        if keep_alive {
            self.arm_head_timer(self.now, id);
            self.again.push(id);
        }
        self.start_waiting_bridge();
    }

    fn start_waiting_bridge(&mut self) {
        while self.bridged < self.config.max_bridged {
            let Some(next) = self.bridge_queue.pop_front() else {
                return;
            };
            let Some(conn) = self.conns.get_mut(next) else {
                continue;
            };
            if let State::BridgeWait { head, raw } = std::mem::replace(&mut conn.state, State::Head)
            {
                self.disarm_timer(next);
                self.start_bridge(next, head, raw);
            }
        }
    }

    // ----- closing -------------------------------------------------------------------------

    /// Closes a connection now and tells the engine what it carried.
    /// A WebSocket closed this way was lost (no close frame was read: that path tells the
    /// engine itself before closing).
    fn close_conn(&mut self, id: Handle) {
        self.disarm_timer(id);
        let Some(mut conn) = self.conns.remove(id) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.stream);
        self.abandon(id, conn.state);
    }

    // ----- metrics -------------------------------------------------------------------------

    fn publish_metrics(&mut self, now: Instant) {
        self.last_metrics = now;
        let mut head = 0u64;
        let mut http = 0u64;
        for (_, conn) in self.conns.iter() {
            match conn.state {
                State::Head | State::Closing | State::Lingering { .. } => head += 1,
                State::Bridge(_) | State::BridgeWait { .. } => http += 1,
                _ => {}
            }
        }
        let (polling, websocket) = self.engine.count_by_transport();
        let m = &self.metrics;
        m.connections_open
            .store(self.conns.len() as u64, Ordering::Relaxed);
        m.connections_head.store(head, Ordering::Relaxed);
        m.connections_http.store(http, Ordering::Relaxed);
        m.connections_polling
            .store(polling as u64, Ordering::Relaxed);
        m.connections_websocket
            .store(websocket as u64, Ordering::Relaxed);
        m.queued_bytes
            .store(self.engine.total_queued_bytes() as u64, Ordering::Relaxed);
    }
}
