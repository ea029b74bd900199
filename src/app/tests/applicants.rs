//! Applicants on virtual time: a device that knows a v3 session's name waits as no member,
//! exchanges `admit` messages with members only (each `step: 1` a guess the join limits
//! count), is bounded per session and per address, times out, and becomes a member by
//! proving the room key on the same connection.

use miniserde::json::{self, Value};

use super::v3::{challenge, events, ids_of, try_v3_join, v3_join, v3_join_json, KEY};
use super::*;

const APPLY: &str = r#"{"sessionId":"r","v":3,"apply":true}"#;

fn apply(h: &mut Harness<ShareThings>, at: Duration, c: Client) -> Value {
    let (ack, _) = call(h, at, c, "join", APPLY);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    assert!(matches!(field(&ack, "applicant"), Value::Bool(true)));
    ack
}

fn admit(to: &str, step: u64, data: &str) -> String {
    format!(r#"{{"sessionId":"r","to":"{to}","step":{step},"data":{data}}}"#)
}

fn id(ack: &Value) -> String {
    text_of(field(ack, "clientId")).to_string()
}

/// A member `m` of v3 session "r" and an applicant `a`; what they were sent so far is taken.
fn member_and_applicant(h: &mut Harness<ShareThings>) -> (Client, String, Client, String) {
    let (m, a) = (h.connect(ms(0)), h.connect(ms(0)));
    let m_id = id(&v3_join(h, ms(1), m, "r"));
    let a_id = id(&apply(h, ms(2), a));
    h.sent(m);
    (m, m_id, a, a_id)
}

// ----- waiting -----------------------------------------------------------------------------------

#[test]
fn an_applicant_waits_as_no_member_and_sees_members_come_and_go_by_id() {
    let mut h = harness();
    let (m, a) = (h.connect(ms(0)), h.connect(ms(0)));
    let (ack, _) = call(&mut h, ms(1), a, "join", APPLY);
    assert_eq!(code(&ack), "no_such_session");
    let m_id = id(&v3_join(&mut h, ms(2), m, "r"));
    let ack = apply(&mut h, ms(3), a);
    assert_eq!(ids_of(field(&ack, "members")), [m_id]);
    let a_id = id(&ack);
    let told = events(&h.sent(m), "applicant");
    assert_eq!(
        json::to_string(&told[0]),
        format!(r#"{{"clientId":"{a_id}","sessionId":"r"}}"#)
    );
    // A member that joins finds it in its ack; the applicant is told, by id.
    let n = h.connect(ms(4));
    let joined = v3_join(&mut h, ms(5), n, "r");
    assert_eq!(ids_of(field(&joined, "applicants")), [a_id.as_str()]);
    let n_id = id(&joined);
    let told = events(&h.sent(a), "client-joined");
    assert_eq!(
        json::to_string(&told[0]),
        format!(r#"{{"clientId":"{n_id}","sessionId":"r"}}"#)
    );
    // It gets nothing the members share.
    call(
        &mut h,
        ms(6),
        m,
        "content",
        r#"{"sessionId":"r","content":{"x":1}}"#,
    );
    call(
        &mut h,
        ms(6),
        m,
        "clear-all-content",
        r#"{"sessionId":"r"}"#,
    );
    assert!(h.sent(a).is_empty());
    call(&mut h, ms(7), n, "leave", r#"{"sessionId":"r"}"#);
    let told = events(&h.sent(a), "client-left");
    assert_eq!(
        json::to_string(&told[0]),
        format!(r#"{{"clientId":"{n_id}","sessionId":"r"}}"#)
    );
    // Asking again answers as the first time, and tells the members nothing new.
    h.sent(m);
    assert_eq!(id(&apply(&mut h, ms(8), a)), a_id);
    assert!(h.sent(m).is_empty());
}

#[test]
fn an_applicant_can_relay_nothing_and_read_no_inbox() {
    let mut h = harness();
    let (m, a) = (h.connect(ms(0)), h.connect(ms(0)));
    let nonce = challenge(&mut h, ms(1), m);
    let mut create = v3_join_json("r", &KEY, &nonce);
    create.insert_str(1, r#""inbox":true,"#);
    let (ack, _) = call(&mut h, ms(1), m, "join", &create);
    assert!(succeeded(&ack));
    apply(&mut h, ms(2), a);
    h.sent(m);
    for (event, payload) in [
        ("content", r#"{"sessionId":"r","content":{"x":1}}"#),
        (
            "chunk",
            r#"{"sessionId":"r","chunk":{"contentId":"c","chunkIndex":0,"totalChunks":1,"encryptedData":[1]}}"#,
        ),
        ("remove-content", r#"{"sessionId":"r","contentId":"c"}"#),
        ("clear-all-content", r#"{"sessionId":"r"}"#),
        ("inbox-list", r#"{"sessionId":"r"}"#),
        ("inbox-fetch", r#"{"sessionId":"r","contentId":"c"}"#),
        ("inbox-delete", r#"{"sessionId":"r","contentId":"c"}"#),
        ("invite", r#"{"sessionId":"r"}"#),
    ] {
        let (ack, _) = call(&mut h, ms(3), a, event, payload);
        assert_eq!(code(&ack), "not_joined", "{event}");
    }
    assert!(h.sent(m).is_empty(), "nothing reached the member");
}

#[test]
fn a_session_takes_its_fill_of_applicants_in_all_and_per_address() {
    let mut h = harness();
    let m = h.connect(ms(0));
    v3_join(&mut h, ms(1), m, "r");
    let first = limits::from(&mut h, ms(2), 1);
    let second = limits::from(&mut h, ms(2), 1);
    apply(&mut h, ms(2), first);
    apply(&mut h, ms(2), second);
    let third = limits::from(&mut h, ms(3), 1);
    let (ack, _) = call(&mut h, ms(3), third, "join", APPLY);
    assert_eq!(code(&ack), "too_many_applicants", "two per address");
    let other = limits::from(&mut h, ms(4), 2);
    apply(&mut h, ms(4), other);
    let fourth = limits::from(&mut h, ms(5), 3);
    let (ack, _) = call(&mut h, ms(5), fourth, "join", APPLY);
    assert_eq!(code(&ack), "too_many_applicants", "three in all");
    // One leaves: there is room again.
    call(&mut h, ms(6), first, "leave", r#"{"sessionId":"r"}"#);
    apply(&mut h, ms(7), fourth);
}

#[test]
fn the_applicant_timeout_replaces_the_join_timeout_and_closes_it() {
    let mut h = harness();
    let (m, _, a, a_id) = member_and_applicant(&mut h);
    h.expire(ms(2) + JOIN_TIMEOUT + ms(1));
    assert!(h.is_open(a), "the join timeout no longer applies");
    h.expire(ms(2) + APPLICANT_TIMEOUT - ms(1));
    assert!(h.is_open(a));
    // Deadlines fire on the wheel's 5 ms ticks, never early.
    h.expire(ms(2) + APPLICANT_TIMEOUT + ms(5));
    assert!(!h.is_open(a));
    let gone = events(&h.sent(m), "applicant-left");
    assert_eq!(text_of(field(&gone[0], "clientId")), a_id);
}

#[test]
fn an_applicant_that_leaves_or_goes_is_gone_and_gets_a_join_deadline_again() {
    let mut h = harness();
    let (m, _, a, a_id) = member_and_applicant(&mut h);
    let (ack, _) = call(&mut h, ms(3), a, "leave", r#"{"sessionId":"r"}"#);
    assert!(succeeded(&ack));
    assert_eq!(
        text_of(field(&events(&h.sent(m), "applicant-left")[0], "clientId")),
        a_id
    );
    h.expire(ms(3) + JOIN_TIMEOUT + ms(5));
    assert!(!h.is_open(a), "closed by the join timeout");
    let b = h.connect(ms(4) + JOIN_TIMEOUT);
    let b_id = id(&apply(&mut h, ms(5) + JOIN_TIMEOUT, b));
    h.sent(m);
    h.lose(ms(6) + JOIN_TIMEOUT, b);
    assert_eq!(
        text_of(field(&events(&h.sent(m), "applicant-left")[0], "clientId")),
        b_id,
        "no grace for applicants"
    );
}

#[test]
fn an_expiring_session_closes_its_applicants() {
    let mut h = harness();
    let (m, _, a, _) = member_and_applicant(&mut h);
    call(&mut h, ms(3), m, "leave", r#"{"sessionId":"r"}"#);
    h.expire(ms(3) + SESSION_TIMEOUT);
    assert!(!h.is_open(a));
}

// ----- admit -------------------------------------------------------------------------------------

#[test]
fn admit_messages_go_from_applicant_to_member_and_back_stamped_with_from() {
    let mut h = harness();
    let (m, m_id, a, a_id) = member_and_applicant(&mut h);
    let exchange = [
        (a, m, &m_id, 1, r#"{"Ya":"AAAA","sid":"BBBB"}"#),
        (m, a, &a_id, 0, r#"{"waitMs":1000}"#),
        (m, a, &a_id, 2, r#"{"Tb":"CC","Yb":"DD"}"#),
        (a, m, &m_id, 3, r#"{"Ta":"EE","iv":"FF","sealed":"GG"}"#),
        (m, a, &a_id, 4, r#"{"iv":"HH","sealed":"II"}"#),
    ];
    for (sender, receiver, to, step, data) in exchange {
        let (ack, _) = call(&mut h, ms(3), sender, "admit", &admit(to, step, data));
        assert!(succeeded(&ack), "step {step}: {}", json::to_string(&ack));
        let from = if sender == a { &a_id } else { &m_id };
        assert_eq!(
            h.sent(receiver),
            [format!(
                r#"42["admit",{{"data":{data},"from":"{from}","sessionId":"r","step":{step}}}]"#
            )],
            "step {step}"
        );
    }
    let sent = h.layer.app.metrics.admit_messages.load(Ordering::Relaxed);
    assert_eq!(sent, 5);
}

#[test]
fn admit_messages_keep_to_their_rules() {
    let mut h = harness();
    let (m, m_id, a, a_id) = member_and_applicant(&mut h);
    let (m2, stranger) = (h.connect(ms(3)), h.connect(ms(3)));
    let m2_id = id(&v3_join(&mut h, ms(3), m2, "r"));
    let b = h.connect(ms(3));
    let b_id = id(&apply(&mut h, ms(3), b));
    h.sent(m);
    h.sent(a);
    let refused = |h: &mut Harness<ShareThings>, c: Client, payload: &str| {
        let (ack, _) = call(h, ms(4), c, "admit", payload);
        code(&ack).to_string()
    };
    let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(ADMIT_BYTES));
    for (who, payload, expected) in [
        (a, admit(&b_id, 1, "{}"), "invalid_request"), // applicant to applicant
        (a, admit("nobody", 1, "{}"), "invalid_request"),
        (a, admit(&m_id, 2, "{}"), "invalid_request"), // a member's step
        (a, admit(&m_id, 3, "{}"), "invalid_request"), // no run begun
        (a, admit(&m_id, 5, "{}"), "invalid_request"),
        (a, admit(&m_id, 1, "[]"), "invalid_request"),
        (a, admit(&m_id, 1, &big), "invalid_request"),
        (m, admit(&m2_id, 2, "{}"), "invalid_request"), // member to member
        (m, admit(&a_id, 1, "{}"), "invalid_request"),  // an applicant's step
        (stranger, admit(&m_id, 1, "{}"), "not_joined"),
    ] {
        assert_eq!(refused(&mut h, who, &payload), expected, "{payload}");
    }
    // Binary data has no place in an admission run.
    h.text(
        ms(5),
        a,
        &format!(
            r#"451-1["admit",{{"sessionId":"r","to":"{m_id}","step":1,"data":{{"b":{{"_placeholder":true,"num":0}}}}}}]"#
        ),
    );
    h.binary(ms(5), a, b"bytes");
    let sent = h.sent(a);
    assert!(sent[0].contains("invalid_request"), "{sent:?}");
    // A member whose connection was lost is not online: no run with it.
    h.lose(ms(6), m2);
    assert_eq!(
        refused(&mut h, a, &admit(&m2_id, 1, "{}")),
        "invalid_request"
    );
    assert!(h.sent(m).is_empty(), "nothing refused was relayed");
    assert!(h.sent(b).is_empty(), "nothing refused was relayed");
}

#[test]
fn an_applicant_that_stops_reading_never_pauses_a_member() {
    let mut h = harness();
    let (m, _, a, a_id) = member_and_applicant(&mut h);
    h.stops_reading(a);
    // Past the applicant's high-water mark (half of the harness's 1 MiB queue).
    let data = format!(r#"{{"x":"{}"}}"#, "y".repeat(ADMIT_BYTES - 16));
    for n in 0..600 {
        h.text(
            ms(3),
            m,
            &format!(r#"421["admit",{}]"#, admit(&a_id, 2, &data)),
        );
        assert_eq!(
            h.sent(m),
            [r#"431[{"success":true}]"#],
            "message {n}: the member is answered at once, never paused"
        );
    }
    assert!(h.is_open(m));
}

#[test]
fn each_step_1_is_a_guess_the_join_limits_count() {
    let mut h = harness();
    let (m, m_id, a, _) = member_and_applicant(&mut h);
    for n in 0..config().join_limit_per_address {
        let (ack, _) = call(
            &mut h,
            ms(3 + u64::from(n)),
            a,
            "admit",
            &admit(&m_id, 1, "{}"),
        );
        assert!(succeeded(&ack), "{}", json::to_string(&ack));
    }
    assert_eq!(h.sent(m).len(), 2);
    let (ack, _) = call(&mut h, ms(10), a, "admit", &admit(&m_id, 1, "{}"));
    assert_eq!(code(&ack), "rate_limited");
    assert!(h.sent(m).is_empty(), "not relayed");
    // The address is limited for joins as for guesses: they are the same limit.
    let (ack, _) = try_v3_join(&mut h, ms(11), a, "r", &KEY);
    assert_eq!(code(&ack), "rate_limited");
    // A step 3 for a run it began is no guess, and still goes through.
    let (ack, _) = call(&mut h, ms(12), a, "admit", &admit(&m_id, 3, "{}"));
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    // Past the window it may guess again.
    h.expire(ms(3) + WINDOW);
    let (ack, _) = call(&mut h, ms(4) + WINDOW, a, "admit", &admit(&m_id, 1, "{}"));
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
}

#[test]
fn guesses_from_many_addresses_meet_the_sessions_limit() {
    let mut h = harness();
    let m = h.connect(ms(0));
    let m_id = id(&v3_join(&mut h, ms(1), m, "r"));
    // Applicants on fresh addresses, one guess each, one after another (three may wait).
    let per_room = config().join_limit_per_session;
    for n in 1..=per_room as u8 {
        let c = limits::from(&mut h, ms(2), n);
        apply(&mut h, ms(2), c);
        let (ack, _) = call(&mut h, ms(2), c, "admit", &admit(&m_id, 1, "{}"));
        assert!(succeeded(&ack), "{}", json::to_string(&ack));
        call(&mut h, ms(2), c, "leave", r#"{"sessionId":"r"}"#);
    }
    // One that guessed already waits; a fresh address still gets its try.
    let again = limits::from(&mut h, ms(3), 1);
    apply(&mut h, ms(3), again);
    let (ack, _) = call(&mut h, ms(3), again, "admit", &admit(&m_id, 1, "{}"));
    assert_eq!(code(&ack), "rate_limited");
    let fresh = limits::from(&mut h, ms(3), 100);
    apply(&mut h, ms(3), fresh);
    let (ack, _) = call(&mut h, ms(3), fresh, "admit", &admit(&m_id, 1, "{}"));
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
}

#[test]
fn an_applicant_that_proves_the_key_takes_its_guesses_back_so_one_address_adds_device_after_device()
{
    let mut h = harness();
    let m = h.connect(ms(0));
    let m_id = id(&v3_join(&mut h, ms(1), m, "r"));
    // Twice the address's limit of new devices, each one guess and then the key it was given.
    for n in 0..2 * config().join_limit_per_address {
        let at = ms(2 + u64::from(n));
        let device = limits::from(&mut h, at, 1);
        apply(&mut h, at, device);
        let (ack, _) = call(&mut h, at, device, "admit", &admit(&m_id, 1, "{}"));
        assert!(succeeded(&ack), "device {n}: {}", json::to_string(&ack));
        v3_join(&mut h, at, device, "r");
        call(&mut h, at, device, "leave", r#"{"sessionId":"r"}"#);
    }
    // Wrong guesses still count, as many as ever.
    let stranger = limits::from(&mut h, ms(10), 1);
    apply(&mut h, ms(10), stranger);
    for _ in 0..config().join_limit_per_address {
        let (ack, _) = call(&mut h, ms(10), stranger, "admit", &admit(&m_id, 1, "{}"));
        assert!(succeeded(&ack), "{}", json::to_string(&ack));
    }
    let (ack, _) = call(&mut h, ms(10), stranger, "admit", &admit(&m_id, 1, "{}"));
    assert_eq!(code(&ack), "rate_limited");
}

#[test]
fn guesses_of_an_earlier_window_are_not_taken_back_from_a_later_one() {
    let mut h = harness();
    let m = h.connect(ms(0));
    let m_id = id(&v3_join(&mut h, ms(1), m, "r"));
    let early = limits::from(&mut h, ms(2), 1);
    apply(&mut h, ms(2), early);
    let (ack, _) = call(&mut h, ms(2), early, "admit", &admit(&m_id, 1, "{}"));
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    // The wheel fires a window's end up to a tick late.
    let late = ms(2) + WINDOW + Duration::from_secs(1);
    h.expire(late);
    let other = limits::from(&mut h, late, 1);
    apply(&mut h, late, other);
    let guess =
        |h: &mut Harness<ShareThings>| call(h, late, other, "admit", &admit(&m_id, 1, "{}")).0;
    assert!(succeeded(&guess(&mut h)));
    // The early applicant's guess was in the window that ended: the new one keeps its own.
    v3_join(&mut h, late, early, "r");
    assert!(succeeded(&guess(&mut h)));
    assert_eq!(code(&guess(&mut h)), "rate_limited");
}

// ----- becoming a member -------------------------------------------------------------------------

#[test]
fn an_applicant_that_proves_the_key_becomes_a_member_on_the_same_connection() {
    let mut h = harness();
    let (m, m_id, a, a_id) = member_and_applicant(&mut h);
    // A wrong proof leaves it waiting, as it was.
    let (ack, _) = try_v3_join(&mut h, ms(3), a, "r", &[1; 32]);
    assert_eq!(code(&ack), "access_denied");
    assert!(h.sent(m).is_empty());
    let (ack, _) = try_v3_join(&mut h, ms(4), a, "r", &KEY);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    assert_eq!(id(&ack), a_id, "the same id");
    assert_eq!(ids_of(field(&ack, "clients")), [m_id.clone(), a_id.clone()]);
    let told = h.sent(m);
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told[0].starts_with(r#"42["applicant-left""#), "{told:?}");
    assert!(told[1].starts_with(r#"42["client-joined""#), "{told:?}");
    // A member like any other: no applicant timeout, and it relays.
    h.expire(ms(2) + APPLICANT_TIMEOUT + ms(1));
    assert!(h.is_open(a));
    let (ack, _) = call(
        &mut h,
        ms(5) + APPLICANT_TIMEOUT,
        a,
        "content",
        r#"{"sessionId":"r","content":{"x":1}}"#,
    );
    assert!(succeeded(&ack));
    assert_eq!(events(&h.sent(m), "content").len(), 1);
    let sent = h.layer.app.metrics.applicants.load(Ordering::Relaxed);
    assert_eq!(sent, 0);
}

#[test]
fn a_member_that_applies_or_an_applicant_that_joins_elsewhere_leaves_its_role() {
    let mut h = harness();
    let (m, m_id, a, a_id) = member_and_applicant(&mut h);
    let other = h.connect(ms(3));
    v3_join(&mut h, ms(3), other, "r");
    h.sent(m);
    apply(&mut h, ms(4), other);
    let told = h.sent(m);
    assert!(told[0].starts_with(r#"42["client-left""#), "{told:?}");
    assert!(told[1].starts_with(r#"42["applicant""#), "{told:?}");
    v3_join(&mut h, ms(5), a, "elsewhere");
    let told = events(&h.sent(m), "applicant-left");
    assert_eq!(text_of(field(&told[0], "clientId")), a_id);
    assert_ne!(m_id, a_id);
}
