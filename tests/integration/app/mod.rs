//! ShareThings over raw Socket.IO frames on WebSockets, against the real server: joining,
//! relaying, leaving, passphrases and rate limits, rejoin tokens, expiry, caps, malformed
//! payloads and the routing key.
//!
//! One module per section:
//! - members: joins, acks, announcements, leave and disconnect
//! - relay: `from` stamps, `to` unicast, binary attachments, clear and remove
//! - passphrases: wrong passphrase, rate limit and its window
//! - backpressure: a member that stops reading
//! - reconnects: token rejoin within the grace, the grace running out, takeover
//! - lifetime: session expiry
//! - caps: session_full, server_full
//! - malformed: typed errors, no disconnect
//! - routing: the `route` query key
//! - v3: format 3's proofs, nameless members, applicants and the admit relay

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

mod backpressure;
mod lifetime;
mod malformed;
mod members;
mod passphrases;
mod reconnects;
mod relay;
mod routing;
mod v3;
