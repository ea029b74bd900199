//! Token rejoin within the grace, the grace running out, takeover.

use super::*;

#[test]
fn a_dropped_connection_rejoins_with_its_token_and_nobody_is_told() {
    let server = Server::start(&["--rejoin-grace", "10000"]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    join(&mut a, "drop", "Ann", "pw");
    let ack = join(&mut b, "drop", "Bob", "pw");
    a.expect_event("client-joined");
    let token = str_of(get(&ack, "token")).to_string();
    let bob = b.id.clone();
    b.reset();
    // Wait until the server has noticed the loss, so the rejoin is a real reconnect.
    let noticed = wait_until(deadline(STEP), || {
        server.metric("sharethings_connections{transport=\"websocket\"}") == 1
    });
    assert!(noticed, "server did not notice the reset");
    a.assert_no_events();

    let mut b2 = SioClient::connect(server.addr());
    assert_ne!(b2.id, bob);
    let ack = b2.emit_ack(
        "join",
        &format!(
            r#"{{"sessionId":"drop","clientName":"Bob","token":{}}}"#,
            quote(&token)
        ),
    );
    assert_success(&ack);
    assert_eq!(
        str_of(get(&ack, "clientId")),
        bob,
        "the old clientId is kept"
    );
    assert!(!bool_of(get(&ack, "created")));
    let ids: Vec<String> = members(&ack).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids.iter().filter(|id| **id == bob).count(), 1, "{ids:?}");
    assert_eq!(ids.len(), 2);
    a.assert_no_events();
    // Relays reach the rejoined member under its old id.
    assert_success(&a.emit_ack("content", r#"{"sessionId":"drop","content":"hi"}"#));
    assert_eq!(str_of(get(&b2.expect_event("content"), "from")), a.id);
    assert_success(&b2.emit_ack("content", r#"{"sessionId":"drop","content":"yo"}"#));
    assert_eq!(str_of(get(&a.expect_event("content"), "from")), bob);
}

#[test]
fn a_lost_member_is_announced_left_once_the_grace_passes() {
    let server = Server::start(&["--rejoin-grace", "400"]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    join(&mut a, "grace", "Ann", "pw");
    join(&mut b, "grace", "Bob", "pw");
    a.expect_event("client-joined");
    let bob = b.id.clone();
    let dropped = Instant::now();
    b.reset();
    let left = a.expect_event("client-left");
    assert_eq!(str_of(get(&left, "clientId")), bob);
    assert_eq!(str_of(get(&left, "clientName")), "Bob");
    assert!(
        dropped.elapsed() >= Duration::from_millis(350),
        "announced after {:?}, before the grace",
        dropped.elapsed()
    );
}

#[test]
fn a_token_rejoin_takes_over_a_connection_that_is_still_open() {
    let server = Server::start(&[]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    join(&mut a, "takeover", "Ann", "pw");
    let ack = join(&mut b, "takeover", "Bob", "pw");
    a.expect_event("client-joined");
    let token = str_of(get(&ack, "token")).to_string();
    let mut b2 = SioClient::connect(server.addr());
    let ack = b2.emit_ack(
        "join",
        &format!(
            r#"{{"sessionId":"takeover","clientName":"Bob","token":{}}}"#,
            quote(&token)
        ),
    );
    assert_success(&ack);
    assert_eq!(str_of(get(&ack, "clientId")), b.id);
    let replaced = b.expect_event("error");
    assert_eq!(str_of(get(&replaced, "code")), "replaced");
    a.assert_no_events();
    // The old connection is no longer a member.
    let ack = b.emit_ack("content", r#"{"sessionId":"takeover","content":"x"}"#);
    assert_failure(&ack, "not_joined");
}

#[test]
fn an_invalid_token_without_fingerprint_is_invalid_request() {
    let server = Server::start(&[]);
    let mut a = SioClient::connect(server.addr());
    join(&mut a, "tok", "Ann", "pw");
    let mut b = SioClient::connect(server.addr());
    let ack = b.emit_ack(
        "join",
        r#"{"sessionId":"tok","clientName":"Bob","token":"forged.token"}"#,
    );
    assert_failure(&ack, "invalid_request");
    // With a fingerprint, the fingerprint decides.
    let ack = b.emit_ack(
        "join",
        r#"{"sessionId":"tok","clientName":"Bob","token":"forged.token","fingerprint":{"v":2,"mac":"pw"}}"#,
    );
    assert_success(&ack);
}
