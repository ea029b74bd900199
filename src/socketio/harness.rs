//! A sans-IO harness for the layers above the engine: a real [`Engine`], the loop's
//! [`Deadlines`] and the [`SocketIoLayer`] of an [`Application`], driven the way the front door
//! drives them (requests, WebSocket messages, `expire`, then the engine's own drive loop,
//! [`Engine::settle`]), on virtual time and without sockets. The Socket.IO and ShareThings unit
//! tests share it; only carrying out the engine's actions is the harness's own (it records
//! what each connection was sent).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Application, SocketIo, SocketIoConfig, SocketIoLayer};
use crate::engine::deadlines::{Deadline, Deadlines};
use crate::engine::{Action, ConnId, Engine, EngineConfig, Message, Outcome, Request, SessionId};
use crate::util::arena::Handle;
use crate::wire::eio::Frame;
use crate::wire::http_head::Method;
use crate::wire::query;

/// One client: its WebSocket connection and its Engine.IO session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub conn: ConnId,
    pub session: SessionId,
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Engine settings with the heartbeat out of the way (tests of it live in the engine).
pub fn engine_config() -> EngineConfig {
    EngineConfig {
        ping_interval: Duration::from_secs(3600),
        ping_timeout: Duration::from_secs(3600),
        upgrade_timeout: Duration::from_secs(10),
        max_payload: 1_000_000,
        max_sessions: 64,
        send_queue_bytes: 1 << 20,
        stall_timeout: Duration::from_secs(30),
        memory_budget: 64 << 20,
    }
}

pub fn socketio_config() -> SocketIoConfig {
    SocketIoConfig {
        namespaces: vec!["/".into(), "/custom".into()],
        connect_timeout: Duration::from_secs(1),
        packet_limits: crate::wire::sio::Limits {
            attachments: 4,
            json_depth: 32,
            json_nodes: 1000,
            json_expansion: 24,
        },
        max_attachment_bytes: 1 << 16,
        attachment_timeout: Duration::from_secs(2),
        max_sockets: 64,
    }
}

pub struct Harness<A: Application> {
    pub engine: Engine,
    pub timers: Deadlines<A::Timer>,
    pub layer: SocketIoLayer<A>,
    pub t0: Instant,
    next_conn: u64,
    /// What each connection was sent, oldest first, until taken by [`Harness::sent`].
    outbox: HashMap<ConnId, Vec<String>>,
    /// Clients that read nothing: what they are sent stays queued (see [`Harness::drained`]).
    /// Every other client reads each frame as soon as it is queued.
    not_reading: HashSet<ConnId>,
    /// The session of each client's connection.
    sessions: HashMap<ConnId, SessionId>,
}

impl<A: Application> Harness<A> {
    pub fn new(app: A) -> Harness<A> {
        Harness::with(app, socketio_config())
    }

    pub fn with(app: A, config: SocketIoConfig) -> Harness<A> {
        let t0 = Instant::now();
        Harness {
            engine: Engine::new(engine_config()),
            timers: Deadlines::new(t0, 256),
            layer: SocketIoLayer {
                sio: SocketIo::new(config),
                app,
            },
            t0,
            next_conn: 1,
            outbox: HashMap::new(),
            not_reading: HashSet::new(),
            sessions: HashMap::new(),
        }
    }

    /// A direct WebSocket session from `remote`, with `query` added to the handshake's.
    pub fn connect_from(&mut self, at: Duration, remote: IpAddr, query: &str) -> Client {
        let conn = Handle::from_bits(self.next_conn);
        self.next_conn += 1;
        let raw = format!("EIO=4&transport=websocket{query}");
        let parsed = query::parse_engine_query(&raw);
        let req = Request {
            method: Method::Get,
            query: &parsed,
            websocket: true,
            remote,
            raw_query: &raw,
            mount: 0,
        };
        let outcome = self
            .engine
            .request(&mut self.timers, self.t0 + at, &req, conn);
        let Outcome::AcceptWebSocket(session) = outcome else {
            panic!("handshake refused: {outcome:?}");
        };
        self.sessions.insert(conn, session);
        self.settle(at);
        let open = self.sent(Client { conn, session });
        assert!(open[0].starts_with("0{"), "{open:?}");
        Client { conn, session }
    }

    /// A WebSocket session that joined namespace `/`.
    pub fn connect(&mut self, at: Duration) -> Client {
        let client = self.connect_from(at, IpAddr::V4(Ipv4Addr::LOCALHOST), "");
        self.text(at, client, "40");
        let connected = self.sent(client);
        assert!(connected[0].starts_with("40{\"sid\":"), "{connected:?}");
        client
    }

    /// The client sends a text message (a whole Engine.IO packet, e.g. `42["x"]`).
    pub fn text(&mut self, at: Duration, client: Client, text: &str) {
        self.message(
            at,
            client,
            Message::Text(Bytes::copy_from_slice(text.as_bytes())),
        );
    }

    /// The client sends a binary message (an attachment).
    pub fn binary(&mut self, at: Duration, client: Client, data: &[u8]) {
        self.message(at, client, Message::Binary(Bytes::copy_from_slice(data)));
    }

    /// The client's WebSocket message reaches the engine at `at`, and the turn settles.
    fn message(&mut self, at: Duration, client: Client, message: Message) {
        self.engine.ws_message(
            &mut self.timers,
            self.t0 + at,
            client.session,
            client.conn,
            message,
        );
        self.settle(at);
    }

    /// The client's connection is lost (no close frame).
    pub fn lose(&mut self, at: Duration, client: Client) {
        self.engine
            .ws_closed(&mut self.timers, client.session, client.conn, false);
        self.settle(at);
    }

    /// The loop's timer step at `t0 + at`: each deadline that passed goes to its owner.
    pub fn expire(&mut self, at: Duration) {
        let now = self.t0 + at;
        let mut fired = Vec::new();
        self.timers.expire(now, &mut fired);
        for deadline in fired {
            match deadline {
                Deadline::Engine(timer) => self.engine.timer_fired(&mut self.timers, now, timer),
                Deadline::App(key) => self.layer.sio.timer_fired(
                    &mut self.engine,
                    &mut self.timers,
                    now,
                    &mut self.layer.app,
                    key,
                ),
                Deadline::Conn(conn) => panic!("no connection deadlines here: {conn:?}"),
            }
        }
        self.settle(at);
    }

    /// From now on the client reads nothing until [`Harness::drained`] says it did.
    pub fn stops_reading(&mut self, client: Client) {
        self.not_reading.insert(client.conn);
    }

    /// The front door wrote everything queued for `client` (its queue drained).
    pub fn drained(&mut self, at: Duration, client: Client, bytes: usize) {
        self.engine
            .ws_written(&mut self.timers, client.session, bytes);
        self.settle(at);
    }

    /// What the front door does after every input: the engine's drive loop, each action
    /// recorded as what its connection was sent.
    fn settle(&mut self, at: Duration) {
        let now = self.t0 + at;
        while let Some(action) = self.engine.settle(&mut self.layer, &mut self.timers, now) {
            let (conn, what) = match action {
                Action::SendWs { conn, frame } => {
                    if !self.not_reading.contains(&conn) {
                        if let Some(&session) = self.sessions.get(&conn) {
                            self.engine
                                .ws_written(&mut self.timers, session, frame.len());
                        }
                    }
                    (conn, frame_text(&frame))
                }
                Action::CloseWs { conn, code } => (conn, format!("close:{code}")),
                Action::AnswerPoll { conn, body } => {
                    (conn, format!("poll:{}", String::from_utf8_lossy(&body)))
                }
                Action::PauseRead { conn } => (conn, "pause".into()),
                Action::ResumeRead { conn } => (conn, "resume".into()),
                Action::Flush { .. } => continue,
            };
            self.outbox.entry(conn).or_default().push(what);
        }
    }

    /// Takes what `client` was sent since the last call: text frames as written, binary
    /// frames as `<N bytes>`, plus `close:CODE`, `pause`, `resume`.
    pub fn sent(&mut self, client: Client) -> Vec<String> {
        self.outbox.remove(&client.conn).unwrap_or_default()
    }

    pub fn is_open(&self, client: Client) -> bool {
        self.engine.remote(client.session).is_some()
    }
}

fn frame_text(frame: &Frame) -> String {
    match frame {
        Frame::Text(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Binary(b) => format!("<{} bytes>", b.len()),
    }
}
