//! Lifetime and caps: session expiry, session_full, server_full.

use super::*;

#[test]
fn an_empty_session_keeps_its_name_until_the_session_timeout() {
    let server = Server::start(&[
        "--session-timeout",
        "500",
        "--join-limit-per-address",
        "1000",
        "--join-limit-per-session",
        "1000",
    ]);
    let mut a = SioClient::connect(server.addr());
    join(&mut a, "expiring", "Ann", "first");
    assert_success(&a.emit_ack("leave", r#"{"sessionId":"expiring"}"#));
    let emptied = Instant::now();
    let mut b = SioClient::connect(server.addr());
    let ack = b.emit_ack("join", &join_json("expiring", "Bob", "second"));
    assert_failure(&ack, "invalid_passphrase");
    assert!(emptied.elapsed() < Duration::from_millis(500));
    // After the timeout the name is free for another passphrase.
    let mut last = Value::Null;
    let taken = wait_until(deadline(STEP), || {
        last = b.emit_ack("join", &join_json("expiring", "Bob", "second"));
        bool_of(get(&last, "success"))
    });
    assert!(taken, "name never freed: {}", to_json(&last));
    assert!(bool_of(get(&last, "created")), "{}", to_json(&last));
    assert!(emptied.elapsed() >= Duration::from_millis(450));
}

#[test]
fn a_session_with_members_never_expires() {
    let server = Server::start(&["--session-timeout", "300"]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    join(&mut a, "alive", "Ann", "pw");
    // Well past the timeout, a stranger with another passphrase is still refused.
    match a.ws.read_until(Instant::now() + Duration::from_millis(700)) {
        WsRead::Timeout => {}
        other => panic!("member got {other:?}"),
    }
    let ack = b.emit_ack("join", &join_json("alive", "Bob", "other"));
    assert_failure(&ack, "invalid_passphrase");
}

#[test]
fn the_thirty_third_member_gets_session_full() {
    let server = Server::start(&[]);
    let mut clients: Vec<SioClient> = (0..32)
        .map(|i| {
            let mut c = SioClient::connect(server.addr());
            join(&mut c, "crowd", &format!("m{i}"), "pw");
            c
        })
        .collect();
    let mut late = SioClient::connect(server.addr());
    let ack = late.emit_ack("join", &join_json("crowd", "late", "pw"));
    assert_failure(&ack, "session_full");
    // Nothing changed for the members: one leaves, then the late one fits.
    assert_success(&clients[0].emit_ack("leave", r#"{"sessionId":"crowd"}"#));
    let ack = join(&mut late, "crowd", "late", "pw");
    assert_eq!(members(&ack).len(), 32);
    clients.clear();
}

#[test]
fn a_session_past_max_sessions_gets_server_full() {
    let mut server = Server::start(&["--max-sessions", "2"]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    let mut c = SioClient::connect(server.addr());
    join(&mut a, "one", "Ann", "pw");
    join(&mut b, "two", "Bob", "pw");
    let ack = c.emit_ack("join", &join_json("three", "Cat", "pw"));
    assert_failure(&ack, "server_full");
    // Existing sessions still take members.
    join(&mut c, "one", "Cat", "pw");
    a.expect_event("client-joined");
    server.assert_healthy();
}
