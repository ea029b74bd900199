//! Format 3 on virtual time: members join with a proof of the room's access key over a nonce
//! of the server's, sessions keep their format for life, nothing names a v3 member, and a
//! proof that fails counts as a failed join. Applicants are in [`super::applicants`].

use hmac::{Hmac, KeyInit, Mac};
use miniserde::json::{self, Value};
use sha2::Sha256;
use sharethings_protocol::format::v3;

use super::*;

pub(in crate::app) const KEY: [u8; 32] = [7; 32];
const OTHER_KEY: [u8; 32] = [8; 32];

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

/// `challenge` on `c`; returns the nonce's bytes.
pub(in crate::app) fn challenge(h: &mut Harness<ShareThings>, at: Duration, c: Client) -> Vec<u8> {
    let (ack, _) = call(h, at, c, "challenge", r#"{"sessionId":"any"}"#);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    let nonce = data_encoding::BASE64
        .decode(text_of(field(&ack, "nonce")).as_bytes())
        .expect("base64");
    assert_eq!(nonce.len(), v3::NONCE_BYTES);
    nonce
}

/// What a member sends as `proof`, computed here with the HMAC crate over the protocol
/// crate's message (whose bytes Python pins).
pub(in crate::app) fn proof(key: &[u8; 32], session: &str, nonce: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(&v3::join_message(session, nonce));
    b64(&mac.finalize().into_bytes())
}

/// The creator's device key of every session these tests create.
pub(in crate::app) fn creator() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[9; 32])
}

/// A v3 member join's payload: `access` and `owner` (so it may create) and a proof under
/// `key`.
pub(in crate::app) fn v3_join_json(session: &str, key: &[u8; 32], nonce: &[u8]) -> String {
    format!(
        r#"{{"sessionId":"{session}","v":3,"access":"{}","owner":"{}","proof":"{}"}}"#,
        b64(key),
        b64(creator().verifying_key().as_bytes()),
        proof(key, session, nonce)
    )
}

/// Challenge, then join `session` with `key`; returns the join's ack and what else `c` got.
pub(in crate::app) fn try_v3_join(
    h: &mut Harness<ShareThings>,
    at: Duration,
    c: Client,
    session: &str,
    key: &[u8; 32],
) -> (Value, Vec<String>) {
    let nonce = challenge(h, at, c);
    call(h, at, c, "join", &v3_join_json(session, key, &nonce))
}

pub(in crate::app) fn v3_join(
    h: &mut Harness<ShareThings>,
    at: Duration,
    c: Client,
    session: &str,
) -> Value {
    let (ack, _) = try_v3_join(h, at, c, session, &KEY);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    ack
}

/// The first argument of each `event` among `frames`.
pub(in crate::app) fn events(frames: &[String], event: &str) -> Vec<Value> {
    let prefix = format!(r#"42["{event}","#);
    frames
        .iter()
        .filter_map(|f| f.strip_prefix(&prefix)?.strip_suffix(']'))
        .map(|args| json::from_str(args).expect("event JSON"))
        .collect()
}

pub(in crate::app) fn ids_of(list: &Value) -> Vec<String> {
    let Value::Array(items) = list else {
        panic!("a list: {}", json::to_string(list));
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(id) => id.clone(),
            other => text_of(field(other, "id")).to_string(),
        })
        .collect()
}

// ----- the proof ---------------------------------------------------------------------------------

#[test]
fn a_v3_join_creates_the_session_holding_its_key_and_later_joins_prove_it() {
    let mut h = harness();
    let (a, b, c) = (h.connect(ms(0)), h.connect(ms(0)), h.connect(ms(0)));
    let first = v3_join(&mut h, ms(1), a, "r");
    assert!(matches!(field(&first, "created"), Value::Bool(true)));
    let second = v3_join(&mut h, ms(2), b, "r");
    assert!(matches!(field(&second, "created"), Value::Bool(false)));
    assert_eq!(ids_of(field(&second, "clients")).len(), 2);
    let (ack, _) = try_v3_join(&mut h, ms(3), c, "r", &OTHER_KEY);
    assert_eq!(code(&ack), "access_denied");
}

#[test]
fn a_proof_over_another_nonce_is_refused() {
    let mut h = harness();
    let (a, b) = (h.connect(ms(0)), h.connect(ms(0)));
    v3_join(&mut h, ms(1), a, "r");
    let given = challenge(&mut h, ms(2), b);
    let mut other = given.clone();
    other[0] ^= 1;
    let (ack, _) = call(&mut h, ms(3), b, "join", &v3_join_json("r", &KEY, &other));
    assert_eq!(code(&ack), "access_denied");
    // A second challenge replaces the first: a proof over the first no longer opens.
    let first = challenge(&mut h, ms(4), b);
    challenge(&mut h, ms(5), b);
    let (ack, _) = call(&mut h, ms(6), b, "join", &v3_join_json("r", &KEY, &first));
    assert_eq!(code(&ack), "access_denied");
}

#[test]
fn a_nonce_is_good_for_one_join_and_a_proof_without_one_is_no_try() {
    let mut h = harness();
    let (a, b, thief) = (h.connect(ms(0)), h.connect(ms(0)), h.connect(ms(0)));
    v3_join(&mut h, ms(1), a, "r");
    let nonce = challenge(&mut h, ms(2), b);
    let seen = v3_join_json("r", &KEY, &nonce);
    let (ack, _) = call(&mut h, ms(3), b, "join", &seen);
    assert!(succeeded(&ack));
    // The same proof again: the nonce is used up, on this connection and any other.
    call(&mut h, ms(4), b, "leave", r#"{"sessionId":"r"}"#);
    let (ack, _) = call(&mut h, ms(5), b, "join", &seen);
    assert_eq!(code(&ack), "invalid_request", "{}", json::to_string(&ack));
    challenge(&mut h, ms(6), thief);
    let (ack, _) = call(&mut h, ms(7), thief, "join", &seen);
    assert_eq!(code(&ack), "access_denied");
    // Joins with no nonce to prove over are refused without counting: the address's limit
    // (2 in these tests) is not reached by three of them.
    for n in 0..3 {
        let (ack, _) = call(&mut h, ms(8 + n), b, "join", &seen);
        assert_eq!(code(&ack), "invalid_request");
    }
    v3_join(&mut h, ms(20), b, "r");
}

#[test]
fn access_is_ignored_for_a_session_that_exists() {
    let mut h = harness();
    let (a, b, c) = (h.connect(ms(0)), h.connect(ms(0)), h.connect(ms(0)));
    v3_join(&mut h, ms(1), a, "r");
    // The right proof with another `access`: the session's key decides, and lets it in.
    let nonce = challenge(&mut h, ms(2), b);
    let payload = format!(
        r#"{{"sessionId":"r","v":3,"access":"{}","proof":"{}"}}"#,
        b64(&OTHER_KEY),
        proof(&KEY, "r", &nonce)
    );
    let (ack, _) = call(&mut h, ms(3), b, "join", &payload);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    // A proof of the `access` it sends does not rekey the session.
    let (ack, _) = try_v3_join(&mut h, ms(4), c, "r", &OTHER_KEY);
    assert_eq!(code(&ack), "access_denied");
    let (ack, _) = try_v3_join(&mut h, ms(5), c, "r", &KEY);
    assert!(succeeded(&ack));
}

#[test]
fn creating_needs_the_access_key_a_proof_of_it_and_the_creators_key() {
    let mut h = harness();
    let c = h.connect(ms(0));
    let nonce = challenge(&mut h, ms(1), c);
    let no_access = format!(
        r#"{{"sessionId":"r","v":3,"proof":"{}"}}"#,
        proof(&KEY, "r", &nonce)
    );
    let (ack, _) = call(&mut h, ms(2), c, "join", &no_access);
    assert_eq!(code(&ack), "invalid_request");
    let owner = b64(creator().verifying_key().as_bytes());
    let nonce = challenge(&mut h, ms(3), c);
    let mismatched = format!(
        r#"{{"sessionId":"r","v":3,"access":"{}","owner":"{owner}","proof":"{}"}}"#,
        b64(&KEY),
        proof(&OTHER_KEY, "r", &nonce)
    );
    let (ack, _) = call(&mut h, ms(4), c, "join", &mismatched);
    assert_eq!(code(&ack), "access_denied");
    // Without the creator's key, or with one that is no Ed25519 public key (y = 2 is on no
    // point of the curve), nothing is created either.
    let not_a_point = b64(&core::array::from_fn::<u8, 32, _>(|i| u8::from(i == 0) * 2));
    for owner in [String::new(), format!(r#","owner":"{not_a_point}""#)] {
        let nonce = challenge(&mut h, ms(4), c);
        let payload = format!(
            r#"{{"sessionId":"r","v":3,"access":"{}"{owner},"proof":"{}"}}"#,
            b64(&KEY),
            proof(&KEY, "r", &nonce)
        );
        let (ack, _) = call(&mut h, ms(4), c, "join", &payload);
        assert_eq!(code(&ack), "invalid_request", "{}", json::to_string(&ack));
        assert!(text_of(field(&ack, "error")).contains("owner"));
    }
    // Nothing was created: the right key creates it now.
    let ack = v3_join(&mut h, ms(5), c, "r");
    assert!(matches!(field(&ack, "created"), Value::Bool(true)));
}

// ----- formats ----------------------------------------------------------------------------------

#[test]
fn a_session_keeps_its_format_for_its_life() {
    let mut h = harness();
    let (a, b) = (h.connect(ms(0)), h.connect(ms(0)));
    join(&mut h, ms(1), a, "old", "A");
    let (ack, _) = try_v3_join(&mut h, ms(2), b, "old", &KEY);
    assert_eq!(code(&ack), "legacy_session");
    let (ack, _) = call(
        &mut h,
        ms(3),
        b,
        "join",
        r#"{"sessionId":"old","v":3,"apply":true}"#,
    );
    assert_eq!(code(&ack), "legacy_session");

    let new = v3_join(&mut h, ms(4), b, "new");
    let token = text_of(field(&new, "token")).to_string();
    call(&mut h, ms(5), b, "leave", r#"{"sessionId":"new"}"#);
    // Empty, not expired: still v3, to a fingerprint and to a v2 token join alike.
    let (ack, _) = call(&mut h, ms(6), a, "join", &join_json("new", "A", "right"));
    assert_eq!(code(&ack), "newer_session");
    let v2_token = format!(r#"{{"sessionId":"new","clientName":"A","token":"{token}"}}"#);
    let (ack, _) = call(&mut h, ms(7), a, "join", &v2_token);
    assert_eq!(code(&ack), "newer_session");
    // Once it expired, the name is free for either format.
    h.expire(ms(5) + SESSION_TIMEOUT + ms(1));
    let c = h.connect(ms(5) + SESSION_TIMEOUT + ms(2));
    join(&mut h, ms(5) + SESSION_TIMEOUT + ms(3), c, "new", "C");
}

#[test]
fn a_failed_proof_is_counted_as_a_failed_join() {
    let mut h = harness();
    let (a, b) = (h.connect(ms(0)), h.connect(ms(0)));
    v3_join(&mut h, ms(1), a, "r");
    for n in 0..config().join_limit_per_address {
        let (ack, _) = try_v3_join(&mut h, ms(2 + u64::from(n)), b, "r", &OTHER_KEY);
        assert_eq!(code(&ack), "access_denied");
    }
    let (ack, _) = try_v3_join(&mut h, ms(10), b, "r", &KEY);
    assert_eq!(code(&ack), "rate_limited");
    assert!(matches!(field(&ack, "retryAfterMs"), Value::Number(_)));
}

#[test]
fn a_proof_of_the_room_key_skips_the_sessions_limit() {
    let mut h = harness();
    let member = h.connect(ms(0));
    v3_join(&mut h, ms(1), member, "r");
    // Strangers on ten addresses fail once each: the session is over its limit (10), and
    // each of those addresses failed within its window.
    let per_room = config().join_limit_per_session as u8;
    for n in 1..=per_room {
        let c = limits::from(&mut h, ms(2), n);
        let (ack, _) = try_v3_join(&mut h, ms(2), c, "r", &OTHER_KEY);
        assert_eq!(code(&ack), "access_denied");
    }
    // A v2 room would refuse such an address now; a device holding the key is let in.
    let laptop = limits::from(&mut h, ms(3), 1);
    let (ack, _) = try_v3_join(&mut h, ms(3), laptop, "r", &KEY);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
}

// ----- names and tokens -------------------------------------------------------------------------

#[test]
fn nothing_the_server_sends_names_a_v3_member() {
    let mut h = harness();
    let (a, b, c) = (h.connect(ms(0)), h.connect(ms(0)), h.connect(ms(0)));
    let mut frames = Vec::new();
    let (ack, _) = try_v3_join(&mut h, ms(1), a, "r", &KEY);
    frames.push(json::to_string(&ack));
    let (ack, _) = try_v3_join(&mut h, ms(2), b, "r", &KEY);
    assert_eq!(ids_of(field(&ack, "applicants")), Vec::<String>::new());
    frames.push(json::to_string(&ack));
    frames.extend(h.sent(a));
    v3_join(&mut h, ms(3), c, "r");
    call(&mut h, ms(4), b, "leave", r#"{"sessionId":"r"}"#);
    h.lose(ms(5), c);
    h.expire(ms(5) + GRACE + ms(1));
    let told = h.sent(a);
    assert_eq!(events(&told, "client-joined").len(), 1, "{told:?}");
    assert_eq!(events(&told, "client-left").len(), 2, "{told:?}");
    frames.extend(told);
    for frame in &frames {
        assert!(
            !frame.contains("name") && !frame.contains("Name"),
            "a name in {frame}"
        );
    }
    // And a v3 join may not bring one.
    let d = h.connect(ms(6) + GRACE);
    let nonce = challenge(&mut h, ms(7) + GRACE, d);
    let mut named = v3_join_json("r", &KEY, &nonce);
    named.insert_str(1, r#""clientName":"D","#);
    let (ack, _) = call(&mut h, ms(7) + GRACE, d, "join", &named);
    assert_eq!(code(&ack), "invalid_request");
}

#[test]
fn a_v3_token_rejoins_without_a_proof_and_a_v3_session_makes_no_invites() {
    let mut h = harness();
    let (a, b) = (h.connect(ms(0)), h.connect(ms(0)));
    v3_join(&mut h, ms(1), a, "r");
    let first = v3_join(&mut h, ms(2), b, "r");
    h.lose(ms(3), b);
    let again = h.connect(ms(4));
    let token = text_of(field(&first, "token"));
    let with_token = format!(r#"{{"sessionId":"r","v":3,"token":"{token}"}}"#);
    let (ack, _) = call(&mut h, ms(5), again, "join", &with_token);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    assert_eq!(
        text_of(field(&ack, "clientId")),
        text_of(field(&first, "clientId"))
    );
    let stranger = h.connect(ms(6));
    let (ack, _) = call(
        &mut h,
        ms(7),
        stranger,
        "join",
        r#"{"sessionId":"r","v":3,"token":"forged"}"#,
    );
    assert_eq!(code(&ack), "invalid_request");
    let (ack, _) = call(&mut h, ms(8), a, "invite", r#"{"sessionId":"r"}"#);
    assert_eq!(code(&ack), "invalid_request");
}
