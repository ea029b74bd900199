//! Engine.IO v4 against the real server, in raw bytes: the error table of `docs/protocol.md`, the
//! open packet, long-polling framing, overlapping requests, the upgrade to WebSocket, the
//! heartbeat, maxPayload on both transports and CORS.
//!
//! Sections:
//! - errors: every status, code and message, and failed WebSocket handshakes
//! - handshake: the open packet on both transports
//! - polling: framing both ways, overlapping GET and POST
//! - upgrade: probe, noop to the parked GET, `5`, flush, polling refused afterwards
//! - heartbeat: server pings, timeouts on both transports, client pings (what happens only;
//!   when it happens is proven on virtual time in `src/engine/tests.rs`)
//! - max_payload: 413 on polling, close 1009 on WebSocket
//! - cors: preflight and headers

use std::time::Duration;

use crate::common::*;

const UNKNOWN_SID: &str = "AAAAAAAAAAAAAAAAAAAA";

/// Joins ShareThings session `session` as `name` over polling: `40`, then `join` with an ack.
fn polling_join(addr: std::net::SocketAddr, sid: &str, session: &str, name: &str) {
    assert_eq!(poll_post(addr, sid, b"40").status, 200);
    let connected = poll_get(addr, sid);
    assert!(connected.text().starts_with("40{\"sid\":"), "{connected:?}");
    let join = format!(
        r#"420["join",{{"sessionId":{},"clientName":{},"fingerprint":{{"v":2,"mac":"m"}}}}]"#,
        quote(session),
        quote(name)
    );
    assert_eq!(poll_post(addr, sid, join.as_bytes()).status, 200);
    let ack = poll_get(addr, sid).text();
    assert!(ack.starts_with("430[{"), "join ack: {ack}");
    assert!(ack.contains("\"success\":true"), "join ack: {ack}");
}

// ----- errors ------------------------------------------------------------------------------

#[test]
fn unknown_transport_is_400_code_0() {
    let server = Server::start(&[]);
    for target in [
        "/socket.io/?EIO=4&transport=carrier-pigeon",
        "/socket.io/?EIO=4",
        "/socket.io/?EIO=4&transport=",
    ] {
        get_path(server.addr(), target).assert_eio_error(400, 0, "Transport unknown");
    }
}

#[test]
fn unknown_sid_is_400_code_1() {
    let server = Server::start(&[]);
    poll_get(server.addr(), UNKNOWN_SID).assert_eio_error(400, 1, "Session ID unknown");
    poll_get(server.addr(), "not-a-sid").assert_eio_error(400, 1, "Session ID unknown");
    poll_post(server.addr(), UNKNOWN_SID, b"40").assert_eio_error(400, 1, "Session ID unknown");
}

#[test]
fn post_handshake_is_400_code_2() {
    let server = Server::start(&[]);
    let res = http(
        server.addr(),
        "POST",
        "/socket.io/?EIO=4&transport=polling",
        &[],
        b"40",
    );
    res.assert_eio_error(400, 2, "Bad handshake method");
}

#[test]
fn transport_mismatch_and_websocket_without_upgrade_are_400_code_3() {
    let server = Server::start(&[]);
    let addr = server.addr();
    // A websocket handshake request that is plain HTTP (no Upgrade header).
    get_path(addr, "/socket.io/?EIO=4&transport=websocket").assert_eio_error(400, 3, "Bad request");
    // A polling session addressed as websocket without an upgrade.
    let (sid, _) = eio_open_polling(addr);
    get_path(addr, &format!("{EIO_PATH}&transport=websocket&sid={sid}")).assert_eio_error(
        400,
        3,
        "Bad request",
    );
    // The mismatch does not close the session.
    assert_eq!(poll_post(addr, &sid, b"40").status, 200);
    assert!(poll_get(addr, &sid).text().starts_with("40{"));
}

#[test]
fn foreign_origin_is_403_code_4() {
    let server = Server::start(&[]);
    let res = http(
        server.addr(),
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        &[("Origin", "http://evil.example")],
        b"",
    );
    res.assert_eio_error(403, 4, "Forbidden");
    // The page's own origin is always allowed.
    let res = http(
        server.addr(),
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        &[("Origin", "http://localhost")],
        b"",
    );
    assert_eq!(res.status, 200, "{res:?}");
    assert!(res.text().starts_with("0{"), "{res:?}");
}

#[test]
fn eio_3_is_400_code_5() {
    let server = Server::start(&[]);
    for target in [
        "/socket.io/?EIO=3&transport=polling",
        "/socket.io/?transport=polling",
    ] {
        get_path(server.addr(), target).assert_eio_error(400, 5, "Unsupported protocol version");
    }
}

#[test]
fn failed_websocket_handshake_is_plain_400_with_the_message() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let refused = try_ws_connect(addr, &format!("&sid={UNKNOWN_SID}"))
        .err()
        .expect("unknown sid refused");
    assert_eq!(refused, (400, "Session ID unknown".to_string()));
    let refused = raw_ws_upgrade(addr, "/socket.io/?EIO=3&transport=websocket", &[]);
    assert_eq!(refused, (400, "Unsupported protocol version".to_string()));
    let refused = raw_ws_upgrade(
        addr,
        "/socket.io/?EIO=4&transport=websocket",
        &[("Origin", "http://evil.example")],
    );
    assert_eq!(refused, (400, "Forbidden".to_string()));
}

#[test]
fn a_second_websocket_for_a_websocket_session_is_accepted_then_closed() {
    // As the reference: the handshake completes, the server closes that WebSocket at once,
    // and the session goes on on its own WebSocket.
    let server = Server::start(&[]);
    let addr = server.addr();
    let (mut ws, open) = ws_open(addr, "");
    let sid = str_of(get(&open, "sid")).to_string();
    let mut second = ws_connect(addr, &format!("&sid={sid}"));
    let (code, texts) = second.expect_close();
    assert_eq!(code, Some(1000));
    assert!(texts.is_empty(), "{texts:?}");
    ws.send_text("40");
    assert!(ws.expect_text().starts_with("40{\"sid\":"));
}

/// Sends a WebSocket upgrade request by hand and returns status and body of the refusal.
fn raw_ws_upgrade(
    addr: std::net::SocketAddr,
    target: &str,
    extra: &[(&str, &str)],
) -> (u16, String) {
    let mut headers = vec![
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];
    headers.extend_from_slice(extra);
    let res = http(addr, "GET", target, &headers, b"");
    assert_ne!(
        res.header("content-type"),
        Some("application/json"),
        "a refused WebSocket handshake is not a JSON error: {res:?}"
    );
    (res.status, res.text())
}

// ----- handshake ---------------------------------------------------------------------------

fn assert_open_packet(open: &miniserde::json::Value, upgrades: &[&str]) {
    let miniserde::json::Value::Object(map) = open else {
        panic!("open packet is not an object");
    };
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(num(get(open, "pingInterval")), 300);
    assert_eq!(num(get(open, "pingTimeout")), 200);
    assert_eq!(num(get(open, "maxPayload")), 1000);
    assert_eq!(str_of(get(open, "sid")).len(), 20, "sid length");
    let got: Vec<&str> = arr(get(open, "upgrades")).iter().map(str_of).collect();
    assert_eq!(got, upgrades);
}

#[test]
fn open_packet_has_exactly_the_reference_keys_on_both_transports() {
    let server = Server::start(&[
        "--ping-interval",
        "300",
        "--ping-timeout",
        "200",
        "--max-payload",
        "1000",
    ]);
    let (_, open) = eio_open_polling(server.addr());
    assert_open_packet(&open, &["websocket"]);
    let (_ws, open) = ws_open(server.addr(), "");
    assert_open_packet(&open, &[]);
}

// ----- polling -----------------------------------------------------------------------------

#[test]
fn polling_carries_several_text_and_binary_packets_both_ways() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let (sid, _) = eio_open_polling(addr);
    polling_join(addr, &sid, "framing", "Poll");
    let mut ws = SioClient::connect(addr);
    let ack = ws.emit_ack(
        "join",
        r#"{"sessionId":"framing","clientName":"Sock","fingerprint":{"v":2,"mac":"m"}}"#,
    );
    assert!(bool_of(get(&ack, "success")), "{}", to_json(&ack));

    // Server to client: two text events and a binary event with its attachment, all queued
    // before the GET, come back in one payload.
    ws.emit_ack("content", r#"{"sessionId":"framing","content":"one"}"#);
    ws.emit_ack("content", r#"{"sessionId":"framing","content":"two"}"#);
    ws.ws.send_text(
        r#"451-3["content",{"sessionId":"framing","content":"bin","data":{"_placeholder":true,"num":0}}]"#,
    );
    ws.ws.send_binary(&[0, 1, 2, 0xfe, 0xff]);
    let ack = ws.wait_ack(3);
    assert!(bool_of(get(&ack, "success")), "{}", to_json(&ack));
    let res = poll_get(addr, &sid);
    assert_eq!(res.status, 200);
    let packets = decode_payload(&res.body);
    // The join announcement comes first.
    assert_eq!(packets.len(), 5, "{packets:?}");
    assert!(matches!(&packets[0], Packet::Text(t) if t.starts_with("42[\"client-joined\"")));
    assert!(matches!(&packets[1], Packet::Text(t) if t.contains("\"content\":\"one\"")));
    assert!(matches!(&packets[2], Packet::Text(t) if t.contains("\"content\":\"two\"")));
    let Packet::Text(binary_event) = &packets[3] else {
        panic!("{packets:?}");
    };
    assert!(
        binary_event.starts_with("451-[\"content\""),
        "{binary_event}"
    );
    assert!(binary_event.contains(r#""data":{"_placeholder":true,"num":0}"#));
    assert_eq!(packets[4], Packet::Binary(vec![0, 1, 2, 0xfe, 0xff]));

    // Client to server: a text event, a binary event and its attachment, and another text
    // event in one POST body.
    let body = encode_payload(&[
        Packet::Text(r#"42["content",{"sessionId":"framing","content":"p1"}]"#.into()),
        Packet::Text(
            r#"451-["content",{"sessionId":"framing","content":"p2","data":{"_placeholder":true,"num":0}}]"#
                .into(),
        ),
        Packet::Binary(vec![9, 8, 7, 0x1e, 0]),
        Packet::Text(r#"42["content",{"sessionId":"framing","content":"p3"}]"#.into()),
    ]);
    let res = poll_post(addr, &sid, &body);
    assert_eq!((res.status, res.text().as_str()), (200, "ok"));
    let first = ws.expect_event("content");
    assert_eq!(str_of(get(&first, "content")), "p1");
    let text = ws.ws.expect_text();
    assert!(text.starts_with("451-[\"content\""), "{text}");
    assert!(text.contains("\"content\":\"p2\""), "{text}");
    assert_eq!(ws.ws.expect_binary(), vec![9, 8, 7, 0x1e, 0]);
    let third = ws.expect_event("content");
    assert_eq!(str_of(get(&third, "content")), "p3");
}

#[test]
fn a_second_concurrent_get_closes_the_session() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let (sid, _) = eio_open_polling(addr);
    let mut first = start_poll_get(addr, &sid);
    loop_barrier(addr);
    let second = poll_get(addr, &sid);
    assert_eq!(second.status, 400, "{second:?}");
    let first = first.read_response();
    assert_eq!((first.status, first.text().as_str()), (200, "1"));
    poll_get(addr, &sid).assert_eio_error(400, 1, "Session ID unknown");
}

#[test]
fn a_second_concurrent_post_closes_the_session() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let (sid, _) = eio_open_polling(addr);
    let _first = start_partial_post(addr, &sid);
    loop_barrier(addr);
    let second = poll_post(addr, &sid, b"40");
    assert_eq!(second.status, 400, "{second:?}");
    poll_get(addr, &sid).assert_eio_error(400, 1, "Session ID unknown");
}

/// Starts a polling POST that announces four body bytes and sends two, so it stays in flight.
fn start_partial_post(addr: std::net::SocketAddr, sid: &str) -> Http {
    let mut conn = Http::connect(addr);
    let mut partial = request_bytes("POST", &polling_target(sid), &[], b"4242");
    partial.truncate(partial.len() - 2);
    conn.send(&partial);
    conn
}

#[test]

fn a_polling_post_cut_short_closes_the_session() {
    // Reference (engine.io polling.ts onDataRequest): "data request connection closed
    // prematurely" is a transport error that closes the session.
    let server = Server::start(&[]);
    let addr = server.addr();
    let (sid, _) = eio_open_polling(addr);
    let cut = start_partial_post(addr, &sid);
    loop_barrier(addr);
    drop(cut);
    loop_barrier(addr);
    poll_post(addr, &sid, b"40").assert_eio_error(400, 1, "Session ID unknown");
}

#[test]

fn a_parked_get_cut_short_closes_the_session() {
    // Reference (engine.io polling.ts onPollRequest): "poll connection closed prematurely".
    let server = Server::start(&[]);
    let addr = server.addr();
    let (sid, _) = eio_open_polling(addr);
    let cut = start_poll_get(addr, &sid);
    loop_barrier(addr);
    drop(cut);
    loop_barrier(addr);
    poll_post(addr, &sid, b"40").assert_eio_error(400, 1, "Session ID unknown");
}

#[test]

fn a_polling_post_body_timeout_ends_the_request_cleanly() {
    // After the 408 the POST is over, as if its connection had closed: the session is closed
    // like the reference's (next request: unknown sid), not left with a phantom POST that
    // makes the next one an "overlap".
    let server = Server::start(&["--head-timeout", "300"]);
    let addr = server.addr();
    let (sid, _) = eio_open_polling(addr);
    let mut slow = start_partial_post(addr, &sid);
    assert_eq!(slow.read_response().status, 408);
    slow.expect_closed();
    poll_post(addr, &sid, b"40").assert_eio_error(400, 1, "Session ID unknown");
}

#[test]
fn an_empty_polling_post_is_answered_at_once_every_time() {
    // `Content-Length: 0` completes the request with its head: no byte will follow to wake
    // the loop, so the answer must not wait for one (or for the head timeout's 408).
    let server = Server::start(&["--head-timeout", "30000"]);
    let addr = server.addr();
    for round in 0..10 {
        let (sid, _) = eio_open_polling(addr);
        let mut http = Http::connect(addr);
        http.send(&request_bytes("POST", &polling_target(&sid), &[], b""));
        let answer = http
            .try_read_response_for("POST", deadline(Duration::from_secs(3)))
            .unwrap_or_else(|e| panic!("round {round}: no answer: {e}"));
        assert_eq!(answer.status, 400, "round {round}: {answer:?}");
    }
}

#[test]
fn an_oversize_post_is_answered_413_to_a_client_still_sending() {
    // The server refuses at the head, then half-closes and drains for a while, so a client
    // that goes on sending after the answer arrived finishes its write, reads the status and
    // sees a clean end instead of a reset.
    let server = Server::start(&[]);
    let addr = server.addr();
    let (sid, _) = eio_open_polling(addr);
    let mut http = Http::connect(addr);
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000001\r\n\r\n",
        polling_target(&sid)
    );
    http.send(head.as_bytes());
    http.send(&[b'x'; 64 * 1024]);
    let mut peek = [0u8; 12];
    let answered = wait_until(deadline(STEP), || {
        http.stream.peek(&mut peek).is_ok_and(|n| n == peek.len())
    });
    assert!(answered, "no answer to the oversize head");
    assert_eq!(&peek, b"HTTP/1.1 413");
    let rest = vec![b'x'; 1_000_001 - 64 * 1024];
    http.stream
        .set_write_timeout(Some(STEP))
        .expect("write timeout");
    std::io::Write::write_all(&mut http.stream, &rest).expect("the server drains the body");
    http.stream
        .shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    assert_eq!(http.read_response_for("POST").status, 413);
    let mut after = [0u8; 16];
    http.stream
        .set_read_timeout(Some(STEP))
        .expect("read timeout");
    let end = std::io::Read::read(&mut http.stream, &mut after);
    assert!(matches!(end, Ok(0)), "not a clean end: {end:?}");
    // The session survives a refused body, as in the reference.
    assert_eq!(poll_post(addr, &sid, b"40").status, 200);
}

// ----- upgrade -----------------------------------------------------------------------------

#[test]
fn upgrade_probe_noop_switch_flush_then_polling_is_refused() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let (sid, _) = eio_open_polling(addr);
    assert_eq!(poll_post(addr, &sid, b"40").status, 200);
    assert!(poll_get(addr, &sid).text().starts_with("40{\"sid\":"));

    let mut parked = start_poll_get(addr, &sid);
    loop_barrier(addr);
    let mut ws = ws_connect(addr, &format!("&sid={sid}"));
    ws.send_text("2probe");
    assert_eq!(ws.expect_text(), "3probe");
    let noop = parked.read_response();
    assert_eq!((noop.status, noop.text().as_str()), (200, "6"));

    // Still polling until `5`: an event posted now is answered on the polling queue, and
    // that queue is flushed over the WebSocket by the switch.
    assert_eq!(
        poll_post(addr, &sid, br#"421["no-such-event",{}]"#).status,
        200
    );
    ws.send_text("5");
    let flushed = ws.expect_text();
    assert!(flushed.starts_with("431[{"), "{flushed}");
    assert!(flushed.contains("unknown event"), "{flushed}");

    // Messages now flow over the WebSocket.
    ws.send_text(r#"422["no-such-event",{}]"#);
    let answer = ws.expect_text();
    assert!(answer.starts_with("432[{"), "{answer}");

    // Polling on the upgraded session is a bad request; the session survives it.
    poll_get(addr, &sid).assert_eio_error(400, 3, "Bad request");
    poll_post(addr, &sid, b"42[\"x\"]").assert_eio_error(400, 3, "Bad request");
    ws.send_text(r#"423["no-such-event",{}]"#);
    assert!(ws.expect_text().starts_with("433[{"));
}

#[test]
fn an_upgrade_that_never_sends_5_is_abandoned_and_polling_goes_on() {
    let server = Server::start(&["--upgrade-timeout", "300"]);
    let addr = server.addr();
    let (sid, _) = eio_open_polling(addr);
    let mut ws = ws_connect(addr, &format!("&sid={sid}"));
    ws.send_text("2probe");
    assert_eq!(ws.expect_text(), "3probe");
    ws.expect_close();
    // The session is still a polling one.
    assert_eq!(poll_post(addr, &sid, b"40").status, 200);
    assert!(poll_get(addr, &sid).text().starts_with("40{"));
}

// ----- heartbeat ---------------------------------------------------------------------------

const FAST_HEARTBEAT: [&str; 4] = ["--ping-interval", "300", "--ping-timeout", "200"];

#[test]
fn server_pings_every_interval_and_pongs_keep_the_session() {
    let server = Server::start(&FAST_HEARTBEAT);
    let (mut ws, _) = ws_open(server.addr(), "");
    ws.auto_pong = false;
    for _ in 0..4 {
        assert_eq!(ws.expect_text(), "2");
        ws.send_text("3");
    }
    // Alive after four intervals: it still answers.
    ws.send_text("40");
    assert!(ws.expect_text().starts_with("40{"));
}

#[test]
fn websocket_without_pong_closes_after_ping_timeout() {
    let server = Server::start(&FAST_HEARTBEAT);
    let (mut ws, _) = ws_open(server.addr(), "");
    ws.auto_pong = false;
    assert_eq!(ws.expect_text(), "2");
    let (_, seen) = ws.expect_close();
    assert!(seen.is_empty(), "{seen:?}");
}

#[test]
fn polling_without_pong_closes_after_ping_timeout() {
    let server = Server::start(&FAST_HEARTBEAT);
    let addr = server.addr();
    let (sid, _) = eio_open_polling(addr);
    let ping = poll_get(addr, &sid);
    assert_eq!(ping.text(), "2");
    // No pong: the next GET is parked and answered with close when pingTimeout passes.
    let close = poll_get(addr, &sid);
    assert_eq!(close.text(), "1");
    poll_get(addr, &sid).assert_eio_error(400, 1, "Session ID unknown");
}

#[test]
fn polling_pong_keeps_the_session() {
    let server = Server::start(&FAST_HEARTBEAT);
    let addr = server.addr();
    let (sid, _) = eio_open_polling(addr);
    for _ in 0..3 {
        assert_eq!(poll_get(addr, &sid).text(), "2");
        assert_eq!(poll_post(addr, &sid, b"3").status, 200);
    }
    assert_eq!(poll_post(addr, &sid, b"40").status, 200);
    assert!(poll_get(addr, &sid).text().starts_with("40{"));
}

#[test]
fn a_client_ping_closes_the_session() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let (mut ws, _) = ws_open(addr, "");
    ws.send_text("2");
    ws.expect_close();

    let (sid, _) = eio_open_polling(addr);
    poll_post(addr, &sid, b"2");
    poll_get(addr, &sid).assert_eio_error(400, 1, "Session ID unknown");
}

// ----- maxPayload --------------------------------------------------------------------------

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

// ----- CORS --------------------------------------------------------------------------------

#[test]
fn cors_preflight_from_an_allowed_origin_names_it() {
    let server = Server::start(&["--cors-origins", "http://allowed.example"]);
    let res = http(
        server.addr(),
        "OPTIONS",
        "/socket.io/?EIO=4&transport=polling",
        &[
            ("Origin", "http://allowed.example"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        b"",
    );
    assert_eq!(res.status, 204, "{res:?}");
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("http://allowed.example")
    );
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
    assert!(res
        .header("access-control-allow-methods")
        .is_some_and(|m| m.contains("POST") && m.contains("GET")));
    assert_eq!(
        res.header("access-control-allow-headers"),
        Some("content-type")
    );
    // The requests themselves carry the header too.
    let res = http(
        server.addr(),
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        &[("Origin", "http://allowed.example")],
        b"",
    );
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("http://allowed.example")
    );
}

#[test]
fn every_polling_answer_to_an_allowed_origin_carries_cors_and_no_store() {
    let server = Server::start(&["--cors-origins", "http://allowed.example"]);
    let origin = [("Origin", "http://allowed.example")];
    let open = http(
        server.addr(),
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        &origin,
        b"",
    );
    let sid = str_of(get(&parse_json(&open.text()[1..]), "sid")).to_string();
    let target = polling_target(&sid);
    // A parked GET, answered later when the POST below makes the server send something.
    let mut parked = Http::connect(server.addr());
    parked.send(&request_bytes("GET", &target, &origin, b""));
    loop_barrier(server.addr());
    let post = http(server.addr(), "POST", &target, &origin, b"40");
    assert_eq!(post.status, 200, "{post:?}");
    let answer = parked.read_response_for("GET");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.text().starts_with("40"), "{answer:?}");
    for res in [&open, &post, &answer] {
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some("http://allowed.example"),
            "{res:?}"
        );
        assert_eq!(res.header("cache-control"), Some("no-store"), "{res:?}");
    }
}

#[test]
fn cors_preflight_without_an_allowed_origin_grants_nothing() {
    let server = Server::start(&["--cors-origins", "http://allowed.example"]);
    let res = http(
        server.addr(),
        "OPTIONS",
        "/socket.io/?EIO=4&transport=polling",
        &[("Access-Control-Request-Method", "POST")],
        b"",
    );
    assert!(res.status < 300, "{res:?}");
    assert_eq!(res.header("access-control-allow-origin"), None, "{res:?}");
    let res = http(
        server.addr(),
        "OPTIONS",
        "/socket.io/?EIO=4&transport=polling",
        &[
            ("Origin", "http://other.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    );
    res.assert_eio_error(403, 4, "Forbidden");
    assert_eq!(res.header("access-control-allow-origin"), None);
}
