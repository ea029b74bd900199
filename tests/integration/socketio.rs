//! Socket.IO v5 against the real server, in raw Engine.IO frames: namespace CONNECT and its
//! errors, strict decoding that closes the Engine.IO connection, events sent right after
//! CONNECT, ack ids and connectTimeout.
//!
//! Sections:
//! - connect: the default namespace, an unknown namespace
//! - decode_errors: every malformed packet closes the connection (WebSocket and polling)
//! - ordering: an event in the same frame batch as CONNECT
//! - connect_timeout: sessions that never join a namespace

use std::time::{Duration, Instant};

use crate::common::*;

const JOIN: &str =
    r#"{"sessionId":"sio-tests","clientName":"Ann","fingerprint":{"v":2,"mac":"m"}}"#;

/// A direct WebSocket session joined to `/`.
fn connected(addr: std::net::SocketAddr) -> Ws {
    let (mut ws, _) = ws_open(addr, "");
    ws.send_text("40");
    let ack = ws.expect_text();
    assert!(ack.starts_with("40{\"sid\":"), "{ack}");
    ws
}

// ----- connect -----------------------------------------------------------------------------

#[test]
fn connect_to_the_default_namespace_is_acked_with_a_new_sid() {
    let server = Server::start(&[]);
    let (mut ws, open) = ws_open(server.addr(), "");
    let engine_sid = str_of(get(&open, "sid")).to_string();
    ws.send_text("40");
    let packet = decode_sio(&ws.expect_text()).expect("socket.io packet");
    assert_eq!(
        (packet.kind, packet.nsp.as_str()),
        (PacketKind::Connect, "/")
    );
    let data = packet.data.expect("connect payload");
    let sid = str_of(get(&data, "sid"));
    assert_eq!(sid.len(), 20);
    assert_ne!(sid, engine_sid, "the socket id is not the Engine.IO sid");

    // The same over long-polling, with a CONNECT auth payload.
    let (sid, _) = eio_open_polling(server.addr());
    assert_eq!(
        poll_post(server.addr(), &sid, br#"40{"token":"abc"}"#).status,
        200
    );
    let ack = poll_get(server.addr(), &sid).text();
    assert!(ack.starts_with("40{\"sid\":\""), "{ack}");
}

#[test]
fn unknown_namespace_gets_connect_error_and_the_connection_stays_open() {
    let server = Server::start(&[]);
    let (mut ws, _) = ws_open(server.addr(), "");
    ws.send_text("40/nope,");
    assert_eq!(
        ws.expect_text(),
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
    // Still open: the default namespace can be joined on the same connection.
    ws.send_text("40");
    assert!(ws.expect_text().starts_with("40{\"sid\":"));
    ws.send_text(&format!("420[\"join\",{JOIN}]"));
    let ack = ws.expect_text();
    assert!(
        ack.starts_with("430[{") && ack.contains("\"success\":true"),
        "{ack}"
    );
}

#[test]
fn ack_ids_up_to_u64_max_are_answered_unchanged() {
    let server = Server::start(&[]);
    let mut ws = connected(server.addr());
    ws.send_text("4218446744073709551615[\"no-such-event\"]");
    let ack = ws.expect_text();
    assert!(ack.starts_with("4318446744073709551615[{"), "{ack}");
    // One more than u64::MAX does not decode: the connection is closed.
    ws.send_text("4218446744073709551616[\"no-such-event\"]");
    ws.expect_close();
}

// ----- decode errors -----------------------------------------------------------------------

/// Sends `frames` on a fresh joined WebSocket and asserts the server closes the connection.
fn assert_closes(server: &Server, what: &str, frames: &[Frame]) {
    let mut ws = connected(server.addr());
    for frame in frames {
        match frame {
            Frame::Text(t) => ws.send_text(t),
            Frame::Binary(b) => ws.send_binary(b),
        }
    }
    let until = Instant::now() + STEP;
    let mut seen = Vec::new();
    loop {
        match ws.read_until(until) {
            WsRead::Closed(_) | WsRead::Dropped(_) => break,
            WsRead::Text(t) => seen.push(t),
            WsRead::Binary(_) => seen.push("<binary>".into()),
            WsRead::Timeout => panic!("{what}: connection not closed; saw {seen:?}"),
        }
    }
    assert!(seen.is_empty(), "{what}: answered {seen:?} before closing");
}

enum Frame {
    Text(String),
    Binary(&'static [u8]),
}

fn text(t: &str) -> Frame {
    Frame::Text(t.to_string())
}

#[test]
fn a_bad_packet_type_closes_the_connection() {
    let server = Server::start(&[]);
    assert_closes(&server, "type 9", &[text(r#"49["a"]"#)]);
    assert_closes(&server, "type x", &[text(r#"4x["a"]"#)]);
    assert_closes(&server, "empty", &[text("4")]);
}

#[test]
fn a_bad_attachment_count_closes_the_connection() {
    let server = Server::start(&[]);
    assert_closes(&server, "no count", &[text(r#"45-["a"]"#)]);
    assert_closes(&server, "no dash", &[text(r#"451["a"]"#)]);
    assert_closes(&server, "not a number", &[text(r#"45x-["a"]"#)]);
}

#[test]
fn bad_json_closes_the_connection() {
    let server = Server::start(&[]);
    assert_closes(&server, "truncated", &[text(r#"42["content",{"#)]);
    assert_closes(&server, "trailing", &[text(r#"42["a"]x"#)]);
}

#[test]
fn an_event_payload_that_is_not_an_array_closes_the_connection() {
    let server = Server::start(&[]);
    assert_closes(&server, "object", &[text(r#"42{"a":1}"#)]);
    assert_closes(&server, "string", &[text(r#"42"join""#)]);
    assert_closes(&server, "empty array", &[text("42[]")]);
    assert_closes(&server, "no payload", &[text("42")]);
}

#[test]
fn a_reserved_event_name_closes_the_connection() {
    let server = Server::start(&[]);
    for name in [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ] {
        assert_closes(&server, name, &[text(&format!("42[\"{name}\",{{}}]"))]);
    }
}

#[test]
fn a_placeholder_out_of_range_closes_the_connection() {
    let server = Server::start(&[]);
    assert_closes(
        &server,
        "num 1 of 1",
        &[text(
            r#"451-["content",{"sessionId":"s","content":"c","data":{"_placeholder":true,"num":1}}]"#,
        )],
    );
    assert_closes(
        &server,
        "negative num",
        &[text(
            r#"451-["content",{"data":{"_placeholder":true,"num":-1}}]"#,
        )],
    );
}

#[test]
fn a_binary_frame_without_a_binary_packet_closes_the_connection() {
    let server = Server::start(&[]);
    assert_closes(&server, "stray binary", &[Frame::Binary(&[1, 2, 3])]);
    // One attachment announced, two sent.
    assert_closes(
        &server,
        "extra binary",
        &[
            text(r#"451-["no-such-event",{"_placeholder":true,"num":0}]"#),
            Frame::Binary(&[1]),
            Frame::Binary(&[2]),
        ],
    );
    // A text packet while an attachment is still awaited.
    assert_closes(
        &server,
        "text instead of attachment",
        &[
            text(r#"451-["no-such-event",{"_placeholder":true,"num":0}]"#),
            text(r#"42["no-such-event"]"#),
        ],
    );
}

#[test]
fn more_than_ten_attachments_close_the_connection() {
    let server = Server::start(&[]);
    assert_closes(
        &server,
        "11 attachments",
        &[text(r#"4511-["content",{"_placeholder":true,"num":0}]"#)],
    );
    // Ten are fine: the packet is handled and answered.
    let mut ws = connected(server.addr());
    ws.send_text(r#"4510-0["no-such-event",{"_placeholder":true,"num":9}]"#);
    for i in 0..10u8 {
        ws.send_binary(&[i]);
    }
    let ack = ws.expect_text();
    assert!(ack.starts_with("430[{"), "{ack}");
}

#[test]
fn a_bad_packet_over_polling_closes_the_session() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let (sid, _) = eio_open_polling(addr);
    assert_eq!(poll_post(addr, &sid, b"40").status, 200);
    assert!(poll_get(addr, &sid).text().starts_with("40{"));
    poll_post(addr, &sid, br#"42{"not":"an array"}"#);
    poll_get(addr, &sid).assert_eio_error(400, 1, "Session ID unknown");
}

#[test]
fn the_server_survives_every_bad_packet() {
    let mut server = Server::start(&[]);
    assert_closes(&server, "type 9", &[text("49")]);
    assert_closes(&server, "not json", &[text("42[")]);
    server.assert_healthy();
    let mut ws = connected(server.addr());
    ws.send_text(&format!("420[\"join\",{JOIN}]"));
    assert!(ws.expect_text().contains("\"success\":true"));
}

// ----- ordering ----------------------------------------------------------------------------

#[test]
fn an_event_in_the_same_frame_batch_as_connect_is_not_lost() {
    let server = Server::start(&[]);
    let (mut ws, _) = ws_open(server.addr(), "");
    let join = format!("420[\"join\",{JOIN}]");
    ws.send_batch(&["40", &join]);
    assert!(ws.expect_text().starts_with("40{\"sid\":"));
    let ack = ws.expect_text();
    assert!(
        ack.starts_with("430[{") && ack.contains("\"success\":true"),
        "{ack}"
    );
}

#[test]
fn an_event_in_the_same_polling_payload_as_connect_is_not_lost() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let (sid, _) = eio_open_polling(addr);
    let body = encode_payload(&[
        Packet::Text("40".into()),
        Packet::Text(format!("420[\"join\",{JOIN}]")),
    ]);
    assert_eq!(poll_post(addr, &sid, &body).status, 200);
    let packets = decode_payload(&poll_get(addr, &sid).body);
    assert_eq!(packets.len(), 2, "{packets:?}");
    assert!(matches!(&packets[0], Packet::Text(t) if t.starts_with("40{\"sid\":")));
    assert!(
        matches!(&packets[1], Packet::Text(t) if t.starts_with("430[{") && t.contains("\"success\":true"))
    );
}

// ----- connectTimeout ----------------------------------------------------------------------

#[test]
fn connect_timeout_closes_a_session_that_never_joins_a_namespace() {
    let server = Server::start(&["--connect-timeout", "300"]);
    let opened = Instant::now();
    let (mut ws, _) = ws_open(server.addr(), "");
    let (_, seen) = ws.expect_close();
    assert!(seen.is_empty(), "{seen:?}");
    let waited = opened.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );

    // Over polling, the parked GET is answered with close.
    let (sid, _) = eio_open_polling(server.addr());
    assert_eq!(poll_get(server.addr(), &sid).text(), "1");
    poll_get(server.addr(), &sid).assert_eio_error(400, 1, "Session ID unknown");
}

#[test]
fn connect_timeout_spares_a_session_that_joined() {
    let server = Server::start(&["--connect-timeout", "300"]);
    let mut ws = connected(server.addr());
    // Nothing may arrive (in particular no close) for well past the timeout.
    match ws.read_until(Instant::now() + Duration::from_millis(800)) {
        WsRead::Timeout => {}
        other => panic!("joined session got {other:?}"),
    }
    ws.send_text("420[\"no-such-event\"]");
    assert!(ws.expect_text().starts_with("430[{"));
}
