//! The inbox through ShareThings events on virtual time: turned on by the creator only, fed
//! by relays to everyone, listed and fetched by late joiners, deleted, cleared, expired by
//! its timer (keeping its session alive until then), refused with typed codes past its caps
//! while the live relay goes on, and given away last when the session arena is full. What is
//! kept of an item and how the inbox answers are in `answer_tests.rs`.

use std::sync::Arc;

use miniserde::json::{self, Value};

use super::InboxLimits;
use crate::app::tests::{call, code, config, field, join_json, succeeded, text_of};
use crate::app::*;
use crate::socketio::harness::{ms, Client, Harness};

pub(super) const TTL: Duration = Duration::from_secs(3600);
pub(super) const META_BYTES: usize = 16 * 1024;

pub(super) fn harness_with(session_bytes: usize, total_bytes: usize) -> Harness<ShareThings> {
    harness_limits(InboxLimits {
        ttl: TTL,
        session_bytes,
        total_bytes,
        meta_bytes: META_BYTES,
    })
}

pub(super) fn harness_limits(limits: InboxLimits) -> Harness<ShareThings> {
    let mut config = config();
    config.inbox = limits;
    let app = ShareThings::new(
        config,
        [9; 32],
        Instant::now(),
        Arc::new(Metrics::default()),
    );
    Harness::new(app)
}

pub(super) fn create_with_inbox(
    h: &mut Harness<ShareThings>,
    at: Duration,
    c: Client,
    session: &str,
) -> Value {
    let mut payload = join_json(session, "A", "right");
    payload.insert_str(1, r#""inbox":true,"#);
    let (ack, _) = call(h, at, c, "join", &payload);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    ack
}

pub(super) fn join_as(
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

/// Sends an item's sealed metadata (`meta_bytes` of binary `data`) with ack id 1; returns the
/// ack and the other frames the sender got.
pub(super) fn send_item(
    h: &mut Harness<ShareThings>,
    at: Duration,
    c: Client,
    id: &str,
    total: u64,
    meta_bytes: usize,
) -> (Value, Vec<String>) {
    h.text(
        at,
        c,
        &format!(
            r#"451-1["content",{{"sessionId":"r","content":{{"contentId":"{id}","format":2,"totalChunks":{total},"iv":"aXY="}},"data":{{"_placeholder":true,"num":0}}}}]"#
        ),
    );
    h.binary(at, c, &vec![1u8; meta_bytes]);
    take_ack(h, c)
}

fn send_chunk(
    h: &mut Harness<ShareThings>,
    at: Duration,
    c: Client,
    id: &str,
    index: u64,
    total: u64,
    bytes: usize,
) -> (Value, Vec<String>) {
    h.text(
        at,
        c,
        &format!(
            r#"451-1["chunk",{{"sessionId":"r","chunk":{{"contentId":"{id}","chunkIndex":{index},"totalChunks":{total},"iv":"aXY=","encryptedData":{{"_placeholder":true,"num":0}}}}}}]"#
        ),
    );
    h.binary(at, c, &vec![2u8; bytes]);
    take_ack(h, c)
}

pub(super) fn take_ack(h: &mut Harness<ShareThings>, c: Client) -> (Value, Vec<String>) {
    let mut ack = None;
    let mut other = Vec::new();
    for frame in h.sent(c) {
        match frame.strip_prefix("431") {
            Some(args) => match json::from_str::<Value>(args) {
                Ok(Value::Array(mut args)) => ack = Some(args.remove(0)),
                _ => panic!("ack args: {args}"),
            },
            None => other.push(frame),
        }
    }
    (ack.expect("an ack"), other)
}

pub(super) fn inbox_of(ack: &Value) -> &Value {
    field(ack, "inbox")
}

fn no_inbox(ack: &Value) -> bool {
    matches!(inbox_of(ack), Value::Null)
}

pub(super) fn kept(ack: &Value) -> bool {
    matches!(field(inbox_of(ack), "kept"), Value::Bool(true))
}

pub(super) fn number(value: &Value) -> u64 {
    match value {
        Value::Number(json::Number::U64(n)) => *n,
        _ => panic!("not a number: {}", json::to_string(value)),
    }
}

/// One `inbox-list` from `from`: the listed items' ids, the cursor to go on from, and the
/// frames sent before the ack.
pub(super) fn list_page(
    h: &mut Harness<ShareThings>,
    at: Duration,
    c: Client,
    request: &str,
) -> (Vec<String>, Option<u64>, Vec<String>) {
    let (ack, frames) = call(h, at, c, "inbox-list", request);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    let Value::Array(items) = field(&ack, "items") else {
        panic!("items is a list: {}", json::to_string(&ack));
    };
    let ids = items
        .iter()
        .map(|item| text_of(field(item, "contentId")).to_string())
        .collect();
    let next = match field(&ack, "next") {
        Value::Null => None,
        next => Some(number(next)),
    };
    (ids, next, frames)
}

fn list(h: &mut Harness<ShareThings>, at: Duration, c: Client) -> (u64, Vec<String>) {
    let (ids, next, frames) = list_page(h, at, c, r#"{"sessionId":"r"}"#);
    assert_eq!(next, None, "one page holds everything here");
    (ids.len() as u64, frames)
}

/// A creates "r" with the inbox on and sends item `c1` (2 chunks) while B is there.
pub(super) fn room_with_one_item(h: &mut Harness<ShareThings>) -> (Client, Client) {
    let a = h.connect(ms(0));
    let b = h.connect(ms(0));
    create_with_inbox(h, ms(1), a, "r");
    join_as(h, ms(2), b, "r", "B");
    h.sent(a);
    let (ack, _) = send_item(h, ms(3), a, "c1", 2, 100);
    assert!(kept(&ack), "{}", json::to_string(&ack));
    for index in 0..2 {
        let (ack, _) = send_chunk(h, ms(4), a, "c1", index, 2, 1000);
        assert!(succeeded(&ack) && no_inbox(&ack));
    }
    let live = h.sent(b);
    assert!(
        live[0].starts_with(r#"451-["content",{"#) && live[0].contains(r#""inbox":true"#),
        "members online see that the item is kept: {live:?}"
    );
    (a, b)
}

#[test]
fn only_the_creating_join_turns_the_inbox_on_and_every_member_is_told() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let a = h.connect(ms(0));
    let b = h.connect(ms(0));
    let created = create_with_inbox(&mut h, ms(1), a, "r");
    assert_eq!(number(field(inbox_of(&created), "ttlMs")), 3_600_000);
    assert_eq!(number(field(inbox_of(&created), "maxBytes")), 1 << 20);
    let joined = join_as(&mut h, ms(2), b, "r", "B");
    assert_eq!(number(field(inbox_of(&joined), "ttlMs")), 3_600_000);

    // Asking for one when joining a session that exists without one changes nothing.
    let c = h.connect(ms(0));
    let d = h.connect(ms(0));
    join_as(&mut h, ms(3), c, "plain", "C");
    let mut late = join_json("plain", "D", "right");
    late.insert_str(1, r#""inbox":true,"#);
    let (ack, _) = call(&mut h, ms(4), d, "join", &late);
    assert!(succeeded(&ack) && no_inbox(&ack));
    let (ack, _) = call(&mut h, ms(5), d, "inbox-list", r#"{"sessionId":"plain"}"#);
    assert_eq!(code(&ack), "invalid_request");

    // A server with inboxes off offers none.
    let mut off = harness_with(1 << 20, 0);
    let e = off.connect(ms(0));
    let ack = create_with_inbox(&mut off, ms(1), e, "r");
    assert!(no_inbox(&ack));
}

#[test]
fn a_device_joining_after_the_sender_left_lists_and_fetches_the_same_envelopes() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let (a, b) = room_with_one_item(&mut h);
    call(&mut h, ms(10), a, "leave", r#"{"sessionId":"r"}"#);
    call(&mut h, ms(11), b, "leave", r#"{"sessionId":"r"}"#);

    let late = h.connect(ms(20));
    join_as(&mut h, ms(21), late, "r", "Late");
    let (ack, frames) = call(&mut h, ms(22), late, "inbox-list", r#"{"sessionId":"r"}"#);
    assert!(
        frames[0].starts_with(r#"451-["inbox-item",{"#),
        "{frames:?}"
    );
    assert!(frames[0].contains(r#""contentId":"c1""#) && frames[0].contains(r#""from":""#));
    assert_eq!(
        frames[1], "<100 bytes>",
        "the sealed metadata as it was sent"
    );
    let Value::Array(items) = field(&ack, "items") else {
        panic!("{}", json::to_string(&ack));
    };
    assert_eq!(items.len(), 1);
    assert_eq!(text_of(field(&items[0], "contentId")), "c1");
    assert_eq!(number(field(&items[0], "expiresInMs")), 3_600_000 - 19);

    let (ack, frames) = call(
        &mut h,
        ms(23),
        late,
        "inbox-fetch",
        r#"{"sessionId":"r","contentId":"c1","fromChunk":1}"#,
    );
    assert_eq!(number(field(&ack, "sent")), 1);
    assert!(frames[0].contains(r#""chunkIndex":1"#), "{frames:?}");
    assert_eq!(frames[1], "<1000 bytes>");
    let (ack, frames) = call(
        &mut h,
        ms(24),
        late,
        "inbox-fetch",
        r#"{"sessionId":"r","contentId":"c1"}"#,
    );
    assert_eq!(number(field(&ack, "sent")), 2);
    assert_eq!(frames.len(), 4);
    let (ack, _) = call(
        &mut h,
        ms(25),
        late,
        "inbox-fetch",
        r#"{"sessionId":"r","contentId":"nope"}"#,
    );
    assert_eq!(code(&ack), "not_in_inbox");
}

#[test]
fn items_expire_after_the_ttl_and_keep_their_empty_session_alive_until_then() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let (a, b) = room_with_one_item(&mut h);
    call(&mut h, ms(10), b, "leave", r#"{"sessionId":"r"}"#);
    call(&mut h, ms(10), a, "leave", r#"{"sessionId":"r"}"#);
    // Long past SESSION_TIMEOUT, the session and its item are still there.
    h.expire(config().room_timeout * 2);
    let late = h.connect(config().room_timeout * 2);
    join_as(&mut h, config().room_timeout * 2 + ms(1), late, "r", "Late");
    assert_eq!(list(&mut h, config().room_timeout * 2 + ms(2), late).0, 1);

    h.expire(ms(3) + TTL - ms(1));
    assert!(h.sent(late).is_empty());
    // The loop's timer ticks are 5 ms: the deadline fires on the next tick.
    h.expire(ms(5) + TTL);
    let told = h.sent(late);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].starts_with(r#"42["inbox-removed",{"#) && told[0].contains(r#""reason":"expired""#)
    );
    assert_eq!(list(&mut h, TTL + ms(10), late).0, 0);

    // Once it keeps nothing, an empty session expires as any other.
    call(&mut h, TTL + ms(20), late, "leave", r#"{"sessionId":"r"}"#);
    h.expire(TTL + ms(20) + config().room_timeout);
    let again = h.connect(TTL * 2);
    let ack = join_as(&mut h, TTL * 2 + ms(1), again, "r", "Again");
    assert!(matches!(field(&ack, "created"), Value::Bool(true)));
    assert!(no_inbox(&ack), "a new incarnation, without the inbox");
}

#[test]
fn an_empty_session_whose_last_item_expires_goes_at_once() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let (a, b) = room_with_one_item(&mut h);
    call(&mut h, ms(10), b, "leave", r#"{"sessionId":"r"}"#);
    call(&mut h, ms(10), a, "leave", r#"{"sessionId":"r"}"#);
    h.expire(ms(5) + TTL);
    let c = h.connect(ms(5) + TTL);
    let ack = join_as(&mut h, ms(6) + TTL, c, "r", "C");
    assert!(matches!(field(&ack, "created"), Value::Bool(true)));
}

#[test]
fn past_the_session_cap_the_item_is_refused_with_a_code_and_still_relayed() {
    let mut h = harness_with(7500, 1 << 21);
    let a = h.connect(ms(0));
    let b = h.connect(ms(0));
    create_with_inbox(&mut h, ms(1), a, "r");
    join_as(&mut h, ms(2), b, "r", "B");
    h.sent(a);
    let (ack, _) = send_item(&mut h, ms(3), a, "big", 3, 100);
    assert!(kept(&ack));
    send_chunk(&mut h, ms(4), a, "big", 0, 3, 1500);
    h.sent(b);
    let (ack, others) = send_chunk(&mut h, ms(5), a, "big", 1, 3, 1500);
    assert!(succeeded(&ack), "the relay itself succeeded");
    assert!(!kept(&ack));
    assert_eq!(text_of(field(inbox_of(&ack), "code")), "inbox_full");
    assert!(!text_of(field(inbox_of(&ack), "error")).is_empty());
    assert!(others[0].contains(r#""reason":"full""#), "{others:?}");
    let live = h.sent(b);
    assert!(
        live.iter().any(|f| f.contains(r#""reason":"full""#)),
        "{live:?}"
    );
    assert!(
        live.iter().any(|f| f == "<1500 bytes>"),
        "the chunk still reached B: {live:?}"
    );

    // A later item that fits is kept again; one too big for what is left is refused at once.
    let (ack, _) = send_item(&mut h, ms(6), a, "next", 1, 100);
    assert!(kept(&ack));
    let (ack, _) = send_item(&mut h, ms(7), a, "huge", 1, 3500);
    assert_eq!(text_of(field(inbox_of(&ack), "code")), "inbox_full");
    let live = h.sent(b);
    let huge = live.iter().find(|f| f.contains(r#""contentId":"huge""#));
    assert!(
        huge.is_some_and(|f| !f.contains(r#""inbox":true"#)),
        "relayed, not marked as kept: {live:?}"
    );
}

#[test]
fn past_the_process_cap_the_code_says_the_server_is_full() {
    let mut h = harness_with(1 << 20, 5000);
    let a = h.connect(ms(0));
    create_with_inbox(&mut h, ms(1), a, "r");
    let (ack, _) = send_item(&mut h, ms(2), a, "a", 1, 1500);
    assert!(kept(&ack));
    let (ack, _) = send_item(&mut h, ms(3), a, "b", 1, 1500);
    assert_eq!(text_of(field(inbox_of(&ack), "code")), "server_inbox_full");
    assert_eq!(h.layer.app.held_bytes(), h.layer.app.inboxes.used_bytes());
    assert!(
        h.layer.app.held_bytes() > 1500,
        "the memory budget counts what the inbox keeps"
    );
}

#[test]
fn any_member_deletes_an_item_and_every_member_is_told() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let (a, b) = room_with_one_item(&mut h);
    let (ack, _) = call(
        &mut h,
        ms(10),
        b,
        "inbox-delete",
        r#"{"sessionId":"r","contentId":"c1"}"#,
    );
    assert!(succeeded(&ack));
    let told = h.sent(a);
    assert!(
        told[0].starts_with(r#"42["inbox-removed",{"#) && told[0].contains(r#""reason":"deleted""#)
    );
    let (ack, _) = call(
        &mut h,
        ms(11),
        b,
        "inbox-delete",
        r#"{"sessionId":"r","contentId":"c1"}"#,
    );
    assert_eq!(code(&ack), "not_in_inbox");
    assert_eq!(list(&mut h, ms(12), b).0, 0);
    assert_eq!(h.layer.app.inboxes.used_bytes(), 0);
    let outsider = h.connect(ms(0));
    let (ack, _) = call(
        &mut h,
        ms(13),
        outsider,
        "inbox-delete",
        r#"{"sessionId":"r","contentId":"c1"}"#,
    );
    assert_eq!(code(&ack), "not_joined");
}

#[test]
fn clearing_the_session_empties_its_inbox() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let (a, b) = room_with_one_item(&mut h);
    let (ack, _) = call(
        &mut h,
        ms(10),
        a,
        "clear-all-content",
        r#"{"sessionId":"r"}"#,
    );
    assert!(succeeded(&ack));
    assert_eq!(list(&mut h, ms(11), b).0, 0);
    assert_eq!(h.layer.app.metrics.inbox_items.load(Ordering::Relaxed), 0);
}

#[test]
fn what_goes_to_one_member_and_control_messages_are_not_kept_nor_can_a_client_fake_the_mark() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let a = h.connect(ms(0));
    let b = h.connect(ms(0));
    create_with_inbox(&mut h, ms(1), a, "r");
    let b_ack = join_as(&mut h, ms(2), b, "r", "B");
    let b_id = text_of(field(&b_ack, "clientId")).to_string();
    h.sent(a);
    let (ack, _) = call(
        &mut h,
        ms(3),
        a,
        "content",
        &format!(
            r#"{{"sessionId":"r","to":"{b_id}","content":{{"contentId":"x","totalChunks":1}}}}"#
        ),
    );
    assert!(no_inbox(&ack), "an offer to one member is not kept");
    let (ack, _) = call(
        &mut h,
        ms(4),
        a,
        "content",
        r#"{"sessionId":"r","content":{"contentId":"ctl","totalChunks":0}}"#,
    );
    assert!(no_inbox(&ack), "a control message is not kept");
    assert_eq!(list(&mut h, ms(5), a).0, 0);

    let c = h.connect(ms(0));
    let d = h.connect(ms(0));
    join_as(&mut h, ms(6), c, "plain", "C");
    join_as(&mut h, ms(7), d, "plain", "D");
    h.sent(d);
    call(
        &mut h,
        ms(8),
        c,
        "content",
        r#"{"sessionId":"plain","inbox":true,"content":{"contentId":"y","totalChunks":1}}"#,
    );
    let got = h.sent(d);
    assert!(!got[0].contains("inbox"), "{got:?}");
}

#[test]
fn a_full_arena_gives_away_plain_empty_sessions_before_those_keeping_items() {
    let mut h = harness_with(1 << 20, 1 << 21);
    // Room "r" keeps an item and empties first; then three plain rooms empty after it.
    let (a, b) = room_with_one_item(&mut h);
    call(&mut h, ms(10), b, "leave", r#"{"sessionId":"r"}"#);
    call(&mut h, ms(10), a, "leave", r#"{"sessionId":"r"}"#);
    for (n, name) in ["p1", "p2", "p3"].iter().enumerate() {
        let c = h.connect(ms(20));
        join_as(&mut h, ms(21 + n as u64), c, name, "P");
        call(
            &mut h,
            ms(30 + n as u64),
            c,
            "leave",
            &format!(r#"{{"sessionId":"{name}"}}"#),
        );
    }
    assert_eq!(h.layer.app.rooms.len(), config().max_rooms);
    // Three new sessions take the plain rooms' places, oldest empty first.
    for (n, name) in ["n1", "n2", "n3"].iter().enumerate() {
        let c = h.connect(ms(40));
        join_as(&mut h, ms(41 + n as u64), c, name, "N");
    }
    assert!(
        h.layer.app.rooms.named("r").is_some(),
        "the inbox's session was kept"
    );
    assert!(h.layer.app.rooms.named("p1").is_none());
    assert_eq!(h.layer.app.inboxes.item_count(), 1);
    // The next one finds only "r" empty: it gives way, its inbox with it.
    let c = h.connect(ms(50));
    join_as(&mut h, ms(51), c, "n4", "N");
    assert!(h.layer.app.rooms.named("r").is_none());
    assert_eq!(h.layer.app.inboxes.item_count(), 0);
    assert_eq!(h.layer.app.inboxes.used_bytes(), 0);
}
