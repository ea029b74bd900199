//! What the inbox keeps of an item (its documented envelope, nothing else) and how it answers
//! (page by page, within the asker's queue, saying where to go on), on virtual time.

use miniserde::json::{self, Value};

use super::app_tests::*;
use super::InboxLimits;
use crate::app::tests::{call, field, succeeded, text_of};
use crate::socketio::harness::{engine_config, ms};

#[test]
fn an_item_is_kept_as_its_documented_envelope_and_nothing_else() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let a = h.connect(ms(0));
    let b = h.connect(ms(0));
    let created = create_with_inbox(&mut h, ms(1), a, "r");
    let a_id = text_of(field(&created, "clientId")).to_string();
    join_as(&mut h, ms(2), b, "r", "B");
    h.sent(a);
    // Fields the protocol does not define, anywhere in the payload: relayed as they came to
    // the members online, not kept (the review's B1 kept a 595 KB tree this way).
    h.text(
        ms(3),
        a,
        r#"451-1["content",{"sessionId":"r","pad":[{"":0},{"":0}],"content":{"contentId":"c1","format":2,"totalChunks":1,"iv":"aXY=","extra":{"deep":[1,2,3]}},"data":{"_placeholder":true,"num":0}}]"#,
    );
    h.binary(ms(3), a, &[1u8; 64]);
    let (ack, _) = take_ack(&mut h, a);
    assert!(kept(&ack), "{}", json::to_string(&ack));
    let live = h.sent(b);
    assert!(
        live[0].contains(r#""pad":"#) && live[0].contains(r#""extra":"#),
        "{live:?}"
    );

    let late = h.connect(ms(4));
    join_as(&mut h, ms(5), late, "r", "Late");
    let (_, _, frames) = list_page(&mut h, ms(6), late, r#"{"sessionId":"r"}"#);
    assert_eq!(
        frames[0],
        format!(
            r#"451-["inbox-item",{{"content":{{"contentId":"c1","format":2,"iv":"aXY=","totalChunks":1}},"data":{{"_placeholder":true,"num":0}},"fetchedBy":[],"from":"{a_id}","inbox":true,"sessionId":"r"}}]"#
        )
    );
    assert_eq!(frames[1], "<64 bytes>");

    // Sealed metadata larger than the inbox keeps: relayed, refused with its own code.
    let (ack, _) = send_item(&mut h, ms(7), a, "big", 1, META_BYTES);
    assert!(succeeded(&ack));
    assert_eq!(
        text_of(field(inbox_of(&ack), "code")),
        "inbox_item_too_large"
    );
    let big = format!("<{META_BYTES} bytes>");
    assert!(h.sent(b).contains(&big), "still relayed");
}

#[test]
fn a_listing_goes_page_by_page_and_stops_before_the_askers_queue_passes_its_mark() {
    // Items of 60 KiB of sealed metadata; the harness's send queues hold 1 MiB, so an asker
    // that reads nothing reaches its high-water mark (512 KiB) after about eight of them.
    let mut h = harness_limits(InboxLimits {
        ttl: TTL,
        session_bytes: 8 << 20,
        total_bytes: 8 << 20,
        meta_bytes: 200 * 1024,
    });
    let a = h.connect(ms(0));
    create_with_inbox(&mut h, ms(1), a, "r");
    let all: Vec<String> = (0..16).map(|n| format!("i{n:02}")).collect();
    for id in &all {
        let (ack, _) = send_item(&mut h, ms(2), a, id, 1, 60 * 1024);
        assert!(kept(&ack), "{}", json::to_string(&ack));
    }
    let late = h.connect(ms(3));
    join_as(&mut h, ms(4), late, "r", "Late");
    h.sent(late);
    h.stops_reading(late);

    let (first, next, _) = list_page(&mut h, ms(5), late, r#"{"sessionId":"r","count":3}"#);
    assert_eq!(first, all[..3]);
    let next = next.expect("more to come");
    let go_on = |next: u64| format!(r#"{{"sessionId":"r","from":{next}}}"#);
    let (second, next, _) = list_page(&mut h, ms(6), late, &go_on(next));
    assert!(
        !second.is_empty() && second.len() < 13,
        "stopped at the mark: {second:?}"
    );
    let high_water = engine_config().send_queue_bytes / 2;
    assert!(h.engine.total_queued_bytes() <= high_water + 4096);
    let next = next.expect("the ack says where to go on from");
    let (none, same, _) = list_page(&mut h, ms(7), late, &go_on(next));
    assert!(none.is_empty(), "a full queue gets nothing more");
    assert_eq!(same, Some(next));
    assert!(h.is_open(late), "nobody is disconnected for asking");

    // Once the asker has read what it was sent, it goes on where the ack said, to the end.
    let queued = h.engine.total_queued_bytes();
    h.drained(ms(8), late, queued);
    let mut seen = [first, second].concat();
    let mut cursor = Some(next);
    while let Some(from) = cursor {
        let queued = h.engine.total_queued_bytes();
        h.drained(ms(9), late, queued);
        let (page, next, _) = list_page(&mut h, ms(9), late, &go_on(from));
        seen.extend(page);
        cursor = next;
    }
    assert_eq!(seen, all);
}

#[test]
fn a_fetch_stops_at_its_count_and_says_where_to_go_on() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let (_, b) = room_with_one_item(&mut h);
    let (ack, frames) = call(
        &mut h,
        ms(10),
        b,
        "inbox-fetch",
        r#"{"sessionId":"r","contentId":"c1","count":1}"#,
    );
    assert_eq!(number(field(&ack, "sent")), 1);
    assert_eq!(number(field(&ack, "next")), 1);
    assert!(frames[0].contains(r#""chunkIndex":0"#), "{frames:?}");
    let (ack, _) = call(
        &mut h,
        ms(11),
        b,
        "inbox-fetch",
        r#"{"sessionId":"r","contentId":"c1","fromChunk":1}"#,
    );
    assert_eq!(number(field(&ack, "sent")), 1);
    assert!(matches!(field(&ack, "next"), Value::Null), "the last one");
}

#[test]
fn a_v3_item_is_kept_with_its_sender_counter_and_signature_each_of_its_documented_type() {
    use crate::app::tests::v3::{challenge, v3_join, v3_join_json, KEY};
    let mut h = harness_with(1 << 20, 1 << 21);
    let (a, late) = (h.connect(ms(0)), h.connect(ms(0)));
    let nonce = challenge(&mut h, ms(1), a);
    let mut create = v3_join_json("r", &KEY, &nonce);
    create.insert_str(1, r#""inbox":true,"#);
    let (ack, _) = call(&mut h, ms(1), a, "join", &create);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    let by = "A".repeat(43);
    let sig = "S".repeat(86) + "==";
    let item = |id: &str, seq: &str, sig: &str| {
        format!(
            r#"451-1["content",{{"sessionId":"r","content":{{"contentId":"{id}","format":3,"totalChunks":1,"iv":"aXY=","by":"{by}","seq":{seq},"sig":"{sig}"}},"data":{{"_placeholder":true,"num":0}}}}]"#
        )
    };
    let id = "0123456789abcdef0123456789abcdef";
    // As sent, and with a counter and a signature that are not of their documented type.
    for (id, seq, sig) in [
        (id, "7", sig.as_str()),
        ("c2", "-1", sig.as_str()),
        ("c3", "1.5", &"S".repeat(129)),
    ] {
        h.text(ms(2), a, &item(id, seq, sig));
        h.binary(ms(2), a, &[1u8; 32]);
        let (ack, _) = take_ack(&mut h, a);
        assert!(kept(&ack), "{}", json::to_string(&ack));
    }
    // An id longer than any client makes is relayed, not kept.
    h.text(ms(3), a, &item(&"x".repeat(65), "8", &sig));
    h.binary(ms(3), a, &[1u8; 32]);
    let (ack, _) = take_ack(&mut h, a);
    assert!(
        matches!(inbox_of(&ack), Value::Null),
        "{}",
        json::to_string(&ack)
    );

    v3_join(&mut h, ms(4), late, "r");
    let (_, _, frames) = list_page(&mut h, ms(5), late, r#"{"sessionId":"r"}"#);
    let envelope = |frame: &str| {
        let args = frame.strip_prefix("451-").expect("a binary event");
        let Ok(Value::Array(args)) = json::from_str::<Value>(args) else {
            panic!("{frame}");
        };
        json::to_string(field(&args[1], "content"))
    };
    assert_eq!(
        envelope(&frames[0]),
        format!(
            r#"{{"by":"{by}","contentId":"{id}","format":3,"iv":"aXY=","seq":7,"sig":"{sig}","totalChunks":1}}"#
        )
    );
    assert_eq!(
        envelope(&frames[2]),
        format!(
            r#"{{"by":"{by}","contentId":"c2","format":3,"iv":"aXY=","sig":"{sig}","totalChunks":1}}"#
        ),
        "a negative counter is not kept"
    );
    assert_eq!(
        envelope(&frames[4]),
        format!(r#"{{"by":"{by}","contentId":"c3","format":3,"iv":"aXY=","totalChunks":1}}"#),
        "nor a fractional counter, nor a signature longer than any"
    );
}
