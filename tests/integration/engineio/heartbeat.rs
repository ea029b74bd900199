//! Server pings, timeouts on both transports, client pings (what happens only; when it happens
//! is proven on virtual time in `src/engine/tests/heartbeat.rs`).

use super::*;

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
