//! Wrong passphrase, rate limit and its window.

use super::*;

#[test]
fn a_wrong_passphrase_is_invalid_passphrase() {
    let server = Server::start(&[]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    join(&mut a, "locked", "Ann", "right");
    let ack = b.emit_ack("join", &join_json("locked", "Bob", "wrong"));
    assert_failure(&ack, "invalid_passphrase");
    a.assert_no_events();
    // Without an ack the failure is an `error` event.
    b.emit("join", &join_json("locked", "Bob", "wrong"));
    let error = b.expect_event("error");
    assert_eq!(str_of(get(&error, "code")), "invalid_passphrase");
    assert!(!str_of(get(&error, "message")).is_empty());
    // The same fingerprint with its keys in another order is equal.
    let ack = b.emit_ack(
        "join",
        r#"{"sessionId":"locked","clientName":"Bob","fingerprint":{"mac":"right","v":2}}"#,
    );
    assert_success(&ack);
}

#[test]
fn the_eleventh_bad_try_is_rate_limited_until_the_window_ends() {
    let server = Server::start(&["--join-limit-window", "500"]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    join(&mut a, "limited", "Ann", "right");
    let started = Instant::now();
    for i in 0..10 {
        let ack = b.emit_ack("join", &join_json("limited", "Bob", &format!("wrong{i}")));
        assert_failure(&ack, "invalid_passphrase");
    }
    let ack = b.emit_ack("join", &join_json("limited", "Bob", "wrong10"));
    assert_failure(&ack, "rate_limited");
    let retry = num(get(&ack, "retryAfterMs"));
    assert!(retry > 0 && retry <= 500, "retryAfterMs {retry}");
    // The right passphrase is refused too while the window lasts...
    if started.elapsed() < Duration::from_millis(400) {
        let ack = b.emit_ack("join", &join_json("limited", "Bob", "right"));
        assert_failure(&ack, "rate_limited");
    }
    // ...and works once it ended. Refused joins do not extend the window.
    let mut last = Value::Null;
    let joined = wait_until(deadline(STEP), || {
        last = b.emit_ack("join", &join_json("limited", "Bob", "right"));
        bool_of(get(&last, "success"))
    });
    assert!(joined, "still refused: {}", to_json(&last));
    assert!(started.elapsed() >= Duration::from_millis(450));
    // The member already inside was never affected.
    assert_success(&a.emit_ack("content", r#"{"sessionId":"limited","content":"x"}"#));
}

/// Ten failed joins from a client claiming (X-Forwarded-For) to be `first`; then one more
/// from `first` and one from `second`. Returns the codes of those last two answers.
fn codes_after_ten_failures(server: &Server, first: &str, second: &str) -> (String, String) {
    let mut owner = SioClient::connect(server.addr());
    join(&mut owner, "proxied", "Ann", "right");
    let mut a = SioClient::connect_with_headers(server.addr(), "", &[("x-forwarded-for", first)]);
    for i in 0..10 {
        let ack = a.emit_ack("join", &join_json("proxied", "Bob", &format!("wrong{i}")));
        assert_failure(&ack, "invalid_passphrase");
    }
    let again = a.emit_ack("join", &join_json("proxied", "Bob", "wrong"));
    let mut b = SioClient::connect_with_headers(server.addr(), "", &[("x-forwarded-for", second)]);
    let other = b.emit_ack("join", &join_json("proxied", "Cat", "wrong"));
    (
        str_of(get(&again, "code")).to_string(),
        str_of(get(&other, "code")).to_string(),
    )
}

#[test]
fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
    // Not trusted: the header is ignored, so claiming another address does not escape the limit.
    let server = Server::start(&[]);
    let (again, other) = codes_after_ten_failures(&server, "203.0.113.1", "203.0.113.2");
    assert_eq!(
        (again.as_str(), other.as_str()),
        ("rate_limited", "rate_limited")
    );
    // Trusted: each forwarded address has its own limit.
    let server = Server::start(&["--trusted-proxies", "127.0.0.1"]);
    let (again, other) = codes_after_ten_failures(&server, "203.0.113.1", "203.0.113.2");
    assert_eq!(
        (again.as_str(), other.as_str()),
        ("rate_limited", "invalid_passphrase")
    );
}
