//! The engine on virtual time, with no sockets: each section builds a session in one state
//! (as smoltcp's `socket/tcp.rs` does) and checks the outcomes, actions and events that
//! follow a request, a message or an `expire(t0 + …)`.
//!
//! One module per section: handshake, polling, upgrading, websocket, heartbeat, flow.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::engine::deadlines::{Deadline, Deadlines};
use crate::util::arena::Handle;

const PING_INTERVAL: Duration = Duration::from_millis(300);
const PING_TIMEOUT: Duration = Duration::from_millis(200);

fn config() -> EngineConfig {
    EngineConfig {
        ping_interval: PING_INTERVAL,
        ping_timeout: PING_TIMEOUT,
        upgrade_timeout: Duration::from_secs(10),
        max_payload: 1_000_000,
        max_sessions: 8,
        send_queue_bytes: 1000,
        stall_timeout: Duration::from_secs(5),
        memory_budget: 1 << 20,
    }
}

/// A connection of the front door, as the engine sees it.
fn conn(n: u64) -> ConnId {
    Handle::from_bits(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An engine, the loop's deadlines (the same wheel as in production, so the same rounding),
/// and the instant its sessions were opened at.
struct Fixture {
    engine: Engine,
    timers: Deadlines<()>,
    t0: Instant,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with(config())
    }

    /// Heartbeats far away, for tests of the other timers.
    fn quiet() -> Fixture {
        Fixture::with(EngineConfig {
            ping_interval: Duration::from_secs(3600),
            ..config()
        })
    }

    fn with(config: EngineConfig) -> Fixture {
        let t0 = Instant::now();
        Fixture {
            engine: Engine::new(config),
            timers: Deadlines::new(t0, 64),
            t0,
        }
    }

    fn at(&self, offset: Duration) -> Instant {
        self.t0 + offset
    }

    fn request(&mut self, at: Duration, method: Method, query: &str, ws: bool, c: u64) -> Outcome {
        self.request_from(IpAddr::V4(Ipv4Addr::LOCALHOST), at, method, query, ws, c)
    }

    fn request_from(
        &mut self,
        remote: IpAddr,
        at: Duration,
        method: Method,
        query: &str,
        ws: bool,
        c: u64,
    ) -> Outcome {
        let now = self.at(at);
        let parsed = crate::wire::query::parse_engine_query(query);
        let req = Request {
            method,
            query: &parsed,
            websocket: ws,
            remote,
            raw_query: query,
            mount: 0,
        };
        self.engine.request(&mut self.timers, now, &req, conn(c))
    }

    fn sid(&self, id: SessionId) -> String {
        self.engine
            .sessions
            .get(id)
            .expect("session")
            .sid
            .to_string()
    }

    fn get(&mut self, at: Duration, id: SessionId, c: u64) -> Outcome {
        let query = format!("EIO=4&transport=polling&sid={}", self.sid(id));
        self.request(at, Method::Get, &query, false, c)
    }

    fn post(&mut self, at: Duration, id: SessionId, c: u64, body: &[u8]) -> Reply {
        let query = format!("EIO=4&transport=polling&sid={}", self.sid(id));
        match self.request(at, Method::Post, &query, false, c) {
            Outcome::ReadBody(session) => {
                let now = self.at(at);
                self.engine
                    .polling_body(&mut self.timers, now, session, body)
            }
            other => panic!("POST not read: {other:?}"),
        }
    }

    fn ws(&mut self, at: Duration, id: SessionId, c: u64) -> Outcome {
        let query = format!("EIO=4&transport=websocket&sid={}", self.sid(id));
        self.request(at, Method::Get, &query, true, c)
    }

    fn text(&mut self, at: Duration, id: SessionId, c: u64, text: &'static str) {
        let message = Message::Text(Bytes::from_static(text.as_bytes()));
        let now = self.at(at);
        self.engine
            .ws_message(&mut self.timers, now, id, conn(c), message);
    }

    /// The loop's timer step at `t0 + at`: the engine gets each of its deadlines that passed.
    fn expire(&mut self, at: Duration) {
        let now = self.at(at);
        let mut fired = Vec::new();
        self.timers.expire(now, &mut fired);
        for deadline in fired {
            let Deadline::Engine(timer) = deadline else {
                panic!("the engine has only its own deadlines: {deadline:?}");
            };
            self.engine.timer_fired(&mut self.timers, now, timer);
        }
    }

    fn events(&mut self) -> Vec<Event> {
        self.engine.events.drain(..).collect()
    }

    fn actions(&mut self) -> Vec<Action> {
        self.engine.actions.drain(..).collect()
    }

    fn is_open(&self, id: SessionId) -> bool {
        self.engine.sessions.contains(id)
    }

    fn closed_with(&mut self) -> Option<CloseReason> {
        self.events().into_iter().find_map(|e| match e {
            Event::Close(_, reason) => Some(reason),
            _ => None,
        })
    }

    /// A polling session opened at `t0` by a handshake on connection 1; events drained.
    fn polling(mut self) -> (Fixture, SessionId) {
        let f = &mut self;
        let outcome = f.request(ms(0), Method::Get, "EIO=4&transport=polling", false, 1);
        assert!(matches!(outcome, Outcome::Reply(Reply { status: 200, .. })));
        let id = opened(&f.events());
        (self, id)
    }

    /// A polling session whose WebSocket probe (connection 2) answered `2probe`.
    fn upgrading(self) -> (Fixture, SessionId) {
        let (mut f, id) = self.polling();
        assert!(matches!(f.ws(ms(1), id, 2), Outcome::AcceptWebSocket(_)));
        f.text(ms(2), id, 2, "2probe");
        f.actions();
        (f, id)
    }

    /// A session upgraded to the WebSocket on connection 2.
    fn upgraded(self) -> (Fixture, SessionId) {
        let (mut f, id) = self.upgrading();
        f.text(ms(3), id, 2, "5");
        f.actions();
        (f, id)
    }

    /// A session opened directly on a WebSocket (connection 1).
    fn websocket(mut self) -> (Fixture, SessionId) {
        let f = &mut self;
        let outcome = f.request(ms(0), Method::Get, "EIO=4&transport=websocket", true, 1);
        assert!(matches!(outcome, Outcome::AcceptWebSocket(_)));
        let id = opened(&f.events());
        f.actions();
        (self, id)
    }
}

fn opened(events: &[Event]) -> SessionId {
    events
        .iter()
        .find_map(|e| match e {
            Event::Open(id) => Some(*id),
            _ => None,
        })
        .expect("an Open event")
}

fn reply_body(outcome: &Outcome) -> (u16, String) {
    match outcome {
        Outcome::Reply(reply) => (reply.status, String::from_utf8_lossy(&reply.body).into()),
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// The bodies of the polls answered, and the WebSocket frames sent, in order.
fn sent(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::AnswerPoll { body, .. } => {
                Some(format!("poll:{}", String::from_utf8_lossy(body)))
            }
            Action::SendWs { frame, .. } => Some(format!("ws:{}", frame_text(frame))),
            Action::CloseWs { code, .. } => Some(format!("close:{code}")),
            Action::Flush { .. } => Some("flush".into()),
            Action::PauseRead { .. } | Action::ResumeRead { .. } => None,
        })
        .collect()
}

fn frame_text(frame: &Frame) -> String {
    match frame {
        Frame::Text(b) => String::from_utf8_lossy(b).into(),
        Frame::Binary(b) => format!("<{} bytes>", b.len()),
    }
}

mod flow;
mod handshake;
mod heartbeat;
mod polling;
mod upgrading;
mod websocket;
