//! Every status, code and message, and failed WebSocket handshakes.

use super::*;

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
