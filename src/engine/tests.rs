//! The engine on virtual time, with no sockets: each section builds a session in one state
//! (as smoltcp's `socket/tcp.rs` does) and checks the outcomes, actions and events that
//! follow a request, a message or an `expire(t0 + …)`.
//!
//! Sections: handshake, polling, upgrading, WebSocket, heartbeat, flow.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
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
    }
}

/// A connection of the front door, as the engine sees it.
fn conn(n: u64) -> ConnId {
    Handle::from_bits(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An engine and the instant its sessions were opened at.
struct Fixture {
    engine: Engine<()>,
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
            engine: Engine::new(config, t0, 64),
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
        self.engine.request(now, &req, conn(c))
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
            Outcome::ReadBody(session) => self.engine.polling_body(self.at(at), session, body),
            other => panic!("POST not read: {other:?}"),
        }
    }

    fn ws(&mut self, at: Duration, id: SessionId, c: u64) -> Outcome {
        let query = format!("EIO=4&transport=websocket&sid={}", self.sid(id));
        self.request(at, Method::Get, &query, true, c)
    }

    fn text(&mut self, at: Duration, id: SessionId, c: u64, text: &'static str) {
        let message = Message::Text(Bytes::from_static(text.as_bytes()));
        self.engine.ws_message(self.at(at), id, conn(c), message);
    }

    fn expire(&mut self, at: Duration) {
        let mut fired = Vec::new();
        let mut conns = Vec::new();
        self.engine.expire(self.at(at), &mut fired, &mut conns);
    }

    fn events(&mut self) -> Vec<Event<()>> {
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

fn opened(events: &[Event<()>]) -> SessionId {
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

// ----- handshake -------------------------------------------------------------------------------

#[test]
fn handshake_opens_a_session_with_the_configured_timings() {
    let mut f = Fixture::new();
    let outcome = f.request(ms(0), Method::Get, "EIO=4&transport=polling", false, 1);
    let (status, body) = reply_body(&outcome);
    assert_eq!(status, 200);
    assert!(body.starts_with("0{\"sid\":\""), "{body}");
    assert!(body.contains("\"upgrades\":[\"websocket\"]"), "{body}");
    assert!(
        body.contains("\"pingInterval\":300,\"pingTimeout\":200"),
        "{body}"
    );
    assert!(matches!(f.events()[..], [Event::Open(_)]));
}

#[test]
fn handshake_checks_in_the_reference_order() {
    let mut f = Fixture::new();
    let cases = [
        (Method::Get, "EIO=4&transport=abc", 0),
        (Method::Get, "EIO=4&transport=polling&sid=nope", 1),
        (Method::Post, "EIO=4&transport=polling", 2),
        (Method::Get, "EIO=3&transport=polling", 5),
    ];
    for (method, query, code) in cases {
        let (status, body) = reply_body(&f.request(ms(0), method, query, false, 1));
        assert_eq!(status, 400, "{query}");
        assert!(
            body.starts_with(&format!("{{\"code\":{code},")),
            "{query}: {body}"
        );
    }
    assert!(f.events().is_empty());
}

#[test]
fn a_full_arena_refuses_with_forbidden() {
    let mut f = Fixture::new();
    for _ in 0..config().max_sessions {
        f.request(ms(0), Method::Get, "EIO=4&transport=polling", false, 1);
    }
    let (status, _) =
        reply_body(&f.request(ms(0), Method::Get, "EIO=4&transport=polling", false, 1));
    assert_eq!(status, 403);
}

// ----- polling ---------------------------------------------------------------------------------

#[test]
fn a_get_with_nothing_queued_is_held_and_answered_by_the_next_flush() {
    let (mut f, id) = Fixture::new().polling();
    assert!(matches!(f.get(ms(1), id, 3), Outcome::Hold(_)));
    f.engine.send_text(id, "hello");
    assert!(f.actions().is_empty(), "answered before the flush");
    f.engine.flush(f.at(ms(1)));
    assert_eq!(sent(&f.actions()), ["poll:4hello"]);
}

#[test]
fn a_second_get_while_one_is_held_closes_the_session() {
    let (mut f, id) = Fixture::new().polling();
    assert!(matches!(f.get(ms(1), id, 3), Outcome::Hold(_)));
    let (status, _) = reply_body(&f.get(ms(2), id, 4));
    assert_eq!(status, 400);
    assert_eq!(sent(&f.actions()), ["poll:1"]);
    assert_eq!(f.closed_with(), Some(CloseReason::TransportError));
}

#[test]
fn a_client_close_by_post_answers_the_held_get_with_a_noop() {
    let (mut f, id) = Fixture::new().polling();
    f.engine.send_text(id, "unsent");
    let (_, body) = reply_body(&f.get(ms(1), id, 3));
    assert_eq!(body, "4unsent");
    assert!(matches!(f.get(ms(2), id, 3), Outcome::Hold(_)));
    let reply = f.post(ms(3), id, 4, b"1");
    assert_eq!((reply.status, &reply.body[..]), (200, &b"ok"[..]));
    assert_eq!(sent(&f.actions()), ["poll:6"]);
    assert_eq!(f.closed_with(), Some(CloseReason::TransportClose));
    assert!(!f.is_open(id));
}

#[test]
fn an_empty_post_body_is_a_parse_error() {
    let (mut f, id) = Fixture::new().polling();
    let reply = f.post(ms(1), id, 3, b"");
    assert_eq!(reply.status, 400);
    assert_eq!(f.closed_with(), Some(CloseReason::ParseError));
}

#[test]
fn overlapping_posts_close_the_session() {
    let (mut f, id) = Fixture::new().polling();
    let query = format!("EIO=4&transport=polling&sid={}", f.sid(id));
    assert!(matches!(
        f.request(ms(1), Method::Post, &query, false, 3),
        Outcome::ReadBody(_)
    ));
    let (status, _) = reply_body(&f.request(ms(1), Method::Post, &query, false, 4));
    assert_eq!(status, 400);
    assert_eq!(f.closed_with(), Some(CloseReason::TransportError));
}

#[test]
fn a_held_get_whose_connection_went_away_closes_the_session() {
    let (mut f, id) = Fixture::new().polling();
    assert!(matches!(f.get(ms(1), id, 3), Outcome::Hold(_)));
    f.engine.polling_conn_gone(id, conn(3));
    assert_eq!(f.closed_with(), Some(CloseReason::TransportError));
}

// ----- upgrading -------------------------------------------------------------------------------

#[test]
fn the_probe_is_answered_and_flushed_before_anything_else_this_turn() {
    let (mut f, id) = Fixture::new().polling();
    assert!(matches!(f.get(ms(1), id, 3), Outcome::Hold(_)));
    assert!(matches!(f.ws(ms(1), id, 2), Outcome::AcceptWebSocket(_)));
    f.text(ms(2), id, 2, "2probe");
    assert_eq!(sent(&f.actions()), ["ws:3probe", "flush", "poll:6"]);
}

#[test]
fn a_get_during_the_upgrade_is_answered_with_a_noop_at_once() {
    let (mut f, id) = Fixture::new().upgrading();
    assert_eq!(reply_body(&f.get(ms(3), id, 3)), (200, "6".into()));
}

#[test]
fn upgrade_moves_queued_frames_to_the_websocket() {
    let (mut f, id) = Fixture::new().upgrading();
    f.engine.send_text(id, "queued");
    f.text(ms(3), id, 2, "5");
    assert_eq!(sent(&f.actions()), ["ws:4queued"]);
    f.engine.send_text(id, "after");
    assert_eq!(sent(&f.actions()), ["ws:4after"]);
}

#[test]
fn a_second_websocket_while_upgrading_or_upgraded_is_accepted_then_closed() {
    let (mut f, id) = Fixture::new().upgrading();
    assert!(matches!(f.ws(ms(3), id, 5), Outcome::AcceptThenClose));
    let (mut f2, id2) = Fixture::new().upgraded();
    assert!(matches!(f2.ws(ms(4), id2, 5), Outcome::AcceptThenClose));
    assert!(f.is_open(id) && f2.is_open(id2));
}

#[test]
fn a_polling_request_after_the_upgrade_is_refused() {
    let (mut f, id) = Fixture::new().upgraded();
    assert_eq!(reply_body(&f.get(ms(4), id, 3)).0, 400);
    assert!(f.is_open(id));
}

#[test]
fn an_unfinished_upgrade_times_out_and_polling_goes_on() {
    let (mut f, id) = Fixture::quiet().upgrading();
    f.expire(ms(2) + config().upgrade_timeout + ms(5));
    assert_eq!(sent(&f.actions()), ["close:1002"]);
    assert!(f.is_open(id));
    assert!(matches!(f.get(ms(10_010), id, 3), Outcome::Hold(_)));
}

// ----- WebSocket -------------------------------------------------------------------------------

#[test]
fn a_websocket_handshake_sends_the_open_packet_first() {
    let mut f = Fixture::new();
    let outcome = f.request(ms(0), Method::Get, "EIO=4&transport=websocket", true, 1);
    assert!(matches!(outcome, Outcome::AcceptWebSocket(_)));
    let frames = sent(&f.actions());
    assert_eq!(frames.len(), 1);
    assert!(frames[0].starts_with("ws:0{\"sid\":"), "{frames:?}");
    assert!(frames[0].contains("\"upgrades\":[]"), "{frames:?}");
}

#[test]
fn messages_reach_the_layer_above_and_a_close_packet_ends_the_session() {
    let (mut f, id) = Fixture::new().websocket();
    f.text(ms(1), id, 1, "4hello");
    assert!(matches!(&f.events()[..], [Event::Message(_, Message::Text(t))] if &t[..] == b"hello"));
    f.text(ms(2), id, 1, "1");
    assert_eq!(sent(&f.actions()), ["close:1000"]);
    assert_eq!(f.closed_with(), Some(CloseReason::TransportClose));
}

#[test]
fn a_client_ping_is_a_parse_error() {
    let (mut f, id) = Fixture::new().websocket();
    f.text(ms(1), id, 1, "2");
    assert_eq!(sent(&f.actions()), ["close:1002"]);
    assert_eq!(f.closed_with(), Some(CloseReason::ParseError));
}

// ----- heartbeat -------------------------------------------------------------------------------

#[test]
fn pings_follow_the_interval_and_a_pong_rearms_it() {
    let (mut f, id) = Fixture::new().websocket();
    f.expire(ms(299));
    assert!(f.actions().is_empty());
    f.expire(ms(300));
    assert_eq!(sent(&f.actions()), ["ws:2"]);
    f.text(ms(350), id, 1, "3");
    f.expire(ms(649));
    assert!(f.actions().is_empty());
    f.expire(ms(650));
    assert_eq!(sent(&f.actions()), ["ws:2"]);
    assert!(f.is_open(id));
}

/// The pong deadline is the ping's due time (300) plus pingTimeout (200) whenever the wheel's
/// rounding is all that delays the ping; a loop starved past that gives a client the ping
/// reached its whole pingTimeout (less a tick) from when it left, and a polling client that
/// was not polling nothing more.
#[test]
fn the_pong_deadline_counts_from_the_due_ping_unless_a_starved_loop_delivered_it_late() {
    struct Case {
        why: &'static str,
        polling: bool,
        held_get: bool,
        ping_turn: u64,
        deadline: u64,
    }
    #[rustfmt::skip]
    let cases = [
        Case { why: "WebSocket, timers on time", polling: false, held_get: false, ping_turn: 300, deadline: 500 },
        Case { why: "WebSocket, the ping a tick late", polling: false, held_get: false, ping_turn: 304, deadline: 500 },
        Case { why: "WebSocket, the loop starved 100 ms", polling: false, held_get: false, ping_turn: 400, deadline: 595 },
        Case { why: "polling with a held GET, on time", polling: true, held_get: true, ping_turn: 300, deadline: 500 },
        Case { why: "polling with a held GET, starved", polling: true, held_get: true, ping_turn: 400, deadline: 595 },
        Case { why: "polling, not polling, starved", polling: true, held_get: false, ping_turn: 400, deadline: 500 },
    ];
    for case in cases {
        let (mut f, id) = if case.polling {
            Fixture::new().polling()
        } else {
            Fixture::new().websocket()
        };
        if case.held_get {
            assert!(matches!(f.get(ms(1), id, 3), Outcome::Hold(_)));
        }
        f.expire(ms(case.ping_turn));
        f.actions();
        f.expire(ms(case.deadline - 1));
        assert!(f.is_open(id), "closed early: {}", case.why);
        f.expire(ms(case.deadline));
        assert!(!f.is_open(id), "not closed at {}: {}", case.deadline, case.why);
        assert_eq!(f.closed_with(), Some(CloseReason::PingTimeout), "{}", case.why);
    }
}

#[test]
fn a_pong_before_the_deadline_a_starved_loop_moved_keeps_the_session() {
    let (mut f, id) = Fixture::new().websocket();
    f.expire(ms(400));
    assert_eq!(sent(&f.actions()), ["ws:2"]);
    f.text(ms(594), id, 1, "3");
    f.expire(ms(700));
    assert!(f.is_open(id));
}

#[test]
fn a_poll_after_the_pong_deadline_finds_the_session_gone_even_if_the_ping_never_left() {
    let (mut f, id) = Fixture::new().polling();
    // No expire at all (the loop starved past both timers): the request itself notices.
    let (status, body) = reply_body(&f.get(ms(500), id, 3));
    assert_eq!(status, 400);
    assert!(body.starts_with("{\"code\":1,"), "{body}");
    assert_eq!(f.closed_with(), Some(CloseReason::PingTimeout));
}

#[test]
fn a_poll_at_the_pong_deadline_finds_the_session_gone_before_its_timer_fired() {
    let (mut f, id) = Fixture::new().polling();
    f.expire(ms(300));
    // No expire at 500: the request itself notices.
    let outcome = f.get(ms(500), id, 3);
    let (status, body) = reply_body(&outcome);
    assert_eq!(status, 400);
    assert!(body.starts_with("{\"code\":1,"), "{body}");
    assert_eq!(f.closed_with(), Some(CloseReason::PingTimeout));
}

#[test]
fn a_poll_just_before_the_pong_deadline_gets_the_ping() {
    let (mut f, id) = Fixture::new().polling();
    f.expire(ms(300));
    assert_eq!(reply_body(&f.get(ms(499), id, 3)), (200, "2".into()));
}

#[test]
fn a_message_after_the_pong_deadline_is_not_delivered() {
    let (mut f, id) = Fixture::new().websocket();
    f.expire(ms(300));
    f.events();
    f.text(ms(500), id, 1, "4late");
    let events = f.events();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Message(..))),
        "{events:?}"
    );
    assert!(!f.is_open(id));
}

// ----- flow ------------------------------------------------------------------------------------

#[test]
fn a_queue_over_its_cap_disconnects_the_receiver() {
    let (mut f, id) = Fixture::new().websocket();
    f.engine.send_text(id, &"x".repeat(1001));
    assert_eq!(f.closed_with(), Some(CloseReason::QueueFull));
}

#[test]
fn a_held_sender_resumes_once_the_receiver_drains() {
    let (mut f, receiver) = Fixture::new().websocket();
    let sender = {
        f.request(ms(0), Method::Get, "EIO=4&transport=websocket", true, 7);
        opened(&f.events())
    };
    f.actions();
    f.engine.send_text(receiver, &"y".repeat(600));
    assert!(f.engine.is_congested(receiver));
    f.engine.hold_sender(sender, receiver);
    assert!(matches!(
        f.actions()[..],
        [Action::SendWs { .. }, Action::PauseRead { .. }]
    ));
    f.engine.ws_written(receiver, 601);
    assert!(matches!(f.actions()[..], [Action::ResumeRead { .. }]));
    assert!(matches!(f.events()[..], [Event::Resumed(id)] if id == sender));
}

#[test]
fn a_receiver_that_stays_congested_is_disconnected_after_the_stall_timeout() {
    let (mut f, id) = Fixture::quiet().websocket();
    f.engine.send_text(id, &"z".repeat(600));
    // The loop's flush at the end of the turn arms the stall timer from that turn's time.
    f.engine.flush(f.at(ms(0)));
    f.expire(config().stall_timeout - ms(5));
    assert!(f.is_open(id));
    f.expire(config().stall_timeout + ms(5));
    assert_eq!(f.closed_with(), Some(CloseReason::Stalled));
}

#[test]
fn a_receiver_below_high_water_that_reads_nothing_is_disconnected_after_the_stall_timeout() {
    let (mut f, id) = Fixture::quiet().websocket();
    f.engine.send_text(id, "small");
    assert!(!f.engine.is_congested(id));
    f.engine.flush(f.at(ms(0)));
    f.expire(config().stall_timeout - ms(5));
    assert!(f.is_open(id));
    f.expire(config().stall_timeout + ms(5));
    assert_eq!(f.closed_with(), Some(CloseReason::Stalled));
}

#[test]
fn a_receiver_that_keeps_reading_slowly_is_kept_and_one_that_drained_has_no_clock() {
    let (mut f, id) = Fixture::quiet().websocket();
    f.engine.send_text(id, &"s".repeat(600));
    f.engine.flush(f.at(ms(0)));
    // Some bytes written every 0.6 stall timeouts: the clock restarts at each.
    let step = config().stall_timeout * 3 / 5;
    for n in 1..=4u32 {
        f.expire(step * n);
        f.engine.ws_written(id, 100);
        f.engine.flush(f.at(step * n));
    }
    assert!(f.is_open(id));
    // The rest written: nothing queued, so no clock, however long it stays quiet.
    f.engine.ws_written(id, 10_000);
    f.engine.flush(f.at(step * 4));
    f.expire(step * 4 + config().stall_timeout * 3);
    assert!(f.is_open(id));
}

#[test]
fn a_sid_used_from_another_address_is_unknown_and_the_session_is_untouched() {
    let (mut f, id) = Fixture::new().polling();
    let stranger = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
    let sid = f.sid(id);
    let poll = format!("EIO=4&transport=polling&sid={sid}");
    let outcome = f.request_from(stranger, ms(1), Method::Get, &poll, false, 5);
    assert_eq!(reply_body(&outcome).0, 400);
    assert!(reply_body(&outcome).1.contains("Session ID unknown"));
    let upgrade = format!("EIO=4&transport=websocket&sid={sid}");
    let outcome = f.request_from(stranger, ms(2), Method::Get, &upgrade, true, 6);
    assert!(matches!(outcome, Outcome::RejectWebSocket(_)));
    assert!(f.is_open(id));
    assert!(matches!(f.get(ms(3), id, 7), Outcome::Hold(_)));
}
