//! ShareThings over raw Socket.IO frames on WebSockets, against the real server: joining,
//! relaying, leaving, passphrases and rate limits, rejoin tokens, expiry, caps, malformed
//! payloads and the routing key.
//!
//! Sections:
//! - members: joins, acks, announcements, leave and disconnect
//! - relay: `from` stamps, `to` unicast, binary attachments, clear and remove
//! - passphrases: wrong passphrase, rate limit and its window
//! - backpressure: a member that stops reading
//! - reconnects: token rejoin within the grace, the grace running out, takeover
//! - lifetime: session expiry
//! - caps: session_full, server_full
//! - malformed: typed errors, no disconnect
//! - routing: the `route` query key

use std::time::{Duration, Instant};

use crate::common::*;
use miniserde::json::Value;

fn join_json(session: &str, name: &str, passphrase: &str) -> String {
    format!(
        r#"{{"sessionId":{},"clientName":{},"fingerprint":{{"v":2,"mac":{}}}}}"#,
        quote(session),
        quote(name),
        quote(passphrase)
    )
}

/// Joins and returns the ack, asserting success.
fn join(client: &mut SioClient, session: &str, name: &str, passphrase: &str) -> Value {
    let ack = client.emit_ack("join", &join_json(session, name, passphrase));
    assert_success(&ack);
    ack
}

fn assert_success(ack: &Value) {
    assert!(
        has(ack, "success") && bool_of(get(ack, "success")),
        "expected success, got {}",
        to_json(ack)
    );
}

/// Asserts `{success:false, code, error}` and returns the ack.
fn assert_failure<'a>(ack: &'a Value, code: &str) -> &'a Value {
    assert!(!bool_of(get(ack, "success")), "{}", to_json(ack));
    assert_eq!(str_of(get(ack, "code")), code, "{}", to_json(ack));
    assert!(!str_of(get(ack, "error")).is_empty(), "{}", to_json(ack));
    ack
}

/// The `(id, name)` pairs of a join ack's member list.
fn members(ack: &Value) -> Vec<(String, String)> {
    arr(get(ack, "clients"))
        .iter()
        .map(|c| {
            (
                str_of(get(c, "id")).to_string(),
                str_of(get(c, "name")).to_string(),
            )
        })
        .collect()
}

fn assert_member_event(event: &Value, session: &str, client: &SioClient, name: &str) {
    assert_eq!(str_of(get(event, "sessionId")), session);
    assert_eq!(str_of(get(event, "clientId")), client.id);
    assert_eq!(str_of(get(event, "clientName")), name);
}

/// Three members of session `trio`: Ann, Bob and Cat, with their announcements consumed.
fn trio(server: &Server) -> (SioClient, SioClient, SioClient) {
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    let mut c = SioClient::connect(server.addr());
    join(&mut a, "trio", "Ann", "pw");
    join(&mut b, "trio", "Bob", "pw");
    join(&mut c, "trio", "Cat", "pw");
    a.expect_event("client-joined");
    a.expect_event("client-joined");
    b.expect_event("client-joined");
    (a, b, c)
}

// ----- members -----------------------------------------------------------------------------

#[test]
fn three_members_join_with_member_lists_and_created_flags() {
    let server = Server::start(&[]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    let mut c = SioClient::connect(server.addr());

    let ack = join(&mut a, "trio", "Ann", "pw");
    assert!(bool_of(get(&ack, "created")));
    assert_eq!(
        str_of(get(&ack, "clientId")),
        a.id,
        "clientId is the socket id"
    );
    assert!(!str_of(get(&ack, "token")).is_empty());
    assert_eq!(members(&ack), [(a.id.clone(), "Ann".to_string())]);

    let ack = join(&mut b, "trio", "  Bob  ", "pw");
    assert!(!bool_of(get(&ack, "created")));
    assert_eq!(str_of(get(&ack, "clientId")), b.id);
    let mut list = members(&ack);
    list.sort();
    let mut expected = vec![(a.id.clone(), "Ann".into()), (b.id.clone(), "Bob".into())];
    expected.sort();
    assert_eq!(list, expected, "names are trimmed");
    let joined = a.expect_event("client-joined");
    assert_member_event(&joined, "trio", &b, "Bob");

    let ack = join(&mut c, "trio", "Cat", "pw");
    assert!(!bool_of(get(&ack, "created")));
    assert_eq!(members(&ack).len(), 3);
    assert_member_event(&a.expect_event("client-joined"), "trio", &c, "Cat");
    assert_member_event(&b.expect_event("client-joined"), "trio", &c, "Cat");
    // Nobody is told about themselves.
    a.assert_no_events();
    b.assert_no_events();
    c.assert_no_events();
}

#[test]
fn leave_and_clean_disconnects_announce_client_left_with_the_name() {
    let server = Server::start(&[]);
    let (mut a, mut b, c) = trio(&server);
    let ack = b.emit_ack("leave", r#"{"sessionId":"trio"}"#);
    assert_success(&ack);
    assert_member_event(&a.expect_event("client-left"), "trio", &b, "Bob");
    b.assert_no_events();

    // A WebSocket close frame.
    let cat = c.id.clone();
    c.close_cleanly();
    let left = a.expect_event("client-left");
    assert_eq!(str_of(get(&left, "clientId")), cat);
    assert_eq!(str_of(get(&left, "clientName")), "Cat");

    // A Socket.IO DISCONNECT.
    join(&mut b, "trio", "Bob", "pw");
    a.expect_event("client-joined");
    b.ws.send_text("41");
    assert_member_event(&a.expect_event("client-left"), "trio", &b, "Bob");
    a.assert_no_events();

    // An Engine.IO close packet is a clean close too: announced at once, not after the
    // 30 s rejoin grace.
    let mut d = SioClient::connect(server.addr());
    join(&mut d, "trio", "Dan", "pw");
    a.expect_event("client-joined");
    d.ws.send_text("1");
    assert_member_event(&a.expect_event("client-left"), "trio", &d, "Dan");
}

#[test]
fn a_repeated_join_keeps_the_client_id_and_announces_nothing() {
    let server = Server::start(&[]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    join(&mut a, "again", "Ann", "pw");
    let first = join(&mut b, "again", "Bob", "pw");
    a.expect_event("client-joined");
    let second = join(&mut b, "again", "Bob", "pw");
    assert_eq!(
        str_of(get(&second, "clientId")),
        str_of(get(&first, "clientId"))
    );
    assert!(!bool_of(get(&second, "created")));
    assert_eq!(members(&second).len(), 2);
    assert!(!str_of(get(&second, "token")).is_empty());
    a.assert_no_events();
}

#[test]
fn joining_another_session_leaves_the_current_one() {
    let server = Server::start(&[]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    join(&mut a, "first", "Ann", "pw");
    join(&mut b, "first", "Bob", "pw");
    a.expect_event("client-joined");
    let ack = join(&mut b, "second", "Bob", "pw2");
    assert!(bool_of(get(&ack, "created")));
    assert_member_event(&a.expect_event("client-left"), "first", &b, "Bob");
}

// ----- relay -------------------------------------------------------------------------------

#[test]
fn content_is_relayed_to_the_others_only_and_stamped_with_from() {
    let server = Server::start(&[]);
    let (mut a, mut b, mut c) = trio(&server);
    let ack = a.emit_ack(
        "content",
        r#"{"sessionId":"trio","content":{"id":"c1","kind":"text","blob":"xyz"},"from":"forged"}"#,
    );
    assert_success(&ack);
    for receiver in [&mut b, &mut c] {
        let got = receiver.expect_event("content");
        assert_eq!(str_of(get(&got, "from")), a.id, "server stamps from");
        assert_eq!(str_of(get(&got, "sessionId")), "trio");
        assert_eq!(
            to_json(get(&got, "content")),
            r#"{"blob":"xyz","id":"c1","kind":"text"}"#
        );
        receiver.assert_no_events();
    }
    a.assert_no_events();

    // Without an ack too.
    b.emit("content", r#"{"sessionId":"trio","content":"no ack"}"#);
    assert_eq!(str_of(get(&a.expect_event("content"), "from")), b.id);
    assert_eq!(str_of(get(&c.expect_event("content"), "from")), b.id);
    b.assert_no_events();
}

#[test]
fn to_reaches_only_its_target() {
    let server = Server::start(&[]);
    let (mut a, mut b, mut c) = trio(&server);
    let payload = format!(
        r#"{{"sessionId":"trio","content":"for bob","to":{}}}"#,
        quote(&b.id)
    );
    assert_success(&a.emit_ack("content", &payload));
    let got = b.expect_event("content");
    assert_eq!(str_of(get(&got, "from")), a.id);
    assert_eq!(str_of(get(&got, "to")), b.id, "to is kept as written");
    c.assert_no_events();
    a.assert_no_events();

    // A `to` that is not a member: refused, nothing sent.
    let ack = a.emit_ack(
        "content",
        r#"{"sessionId":"trio","content":"x","to":"AAAAAAAAAAAAAAAAAAAA"}"#,
    );
    assert_failure(&ack, "invalid_request");
    b.assert_no_events();
    c.assert_no_events();
}

#[test]
fn chunks_with_binary_attachments_are_relayed_as_binary() {
    let server = Server::start(&[]);
    let (mut a, mut b, mut c) = trio(&server);
    a.ws.send_text(
        r#"451-7["chunk",{"sessionId":"trio","chunk":{"contentId":"f1","chunkIndex":0,"totalChunks":1,"encryptedData":{"_placeholder":true,"num":0},"iv":[1,2]}}]"#,
    );
    let bytes: Vec<u8> = (0..=255).collect();
    a.ws.send_binary(&bytes);
    assert_success(&a.wait_ack(7));
    for receiver in [&mut b, &mut c] {
        let text = receiver.ws.expect_text();
        let packet = decode_sio(&text).expect("socket.io packet");
        assert_eq!(packet.kind, 5, "a binary event: {text}");
        assert!(text.starts_with("451-[\"chunk\""), "{text}");
        let args = packet.data.expect("args");
        let chunk = get(&arr(&args)[1], "chunk");
        assert_eq!(
            to_json(get(chunk, "encryptedData")),
            r#"{"_placeholder":true,"num":0}"#
        );
        assert_eq!(str_of(get(&arr(&args)[1], "from")), a.id);
        assert_eq!(receiver.ws.expect_binary(), bytes);
    }
}

#[test]
fn clear_all_reaches_everyone_and_remove_reaches_the_others() {
    let server = Server::start(&[]);
    let (mut a, mut b, mut c) = trio(&server);
    assert_success(&a.emit_ack("clear-all-content", r#"{"sessionId":"trio"}"#));
    let ann = a.id.clone();
    for member in [&mut a, &mut b, &mut c] {
        let got = member.expect_event("all-content-cleared");
        assert_eq!(str_of(get(&got, "from")), ann);
    }
    assert_success(&b.emit_ack("remove-content", r#"{"sessionId":"trio","contentId":"c9"}"#));
    for member in [&mut a, &mut c] {
        let got = member.expect_event("content-removed");
        assert_eq!(str_of(get(&got, "contentId")), "c9");
        assert_eq!(str_of(get(&got, "from")), b.id);
    }
    b.assert_no_events();
}

// ----- passphrases -------------------------------------------------------------------------

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

// ----- backpressure ------------------------------------------------------------------------

#[test]
fn a_member_that_stops_reading_is_dropped_and_its_connection_freed() {
    // High water at 2 MiB; a stuck receiver gets 500 ms there before it is cut off, then its
    // connection gets 500 ms to take its close frame before it is closed hard.
    let server = Server::start(&[
        "--send-queue-bytes",
        "4194304",
        "--stall-timeout",
        "500",
        "--head-timeout",
        "500",
        "--rejoin-grace",
        "100",
    ]);
    let (mut a, mut b, c) = trio(&server);
    let open_files = || {
        std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
            .expect("the server's fd table")
            .count()
    };
    let with_cat = open_files();
    // Cat never reads again. 32 MiB is more than the loopback buffers (several MiB each way)
    // and the server's queue absorb for it.
    const CHUNKS: u64 = 128;
    let chunk: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
    let expected = chunk.clone();
    let reader = std::thread::spawn(move || {
        let mut got = 0;
        while got < CHUNKS {
            let text = b.ws.expect_text();
            if text.starts_with("451-") {
                assert_eq!(b.ws.expect_binary(), expected, "chunk {got} intact");
                got += 1;
            }
        }
        (got, b)
    });
    for i in 0..CHUNKS {
        a.ws.send_text(&format!(
            r#"451-{i}["chunk",{{"sessionId":"trio","chunk":{{"contentId":"big","chunkIndex":{i},"totalChunks":{CHUNKS},"encryptedData":{{"_placeholder":true,"num":0}}}}}}]"#
        ));
        a.ws.send_binary(&chunk);
        assert_success(&a.wait_ack(i));
    }
    let (got, _b) = reader.join().expect("reader thread");
    assert_eq!(got, CHUNKS, "every chunk reached the member that reads");
    let left = a.expect_event("client-left");
    assert_eq!(str_of(get(&left, "clientId")), c.id);
    // Cat's connection is closed although Cat never read its close frame; Ann's and Bob's stay.
    let freed = wait_until(deadline(STEP), || open_files() == with_cat - 1);
    assert!(
        freed,
        "the stuck connection was not closed: {} files open, {with_cat} with it",
        open_files()
    );
    drop(c);
}

#[test]
fn a_sender_with_many_chunks_in_flight_is_paused_not_its_receivers_dropped() {
    // A 2 MiB queue cap: the sender's 16 MiB window must be held back at the high-water mark
    // (1 MiB) message by message, not read in bulk past the cap.
    let server = Server::start(&["--send-queue-bytes", "2097152"]);
    let (mut a, b, c) = trio(&server);
    const CHUNKS: u64 = 64;
    let chunk: Vec<u8> = (0..256 * 1024).map(|i| (i % 253) as u8).collect();
    let readers: Vec<_> = [b, c]
        .into_iter()
        .map(|mut receiver| {
            let expected = chunk.clone();
            std::thread::spawn(move || {
                let mut got = 0;
                while got < CHUNKS {
                    match receiver.ws.read() {
                        WsRead::Text(text) if text.starts_with("451-") => {
                            assert_eq!(receiver.ws.expect_binary(), expected);
                            got += 1;
                        }
                        WsRead::Text(_) => {}
                        other => panic!("receiver {} after {got} chunks: {other:?}", receiver.id),
                    }
                }
                got
            })
        })
        .collect();
    // Everything at once, without waiting for a single ack.
    for i in 0..CHUNKS {
        a.ws.send_text(&format!(
            r#"451-{i}["chunk",{{"sessionId":"trio","chunk":{{"contentId":"w","chunkIndex":{i},"totalChunks":{CHUNKS},"encryptedData":{{"_placeholder":true,"num":0}}}}}}]"#
        ));
        a.ws.send_binary(&chunk);
    }
    for reader in readers {
        assert_eq!(reader.join().expect("reader"), CHUNKS);
    }
    for i in 0..CHUNKS {
        assert_success(&a.wait_ack(i));
    }
    a.assert_no_events();
}

// ----- reconnects --------------------------------------------------------------------------

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

// ----- lifetime ----------------------------------------------------------------------------

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

// ----- caps --------------------------------------------------------------------------------

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

// ----- malformed ---------------------------------------------------------------------------

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

// ----- routing -----------------------------------------------------------------------------

#[test]
fn a_routed_connection_may_join_only_its_session() {
    let server = Server::start(&[]);
    // The library's key, which a unit test pins to tests/vectors/route-key.json.
    let key = sharethings::app::route_key("routed");
    assert_eq!(key.len(), 16);
    let mut c = SioClient::connect_with(server.addr(), &format!("&route={key}"));
    let ack = c.emit_ack("join", &join_json("elsewhere", "A", "pw"));
    assert_failure(&ack, "invalid_request");
    let ack = join(&mut c, "routed", "A", "pw");
    assert!(bool_of(get(&ack, "created")));
}
