//! The opt-in inbox against the real server: a device joining after the sender left gets the
//! same bytes, `/metrics` counts them, `INBOX_TTL` expires them, caps refuse with a typed code;
//! and a Web Share Target POST that reaches the server is sent to the app.

use crate::common::*;
use miniserde::json::Value;

fn join(client: &mut SioClient, name: &str, inbox: bool) -> Value {
    let ack = client.emit_ack(
        "join",
        &format!(
            r#"{{"sessionId":"inbox","clientName":{},"fingerprint":{{"v":2,"mac":"m"}},"inbox":{inbox}}}"#,
            quote(name)
        ),
    );
    assert!(bool_of(get(&ack, "success")), "{}", to_json(&ack));
    ack
}

/// Emits a binary event with ack `id` and one attachment; returns the ack.
fn emit_binary(client: &mut SioClient, id: u64, event: &str, json: &str, data: &[u8]) -> Value {
    client
        .ws
        .send_text(&format!("451-{id}[{},{json}]", quote(event)));
    client.ws.send_binary(data);
    client.wait_ack(id)
}

fn send_item(client: &mut SioClient, meta: &[u8], chunks: &[Vec<u8>]) -> Vec<Value> {
    let total = chunks.len();
    let mut acks = vec![emit_binary(
        client,
        100,
        "content",
        &format!(
            r#"{{"sessionId":"inbox","content":{{"contentId":"item","format":2,"totalChunks":{total},"iv":"aXY="}},"data":{{"_placeholder":true,"num":0}}}}"#
        ),
        meta,
    )];
    for (index, chunk) in chunks.iter().enumerate() {
        acks.push(emit_binary(
            client,
            101 + index as u64,
            "chunk",
            &format!(
                r#"{{"sessionId":"inbox","chunk":{{"contentId":"item","chunkIndex":{index},"totalChunks":{total},"iv":"aXY=","encryptedData":{{"_placeholder":true,"num":0}}}}}}"#
            ),
            chunk,
        ));
    }
    acks
}

/// Reads one binary event (its text, then its one attachment): (name, payload, bytes).
fn read_binary_event(client: &mut SioClient) -> (String, Value, Vec<u8>) {
    let text = client.ws.expect_text();
    let packet = decode_sio(&text).unwrap_or_else(|| panic!("not socket.io: {text}"));
    assert_eq!(
        packet.kind,
        PacketKind::BinaryEvent,
        "a binary event: {text}"
    );
    let args = packet.data.expect("args");
    let name = str_of(&arr(&args)[0]).to_string();
    (name, arr(&args)[1].clone(), client.ws.expect_binary())
}

fn read_ack(client: &mut SioClient, id: u64) -> Value {
    let text = client.ws.expect_text();
    let packet = decode_sio(&text).unwrap_or_else(|| panic!("not socket.io: {text}"));
    assert_eq!(
        (packet.kind, packet.id),
        (PacketKind::Ack, Some(id)),
        "the ack: {text}"
    );
    arr(&packet.data.expect("ack data"))[0].clone()
}

#[test]
fn a_device_joining_after_the_sender_left_gets_the_same_bytes_until_the_ttl() {
    let server = Server::start(&["--inbox-ttl", "3000"]);
    let meta: Vec<u8> = (0..200u32).map(|i| (i * 7) as u8).collect();
    let chunks: Vec<Vec<u8>> = (0..3u32)
        .map(|c| (0..5000u32).map(|i| (i * 31 + c) as u8).collect())
        .collect();

    let mut sender = SioClient::connect(server.addr());
    let ack = join(&mut sender, "Sender", true);
    assert_eq!(num(get(get(&ack, "inbox"), "ttlMs")), 3000);
    let acks = send_item(&mut sender, &meta, &chunks);
    assert!(
        bool_of(get(get(&acks[0], "inbox"), "kept")),
        "{}",
        to_json(&acks[0])
    );
    sender.emit_ack("leave", r#"{"sessionId":"inbox"}"#);
    sender.close_cleanly();
    assert_eq!(server.metric("sharethings_inbox_items"), 1);
    assert!(server.metric("sharethings_inbox_bytes") > 15_200);

    let mut late = SioClient::connect(server.addr());
    let ack = join(&mut late, "Late", false);
    assert!(
        has(&ack, "inbox"),
        "every member is told: {}",
        to_json(&ack)
    );
    late.ws
        .send_text(r#"427["inbox-list",{"sessionId":"inbox"}]"#);
    let (name, item, got_meta) = read_binary_event(&mut late);
    assert_eq!(name, "inbox-item");
    assert_eq!(str_of(get(get(&item, "content"), "contentId")), "item");
    assert_eq!(got_meta, meta, "the sealed metadata, byte for byte");
    let listed = read_ack(&mut late, 7);
    let items = arr(get(&listed, "items"));
    assert_eq!(items.len(), 1, "{}", to_json(&listed));
    assert_eq!(str_of(get(&items[0], "contentId")), "item");
    assert!(num(get(&items[0], "expiresInMs")) <= 3000);
    assert!(!has(&listed, "next"), "one page holds it");

    late.ws
        .send_text(r#"428["inbox-fetch",{"sessionId":"inbox","contentId":"item"}]"#);
    for (index, expected) in chunks.iter().enumerate() {
        let (name, chunk, bytes) = read_binary_event(&mut late);
        assert_eq!(name, "chunk");
        assert_eq!(num(get(get(&chunk, "chunk"), "chunkIndex")), index as u64);
        assert_eq!(&bytes, expected, "chunk {index}, byte for byte");
    }
    assert_eq!(num(get(&read_ack(&mut late, 8), "sent")), 3);

    // INBOX_TTL later the item is gone, and every member is told.
    let removed = late.expect_event("inbox-removed");
    assert_eq!(str_of(get(&removed, "reason")), "expired");
    assert_eq!(server.metric("sharethings_inbox_items"), 0);
    assert_eq!(server.metric("sharethings_inbox_bytes"), 0);
    let ack = late.emit_ack("inbox-fetch", r#"{"sessionId":"inbox","contentId":"item"}"#);
    assert_eq!(str_of(get(&ack, "code")), "not_in_inbox");
}

#[test]
fn past_the_session_cap_an_item_is_relayed_but_refused_with_inbox_full() {
    let server = Server::start(&["--inbox-bytes", "12000"]);
    let mut sender = SioClient::connect(server.addr());
    let mut online = SioClient::connect(server.addr());
    join(&mut sender, "Sender", true);
    join(&mut online, "Online", false);
    sender.sync();
    let chunks = vec![vec![1u8; 5000], vec![2u8; 5000]];
    let acks = send_item(&mut sender, &[9u8; 50], &chunks);
    assert!(bool_of(get(&acks[1], "success")) && !has(&acks[1], "inbox"));
    let refused = get(&acks[2], "inbox");
    assert!(bool_of(get(&acks[2], "success")), "the relay went on");
    assert_eq!(str_of(get(refused, "code")), "inbox_full");
    assert!(!bool_of(get(refused, "kept")));
    // The member online got the whole item all the same.
    for expected in std::iter::once(vec![9u8; 50]).chain(chunks) {
        let (_, _, bytes) = read_binary_event(&mut online);
        assert_eq!(bytes, expected);
    }
    assert_eq!(
        str_of(get(&online.expect_event("inbox-removed"), "reason")),
        "full"
    );
    assert_eq!(server.metric("sharethings_inbox_items"), 0);
}

#[test]
fn a_share_target_post_without_a_service_worker_is_sent_to_the_app() {
    let server = Server::start(&[]);
    let res = http(
        server.addr(),
        "POST",
        "/share-target",
        &[("Content-Type", "multipart/form-data; boundary=x")],
        b"--x\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhello\r\n--x--\r\n",
    );
    assert_eq!(res.status, 303);
    assert_eq!(res.header("Location"), Some("/"));
}
