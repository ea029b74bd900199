//! Probe, noop to the parked GET, `5`, flush, polling refused afterwards.

use super::*;

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

#[test]
fn the_3probe_a_websocket_is_owed_goes_out_before_the_answer_to_a_poll_sent_after_it() {
    // The conformance suite's "ignores HTTP requests with same sid after upgrade": `2probe`
    // and `5` on the WebSocket, at once a poll on another connection. Loopback delivers a
    // write at once, so when the poll's 400 is read, the 3probe must already be waiting.
    let server = Server::start(&[]);
    let addr = server.addr();
    for round in 0..30 {
        let (sid, _) = eio_open_polling(addr);
        let mut ws = ws_connect(addr, &format!("&sid={sid}"));
        ws.send_batch(&["2probe", "5"]);
        poll_get(addr, &sid).assert_eio_error(400, 3, "Bad request");
        let stream = ws.ws.get_mut();
        stream.set_nonblocking(true).expect("nonblocking");
        let mut probe = [0u8; 16];
        let waiting = stream.peek(&mut probe).unwrap_or(0);
        stream.set_nonblocking(false).expect("blocking");
        assert!(
            waiting > 0,
            "round {round}: the 3probe was not written first"
        );
        assert_eq!(ws.expect_text(), "3probe");
    }
}
