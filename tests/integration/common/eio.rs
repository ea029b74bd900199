//! Engine.IO long-polling: payloads, the polling requests, and a ShareThings join over them.

use super::*;

/// The literal start of an Engine.IO request target, for tests that write requests by hand.
pub const EIO_PATH: &str = "/socket.io/?EIO=4";

/// One packet of a polling payload: a whole text packet (type digit included), or the
/// bytes of a binary message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Text(String),
    Binary(Vec<u8>),
}

/// Joins packets with 0x1E; binary as `b` + base64 (the protocol crate's codec).
pub fn encode_payload(packets: &[Packet]) -> Vec<u8> {
    protocol::payload::encode(packets.iter().map(|packet| match packet {
        Packet::Text(text) => protocol::payload::Packet::Text(text.as_bytes()),
        Packet::Binary(bytes) => protocol::payload::Packet::Binary(bytes),
    }))
}

/// Splits a body the server sent; anything the protocol crate refuses fails the test.
pub fn decode_payload(body: &[u8]) -> Vec<Packet> {
    let parts = protocol::payload::decode(body).unwrap_or_else(|e| {
        panic!(
            "not a polling payload ({e}): {:?}",
            String::from_utf8_lossy(body)
        )
    });
    parts
        .into_iter()
        .map(|part| match part {
            Part::Text(kind, data) => Packet::Text(protocol::eio::encode_text(kind, data)),
            Part::Binary(bytes) => Packet::Binary(bytes),
        })
        .collect()
}

/// The JSON of an open packet, which must be `text`.
pub fn open_json(text: &str) -> Value {
    match protocol::eio::decode_text(text) {
        Ok((protocol::eio::PacketKind::Open, json)) => parse_json(json),
        _ => panic!("not an open packet: {text:?}"),
    }
}

/// `GET /socket.io/?EIO=4&transport=polling`: returns the sid and the open packet's JSON.
pub fn eio_open_polling(addr: SocketAddr) -> (String, Value) {
    let res = get_path(addr, &polling_handshake());
    assert_eq!(res.status, 200, "handshake: {res:?}");
    let open = open_json(&res.text());
    let sid = str_of(get(&open, "sid")).to_string();
    (sid, open)
}

/// The request target that opens a polling session, as a client builds it.
pub fn polling_handshake() -> String {
    let query = protocol::eio::handshake_query(protocol::eio::Transport::Polling, None);
    format!("{}?{query}", protocol::eio::PATH)
}

pub fn polling_target(sid: &str) -> String {
    format!("{}&sid={sid}", polling_handshake())
}

/// A polling GET on a fresh connection.
pub fn poll_get(addr: SocketAddr, sid: &str) -> Response {
    get_path(addr, &polling_target(sid))
}

/// A polling POST of raw body bytes on a fresh connection.
pub fn poll_post(addr: SocketAddr, sid: &str, body: &[u8]) -> Response {
    http(
        addr,
        "POST",
        &polling_target(sid),
        &[("Content-Type", "text/plain;charset=UTF-8")],
        body,
    )
}

/// Starts a polling GET and returns the connection without reading the answer.
pub fn start_poll_get(addr: SocketAddr, sid: &str) -> Http {
    let mut conn = Http::connect(addr);
    conn.send(&request_bytes("GET", &polling_target(sid), &[], b""));
    conn
}

/// Joins ShareThings session `session` as `name` over polling: `40`, then `join` with an ack.
pub fn polling_join(addr: SocketAddr, sid: &str, session: &str, name: &str) {
    assert_eq!(poll_post(addr, sid, b"40").status, 200);
    let connected = poll_get(addr, sid);
    assert!(connected.text().starts_with("40{\"sid\":"), "{connected:?}");
    let join = Header::event(0, Some(0)).message(&format!(
        r#"["join",{{"sessionId":{},"clientName":{},"fingerprint":{{"v":2,"mac":"m"}}}}]"#,
        quote(session),
        quote(name)
    ));
    assert_eq!(poll_post(addr, sid, join.as_bytes()).status, 200);
    let ack = poll_get(addr, sid).text();
    assert!(ack.starts_with("430[{"), "join ack: {ack}");
    assert!(ack.contains("\"success\":true"), "join ack: {ack}");
}
