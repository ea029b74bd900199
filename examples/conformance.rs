//! The server the official Engine.IO and Socket.IO protocol test suites expect, built on this
//! engine, so any conformance suite or stock client can be run against it.
//!
//! - Engine.IO at `/engine.io/`: every message is echoed back (text as text, binary as binary).
//! - Socket.IO at `/socket.io/`, namespaces `/` and `/custom`: on connect it emits `auth` with
//!   the CONNECT payload (or `{}`); `message` is answered with `message-back` carrying the same
//!   arguments (binary stays binary); `message-with-ack` is acknowledged with the same
//!   arguments. One addition for testing acks in the other direction: `ask-ack` makes the
//!   server emit `ack-me` with the same arguments and an ack id; the client's answer is
//!   emitted back as `acked`.
//! - pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1000000, connectTimeout 1000 ms;
//!   port from `PORT` (default 3000) on 127.0.0.1. Other settings as `sharethings --help`.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use miniserde::json::{Object, Value};
use sharethings::assemble::{self, Mount};
use sharethings::config::Config;
use sharethings::engine::{Engine, Event, Layer, LayerTimers, Message, SessionId};
use sharethings::metrics::Metrics;
use sharethings::socketio::{
    Application, DisconnectReason, IncomingEvent, Io, SocketId, SocketIoLayer,
};

/// Engine.IO sessions opened on `/engine.io/` get echoed; the rest is Socket.IO's.
struct Router {
    echo_sessions: HashSet<SessionId>,
    socketio: SocketIoLayer<Conformance>,
}

const ENGINE_IO_MOUNT: usize = 0;

impl Layer for Router {
    type Timer = <SocketIoLayer<Conformance> as Layer>::Timer;

    fn handle(
        &mut self,
        engine: &mut Engine,
        timers: &mut dyn LayerTimers<Self::Timer>,
        now: Instant,
        event: Event,
    ) {
        let echo = match &event {
            Event::Open(id) => {
                let mine = engine.mount(*id) == Some(ENGINE_IO_MOUNT);
                if mine {
                    self.echo_sessions.insert(*id);
                }
                mine
            }
            Event::Message(id, _) | Event::LayerDeadline(id) | Event::Resumed(id) => {
                self.echo_sessions.contains(id)
            }
            Event::Close(id, _) => self.echo_sessions.remove(id),
        };
        if !echo {
            return self.socketio.handle(engine, timers, now, event);
        }
        if let Event::Message(id, message) = event {
            match message {
                Message::Text(text) => {
                    let text = String::from_utf8_lossy(&text).into_owned();
                    engine.send_text(timers, id, &text);
                }
                Message::Binary(data) => {
                    engine.send(timers, id, sharethings::wire::eio::Frame::Binary(data))
                }
            }
        }
    }

    fn timer_fired(
        &mut self,
        engine: &mut Engine,
        timers: &mut dyn LayerTimers<Self::Timer>,
        now: Instant,
        key: Self::Timer,
    ) {
        self.socketio.timer_fired(engine, timers, now, key);
    }

    fn held_bytes(&self) -> usize {
        self.socketio.held_bytes()
    }
}

/// The `auth` event each new socket is owed, emitted one turn after its CONNECT answer.
///
/// The suite's client (`ws` 8.5) emits every frame of one read synchronously, and its test
/// awaits the CONNECT answer before it listens for `auth`: both in one read, `auth` is lost and
/// the test sees the next ping instead. The reference server writes them in separate ticks of
/// its event loop (the handler runs after the CONNECT packet is flushed); this app does the
/// same a turn later, so the two leave in separate writes. The server itself may coalesce what
/// one turn owes a connection: Socket.IO clients read frames in order, not by the read.
#[derive(Default)]
struct Conformance {
    owed_auth: HashMap<SocketId, Value>,
}

impl Application for Conformance {
    type Timer = SocketId;

    fn on_connect(
        &mut self,
        io: &mut Io<'_, SocketId>,
        socket: SocketId,
        _nsp: &str,
        auth: Option<Value>,
    ) {
        let auth = auth.unwrap_or_else(|| Value::Object(Object::new()));
        let next_turn = io.now() + Duration::from_millis(1);
        if io.set_timer(next_turn, socket).is_ok() {
            self.owed_auth.insert(socket, auth);
        } else {
            io.emit(socket, "auth", vec![auth], Vec::new());
        }
    }

    fn on_timer(&mut self, io: &mut Io<'_, SocketId>, socket: SocketId) {
        if let Some(auth) = self.owed_auth.remove(&socket) {
            io.emit(socket, "auth", vec![auth], Vec::new());
        }
    }

    fn on_event(&mut self, io: &mut Io<'_, SocketId>, socket: SocketId, event: IncomingEvent) {
        match (event.name.as_str(), event.ack) {
            ("message", _) => io.emit(socket, "message-back", event.args, event.attachments),
            ("message-with-ack", Some(ack)) => io.ack(socket, ack, event.args, event.attachments),
            ("ask-ack", _) => io.emit_with_ack(socket, "ack-me", event.args, event.attachments, 1),
            _ => {}
        }
    }

    fn on_ack(
        &mut self,
        io: &mut Io<'_, SocketId>,
        socket: SocketId,
        _ack: u64,
        args: Vec<Value>,
        attachments: Vec<Bytes>,
    ) {
        io.emit(socket, "acked", args, attachments);
    }

    fn on_disconnect(
        &mut self,
        _io: &mut Io<'_, SocketId>,
        socket: SocketId,
        _reason: DisconnectReason,
    ) {
        self.owed_auth.remove(&socket);
    }

    /// As the reference (whose maxHttpBufferSize closes the connection).
    fn on_too_large(&mut self, io: &mut Io<'_, SocketId>, socket: SocketId, _ack: Option<u64>) {
        io.close_client(socket);
    }
}

fn main() {
    let mut config = match Config::from_process() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("conformance: {e}");
            std::process::exit(2);
        }
    };
    config.ping_interval = std::time::Duration::from_millis(300);
    config.ping_timeout = std::time::Duration::from_millis(200);
    config.max_payload = 1_000_000;
    config.connect_timeout = std::time::Duration::from_millis(1000);
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000u16);
    simple_logger::SimpleLogger::new()
        .with_level(config.log_level)
        .init()
        .ok();
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("conformance: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let layer = Router {
        echo_sessions: HashSet::new(),
        socketio: SocketIoLayer {
            sio: assemble::socketio(&config, &["/", "/custom"]),
            app: Conformance::default(),
        },
    };
    let mount = Mount {
        engine_paths: vec!["/engine.io/".into(), "/socket.io/".into()],
        app_timers: 1024,
        http_socket: None,
        drained_posts: Vec::new(),
    };
    let metrics = Arc::new(Metrics::default());
    let mut server = match assemble::build(&config, listener, mount, layer, metrics) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("conformance: {e}");
            std::process::exit(1);
        }
    };
    if let Ok(addr) = server.local_addr() {
        println!("conformance server listening on {addr}");
    }
    if let Err(e) = server.run() {
        eprintln!("conformance: event loop failed: {e}");
        std::process::exit(1);
    }
}
