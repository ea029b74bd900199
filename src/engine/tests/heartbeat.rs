//! Heartbeat: pings, pong deadlines on virtual time, requests after the deadline.

use super::*;

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
        assert!(
            !f.is_open(id),
            "not closed at {}: {}",
            case.deadline,
            case.why
        );
        assert_eq!(
            f.closed_with(),
            Some(CloseReason::PingTimeout),
            "{}",
            case.why
        );
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
