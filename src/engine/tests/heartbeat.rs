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

/// A receiver congested at 0 (queue above the high-water mark), its sender (connection 7)
/// held by it; the receiver answers every ping, the sender's pongs wait unread.
fn held_sender() -> (Fixture, SessionId, SessionId) {
    let (mut f, receiver) = Fixture::new().websocket();
    f.request(ms(0), Method::Get, "EIO=4&transport=websocket", true, 7);
    let sender = opened(&f.events());
    f.engine
        .send_text(&mut f.timers, receiver, &"y".repeat(600));
    f.engine.hold_sender(sender, receiver);
    f.actions();
    (f, receiver, sender)
}

/// Issue 26: the server does not read a sender it paused, so it cannot see the pong that
/// sender sent in time; a receiver out of range for 20 s took its sender down with it. The
/// deadline waits while the sender is held, and runs pingTimeout more once it is released.
#[test]
fn a_held_sender_is_not_timed_out_for_a_pong_the_server_did_not_read() {
    let (mut f, receiver, sender) = held_sender();
    for t in [350, 700, 1050, 1400] {
        f.expire(ms(t));
        f.text(ms(t), receiver, 1, "3");
        assert!(f.is_open(sender), "closed at {t} ms while held");
    }
    // The receiver drains at 1400: the sender is read again, and its pong is there.
    f.engine.ws_written(&mut f.timers, receiver, 601);
    f.text(ms(1410), sender, 7, "3");
    f.expire(ms(2000));
    assert!(f.is_open(sender));
}

#[test]
fn a_released_sender_whose_pong_never_comes_is_timed_out_within_two_ping_timeouts() {
    let (mut f, receiver, sender) = held_sender();
    // Both pinged at 300, on time, so the sender's deadline is 500.
    f.expire(ms(300));
    f.text(ms(300), receiver, 1, "3");
    // Released at 400, before its deadline: one more pingTimeout from that deadline on.
    f.engine.ws_written(&mut f.timers, receiver, 601);
    f.expire(ms(500));
    assert!(
        f.is_open(sender),
        "closed at its first deadline though held since its ping"
    );
    f.expire(ms(699));
    assert!(f.is_open(sender));
    f.expire(ms(705));
    assert!(!f.is_open(sender));
    assert_eq!(f.closed_with(), Some(CloseReason::PingTimeout));
}

#[test]
fn a_sender_never_held_is_timed_out_as_before() {
    let (mut f, id) = Fixture::new().websocket();
    f.engine.hold_sender(id, id);
    f.engine.ws_written(&mut f.timers, id, 0);
    f.expire(ms(300));
    // Held and released before its ping: nothing is owed.
    f.expire(ms(505));
    assert_eq!(f.closed_with(), Some(CloseReason::PingTimeout));
}

/// What bounds a held sender's time: a receiver that stops reading is closed at its stall
/// timeout, which releases the sender; a sender that is gone is timed out a pingTimeout later.
#[test]
fn a_dead_sender_held_by_a_receiver_that_stopped_reading_goes_when_the_receiver_does() {
    let (mut f, receiver, sender) = held_sender();
    f.engine.flush(&mut f.timers, f.t0 + ms(0));
    let stall = config().stall_timeout;
    let mut t = ms(0);
    while f.is_open(receiver) {
        t += ms(50);
        f.expire(t);
        // The kernel takes the pings queued for the sender (its socket buffer has room).
        let pings = f.engine.sessions.get(sender).map_or(0, |s| s.queued_bytes);
        f.engine.ws_written(&mut f.timers, sender, pings);
        // The receiver answers its pings but reads none of the chunks queued for it.
        if f.is_open(receiver) {
            f.text(t, receiver, 1, "3");
        }
        assert!(f.is_open(sender), "sender closed at {t:?}, while held");
    }
    assert!(
        t >= stall && t <= stall + ms(50),
        "receiver closed at {t:?}"
    );
    assert_eq!(f.closed_with(), Some(CloseReason::Stalled));
    assert!(!f.engine.is_held(sender));
    while f.is_open(sender) {
        t += ms(5);
        f.expire(t);
    }
    assert!(
        t <= stall + 2 * PING_TIMEOUT + ms(10),
        "sender closed at {t:?}"
    );
    assert_eq!(f.closed_with(), Some(CloseReason::PingTimeout));
}

/// Issue 26: a sender on a slow uplink, its pong behind its own messages. What it sent since
/// the ping proves it alive: it gets pingTimeout more, and its late pong is taken.
#[test]
fn a_session_that_sent_messages_since_its_ping_is_not_timed_out_for_a_late_pong() {
    let (mut f, id) = Fixture::new().websocket();
    f.expire(ms(300));
    f.text(ms(350), id, 1, "4chunk");
    f.text(ms(450), id, 1, "4chunk");
    f.actions();
    f.expire(ms(505));
    assert!(f.is_open(id), "closed though it sent since its ping");
    // Pinged again, so the client's own timer (from ping to ping) does not run out.
    assert!(
        f.actions()
            .iter()
            .any(|a| matches!(a, Action::SendWs { frame, .. } if frame.is_ping())),
        "no new ping with the extra time"
    );
    f.text(ms(600), id, 1, "3");
    f.expire(ms(800));
    assert!(f.is_open(id));
}

/// The extra time is pingTimeout from the deadline, once for what was heard: a session that
/// then sends nothing at all is gone by then.
#[test]
fn a_session_silent_after_its_messages_is_timed_out_a_ping_timeout_later() {
    let (mut f, id) = Fixture::new().websocket();
    f.expire(ms(300));
    f.text(ms(350), id, 1, "4chunk");
    f.expire(ms(505));
    assert!(f.is_open(id));
    f.expire(ms(699));
    assert!(f.is_open(id));
    f.expire(ms(710));
    assert_eq!(f.closed_with(), Some(CloseReason::PingTimeout));
}

/// A message before the ping says nothing about the pong: the deadline stands.
#[test]
fn a_message_before_the_ping_earns_no_extra_time() {
    let (mut f, id) = Fixture::new().websocket();
    f.text(ms(100), id, 1, "4early");
    f.expire(ms(300));
    f.expire(ms(505));
    assert_eq!(f.closed_with(), Some(CloseReason::PingTimeout));
}
