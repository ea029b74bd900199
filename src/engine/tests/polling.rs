//! Polling: held GETs, POST bodies, overlaps, a connection gone.

use super::*;

#[test]
fn a_get_with_nothing_queued_is_held_and_answered_by_the_next_flush() {
    let (mut f, id) = Fixture::new().polling();
    assert!(matches!(f.get(ms(1), id, 3), Outcome::Hold(_)));
    f.engine.send_text(&mut f.timers, id, "hello");
    assert!(f.actions().is_empty(), "answered before the flush");
    f.engine.flush(&mut f.timers, f.t0 + ms(1));
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
    f.engine.send_text(&mut f.timers, id, "unsent");
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
    f.engine.polling_conn_gone(&mut f.timers, id, conn(3));
    assert_eq!(f.closed_with(), Some(CloseReason::TransportError));
}
