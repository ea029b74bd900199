//! Who may empty a v3 session's inbox or delete from it, on virtual time: the creator on its
//! signature over a fresh nonce, a member its own items, every member once the creator says
//! so; a signature opens one request; a v2 session's members may clear as before.

use ed25519_dalek::Signer;
use miniserde::json::{self, Value};
use sharethings_protocol::format::v3;

use super::app_tests::{create_with_inbox, harness_with, join_as, list_page, send_item};
use crate::app::tests::v3::{challenge, creator, v3_join_json, KEY};
use crate::app::tests::{call, code, field, succeeded};
use crate::app::*;
use crate::socketio::harness::{ms, Client, Harness};

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

/// `c` joins "r" in format 3, creating it with an inbox when it is the first.
fn v3_member(h: &mut Harness<ShareThings>, at: Duration, c: Client) -> Value {
    let nonce = challenge(h, at, c);
    let mut payload = v3_join_json("r", &KEY, &nonce);
    payload.insert_str(1, r#""inbox":true,"#);
    let (ack, _) = call(h, at, c, "join", &payload);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    ack
}

/// The creator's `auth` for `action` over a fresh nonce of `c`'s.
fn signed(h: &mut Harness<ShareThings>, at: Duration, c: Client, action: &[&str]) -> String {
    let nonce = challenge(h, at, c);
    let parts: Vec<&[u8]> = action.iter().map(|p| p.as_bytes()).collect();
    let message = v3::inbox_message("r", &nonce, &parts);
    b64(&creator().sign(&message).to_bytes())
}

fn listed(h: &mut Harness<ShareThings>, at: Duration, c: Client) -> Vec<String> {
    list_page(h, at, c, r#"{"sessionId":"r"}"#).0
}

/// A (the creator's device), B and C in "r"; B sent `b1`, C sent `c1`, both kept.
fn three_members_two_items(h: &mut Harness<ShareThings>) -> (Client, Client, Client) {
    let (a, b, c) = (h.connect(ms(0)), h.connect(ms(0)), h.connect(ms(0)));
    for member in [a, b, c] {
        v3_member(h, ms(1), member);
    }
    for (member, id) in [(b, "b1"), (c, "c1")] {
        let (ack, _) = send_item(h, ms(2), member, id, 1, 64);
        assert!(succeeded(&ack), "{}", json::to_string(&ack));
    }
    for member in [a, b, c] {
        h.sent(member);
    }
    (a, b, c)
}

fn cleared_events(frames: &[String]) -> Vec<&String> {
    frames
        .iter()
        .filter(|f| f.contains("all-content-cleared"))
        .collect()
}

#[test]
fn a_member_deletes_its_own_items_only_and_cannot_clear() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let (_, b, c) = three_members_two_items(&mut h);
    let (ack, _) = call(
        &mut h,
        ms(3),
        b,
        "inbox-delete",
        r#"{"sessionId":"r","contentId":"c1"}"#,
    );
    assert_eq!(code(&ack), "not_allowed", "{}", json::to_string(&ack));
    let (ack, _) = call(
        &mut h,
        ms(3),
        b,
        "clear-all-content",
        r#"{"sessionId":"r"}"#,
    );
    assert_eq!(code(&ack), "not_allowed");
    // Nothing went, and no member was told of a clear.
    let (ids, _, told) = list_page(&mut h, ms(4), c, r#"{"sessionId":"r"}"#);
    assert_eq!(ids, ["b1", "c1"]);
    assert!(cleared_events(&told).is_empty(), "{told:?}");
    let (ack, _) = call(
        &mut h,
        ms(5),
        b,
        "inbox-delete",
        r#"{"sessionId":"r","contentId":"b1"}"#,
    );
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    assert_eq!(listed(&mut h, ms(6), c), ["c1"]);
}

#[test]
fn the_creators_signature_clears_and_deletes_once() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let (a, b, c) = three_members_two_items(&mut h);
    let auth = signed(&mut h, ms(3), a, &["delete", "c1"]);
    let delete = format!(r#"{{"sessionId":"r","contentId":"c1","auth":"{auth}"}}"#);
    let (ack, _) = call(&mut h, ms(3), a, "inbox-delete", &delete);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    assert_eq!(listed(&mut h, ms(4), b), ["b1"]);
    // A signature for one action opens no other, and none without a fresh nonce.
    let wrong = signed(&mut h, ms(5), a, &["delete", "b1"]);
    let clear = format!(r#"{{"sessionId":"r","auth":"{wrong}"}}"#);
    let (ack, _) = call(&mut h, ms(5), a, "clear-all-content", &clear);
    assert_eq!(code(&ack), "not_allowed");
    let auth = signed(&mut h, ms(6), a, &["clear"]);
    let clear = format!(r#"{{"sessionId":"r","auth":"{auth}"}}"#);
    let (ack, _) = call(&mut h, ms(6), a, "clear-all-content", &clear);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    assert!(listed(&mut h, ms(7), b).is_empty());
    let told = h.sent(c);
    let cleared = cleared_events(&told);
    assert_eq!(cleared.len(), 1, "{told:?}");
    assert!(!cleared[0].contains("auth"), "the signature is not relayed");
    // Replayed, by the creator's connection or another member's: the nonce is gone.
    send_item(&mut h, ms(8), b, "b2", 1, 64);
    for member in [a, c] {
        let (ack, _) = call(&mut h, ms(9), member, "clear-all-content", &clear);
        assert_eq!(code(&ack), "invalid_request", "{}", json::to_string(&ack));
    }
    challenge(&mut h, ms(10), c);
    let (ack, _) = call(&mut h, ms(10), c, "clear-all-content", &clear);
    assert_eq!(code(&ack), "not_allowed");
    assert_eq!(listed(&mut h, ms(11), b), ["b2"]);
}

#[test]
fn the_creator_lets_every_member_clear_and_takes_it_back() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let (a, b, c) = three_members_two_items(&mut h);
    // Only the creator says so.
    let (ack, _) = call(
        &mut h,
        ms(3),
        b,
        "inbox-policy",
        r#"{"sessionId":"r","anyoneMayClear":true}"#,
    );
    assert_eq!(code(&ack), "not_allowed");
    let forged = signed(&mut h, ms(3), b, &["policy", "creator"]);
    let policy = format!(r#"{{"sessionId":"r","anyoneMayClear":true,"auth":"{forged}"}}"#);
    let (ack, _) = call(&mut h, ms(3), b, "inbox-policy", &policy);
    assert_eq!(code(&ack), "not_allowed", "signed for the other policy");
    let auth = signed(&mut h, ms(4), a, &["policy", "anyone"]);
    let policy = format!(r#"{{"sessionId":"r","anyoneMayClear":true,"auth":"{auth}"}}"#);
    let (ack, _) = call(&mut h, ms(4), a, "inbox-policy", &policy);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    // A device that joins now (in C's place: three members at most) is told, and any member
    // deletes and clears.
    let (ack, _) = call(&mut h, ms(5), c, "leave", r#"{"sessionId":"r"}"#);
    assert!(succeeded(&ack));
    let d = h.connect(ms(5));
    let joined = v3_member(&mut h, ms(5), d);
    assert!(matches!(
        field(field(&joined, "inbox"), "anyoneMayClear"),
        Value::Bool(true)
    ));
    let (ack, _) = call(
        &mut h,
        ms(6),
        b,
        "inbox-delete",
        r#"{"sessionId":"r","contentId":"c1"}"#,
    );
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    let (ack, _) = call(
        &mut h,
        ms(6),
        d,
        "clear-all-content",
        r#"{"sessionId":"r"}"#,
    );
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    assert!(listed(&mut h, ms(7), b).is_empty());
    // Taken back: only the creator again.
    let auth = signed(&mut h, ms(8), a, &["policy", "creator"]);
    let policy = format!(r#"{{"sessionId":"r","anyoneMayClear":false,"auth":"{auth}"}}"#);
    let (ack, _) = call(&mut h, ms(8), a, "inbox-policy", &policy);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    send_item(&mut h, ms(9), a, "a1", 1, 64);
    let (ack, _) = call(
        &mut h,
        ms(10),
        b,
        "clear-all-content",
        r#"{"sessionId":"r"}"#,
    );
    assert_eq!(code(&ack), "not_allowed");
    assert_eq!(listed(&mut h, ms(11), b), ["a1"]);
}

#[test]
fn any_member_of_a_v2_session_may_clear_as_before() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let (a, b) = (h.connect(ms(0)), h.connect(ms(0)));
    create_with_inbox(&mut h, ms(1), a, "r");
    join_as(&mut h, ms(1), b, "r", "B");
    send_item(&mut h, ms(2), a, "a1", 1, 64);
    let (ack, _) = call(
        &mut h,
        ms(3),
        b,
        "inbox-delete",
        r#"{"sessionId":"r","contentId":"a1"}"#,
    );
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    send_item(&mut h, ms(4), a, "a2", 1, 64);
    let (ack, _) = call(
        &mut h,
        ms(5),
        b,
        "clear-all-content",
        r#"{"sessionId":"r"}"#,
    );
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    assert!(listed(&mut h, ms(6), a).is_empty());
    let (ack, _) = call(
        &mut h,
        ms(7),
        a,
        "inbox-policy",
        r#"{"sessionId":"r","anyoneMayClear":false}"#,
    );
    assert_eq!(code(&ack), "invalid_request");
}
