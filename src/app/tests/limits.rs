//! Who may join on virtual time: failed joins limited per address and per room (strangers'
//! failures cost the strangers, not the household), tokens that rejoin past the limits and
//! stay revoked after `leave`, and invites that skip the room's limit.

use std::net::{IpAddr, Ipv4Addr};

use miniserde::json::{self, Value};

use super::*;

// ----- rate limits -----------------------------------------------------------------------------

#[test]
fn failed_joins_from_one_address_are_counted_and_limited_until_the_window_ends() {
    let mut h = harness();
    let a = h.connect(ms(0));
    join(&mut h, ms(1), a, "r", "A");
    let c = h.connect(ms(0));
    for n in 0..config().join_limit_per_address {
        let (ack, _) = call(
            &mut h,
            ms(10 + u64::from(n)),
            c,
            "join",
            &join_json("r", "C", "wrong"),
        );
        assert_eq!(code(&ack), "invalid_passphrase");
        // The client warns of the lockout by these, not by a count of its own.
        let failed = field(&ack, "failedJoins");
        assert_eq!(json::to_string(field(failed, "count")), (n + 1).to_string());
        assert_eq!(
            json::to_string(field(failed, "limit")),
            config().join_limit_per_address.to_string()
        );
        assert_eq!(
            json::to_string(field(failed, "windowMs")),
            WINDOW.as_millis().to_string()
        );
    }
    let (ack, _) = call(&mut h, ms(20), c, "join", &join_json("r", "C", "right"));
    assert_eq!(code(&ack), "rate_limited");
    assert!(matches!(field(&ack, "retryAfterMs"), Value::Number(_)));
    assert!(matches!(field(&ack, "retryAfterSeconds"), Value::Number(_)));
    h.expire(ms(10) + WINDOW + ms(5));
    // The same address on a fresh connection (`c` joined nothing within its join timeout).
    let c = h.connect(ms(10) + WINDOW + ms(6));
    join(&mut h, ms(10) + WINDOW + ms(10), c, "r", "C");
}

// ----- tokens ----------------------------------------------------------------------------------

fn token_join(session: &str, token: &str) -> String {
    format!(r#"{{"sessionId":"{session}","clientName":"B","token":"{token}"}}"#)
}

/// When a token expires (its third field): every join ack gives a new token, and only a join
/// with the fingerprint moves this.
fn expiry_of(token: &str) -> &str {
    token.split('.').nth(2).expect("a token has an expiry")
}

#[test]
fn a_valid_token_rejoins_from_a_rate_limited_address() {
    let mut h = harness();
    let a = h.connect(ms(0));
    let b = h.connect(ms(0));
    join(&mut h, ms(1), a, "r", "A");
    let first = join(&mut h, ms(2), b, "r", "B");
    let guesser = h.connect(ms(3));
    for n in 0..=config().join_limit_per_address {
        let at = ms(10 + u64::from(n));
        call(&mut h, at, guesser, "join", &join_json("r", "C", "wrong"));
    }
    let (ack, _) = call(
        &mut h,
        ms(30),
        guesser,
        "join",
        &join_json("r", "C", "right"),
    );
    assert_eq!(code(&ack), "rate_limited", "the address is blocked");
    h.lose(ms(40), b);
    let again = h.connect(ms(50));
    let token = text_of(field(&first, "token"));
    let (ack, _) = call(&mut h, ms(60), again, "join", &token_join("r", token));
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    assert_eq!(
        expiry_of(text_of(field(&ack, "token"))),
        expiry_of(token),
        "not renewed by itself"
    );
}

#[test]
fn leaving_revokes_the_token_and_a_repeated_join_renews_only_with_the_fingerprint() {
    let mut h = harness();
    let (_a, b) = room_of_two(&mut h);
    let (ack, _) = call(&mut h, ms(3), b, "join", &token_join("r", "x"));
    let token = text_of(field(&ack, "token")).to_string();
    h.expire(ms(1000));
    let (same, _) = call(&mut h, ms(1000), b, "join", &token_join("r", "x"));
    assert_eq!(
        expiry_of(text_of(field(&same, "token"))),
        expiry_of(&token),
        "no fingerprint, no renewal"
    );
    let renewed = join(&mut h, ms(1000), b, "r", "B");
    assert_ne!(
        expiry_of(text_of(field(&renewed, "token"))),
        expiry_of(&token)
    );
    let token = text_of(field(&renewed, "token")).to_string();
    call(&mut h, ms(1001), b, "leave", r#"{"sessionId":"r"}"#);
    let (ack, _) = call(&mut h, ms(1002), b, "join", &token_join("r", &token));
    assert!(!succeeded(&ack), "a token that left does not rejoin");
}

#[test]
fn a_revoked_token_stays_revoked_however_many_members_leave_after_it() {
    let mut h = harness();
    let (_a, victim) = room_of_two(&mut h);
    let stolen = {
        let (ack, _) = call(&mut h, ms(3), victim, "join", &join_json("r", "V", "right"));
        text_of(field(&ack, "token")).to_string()
    };
    call(&mut h, ms(4), victim, "leave", r#"{"sessionId":"r"}"#);
    // Past the room's list of revocations, with the passphrase, each on a fresh connection.
    for n in 0..revocations::REVOKED_PER_ROOM as u64 + 8 {
        let c = h.connect(ms(5));
        join(&mut h, ms(5), c, "r", "churn");
        call(&mut h, ms(5), c, "leave", r#"{"sessionId":"r"}"#);
        h.lose(ms(5), c);
        if n % 128 == 0 || n >= revocations::REVOKED_PER_ROOM as u64 {
            let thief = h.connect(ms(6));
            let (ack, _) = call(&mut h, ms(6), thief, "join", &token_join("r", &stolen));
            assert_eq!(code(&ack), "invalid_request", "after {n} leaves");
            h.lose(ms(6), thief);
        }
    }
}

// ----- a room's name is no lever -----------------------------------------------------------------

/// A connection from 10.0.0.`n`.
pub(super) fn from(h: &mut Harness<ShareThings>, at: Duration, n: u8) -> Client {
    let c = h.connect_from(at, IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)), "");
    h.text(at, c, "40");
    h.sent(c);
    c
}

/// Strangers on `addresses` guess until the room "r" is over its limit.
fn strangers_guess(h: &mut Harness<ShareThings>, at: Duration, addresses: std::ops::Range<u8>) {
    for n in addresses {
        let c = from(h, at, n);
        for _ in 0..config().join_limit_per_address {
            let (ack, _) = call(h, at, c, "join", &join_json("r", "X", "wrong"));
            assert!(
                ["invalid_passphrase", "rate_limited"].contains(&code(&ack)),
                "{}",
                json::to_string(&ack)
            );
        }
        h.lose(at, c);
    }
}

#[test]
fn strangers_guessing_a_rooms_name_do_not_keep_a_new_device_out() {
    let mut h = harness();
    let member = h.connect(ms(0));
    join(&mut h, ms(1), member, "r", "A");
    // The review's B4: enough addresses, each within its own limit, pass the room's limit.
    let per_room = config().join_limit_per_session;
    let per_address = config().join_limit_per_address;
    let attackers = (per_room / per_address + 1) as u8;
    strangers_guess(&mut h, ms(2), 1..1 + attackers);
    let again = from(&mut h, ms(3), 1);
    let (ack, _) = call(&mut h, ms(3), again, "join", &join_json("r", "X", "right"));
    assert_eq!(code(&ack), "rate_limited", "an address that failed waits");

    // A device that never failed gets its try, and the passphrase lets it in.
    let laptop = from(&mut h, ms(4), 100);
    join(&mut h, ms(4), laptop, "r", "Laptop");

    // Fresh tries are bounded too: as many as the room's limit per window.
    strangers_guess(&mut h, ms(5), 120..120 + per_room as u8);
    let phone = from(&mut h, ms(6), 200);
    let (ack, _) = call(
        &mut h,
        ms(6),
        phone,
        "join",
        &join_json("r", "Phone", "right"),
    );
    assert_eq!(
        code(&ack),
        "rate_limited",
        "past the fresh tries everyone waits"
    );

    // An invite from a member skips the room's limit, not its own address's.
    let (ack, _) = call(&mut h, ms(7), member, "invite", r#"{"sessionId":"r"}"#);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    let invite = text_of(field(&ack, "invite")).to_string();
    let with_invite = |name: &str, passphrase: &str| {
        let mut payload = join_json("r", name, passphrase);
        payload.insert_str(1, &format!(r#""invite":"{invite}","#));
        payload
    };
    let (ack, _) = call(&mut h, ms(8), phone, "join", &with_invite("Phone", "right"));
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    let guesser = from(&mut h, ms(9), 201);
    for _ in 0..per_address {
        let (ack, _) = call(&mut h, ms(9), guesser, "join", &with_invite("X", "wrong"));
        assert_eq!(code(&ack), "invalid_passphrase");
    }
    let (ack, _) = call(&mut h, ms(9), guesser, "join", &with_invite("X", "wrong"));
    assert_eq!(
        code(&ack),
        "rate_limited",
        "an invite is no licence to guess"
    );
}

#[test]
fn an_invite_needs_a_member_and_opens_only_its_own_room() {
    let mut h = harness();
    let outsider = h.connect(ms(0));
    let (ack, _) = call(&mut h, ms(1), outsider, "invite", r#"{"sessionId":"r"}"#);
    assert_eq!(code(&ack), "not_joined");
    let a = h.connect(ms(0));
    join(&mut h, ms(1), a, "other", "A");
    let (ack, _) = call(&mut h, ms(2), a, "invite", r#"{"sessionId":"other"}"#);
    let invite = text_of(field(&ack, "invite")).to_string();
    let member = h.connect(ms(0));
    join(&mut h, ms(3), member, "r", "M");
    strangers_guess(&mut h, ms(4), 1..30);
    let c = from(&mut h, ms(5), 100 + 30);
    let mut payload = join_json("r", "C", "right");
    payload.insert_str(1, &format!(r#""invite":"{invite}","#));
    // The fresh tries are used up by now; another room's invite does not help.
    let (ack, _) = call(&mut h, ms(5), c, "join", &payload);
    assert_eq!(code(&ack), "rate_limited");
}
