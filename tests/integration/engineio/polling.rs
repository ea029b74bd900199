//! Framing both ways, overlapping GET and POST.

use super::*;

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
