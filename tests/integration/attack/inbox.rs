//! The inbox: what it keeps of an item and what it answers (the second security review's B1
//! and B2). Anyone may create a session with an inbox, no passphrase needed.

use super::*;

/// A member from the attacker's address that created session `name` with the inbox on.
fn inbox_owner(addr: SocketAddr, name: &str) -> SioClient {
    let mut owner = attacker_member(addr);
    let ack = owner.emit_ack(
        "join",
        &format!(
            r#"{{"sessionId":{},"clientName":"X","fingerprint":{{"v":2,"mac":"pw"}},"inbox":true}}"#,
            quote(name)
        ),
    );
    assert_eq!(ack_code(&ack), "ok");
    assert!(has(&ack, "inbox"), "{}", to_json(&ack));
    owner
}

/// An item's `content` event with ack id `id`, `pad` beside its envelope, and sealed metadata
/// as its one attachment.
fn padded_item(name: &str, id: u64, pad: &str) -> String {
    format!(
        r#"451-{id}["content",{{"sessionId":{},"pad":{pad},"content":{{"contentId":"i{id}","format":2,"totalChunks":1,"iv":"AAAA"}},"data":{{"_placeholder":true,"num":0}}}}]"#,
        quote(name)
    )
}

/// `[item; n]` as JSON text.
fn repeated(item: &str, n: usize) -> String {
    format!("[{}]", vec![item; n].join(","))
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_20_tree_shaped_metadata_is_never_kept_nor_parsed_past_its_cost() {
    let mut server = Server::start(&[]);
    under_held_attack(&mut server, RSS_BOUND_KB, |addr| {
        let owner = inbox_owner(addr, "trees");
        // The review's shapes, about 595 KB each: one-member objects (B1), plain zeros (1b),
        // and nested objects. Each costs far more than 24 times its text once parsed, so the
        // packet is refused before any tree is built, and its connection closed.
        for (shape, pad) in [
            ("objects", repeated(r#"{"":0}"#, 85_000)),
            ("zeros", repeated("0", 262_000)),
            ("nested", repeated(r#"{"a":{"b":[0]}}"#, 37_000)),
        ] {
            for n in 0..4 {
                let mut ws = attacker_joined(addr, "trees");
                let _ = ws.write_all(&client_frame(0x1, padded_item("trees", n, &pad).as_bytes()));
                let _ = ws.write_all(&client_frame(0x2, b"sealed"));
                let (seen, closed) = read_to_close(&mut ws, STEP);
                assert!(closed, "{shape} {n}: the packet closes its connection");
                let seen = String::from_utf8_lossy(&seen);
                assert!(!seen.contains("\"kept\""), "{shape} {n}: no ack: {seen}");
            }
        }
        assert_eq!(gauge(addr, "sharethings_inbox_items"), 0);
        // Metadata that parses cheaply (one long string) is relayed, but only the item's
        // envelope is kept: 56 such items were 33 MB counted, now about 2.3 KB each (the
        // fixed overhead and the envelope).
        let pad = quote(&"x".repeat(595_000));
        let mut member = inbox_owner(addr, "strings");
        for n in 0..56 {
            member.ws.send_text(&padded_item("strings", n, &pad));
            member.ws.send_binary(&[7u8; 64]);
            let ack = member.wait_ack(n);
            assert!(
                bool_of(get(get(&ack, "inbox"), "kept")),
                "{}",
                to_json(&ack)
            );
        }
        let kept = gauge(addr, "sharethings_inbox_bytes");
        eprintln!("56 padded items: {kept} B kept");
        assert!(kept < 56 * 4096, "{kept} B kept for 56 envelopes");
        (owner, member)
    });
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_21_listing_a_full_inbox_to_30_members_that_never_read_queues_no_copies() {
    let mut server = Server::start(&[]);
    under_held_attack(&mut server, RSS_BOUND_KB, |addr| {
        // The owner fills the inbox to its cap (32 MiB) with items of 16 KiB of metadata, the
        // largest it keeps.
        let mut owner = inbox_owner(addr, "amp");
        let meta = vec![3u8; 16 * 1024 - 256];
        let mut kept = 0;
        for n in 0.. {
            owner.ws.send_text(&padded_item("amp", n, "0"));
            owner.ws.send_binary(&meta);
            if !bool_of(get(get(&owner.wait_ack(n), "inbox"), "kept")) {
                break;
            }
            kept += 1;
        }
        eprintln!("inbox full after {kept} items");
        assert!(kept > 1000);
        let received = gauge(addr, "sharethings_events_received_total");
        // 30 members with small receive buffers that never read each ask for the listing 20
        // times: every answer stops at the asker's high-water mark, and queues the kept
        // packets themselves, not copies.
        let listers: Vec<TcpStream> = (0..30)
            .map(|n| {
                let mut ws = attacker_stream(addr).expect("attacker connects");
                let _ = socket2::SockRef::from(&ws).set_recv_buffer_size(4096);
                assert!(raw_websocket(&mut ws));
                let join = format!(r#"420["join",{}]"#, join_payload("amp", "L", "pw"));
                assert!(ws.write_all(&client_frame(0x1, b"40")).is_ok());
                assert!(ws.write_all(&client_frame(0x1, join.as_bytes())).is_ok());
                for k in 0..20 {
                    let list = format!(r#"42{}["inbox-list",{{"sessionId":"amp"}}]"#, n * 100 + k);
                    let _ = ws.write_all(&client_frame(0x1, list.as_bytes()));
                }
                ws
            })
            .collect();
        // In effect once the server has answered every one of their requests.
        let asked = received + 30 * 21;
        assert!(
            wait_until(deadline(Duration::from_secs(20)), || {
                gauge(addr, "sharethings_events_received_total") >= asked
            }),
            "the listings were answered"
        );
        (owner, listers)
    });
    assert!(
        !server.output().contains("passed its cap"),
        "no asker was dropped for what it asked"
    );
}
