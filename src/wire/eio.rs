//! Engine.IO v4 packets: the type digit, text packet decode/encode, the queued [`Frame`], and
//! the handshake (`open`) packet.
//!
//! Spec: <https://github.com/socketio/engine.io-protocol> (v4), reference codec
//! `engine.io-parser` v5. This module never touches transports: polling payloads are in
//! [`super::payload`], WebSocket framing is tungstenite's.

use bytes::Bytes;

use super::sid::Sid;
use super::DecodeError;

digit_kinds! {
/// Engine.IO packet type, written as one ASCII digit before the packet data.
///
/// | Type    | ID  | Usage                                                    |
/// |---------|-----|----------------------------------------------------------|
/// | open    | 0   | Sent by the server when a new transport is opened.       |
/// | close   | 1   | Request the close of the transport / session.            |
/// | ping    | 2   | Heartbeat (v4: sent by the server), and `2probe` upgrade probe from the client. |
/// | pong    | 3   | Heartbeat answer (v4: sent by the client), and `3probe`. |
/// | message | 4   | Application data (text, or binary without a type digit). |
/// | upgrade | 5   | Client confirms the switch to the probed transport.      |
/// | noop    | 6   | Answers a pending poll during an upgrade.                |
///
/// Binary messages carry no type digit: a binary WebSocket frame is always a `message`, and
/// on polling it is `b` + base64 (see [`super::payload`]).
pub enum PacketKind {
    /// `0`: handshake data, server to client.
    Open = 0,
    /// `1`: close the session.
    Close = 1,
    /// `2`: heartbeat ping (server to client in v4), or `2probe`.
    Ping = 2,
    /// `3`: heartbeat pong (client to server in v4), or `3probe`.
    Pong = 3,
    /// `4`: application message.
    Message = 4,
    /// `5`: transport upgrade done.
    Upgrade = 5,
    /// `6`: no-op, used to release a pending poll.
    Noop = 6,
}
}

impl PacketKind {
    /// The digit as a `char`, for building strings.
    pub fn digit_char(self) -> char {
        char::from(self.digit())
    }
}

/// Splits a text packet into its kind and data: `"4hello"` → `(Message, "hello")`.
///
/// Data may be empty (`"5"`). An empty string or an unknown first character is an error,
/// which closes the session, as in the reference server.
pub fn decode_text(s: &str) -> Result<(PacketKind, &str), DecodeError> {
    let (&first, _) = s.as_bytes().split_first().ok_or(DecodeError::Empty)?;
    let kind = PacketKind::from_digit(first).ok_or(DecodeError::UnknownPacketType)?;
    // The first byte is an ASCII digit, so index 1 is a char boundary.
    let data = s.get(1..).ok_or(DecodeError::UnknownPacketType)?;
    Ok((kind, data))
}

/// Encodes a text packet: the type digit followed by `data`.
pub fn encode_text(kind: PacketKind, data: &str) -> String {
    encode_text_parts(kind, &[data])
}

/// Encodes a text packet whose data is the concatenation of `parts`, in one allocation (a
/// Socket.IO header and its JSON body, without joining them first).
pub fn encode_text_parts(kind: PacketKind, parts: &[&str]) -> String {
    let len = parts.iter().fold(1usize, |n, p| n.saturating_add(p.len()));
    let mut out = String::with_capacity(len);
    out.push(kind.digit_char());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// One Engine.IO packet as queued for sending.
///
/// Cloning is cheap (the bytes are shared), so one frame can be queued for many receivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole text packet including its type digit, e.g. `42["hi"]`. Always valid UTF-8
    /// when built with [`Frame::text`].
    Text(Bytes),
    /// The raw bytes of a binary message (no type digit).
    Binary(Bytes),
}

impl Frame {
    /// A text frame for `kind` with `data`.
    pub fn text(kind: PacketKind, data: &str) -> Frame {
        Frame::Text(Bytes::from(encode_text(kind, data)))
    }

    /// A text frame for `kind` whose data is the concatenation of `parts`.
    pub fn text_parts(kind: PacketKind, parts: &[&str]) -> Frame {
        Frame::Text(Bytes::from(encode_text_parts(kind, parts)))
    }

    /// Length in bytes of what is queued (for a binary frame, before any base64).
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(b) | Frame::Binary(b) => b.len(),
        }
    }

    /// Whether the frame holds no bytes (only possible for an empty binary message).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The handshake packet, exactly as the reference server writes it (same key order):
/// `0{"sid":"…","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`.
pub fn open_packet(
    sid: &Sid,
    upgrades: &[&str],
    ping_interval_ms: u64,
    ping_timeout_ms: u64,
    max_payload: u64,
) -> String {
    let mut out = String::with_capacity(128);
    out.push(PacketKind::Open.digit_char());
    out.push_str("{\"sid\":\"");
    // A Sid is base64url, so it never needs JSON escaping.
    out.push_str(sid.as_str());
    out.push_str("\",\"upgrades\":[");
    for (i, upgrade) in upgrades.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&miniserde::json::to_string(*upgrade));
    }
    out.push_str("],\"pingInterval\":");
    out.push_str(&ping_interval_ms.to_string());
    out.push_str(",\"pingTimeout\":");
    out.push_str(&ping_timeout_ms.to_string());
    out.push_str(",\"maxPayload\":");
    out.push_str(&max_payload.to_string());
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The literal examples of the Engine.IO v4 protocol document.
    const FIXTURES: &[(&str, PacketKind, &str)] = &[
        ("2probe", PacketKind::Ping, "probe"),
        ("3probe", PacketKind::Pong, "probe"),
        ("4HelloWorld", PacketKind::Message, "HelloWorld"),
        ("4hello", PacketKind::Message, "hello"),
        ("4€", PacketKind::Message, "€"),
        ("1", PacketKind::Close, ""),
        ("2", PacketKind::Ping, ""),
        ("3", PacketKind::Pong, ""),
        ("5", PacketKind::Upgrade, ""),
        ("6", PacketKind::Noop, ""),
        (
            "42[\"hey\",\"Jude\"]",
            PacketKind::Message,
            "2[\"hey\",\"Jude\"]",
        ),
    ];

    #[test]
    fn decodes_protocol_examples() {
        for &(wire, kind, data) in FIXTURES {
            assert_eq!(decode_text(wire), Ok((kind, data)), "{wire}");
        }
    }

    #[test]
    fn encodes_protocol_examples() {
        for &(wire, kind, data) in FIXTURES {
            assert_eq!(encode_text(kind, data), wire);
            assert_eq!(Frame::text(kind, data), Frame::Text(Bytes::from(wire)));
        }
    }

    #[test]
    fn digits_round_trip() {
        for (i, kind) in PacketKind::ALL.into_iter().enumerate() {
            assert_eq!(kind as u8, i as u8);
            assert_eq!(kind.digit(), b'0' + i as u8);
            assert_eq!(PacketKind::from_digit(kind.digit()), Some(kind));
        }
        assert_eq!(PacketKind::from_digit(b'7'), None);
        assert_eq!(PacketKind::from_digit(0), None);
        assert_eq!(PacketKind::from_digit(b'b'), None);
    }

    #[test]
    fn rejects_bad_packets() {
        assert_eq!(decode_text(""), Err(DecodeError::Empty));
        assert_eq!(decode_text("7"), Err(DecodeError::UnknownPacketType));
        assert_eq!(decode_text("x4"), Err(DecodeError::UnknownPacketType));
        assert_eq!(decode_text("€"), Err(DecodeError::UnknownPacketType));
        assert_eq!(decode_text("bAQID"), Err(DecodeError::UnknownPacketType));
    }

    #[test]
    fn frame_len() {
        assert_eq!(Frame::text(PacketKind::Ping, "").len(), 1);
        assert!(Frame::Binary(Bytes::new()).is_empty());
        assert_eq!(Frame::Binary(Bytes::from_static(&[1, 2, 3])).len(), 3);
    }

    #[test]
    fn open_packet_matches_reference() {
        let sid: Sid = "lv_VI97HAXpY6yYWAAAC".parse().unwrap();
        assert_eq!(
            open_packet(&sid, &["websocket"], 25000, 5000, 1_000_000),
            r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}"#
        );
        assert_eq!(
            open_packet(&sid, &[], 300, 200, 1e6 as u64),
            r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
        );
        let two = open_packet(&sid, &["a", "b\"c"], 1, 2, 3);
        assert!(two.contains(r#""upgrades":["a","b\"c"]"#), "{two}");
        let (kind, json) = decode_text(&two).unwrap();
        assert_eq!(kind, PacketKind::Open);
        assert!(miniserde::json::from_str::<miniserde::json::Value>(json).is_ok());
    }

    proptest! {
        #[test]
        fn parts_encode_as_their_concatenation(digit in 0u8..7, a in ".*", b in ".*") {
            let kind = PacketKind::ALL[usize::from(digit)];
            prop_assert_eq!(encode_text_parts(kind, &[&a, &b]), encode_text(kind, &(a.clone() + &b)));
        }

        #[test]
        fn text_round_trip(digit in 0u8..7, data in ".*") {
            let kind = PacketKind::ALL[usize::from(digit)];
            let wire = encode_text(kind, &data);
            prop_assert_eq!(decode_text(&wire), Ok((kind, data.as_str())));
        }

        #[test]
        fn decode_never_panics(s in ".*") {
            let _ = decode_text(&s);
        }
    }
}
