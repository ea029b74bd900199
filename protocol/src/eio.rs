//! Engine.IO v4 packets: the type digit, text packet decode/encode, and the request target
//! that opens a session.
//!
//! Spec: <https://github.com/socketio/engine.io-protocol> (v4), reference codec
//! `engine.io-parser` v5. This module never touches transports: polling payloads are in
//! [`crate::payload`]; WebSocket framing belongs to each side's WebSocket library.
//!
//! The handshake (`open`) packet's data is JSON (`{"sid","upgrades","pingInterval",
//! "pingTimeout","maxPayload"}`): [`decode_text`] hands it over as text, and the server
//! writes it with its own JSON encoder.

use crate::DecodeError;

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
/// on polling it is `b` + base64 (see [`crate::payload`]).
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

/// The path Engine.IO is served at (socket.io's default).
pub const PATH: &str = "/socket.io/";

/// The protocol version, as the `EIO` query value.
pub const VERSION: &str = "4";

/// The pong a client answers every ping with, as a whole text packet.
pub const PONG: &str = "3";

/// An Engine.IO transport, as the `transport` query value names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// HTTP long-polling: `GET` receives, `POST` sends.
    Polling,
    /// One WebSocket carries every packet, each in its own frame.
    WebSocket,
}

impl Transport {
    /// The `transport` query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
        }
    }
}

/// The query of a request that opens a session (without the `?`):
/// `EIO=4&transport=websocket`, then `&route=<key>` (docs/protocol.md, "Routing key") when
/// given. A routing key is lowercase hex ([`crate::route_key`]), so nothing needs escaping.
pub fn handshake_query(transport: Transport, route: Option<&str>) -> String {
    let mut out = format!("EIO={VERSION}&transport={}", transport.as_str());
    if let Some(route) = route {
        out.push_str("&route=");
        out.push_str(route);
    }
    out
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
        }
        assert_eq!(encode_text(PacketKind::Pong, ""), PONG);
    }

    #[test]
    fn digits_round_trip() {
        for (i, kind) in PacketKind::ALL.into_iter().enumerate() {
            assert_eq!(kind as u8, i as u8);
            assert_eq!(kind.digit(), b'0' + i as u8);
            assert_eq!(kind.digit_char(), char::from(b'0' + i as u8));
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
    fn handshake_query_is_what_the_web_client_sends() {
        assert_eq!(
            handshake_query(Transport::Polling, None),
            "EIO=4&transport=polling"
        );
        assert_eq!(
            handshake_query(Transport::WebSocket, Some("a8a841f9d9ff8210")),
            "EIO=4&transport=websocket&route=a8a841f9d9ff8210"
        );
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
