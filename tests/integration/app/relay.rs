//! `from` stamps, `to` unicast, binary attachments, clear and remove.

use super::*;

#[test]
fn content_is_relayed_to_the_others_only_and_stamped_with_from() {
    let server = Server::start(&[]);
    let (mut a, mut b, mut c) = trio(&server);
    let ack = a.emit_ack(
        "content",
        r#"{"sessionId":"trio","content":{"id":"c1","kind":"text","blob":"xyz"},"from":"forged"}"#,
    );
    assert_success(&ack);
    for receiver in [&mut b, &mut c] {
        let got = receiver.expect_event("content");
        assert_eq!(str_of(get(&got, "from")), a.id, "server stamps from");
        assert_eq!(str_of(get(&got, "sessionId")), "trio");
        assert_eq!(
            to_json(get(&got, "content")),
            r#"{"blob":"xyz","id":"c1","kind":"text"}"#
        );
        receiver.assert_no_events();
    }
    a.assert_no_events();

    // Without an ack too.
    b.emit("content", r#"{"sessionId":"trio","content":"no ack"}"#);
    assert_eq!(str_of(get(&a.expect_event("content"), "from")), b.id);
    assert_eq!(str_of(get(&c.expect_event("content"), "from")), b.id);
    b.assert_no_events();
}

#[test]
fn to_reaches_only_its_target() {
    let server = Server::start(&[]);
    let (mut a, mut b, mut c) = trio(&server);
    let payload = format!(
        r#"{{"sessionId":"trio","content":"for bob","to":{}}}"#,
        quote(&b.id)
    );
    assert_success(&a.emit_ack("content", &payload));
    let got = b.expect_event("content");
    assert_eq!(str_of(get(&got, "from")), a.id);
    assert_eq!(str_of(get(&got, "to")), b.id, "to is kept as written");
    c.assert_no_events();
    a.assert_no_events();

    // A `to` that is not a member: refused, nothing sent.
    let ack = a.emit_ack(
        "content",
        r#"{"sessionId":"trio","content":"x","to":"AAAAAAAAAAAAAAAAAAAA"}"#,
    );
    assert_failure(&ack, "invalid_request");
    b.assert_no_events();
    c.assert_no_events();
}

#[test]
fn chunks_with_binary_attachments_are_relayed_as_binary() {
    let server = Server::start(&[]);
    let (mut a, mut b, mut c) = trio(&server);
    a.ws.send_text(
        r#"451-7["chunk",{"sessionId":"trio","chunk":{"contentId":"f1","chunkIndex":0,"totalChunks":1,"encryptedData":{"_placeholder":true,"num":0},"iv":[1,2]}}]"#,
    );
    let bytes: Vec<u8> = (0..=255).collect();
    a.ws.send_binary(&bytes);
    assert_success(&a.wait_ack(7));
    for receiver in [&mut b, &mut c] {
        let text = receiver.ws.expect_text();
        let packet = decode_sio(&text).expect("socket.io packet");
        assert_eq!(
            packet.kind,
            PacketKind::BinaryEvent,
            "a binary event: {text}"
        );
        assert!(text.starts_with("451-[\"chunk\""), "{text}");
        let args = packet.data.expect("args");
        let chunk = get(&arr(&args)[1], "chunk");
        assert_eq!(
            to_json(get(chunk, "encryptedData")),
            r#"{"_placeholder":true,"num":0}"#
        );
        assert_eq!(str_of(get(&arr(&args)[1], "from")), a.id);
        assert_eq!(receiver.ws.expect_binary(), bytes);
    }
}

#[test]
fn clear_all_reaches_everyone_and_remove_reaches_the_others() {
    let server = Server::start(&[]);
    let (mut a, mut b, mut c) = trio(&server);
    assert_success(&a.emit_ack("clear-all-content", r#"{"sessionId":"trio"}"#));
    let ann = a.id.clone();
    for member in [&mut a, &mut b, &mut c] {
        let got = member.expect_event("all-content-cleared");
        assert_eq!(str_of(get(&got, "from")), ann);
    }
    assert_success(&b.emit_ack("remove-content", r#"{"sessionId":"trio","contentId":"c9"}"#));
    for member in [&mut a, &mut c] {
        let got = member.expect_event("content-removed");
        assert_eq!(str_of(get(&got, "contentId")), "c9");
        assert_eq!(str_of(get(&got, "from")), b.id);
    }
    b.assert_no_events();
}
