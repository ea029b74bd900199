//! ShareThings on virtual time, with no sockets (the harness of `socketio`), sectioned by
//! state: joining, joined (relay), leaving and the rejoin grace, empty rooms expiring, and a
//! full arena; rate limits, tokens and invites are in [`limits`], format 3's member joins in
//! [`v3`] and its applicants in [`applicants`].

mod applicants;
mod limits;
pub(super) mod v3;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use miniserde::json::{self, Value};

use super::*;
use crate::socketio::harness::{ms, Client, Harness};

const GRACE: Duration = Duration::from_secs(30);
const SESSION_TIMEOUT: Duration = Duration::from_secs(600);
const WINDOW: Duration = Duration::from_secs(60);
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);
const APPLICANT_TIMEOUT: Duration = Duration::from_secs(120);
const ADMIT_BYTES: usize = 1024;

pub(super) fn config() -> AppConfig {
    AppConfig {
        max_rooms: 4,
        max_members: 3,
        room_timeout: SESSION_TIMEOUT,
        rejoin_grace: GRACE,
        join_limit_per_address: 2,
        join_limit_per_session: 10,
        join_limit_window: WINDOW,
        sessions_per_address: 8,
        join_timeout: JOIN_TIMEOUT,
        max_applicants: 3,
        applicants_per_address: 2,
        applicant_timeout: APPLICANT_TIMEOUT,
        admit_bytes: ADMIT_BYTES,
        max_sockets: 64,
        inbox: InboxLimits {
            ttl: Duration::from_secs(3600),
            session_bytes: 1 << 20,
            total_bytes: 1 << 21,
            meta_bytes: 16 * 1024,
        },
    }
}

pub(super) fn harness() -> Harness<ShareThings> {
    let metrics = Arc::new(Metrics::default());
    let app = ShareThings::new(config(), [9; 32], Instant::now(), metrics);
    Harness::new(app)
}

pub(super) fn join_json(session: &str, name: &str, passphrase: &str) -> String {
    format!(
        r#"{{"sessionId":"{session}","clientName":"{name}","fingerprint":{{"v":2,"mac":"{passphrase}"}}}}"#
    )
}

/// Emits `event` with `payload` and ack id 1; returns the ack's object and whatever else the
/// client was sent meanwhile.
pub(super) fn call(
    h: &mut Harness<ShareThings>,
    at: Duration,
    c: Client,
    event: &str,
    payload: &str,
) -> (Value, Vec<String>) {
    h.text(at, c, &format!(r#"421["{event}",{payload}]"#));
    let mut other = Vec::new();
    let mut ack = None;
    for frame in h.sent(c) {
        match frame.strip_prefix("431") {
            Some(args) => {
                let Ok(Value::Array(mut args)) = json::from_str::<Value>(args) else {
                    panic!("ack args: {args}");
                };
                ack = Some(args.remove(0));
            }
            None => other.push(frame),
        }
    }
    (ack.expect("an ack"), other)
}

pub(super) fn field<'a>(value: &'a Value, key: &str) -> &'a Value {
    match value {
        Value::Object(o) => o.get(key).unwrap_or(&Value::Null),
        _ => &Value::Null,
    }
}

pub(super) fn text_of(value: &Value) -> &str {
    match value {
        Value::String(s) => s,
        _ => "",
    }
}

pub(super) fn succeeded(ack: &Value) -> bool {
    matches!(field(ack, "success"), Value::Bool(true))
}

pub(super) fn code(ack: &Value) -> &str {
    text_of(field(ack, "code"))
}

pub(super) fn join(
    h: &mut Harness<ShareThings>,
    at: Duration,
    c: Client,
    session: &str,
    name: &str,
) -> Value {
    let (ack, _) = call(h, at, c, "join", &join_json(session, name, "right"));
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    ack
}

/// Two members, `a` and `b`, in room `r`; what they were sent so far is taken.
fn room_of_two(h: &mut Harness<ShareThings>) -> (Client, Client) {
    let a = h.connect(ms(0));
    let b = h.connect(ms(0));
    join(h, ms(1), a, "r", "A");
    join(h, ms(2), b, "r", "B");
    h.sent(a);
    (a, b)
}

// ----- joining ---------------------------------------------------------------------------------

#[test]
fn the_first_join_creates_the_room_and_the_next_is_announced() {
    let mut h = harness();
    let a = h.connect(ms(0));
    let b = h.connect(ms(0));
    let first = join(&mut h, ms(1), a, "r", "A");
    assert!(matches!(field(&first, "created"), Value::Bool(true)));
    let second = join(&mut h, ms(2), b, "r", "B");
    assert!(matches!(field(&second, "created"), Value::Bool(false)));
    let announced = h.sent(a);
    assert_eq!(announced.len(), 1);
    assert!(
        announced[0].starts_with(r#"42["client-joined",{"#),
        "{announced:?}"
    );
    assert!(
        announced[0].contains(r#""clientName":"B""#),
        "{announced:?}"
    );
    assert!(announced[0].contains(r#""sessionId":"r""#), "{announced:?}");
}

#[test]
fn a_wrong_passphrase_is_refused() {
    let mut h = harness();
    let a = h.connect(ms(0));
    let b = h.connect(ms(0));
    join(&mut h, ms(1), a, "r", "A");
    let (ack, _) = call(&mut h, ms(2), b, "join", &join_json("r", "B", "wrong"));
    assert_eq!(code(&ack), "invalid_passphrase");
    assert!(h.sent(a).is_empty(), "nobody is told about a refused join");
}

#[test]
fn a_routed_connection_may_join_only_its_room() {
    let mut h = harness();
    let route = format!("&route={}", route_key("mine"));
    let c = h.connect_from(ms(0), IpAddr::V4(Ipv4Addr::LOCALHOST), &route);
    h.text(ms(0), c, "40");
    h.sent(c);
    let (ack, _) = call(&mut h, ms(1), c, "join", &join_json("other", "A", "p"));
    assert_eq!(code(&ack), "invalid_request");
    join(&mut h, ms(2), c, "mine", "A");
}

#[test]
fn a_full_room_refuses_one_more_member() {
    let mut h = harness();
    for n in 0..config().max_members {
        let c = h.connect(ms(0));
        join(&mut h, ms(1), c, "r", &format!("M{n}"));
    }
    let late = h.connect(ms(0));
    let (ack, _) = call(&mut h, ms(2), late, "join", &join_json("r", "L", "right"));
    assert_eq!(code(&ack), "session_full");
}

#[test]
fn a_socket_that_joins_no_session_within_the_join_timeout_is_closed() {
    let mut h = harness();
    let idle = h.connect(ms(0));
    let member = h.connect(ms(0));
    join(&mut h, ms(10), member, "r", "A");
    h.expire(JOIN_TIMEOUT - ms(5));
    assert!(h.is_open(idle));
    h.expire(JOIN_TIMEOUT);
    assert!(!h.is_open(idle));
    assert!(h.is_open(member), "a member has no join deadline");
    // Leaving starts it again.
    call(
        &mut h,
        JOIN_TIMEOUT + ms(10),
        member,
        "leave",
        r#"{"sessionId":"r"}"#,
    );
    h.expire(JOIN_TIMEOUT * 2 + ms(5));
    assert!(h.is_open(member));
    h.expire(JOIN_TIMEOUT * 2 + ms(10));
    assert!(!h.is_open(member));
}

#[test]
fn a_member_that_fails_to_join_another_session_is_no_member_and_gets_a_join_deadline() {
    let mut h = harness();
    let (owner, a) = (h.connect(ms(0)), h.connect(ms(0)));
    join(&mut h, ms(1), owner, "locked", "O");
    join(&mut h, ms(2), a, "r", "A");
    // One session per connection: it leaves "r" first, then the passphrase is wrong.
    let (ack, _) = call(
        &mut h,
        ms(10),
        a,
        "join",
        &join_json("locked", "A", "wrong"),
    );
    assert_eq!(code(&ack), "invalid_passphrase");
    h.expire(ms(10) + JOIN_TIMEOUT - ms(5));
    assert!(h.is_open(a));
    h.expire(ms(10) + JOIN_TIMEOUT + ms(5));
    assert!(
        !h.is_open(a),
        "a connection in no session is closed in time"
    );
}

// ----- joined: relay ---------------------------------------------------------------------------

#[test]
fn content_is_relayed_to_the_others_with_from() {
    let mut h = harness();
    let (a, b) = room_of_two(&mut h);
    let (ack, _) = call(
        &mut h,
        ms(3),
        a,
        "content",
        r#"{"sessionId":"r","content":{"x":1}}"#,
    );
    assert!(succeeded(&ack));
    let got = h.sent(b);
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with(r#"42["content",{"#), "{got:?}");
    assert!(got[0].contains(r#""from":""#), "{got:?}");
}

#[test]
fn relays_need_membership_and_a_real_to() {
    let mut h = harness();
    let (a, _) = room_of_two(&mut h);
    let outsider = h.connect(ms(0));
    let (ack, _) = call(
        &mut h,
        ms(3),
        outsider,
        "content",
        r#"{"sessionId":"r","content":1}"#,
    );
    assert_eq!(code(&ack), "not_joined");
    let (ack, _) = call(
        &mut h,
        ms(4),
        a,
        "content",
        r#"{"sessionId":"r","content":1,"to":"nobody"}"#,
    );
    assert_eq!(code(&ack), "invalid_request");
}

#[test]
fn clear_all_goes_to_everyone_including_the_sender() {
    let mut h = harness();
    let (a, b) = room_of_two(&mut h);
    let (_, to_sender) = call(
        &mut h,
        ms(3),
        a,
        "clear-all-content",
        r#"{"sessionId":"r"}"#,
    );
    assert!(
        to_sender[0].starts_with(r#"42["all-content-cleared""#),
        "{to_sender:?}"
    );
    assert!(h.sent(b)[0].starts_with(r#"42["all-content-cleared""#));
}

#[test]
fn unknown_events_are_refused_only_when_they_ask_for_an_ack() {
    let mut h = harness();
    let (a, _) = room_of_two(&mut h);
    h.text(ms(3), a, r#"42["nope",{}]"#);
    assert!(h.sent(a).is_empty());
    let (ack, _) = call(&mut h, ms(4), a, "nope", "{}");
    assert_eq!(code(&ack), "invalid_request");
}

// ----- leaving and the rejoin grace ------------------------------------------------------------

#[test]
fn a_lost_member_is_announced_gone_only_when_the_grace_passed() {
    let mut h = harness();
    let (a, b) = room_of_two(&mut h);
    h.lose(ms(10), b);
    h.expire(ms(10) + GRACE - ms(5));
    assert!(h.sent(a).is_empty(), "announced before the grace passed");
    h.expire(ms(10) + GRACE + ms(5));
    let left = h.sent(a);
    assert!(left[0].starts_with(r#"42["client-left""#), "{left:?}");
}

#[test]
fn a_token_rejoin_within_the_grace_keeps_the_client_id_and_tells_nobody() {
    let mut h = harness();
    let a = h.connect(ms(0));
    let b = h.connect(ms(0));
    join(&mut h, ms(1), a, "r", "A");
    let first = join(&mut h, ms(2), b, "r", "B");
    h.sent(a);
    h.lose(ms(10), b);
    let again = h.connect(ms(20));
    let token = text_of(field(&first, "token"));
    let payload = format!(r#"{{"sessionId":"r","clientName":"B","token":"{token}"}}"#);
    let (ack, _) = call(&mut h, ms(30), again, "join", &payload);
    assert!(succeeded(&ack));
    assert_eq!(
        text_of(field(&ack, "clientId")),
        text_of(field(&first, "clientId"))
    );
    h.expire(ms(10) + GRACE + ms(5));
    assert!(h.sent(a).is_empty(), "nothing to announce");
}

#[test]
fn leaving_is_announced_at_once() {
    let mut h = harness();
    let (a, b) = room_of_two(&mut h);
    call(&mut h, ms(3), b, "leave", r#"{"sessionId":"r"}"#);
    assert!(h.sent(a)[0].starts_with(r#"42["client-left""#));
}

// ----- empty rooms -----------------------------------------------------------------------------

#[test]
fn an_empty_room_is_kept_for_the_session_timeout_then_forgotten() {
    let mut h = harness();
    let a = h.connect(ms(0));
    join(&mut h, ms(1), a, "r", "A");
    call(&mut h, ms(2), a, "leave", r#"{"sessionId":"r"}"#);
    h.expire(ms(2) + SESSION_TIMEOUT - ms(5));
    // Still there: its passphrase still decides.
    let b = h.connect(ms(3));
    let (ack, _) = call(&mut h, ms(4), b, "join", &join_json("r", "B", "wrong"));
    assert_eq!(code(&ack), "invalid_passphrase");
    h.expire(ms(2) + SESSION_TIMEOUT + ms(5));
    // (A fresh connection: `b` joined nothing within its join timeout.)
    let b = h.connect(ms(2) + SESSION_TIMEOUT + ms(6));
    let again = join(&mut h, ms(2) + SESSION_TIMEOUT + ms(10), b, "r", "B");
    assert!(matches!(field(&again, "created"), Value::Bool(true)));
}

// ----- a full arena ----------------------------------------------------------------------------

#[test]
fn a_full_arena_gives_the_room_empty_longest_to_a_new_one_and_is_full_only_with_members() {
    let mut h = harness();
    let squatter = h.connect(ms(0));
    // One connection creates rooms r0..r3, leaving each for the next: all but r3 empty.
    for n in 0..config().max_rooms as u64 {
        join(&mut h, ms(1 + n), squatter, &format!("r{n}"), "S");
    }
    let newcomer = h.connect(ms(10));
    let ack = join(&mut h, ms(11), newcomer, "mine", "N");
    assert!(matches!(field(&ack, "created"), Value::Bool(true)));
    // r0 (empty longest) gave way: its name is free again, with any passphrase.
    let other = h.connect(ms(12));
    let (ack, _) = call(&mut h, ms(13), other, "join", &join_json("r0", "O", "new"));
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    // r1 gave way to r0 again, r2 now to x: every room (r3, mine, r0, x) has a member.
    let member = h.connect(ms(20));
    join(&mut h, ms(30), member, "x", "M");
    let late = h.connect(ms(40));
    let (ack, _) = call(
        &mut h,
        ms(41),
        late,
        "join",
        &join_json("one-too-many", "L", "p"),
    );
    assert_eq!(code(&ack), "server_full");
}

#[test]
fn sessions_created_per_address_are_capped_per_window() {
    let mut h = harness();
    let squatter = h.connect(ms(0));
    for n in 0..8 {
        join(&mut h, ms(1 + n), squatter, &format!("s{n}"), "S");
    }
    let (ack, _) = call(&mut h, ms(20), squatter, "join", &join_json("s8", "S", "p"));
    assert_eq!(code(&ack), "rate_limited");
    let neighbour = h.connect_from(ms(21), "10.0.0.2".parse().unwrap(), "");
    h.text(ms(21), neighbour, "40");
    h.sent(neighbour);
    join(&mut h, ms(22), neighbour, "theirs", "N");
    let later = h.connect(ms(1) + WINDOW);
    join(&mut h, ms(2) + WINDOW, later, "s8", "S");
}
