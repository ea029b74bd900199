//! 413 on polling, close 1009 on WebSocket.

use super::*;

#[test]
fn polling_post_over_max_payload_is_413_and_the_session_survives() {
    let server = Server::start(&["--max-payload", "1000"]);
    let addr = server.addr();
    let (sid, open) = eio_open_polling(addr);
    assert_eq!(num(get(&open, "maxPayload")), 1000);
    let big = format!("42[\"x\",\"{}\"]", "a".repeat(1000));
    let res = poll_post(addr, &sid, big.as_bytes());
    assert_eq!(res.status, 413, "{res:?}");
    // Exactly at the limit is fine, and the session works.
    let exact = format!("42[\"no-such-event\",\"{}\"]", "a".repeat(1000 - 22));
    assert_eq!(exact.len(), 1000);
    assert_eq!(poll_post(addr, &sid, b"40").status, 200);
    assert!(poll_get(addr, &sid).text().starts_with("40{"));
    assert_eq!(poll_post(addr, &sid, exact.as_bytes()).status, 200);
}

#[test]
fn websocket_message_over_max_payload_closes_with_1009() {
    let server = Server::start(&["--max-payload", "1000"]);
    let (mut ws, _) = ws_open(server.addr(), "");
    ws.send_text("40");
    assert!(ws.expect_text().starts_with("40{"));
    ws.send_text(&format!("42[\"x\",\"{}\"]", "a".repeat(1000)));
    let (code, _) = ws.expect_close();
    assert_eq!(code, Some(1009));
}

#[test]
fn fragmented_websocket_messages_are_reassembled_and_limited_as_a_whole() {
    let server = Server::start(&["--max-payload", "1000"]);
    let (mut ws, _) = ws_open(server.addr(), "");
    ws.send_fragments(&["4", "0"]);
    assert!(ws.expect_text().starts_with("40{\"sid\":"));
    // WebSocket pings in between are answered by the WebSocket layer.
    let pong = ws.ping(b"hi");
    assert_eq!(pong, b"hi");
    // Two fragments of 600 bytes each: every frame is small, the message is not.
    let half = "a".repeat(600);
    ws.send_fragments(&[&format!("42[\"x\",\"{half}"), &format!("{half}\"]")]);
    let (code, _) = ws.expect_close();
    assert_eq!(code, Some(1009));
}
