//! WebSocket: messages, close packets, client pings.

use super::*;

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
