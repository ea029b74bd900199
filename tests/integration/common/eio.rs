//! Engine.IO long-polling: payloads, the polling requests, and a ShareThings join over them.

use super::*;

pub const EIO_PATH: &str = "/socket.io/?EIO=4";

/// One packet of a polling payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Text(String),
    Binary(Vec<u8>),
}

/// Joins packets with 0x1E; binary as `b` + base64.
pub fn encode_payload(packets: &[Packet]) -> Vec<u8> {
    let parts: Vec<String> = packets
        .iter()
        .map(|p| match p {
            Packet::Text(t) => t.clone(),
            Packet::Binary(b) => format!("b{}", data_encoding::BASE64.encode(b)),
        })
        .collect();
    parts.join("\u{1e}").into_bytes()
}

pub fn decode_payload(body: &[u8]) -> Vec<Packet> {
    let text = std::str::from_utf8(body).expect("polling payload is UTF-8");
    text.split('\u{1e}')
        .map(|part| match part.strip_prefix('b') {
            Some(b64) => Packet::Binary(
                data_encoding::BASE64
                    .decode(b64.as_bytes())
                    .unwrap_or_else(|_| panic!("bad base64 in {part:?}")),
            ),
            None => Packet::Text(part.to_string()),
        })
        .collect()
}

/// `GET /socket.io/?EIO=4&transport=polling`: returns the sid and the open packet's JSON.
pub fn eio_open_polling(addr: SocketAddr) -> (String, Value) {
    let res = get_path(addr, &format!("{EIO_PATH}&transport=polling"));
    assert_eq!(res.status, 200, "handshake: {res:?}");
    let text = res.text();
    let open = text
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {text:?}"));
    let open = parse_json(open);
    let sid = str_of(get(&open, "sid")).to_string();
    (sid, open)
}

pub fn polling_target(sid: &str) -> String {
    format!("{EIO_PATH}&transport=polling&sid={sid}")
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
    let join = format!(
        r#"420["join",{{"sessionId":{},"clientName":{},"fingerprint":{{"v":2,"mac":"m"}}}}]"#,
        quote(session),
        quote(name)
    );
    assert_eq!(poll_post(addr, sid, join.as_bytes()).status, 200);
    let ack = poll_get(addr, sid).text();
    assert!(ack.starts_with("430[{"), "join ack: {ack}");
    assert!(ack.contains("\"success\":true"), "join ack: {ack}");
}
