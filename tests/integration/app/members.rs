//! Joins, acks, announcements, leave and disconnect.

use super::*;

#[test]
fn three_members_join_with_member_lists_and_created_flags() {
    let server = Server::start(&[]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    let mut c = SioClient::connect(server.addr());

    let ack = join(&mut a, "trio", "Ann", "pw");
    assert!(bool_of(get(&ack, "created")));
    assert_eq!(
        str_of(get(&ack, "clientId")),
        a.id,
        "clientId is the socket id"
    );
    assert!(!str_of(get(&ack, "token")).is_empty());
    assert_eq!(members(&ack), [(a.id.clone(), "Ann".to_string())]);

    let ack = join(&mut b, "trio", "  Bob  ", "pw");
    assert!(!bool_of(get(&ack, "created")));
    assert_eq!(str_of(get(&ack, "clientId")), b.id);
    let mut list = members(&ack);
    list.sort();
    let mut expected = vec![(a.id.clone(), "Ann".into()), (b.id.clone(), "Bob".into())];
    expected.sort();
    assert_eq!(list, expected, "names are trimmed");
    let joined = a.expect_event("client-joined");
    assert_member_event(&joined, "trio", &b, "Bob");

    let ack = join(&mut c, "trio", "Cat", "pw");
    assert!(!bool_of(get(&ack, "created")));
    assert_eq!(members(&ack).len(), 3);
    assert_member_event(&a.expect_event("client-joined"), "trio", &c, "Cat");
    assert_member_event(&b.expect_event("client-joined"), "trio", &c, "Cat");
    // Nobody is told about themselves.
    a.assert_no_events();
    b.assert_no_events();
    c.assert_no_events();
}

#[test]
fn leave_and_clean_disconnects_announce_client_left_with_the_name() {
    let server = Server::start(&[]);
    let (mut a, mut b, c) = trio(&server);
    let ack = b.emit_ack("leave", r#"{"sessionId":"trio"}"#);
    assert_success(&ack);
    assert_member_event(&a.expect_event("client-left"), "trio", &b, "Bob");
    b.assert_no_events();

    // A WebSocket close frame.
    let cat = c.id.clone();
    c.close_cleanly();
    let left = a.expect_event("client-left");
    assert_eq!(str_of(get(&left, "clientId")), cat);
    assert_eq!(str_of(get(&left, "clientName")), "Cat");

    // A Socket.IO DISCONNECT.
    join(&mut b, "trio", "Bob", "pw");
    a.expect_event("client-joined");
    b.ws.send_text("41");
    assert_member_event(&a.expect_event("client-left"), "trio", &b, "Bob");
    a.assert_no_events();

    // An Engine.IO close packet is a clean close too: announced at once, not after the
    // 30 s rejoin grace.
    let mut d = SioClient::connect(server.addr());
    join(&mut d, "trio", "Dan", "pw");
    a.expect_event("client-joined");
    d.ws.send_text("1");
    assert_member_event(&a.expect_event("client-left"), "trio", &d, "Dan");
}

#[test]
fn a_repeated_join_keeps_the_client_id_and_announces_nothing() {
    let server = Server::start(&[]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    join(&mut a, "again", "Ann", "pw");
    let first = join(&mut b, "again", "Bob", "pw");
    a.expect_event("client-joined");
    let second = join(&mut b, "again", "Bob", "pw");
    assert_eq!(
        str_of(get(&second, "clientId")),
        str_of(get(&first, "clientId"))
    );
    assert!(!bool_of(get(&second, "created")));
    assert_eq!(members(&second).len(), 2);
    assert!(!str_of(get(&second, "token")).is_empty());
    a.assert_no_events();
}

#[test]
fn joining_another_session_leaves_the_current_one() {
    let server = Server::start(&[]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    join(&mut a, "first", "Ann", "pw");
    join(&mut b, "first", "Bob", "pw");
    a.expect_event("client-joined");
    let ack = join(&mut b, "second", "Bob", "pw2");
    assert!(bool_of(get(&ack, "created")));
    assert_member_event(&a.expect_event("client-left"), "first", &b, "Bob");
}
