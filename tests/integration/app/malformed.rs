//! Typed errors, no disconnect.

use super::*;

#[test]
fn malformed_payloads_get_typed_errors_and_keep_the_connection() {
    let mut server = Server::start(&[]);
    let mut c = SioClient::connect(server.addr());
    let long = "x".repeat(65);
    let cases: Vec<(&str, String, &str)> = vec![
        ("join", "{}".into(), "invalid_request"),
        ("join", r#""a string""#.into(), "invalid_request"),
        ("join", "[1,2]".into(), "invalid_request"),
        (
            "join",
            r#"{"sessionId":5,"clientName":"A","fingerprint":{}}"#.into(),
            "invalid_request",
        ),
        (
            "join",
            format!(r#"{{"sessionId":"{long}","clientName":"A","fingerprint":{{}}}}"#),
            "invalid_request",
        ),
        (
            "join",
            r#"{"sessionId":"","clientName":"A","fingerprint":{}}"#.into(),
            "invalid_request",
        ),
        (
            "join",
            r#"{"sessionId":"a\u0007b","clientName":"A","fingerprint":{}}"#.into(),
            "invalid_request",
        ),
        (
            "join",
            r#"{"sessionId":"s","clientName":"   ","fingerprint":{}}"#.into(),
            "invalid_request",
        ),
        (
            "join",
            r#"{"sessionId":"s","clientName":["A"],"fingerprint":{}}"#.into(),
            "invalid_request",
        ),
        (
            "join",
            r#"{"sessionId":"s","clientName":"A"}"#.into(),
            "invalid_request",
        ),
        (
            "join",
            format!(
                r#"{{"sessionId":"s","clientName":"A","fingerprint":"{}"}}"#,
                "f".repeat(1100)
            ),
            "invalid_request",
        ),
        (
            "join",
            r#"{"sessionId":"s","clientName":"A","fingerprint":{},"token":7}"#.into(),
            "invalid_request",
        ),
        // Shape is checked before membership.
        ("content", r#"{"sessionId":"s"}"#.into(), "invalid_request"),
        ("content", r#"{"content":"c"}"#.into(), "invalid_request"),
        ("content", r#"{"sessionId":"s","content":"c"}"#.into(), "not_joined"),
        (
            "chunk",
            r#"{"sessionId":"s","chunk":{"contentId":"c","chunkIndex":"0"}}"#.into(),
            "invalid_request",
        ),
        (
            "chunk",
            r#"{"sessionId":"s","chunk":{"contentId":"c","chunkIndex":0,"totalChunks":1,"encryptedData":"e"}}"#
                .into(),
            "not_joined",
        ),
        ("remove-content", r#"{"sessionId":"s"}"#.into(), "invalid_request"),
        (
            "remove-content",
            r#"{"sessionId":"s","contentId":"c"}"#.into(),
            "not_joined",
        ),
        ("clear-all-content", r#"{"sessionId":"s"}"#.into(), "not_joined"),
        ("leave", r#"{"sessionId":"s"}"#.into(), "not_joined"),
        ("leave", "42".into(), "invalid_request"),
        ("whatever", "{}".into(), "invalid_request"),
    ];
    for (event, payload, code) in &cases {
        let ack = c.emit_ack(event, payload);
        assert!(
            !bool_of(get(&ack, "success")) && str_of(get(&ack, "code")) == *code,
            "{event} {payload}: expected {code}, got {}",
            to_json(&ack)
        );
    }
    let ack = c.emit_ack("whatever", "{}");
    assert_eq!(str_of(get(&ack, "error")), "unknown event");

    // Without acks: errors arrive as `error` events; unknown events are ignored.
    c.emit("content", r#"{"sessionId":"s","content":"c"}"#);
    let error = c.expect_event("error");
    assert_eq!(str_of(get(&error, "code")), "not_joined");
    c.emit("join", "{}");
    let error = c.expect_event("error");
    assert_eq!(str_of(get(&error, "code")), "invalid_request");
    c.emit("whatever", "{}");
    c.assert_no_events();

    // Joined members get the same treatment, and stay members.
    join(&mut c, "s", "A", "pw");
    let ack = c.emit_ack("content", r#"{"sessionId":"other","content":"c"}"#);
    assert_failure(&ack, "not_joined");
    let ack = c.emit_ack("content", r#"{"sessionId":"s","content":"c","to":5}"#);
    assert_failure(&ack, "invalid_request");
    assert_success(&c.emit_ack("content", r#"{"sessionId":"s","content":"c"}"#));
    server.assert_healthy();
}

#[test]
fn a_ten_mib_session_id_is_invalid_request() {
    let mut server = Server::start(&["--max-payload", "20000000"]);
    let mut c = SioClient::connect(server.addr());
    let huge = "s".repeat(10 * 1024 * 1024);
    let ack = c.emit_ack(
        "join",
        &format!(r#"{{"sessionId":"{huge}","clientName":"A","fingerprint":{{}}}}"#),
    );
    assert_failure(&ack, "invalid_request");
    let ack = c.emit_ack(
        "content",
        &format!(r#"{{"sessionId":"{huge}","content":"c"}}"#),
    );
    assert_failure(&ack, "invalid_request");
    join(&mut c, "small", "A", "pw");
    server.assert_healthy();
}
