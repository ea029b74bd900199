//! Flow: queue caps, holding and resuming senders on both transports, the stall clock.

use super::*;

#[test]
fn a_queue_over_its_cap_disconnects_the_receiver() {
    let (mut f, id) = Fixture::new().websocket();
    f.engine.send_text(&mut f.timers, id, &"x".repeat(1001));
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
    f.engine
        .send_text(&mut f.timers, receiver, &"y".repeat(600));
    assert!(f.engine.is_congested(receiver));
    f.engine.hold_sender(sender, receiver);
    assert!(matches!(
        f.actions()[..],
        [Action::SendWs { .. }, Action::PauseRead { .. }]
    ));
    f.engine.ws_written(&mut f.timers, receiver, 601);
    assert!(matches!(f.actions()[..], [Action::ResumeRead { .. }]));
    assert!(matches!(f.events()[..], [Event::Resumed(id)] if id == sender));
}

/// Security review L2: a polling sender that ignores acks is paused through the same
/// `hold_sender` as a WebSocket one: the POST carrying its input (the one being read, or the
/// next) is left unread until the receiver drains.
#[test]
fn a_held_polling_sender_has_its_post_left_unread_until_the_receiver_drains() {
    let (mut f, receiver) = Fixture::new().websocket();
    let sender = {
        f.request(ms(0), Method::Get, "EIO=4&transport=polling", false, 7);
        opened(&f.events())
    };
    f.actions();
    let post = format!("EIO=4&transport=polling&sid={}", f.sid(sender));
    let paused = |actions: &[Action], c: u64| {
        actions
            .iter()
            .any(|a| matches!(a, Action::PauseRead { conn: p } if *p == conn(c)))
    };
    let resumed = |actions: &[Action], c: u64| {
        actions
            .iter()
            .any(|a| matches!(a, Action::ResumeRead { conn: r } if *r == conn(c)))
    };

    // Held while a POST's body is being read: that connection is paused.
    assert!(matches!(
        f.request(ms(1), Method::Post, &post, false, 8),
        Outcome::ReadBody(_)
    ));
    f.engine
        .send_text(&mut f.timers, receiver, &"y".repeat(600));
    f.engine.hold_sender(sender, receiver);
    assert!(paused(&f.actions(), 8));
    assert!(f.engine.is_held(sender));
    f.engine.ws_written(&mut f.timers, receiver, 601);
    assert!(resumed(&f.actions(), 8));
    assert!(matches!(f.events()[..], [Event::Resumed(id)] if id == sender));
    assert_eq!(
        f.engine
            .polling_body(&mut f.timers, f.t0 + ms(2), sender, b"4a")
            .status,
        200
    );

    // Held between POSTs: nothing to pause yet; the next POST is the one held back.
    f.engine
        .send_text(&mut f.timers, receiver, &"y".repeat(600));
    f.engine.hold_sender(sender, receiver);
    assert!(!paused(&f.actions(), 8));
    assert!(matches!(
        f.request(ms(3), Method::Post, &post, false, 9),
        Outcome::ReadBody(_)
    ));
    assert!(
        f.engine.is_held(sender),
        "the front door leaves the body unread"
    );
    f.engine.ws_written(&mut f.timers, receiver, 601);
    assert!(resumed(&f.actions(), 9));
    assert!(!f.engine.is_held(sender));
}

/// A receiver that reads none of what is queued for it is disconnected at the stall timeout,
/// whether the queue is above the high-water mark or holds a few bytes.
#[test]
fn a_receiver_that_reads_nothing_is_disconnected_after_the_stall_timeout() {
    for (queued, congested) in [(600, true), (5, false)] {
        let (mut f, id) = Fixture::quiet().websocket();
        f.engine.send_text(&mut f.timers, id, &"z".repeat(queued));
        assert_eq!(f.engine.is_congested(id), congested, "{queued} B");
        // The loop's flush at the end of the turn arms the stall timer from that turn's time.
        f.engine.flush(&mut f.timers, f.t0 + ms(0));
        f.expire(config().stall_timeout - ms(5));
        assert!(f.is_open(id), "{queued} B");
        f.expire(config().stall_timeout + ms(5));
        assert_eq!(f.closed_with(), Some(CloseReason::Stalled), "{queued} B");
    }
}

#[test]
fn a_receiver_that_keeps_reading_slowly_is_kept_and_one_that_drained_has_no_clock() {
    let (mut f, id) = Fixture::quiet().websocket();
    f.engine.send_text(&mut f.timers, id, &"s".repeat(600));
    f.engine.flush(&mut f.timers, f.t0 + ms(0));
    // Some bytes written every 0.6 stall timeouts: the clock restarts at each.
    let step = config().stall_timeout * 3 / 5;
    for n in 1..=4u32 {
        f.expire(step * n);
        f.engine.ws_written(&mut f.timers, id, 100);
        f.engine.flush(&mut f.timers, f.t0 + step * n);
    }
    assert!(f.is_open(id));
    // The rest written: nothing queued, so no clock, however long it stays quiet.
    f.engine.ws_written(&mut f.timers, id, 10_000);
    f.engine.flush(&mut f.timers, f.t0 + step * 4);
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
