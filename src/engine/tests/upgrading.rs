//! Upgrading: the probe, `5`, an upgrade timing out, a second WebSocket.

use super::*;

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
    f.engine.send_text(&mut f.timers, id, "queued");
    f.text(ms(3), id, 2, "5");
    assert_eq!(sent(&f.actions()), ["ws:4queued"]);
    f.engine.send_text(&mut f.timers, id, "after");
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
