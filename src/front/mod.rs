//! The front door: one mio event loop that owns the public port and every connection.
//!
//! Each connection first sends a request head, read with a size cap and a time cap. Requests
//! at the Engine.IO path stay in the loop (long-polling, or a WebSocket); anything else is
//! bridged to the tiny_http workers (`bridge.rs`). This is the only module of the loop thread
//! that touches sockets or reads the clock (when a turn's wait begins, to size it, and when it
//! ends, the turn's `now`); the layers above get `now` passed in. (The tiny_http workers, on
//! their own threads, have their own sockets and clock.)
//!
//! The loop is an I/O shell around pure parts: a connection's states and the rules between
//! them (`machine.rs`), the order of a turn (`turn.rs`), and what connections may hold
//! (`slots.rs`). Readiness is edge-triggered: every read drains until `WouldBlock` or a
//! per-turn budget; connections that hit the budget are read first next turn, so one busy
//! client cannot starve the others and nothing is answered out of order.

mod bridge;
mod conn;
pub(crate) mod cors;
mod engine_io;
mod host;
mod http;
mod machine;
mod nonblocking;
mod out;
pub(crate) mod peer;
pub(crate) mod pool;
mod response;
mod slots;
mod turn;
mod workers;
pub(crate) mod ws;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::{TcpListener, TcpStream, UnixStream};
use mio::{Events, Interest, Poll, Token};

use crate::engine::deadlines::{Deadline, Deadlines};
use crate::engine::{self, Action, Engine, Layer, Message, Outcome};
use crate::metrics::Metrics;
use crate::util::arena::{Arena, Handle};
use crate::util::timer::TimerId;
use crate::wire::eio::Frame;
use crate::wire::http_head::{self, Method, RequestHead};
use crate::wire::query;

pub use self::host::ServedHosts;

use self::bridge::{Bridge, Progress};
use self::cors::{Cors, OriginCheck};
use self::machine::{AfterWrite, Expiry, Reading, Release, State};
use self::nonblocking::Got;
use self::out::OutQueue;
use self::pool::BufferPool;
use self::slots::{AddressCounts, BridgeSlots};
use self::turn::Turn;
use self::ws::{ReadStatus, WsError, WsEvent, WsReader};

const LISTENER: Token = Token(usize::MAX);
/// Bytes read from one connection per turn before others get theirs.
const READ_BUDGET: usize = 1 << 20;
/// Connections the kernel queues for `accept` at most. std and mio listen with 128; a burst
/// of more simultaneous connects (a room reconnecting after a restart, the bench's 1000)
/// overflows it, and each dropped SYN is retried by the client only after a second.
const LISTEN_BACKLOG: i32 = 1024;
/// Headers in one request head at most.
const MAX_HEADERS: usize = 64;
/// A client whose unread responses pass this is not read from until they drain.
const CLIENT_OUT_PAUSE: usize = 256 * 1024;
/// Bytes a connection answered early may still send that are read and dropped at most (about
/// a long phone video shared before the service worker runs, or a huge refused WebSocket
/// message): past this it is closed, and may see a reset. Dropping costs a read per 16 KiB,
/// no memory.
const DRAIN_MAX: usize = 2 << 30;
/// How often the loop publishes its gauges for `/metrics`: often enough for a scrape to see
/// current values, rare enough that counting connections costs nothing measurable.
const METRICS_PERIOD: Duration = Duration::from_millis(250);
/// WebSocket close code for a message refused because the memory budget is reached
/// (RFC 6455 registry: "Try Again Later").
const CLOSE_TRY_AGAIN_LATER: u16 = 1013;
/// WebSocket close code for a message above `MAX_PAYLOAD` (RFC 6455: "Message Too Big").
const CLOSE_TOO_BIG: u16 = 1009;
/// Refusals of a full connection table are logged as one line with a count per this interval,
/// never one line per refusal (a reconnecting flood makes thousands a second).
const REFUSAL_LOG_PERIOD: Duration = Duration::from_secs(10);
/// Longest sleep, so published metrics stay fresh on an idle server.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// What the front door needs to know. Each limit is a setting (`config::SETTINGS` documents
/// its default and its reason).
#[derive(Debug, Clone)]
pub struct FrontConfig {
    /// Where Engine.IO lives, e.g. `["/socket.io/"]`; sessions remember which one they used.
    pub engine_paths: Vec<String>,
    /// `MAX_CONNECTIONS`: open TCP connections at most.
    pub max_connections: usize,
    /// `HEAD_MAX_BYTES`: the largest request head.
    pub head_max_bytes: usize,
    /// `HEAD_TIMEOUT`: for a whole head, and for each gap in a body or a slow reader's drain.
    pub head_timeout: Duration,
    /// `MAX_PAYLOAD`: the largest polling body or WebSocket message.
    pub max_payload: usize,
    /// `MEMORY_BUDGET`: bytes held for all clients together before new large inputs are refused.
    pub memory_budget: usize,
    /// `TRUSTED_PROXIES`: whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `MAX_CONNECTIONS_PER_ADDRESS`: open connections per client address (IPv6 per /64).
    pub max_connections_per_address: u32,
    /// `CORS_ORIGINS`: other origins allowed to connect.
    pub cors_origins: Vec<String>,
    /// The names a request's `Host` may carry; any other is answered 421.
    pub served_hosts: ServedHosts,
    /// Requests in flight to the tiny_http workers at most; more wait their turn.
    pub max_bridged: usize,
    /// Paths whose POSTs are answered `303 See Other` to `/` and their bodies drained, never
    /// bridged (the web app's share target, before its service worker takes it).
    pub drained_posts: Vec<String>,
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

struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    state: State,
    /// Bytes read but not yet consumed (a request head, or what followed it).
    input: Vec<u8>,
    out: OutQueue,
    /// The deadline of the state (see [`machine::Wait`]).
    timer: Option<TimerId>,
    read_paused: bool,
    /// What the stream is registered for now (see `sync_interest`); `None`: not registered.
    interest: Option<Interest>,
    /// The client address key this connection is counted under (see [`AddressCounts`]). A
    /// trusted proxy's connection is counted once its first head names the client.
    counted: Option<std::net::IpAddr>,
}

/// The whole server: event loop, protocol layers and application.
pub struct Server<L: Layer> {
    poll: Poll,
    listener: TcpListener,
    conns: Arena<Conn>,
    engine: Engine,
    /// Every deadline of the loop and the layers above.
    deadlines: Deadlines<L::Timer>,
    layer: L,
    config: FrontConfig,
    cors: Cors,
    metrics: Arc<Metrics>,
    addresses: AddressCounts,
    bridges: BridgeSlots,
    turn: Turn,
    last_metrics: Instant,
    /// Connections refused since the last log line about them, and when that line was.
    refused: u64,
    last_refusal_log: Option<Instant>,
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
        timer_capacity: usize,
        metrics: Arc<Metrics>,
    ) -> io::Result<Server<L>> {
        listener.set_nonblocking(true)?;
        // Listening again only changes the backlog (Linux; the kernel caps it at somaxconn).
        socket2::SockRef::from(&listener).listen(LISTEN_BACKLOG)?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        metrics
            .connection_slots
            .store(config.max_connections as u64, Ordering::Relaxed);
        let now = Instant::now();
        Ok(Server {
            poll,
            listener,
            conns: Arena::with_capacity(config.max_connections),
            engine,
            deadlines: Deadlines::new(now, timer_capacity),
            layer,
            cors: Cors {
                allowed: config.cors_origins.clone(),
            },
            addresses: AddressCounts::new(config.max_connections_per_address),
            bridges: BridgeSlots::new(config.max_bridged),
            config,
            metrics,
            turn: Turn::new(now),
            last_metrics: now,
            refused: 0,
            last_refusal_log: None,
            scratch: ws::scratch(),
            pool: BufferPool::default(),
        })
    }

    /// Sets a deadline of the application's before the loop runs (one it found waiting at
    /// start, such as an inbox item kept on disk); it fires like any other.
    pub fn set_app_timer(&mut self, deadline: Instant, key: L::Timer) -> io::Result<()> {
        crate::engine::AppTimers::set(&mut self.deadlines, deadline, key)
            .map(|_| ())
            .map_err(|_| io::Error::other("no room for the application's first deadline"))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Runs until an unrecoverable error of the poller itself.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut fired = Vec::new();
        loop {
            let timeout = if self.turn.has_leftovers() {
                Duration::ZERO
            } else {
                let before = Instant::now();
                let until = self
                    .deadlines
                    .next_deadline()
                    .map(|d| d.saturating_duration_since(before));
                until.map_or(MAX_SLEEP, |u| u.min(MAX_SLEEP))
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if nonblocking::interrupted(&e) {
                    continue;
                }
                return Err(e);
            }
            let now = Instant::now();
            // Input left over from earlier turns first: it was there before anything this
            // poll reports (see `turn`).
            for conn in self.turn.begin(now) {
                self.visit(conn);
            }
            for event in events.iter() {
                let token = event.token();
                if token == LISTENER {
                    self.accept();
                    continue;
                }
                // Sporadic events for closed connections happen: they find nothing.
                let Some(id) = self.conns.handle_at(token.0 / 2) else {
                    continue;
                };
                if token.0 % 2 == 1 {
                    self.bridge_ready(id);
                } else {
                    self.visit(id);
                }
            }
            self.expire(now, &mut fired);
            self.settle(now);
            self.write_pending();
            if now.duration_since(self.last_metrics) >= METRICS_PERIOD {
                self.publish_metrics(now);
            }
        }
    }

    /// Hands every deadline that passed to its owner. The connections' go last, so that what
    /// the sessions' deadlines of this turn queue (a ping for a held GET) is already there
    /// when a connection's deadline answers or closes it.
    fn expire(&mut self, now: Instant, fired: &mut Vec<Deadline<L::Timer>>) {
        self.deadlines.expire(now, fired);
        let mut conns = Vec::new();
        for deadline in fired.drain(..) {
            match deadline {
                Deadline::Conn(conn) => conns.push(conn),
                Deadline::Engine(timer) => self.engine.timer_fired(&mut self.deadlines, now, timer),
                Deadline::App(key) => {
                    self.layer
                        .timer_fired(&mut self.engine, &mut self.deadlines, now, key)
                }
            }
        }
        for conn in conns {
            self.conn_deadline(conn);
        }
    }

    /// Lets the layers above react, then carries out what the engine decided, until quiet
    /// (the engine's one drive loop, [`Engine::settle`]).
    fn settle(&mut self, now: Instant) {
        while let Some(action) = self
            .engine
            .settle(&mut self.layer, &mut self.deadlines, now)
        {
            self.apply(action);
        }
    }

    // ----- accepting -----------------------------------------------------------------------

    fn accept(&mut self) {
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
            let direct = !self.config.trusted_proxies.contains(&peer.ip());
            if self.conns.is_full() || (direct && !self.addresses.has_room(peer.ip())) {
                // Full: say so and close. The write may fail on a slow client; that is fine.
                let body = response::render(
                    503,
                    "text/plain",
                    "Retry-After: 5\r\n",
                    b"server full\n",
                    true,
                );
                let _ = io::Write::write(&mut stream, &body);
                self.refused += 1;
                self.log_refusals(self.turn.now());
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
                interest: None,
                counted: None,
            };
            let Ok(id) = self.conns.try_insert(conn) else {
                continue;
            };
            self.sync_interest(id);
            if self.conns.get(id).is_none_or(|c| c.interest.is_none()) {
                continue;
            }
            if direct {
                self.count_address(id, peer.ip());
            }
            // Not read here: registering reports a socket that already has data, so the
            // first read comes from the readiness list, in the order requests arrived. Reading
            // at accept would serve a later connection first whenever its bytes beat an
            // earlier one's to the accept loop (a POST overtaking the GET it should release).
            self.arm_wait(id);
        }
    }

    // ----- reading and writing --------------------------------------------------------------

    /// Reads a connection that has input, and notes it: connections are written in the order
    /// they were read.
    fn visit(&mut self, id: Handle) {
        if !self.conns.contains(id) {
            return;
        }
        self.read_conn(id);
        self.turn.was_read(id);
        if self.conns.get(id).is_some_and(|c| !c.out.is_empty()) {
            self.turn.wants_write(id);
        }
    }

    fn write_pending(&mut self) {
        for id in self.turn.take_writes() {
            self.write_conn(id);
        }
        // Writing can complete bridged responses and closes, which may queue more work.
        self.settle(self.turn.now());
        for id in self.turn.take_writes() {
            self.write_conn(id);
        }
    }

    /// Writes what is queued on the connection and carries out what that finished; its
    /// interest then follows what is left.
    fn write_conn(&mut self, id: Handle) {
        self.write_queued(id);
        self.sync_interest(id);
    }

    fn write_queued(&mut self, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let written = match conn.out.write_to(&mut conn.stream, &mut self.pool) {
            Ok(written) => written,
            Err(_) => return self.close_conn(id),
        };
        if let State::WebSocket { session, .. } = conn.state {
            if written.accounted > 0 {
                self.engine
                    .ws_written(&mut self.deadlines, session, written.accounted);
            }
        }
        let Some(conn) = self.conns.get(id) else {
            return;
        };
        let bridged = matches!(conn.state, State::Bridge(_));
        let drained_enough = conn.out.len() < CLIENT_OUT_PAUSE;
        match conn.state.after_write(written.empty, written.bytes > 0) {
            AfterWrite::Close => return self.close_conn(id),
            AfterWrite::Linger(drain) => return self.begin_linger(id, drain),
            AfterWrite::ReadNext => self.turn.read_again(id),
            AfterWrite::Nothing => {}
        }
        if written.bytes > 0 {
            self.progress(id, machine::Progress::Written);
        }
        // A bridged response paused for a slow client can go on once it drained.
        if bridged && drained_enough {
            self.pump_bridge_response(id);
        }
    }

    /// Logs the refusals counted since the last line, at most once per period.
    fn log_refusals(&mut self, now: Instant) {
        let due = self
            .last_refusal_log
            .is_none_or(|at| now.duration_since(at) >= REFUSAL_LOG_PERIOD);
        if self.refused > 0 && due {
            log::warn!(
                "connection limit reached; refused {} connection(s) since the last report",
                self.refused
            );
            self.refused = 0;
            self.last_refusal_log = Some(now);
        }
    }

    /// Counts the connection under its client's address, once.
    fn count_address(&mut self, id: Handle, address: std::net::IpAddr) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if conn.counted.is_none() {
            conn.counted = Some(self.addresses.add(address));
        }
    }

    // ----- memory budget -------------------------------------------------------------------

    /// Bytes held for clients now: every connection's queued output, its input being read
    /// (head, body, WebSocket frame and message), the polling queues, and what the layers
    /// above keep (binary packets waiting for attachments, inboxes). Frames relayed to many
    /// receivers share one buffer but count once per receiver, so this errs high.
    /// Counted only when a large input asks (at most once per 64 KiB read), never per byte.
    fn held_bytes(&self) -> usize {
        let conns: usize = self
            .conns
            .iter()
            .map(|(_, c)| {
                let reader = match &c.state {
                    State::WebSocket { reader, .. } => reader.buffered(),
                    _ => 0,
                };
                c.out.len() + c.input.len() + reader
            })
            .sum();
        conns + self.engine.polling_queued_bytes() + self.layer.held_bytes()
    }

    /// Whether a new input of `len` bytes fits in the process's memory budget.
    fn within_budget(&self, len: usize) -> bool {
        self.held_bytes().saturating_add(len) <= self.config.memory_budget
    }

    // ----- metrics -------------------------------------------------------------------------

    fn publish_metrics(&mut self, now: Instant) {
        self.last_metrics = now;
        self.log_refusals(now);
        let mut head = 0u64;
        let mut http = 0u64;
        for (_, conn) in self.conns.iter() {
            match conn.state {
                State::Head => head += 1,
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
