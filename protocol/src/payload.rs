//! HTTP long-polling payloads (Engine.IO v4): the packets of one request or response body,
//! joined with the record separator byte 0x1E.
//!
//! Text packets travel as-is (`4hello`); a binary message travels as `b` followed by its
//! standard base64 with padding (`bAQIDBA==`), as the reference `engine.io-parser` does.
//! Example body: `4hello\x1e2\x1ebAQIDBA==`.
//!
//! This module never enforces sizes: the receiver caps the body (a server at `maxPayload`,
//! with 413) before decoding, which also bounds the number of parts.

use data_encoding::BASE64;

use crate::eio::{self, PacketKind};
use crate::DecodeError;

/// The byte that separates packets in a polling payload.
pub const SEPARATOR: u8 = 0x1e;

/// One decoded packet of a polling payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part<'a> {
    /// A text packet: its kind and data (borrowed from the body).
    Text(PacketKind, &'a str),
    /// A binary message, decoded from base64.
    Binary(Vec<u8>),
}

/// One packet to send in a polling payload, borrowed from whatever queue holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// A whole text packet, type digit included (e.g. `42["hi"]`).
    Text(&'a [u8]),
    /// The raw bytes of a binary message.
    Binary(&'a [u8]),
}

/// Splits a body into its packets.
///
/// Every part must be non-empty and valid UTF-8; a part starting with `b` must be valid
/// base64, any other part a valid text packet. The first bad part fails the whole body (the
/// reference server closes the session on it).
pub fn decode(body: &[u8]) -> Result<Vec<Part<'_>>, DecodeError> {
    if body.is_empty() {
        return Err(DecodeError::Empty);
    }
    body.split(|&b| b == SEPARATOR).map(decode_part).collect()
}

fn decode_part(part: &[u8]) -> Result<Part<'_>, DecodeError> {
    let text = std::str::from_utf8(part).map_err(|_| DecodeError::InvalidUtf8)?;
    match text.strip_prefix('b') {
        Some(b64) => BASE64
            .decode(b64.as_bytes())
            .map(Part::Binary)
            .map_err(|_| DecodeError::InvalidBase64),
        None => eio::decode_text(text).map(|(kind, data)| Part::Text(kind, data)),
    }
}

/// Joins packets into one body: text packets as-is, binary ones as `b` + base64, separated
/// by 0x1E. The output is allocated once at its final size.
pub fn encode<'a>(packets: impl IntoIterator<Item = Packet<'a>>) -> Vec<u8> {
    let packets: Vec<Packet<'a>> = packets.into_iter().collect();
    let size = packets
        .iter()
        .map(|packet| match packet {
            Packet::Text(text) => text.len(),
            Packet::Binary(bin) => BASE64.encode_len(bin.len()).saturating_add(1),
        })
        .fold(packets.len().saturating_sub(1), usize::saturating_add);
    let mut out = Vec::with_capacity(size);
    for (i, packet) in packets.into_iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        match packet {
            Packet::Text(text) => out.extend_from_slice(text),
            Packet::Binary(bin) => {
                out.push(b'b');
                let start = out.len();
                out.resize(start.saturating_add(BASE64.encode_len(bin.len())), 0);
                // The slice has exactly encode_len bytes, as encode_mut requires.
                if let Some(dst) = out.get_mut(start..) {
                    BASE64.encode_mut(bin, dst);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(s: &str) -> Packet<'_> {
        Packet::Text(s.as_bytes())
    }

    #[test]
    fn decodes_protocol_examples() {
        assert_eq!(
            decode(b"4hello\x1e2\x1e4world").unwrap(),
            vec![
                Part::Text(PacketKind::Message, "hello"),
                Part::Text(PacketKind::Ping, ""),
                Part::Text(PacketKind::Message, "world"),
            ]
        );
        assert_eq!(
            decode("4hello\x1e4€".as_bytes()).unwrap(),
            vec![
                Part::Text(PacketKind::Message, "hello"),
                Part::Text(PacketKind::Message, "€"),
            ]
        );
        assert_eq!(
            decode(b"4hello\x1ebAQIDBA==").unwrap(),
            vec![
                Part::Text(PacketKind::Message, "hello"),
                Part::Binary(vec![1, 2, 3, 4]),
            ]
        );
        assert_eq!(
            decode(b"42[\"hello\"]\x1e42[\"world\"]").unwrap(),
            vec![
                Part::Text(PacketKind::Message, "2[\"hello\"]"),
                Part::Text(PacketKind::Message, "2[\"world\"]"),
            ]
        );
        assert_eq!(
            decode(b"6").unwrap(),
            vec![Part::Text(PacketKind::Noop, "")]
        );
        assert_eq!(decode(b"b").unwrap(), vec![Part::Binary(vec![])]);
    }

    #[test]
    fn encodes_protocol_examples() {
        assert_eq!(
            encode([text("4hello"), text("2"), text("4world")]),
            b"4hello\x1e2\x1e4world"
        );
        assert_eq!(
            encode([text("4hello"), Packet::Binary(&[1, 2, 3, 4])]),
            b"4hello\x1ebAQIDBA=="
        );
        assert_eq!(encode([Packet::Binary(&[1, 2, 3, 4])]), b"bAQIDBA==");
        assert_eq!(encode([text("6")]), b"6");
        assert_eq!(encode([]), b"");
    }

    #[test]
    fn encode_is_presized_exactly() {
        let out = encode([
            text("4hello"),
            Packet::Binary(&[1, 2, 3, 4, 5]),
            Packet::Binary(&[]),
        ]);
        assert_eq!(out.len(), out.capacity());
        assert_eq!(out, b"4hello\x1ebAQIDBAU=\x1eb");
    }

    #[test]
    fn rejects_bad_bodies() {
        assert_eq!(decode(b""), Err(DecodeError::Empty));
        assert_eq!(decode(b"4a\x1e\x1e4b"), Err(DecodeError::Empty));
        assert_eq!(decode(b"4a\x1e"), Err(DecodeError::Empty));
        assert_eq!(decode(b"\x1e4a"), Err(DecodeError::Empty));
        assert_eq!(decode(b"4a\x1e9"), Err(DecodeError::UnknownPacketType));
        assert_eq!(decode(b"4\xff"), Err(DecodeError::InvalidUtf8));
        assert_eq!(decode(b"bAQIDBA"), Err(DecodeError::InvalidBase64));
        assert_eq!(decode(b"bAQ-_BA=="), Err(DecodeError::InvalidBase64));
        assert_eq!(decode(b"b!!!!"), Err(DecodeError::InvalidBase64));
    }

    /// An owned packet for the round trip: a text packet's kind and data, or binary bytes.
    #[derive(Clone, Debug)]
    enum Owned {
        Text(String),
        Binary(Vec<u8>),
    }

    fn packet_strategy() -> impl Strategy<Value = Owned> {
        prop_oneof![
            (0u8..7, "[^\u{1e}]*").prop_map(|(d, s)| Owned::Text(eio::encode_text(
                PacketKind::ALL[usize::from(d)],
                &s
            ))),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(Owned::Binary),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(packets in proptest::collection::vec(packet_strategy(), 1..8)) {
            let body = encode(packets.iter().map(|p| match p {
                Owned::Text(t) => Packet::Text(t.as_bytes()),
                Owned::Binary(b) => Packet::Binary(b),
            }));
            prop_assert_eq!(body.len(), body.capacity());
            let parts = decode(&body).unwrap();
            prop_assert_eq!(parts.len(), packets.len());
            for (part, packet) in parts.iter().zip(&packets) {
                match (part, packet) {
                    (Part::Text(kind, data), Owned::Text(wire)) => {
                        prop_assert_eq!(&eio::encode_text(*kind, data), wire);
                    }
                    (Part::Binary(got), Owned::Binary(want)) => prop_assert_eq!(got, want),
                    _ => prop_assert!(false, "kind mismatch"),
                }
            }
        }

        #[test]
        fn decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&body);
        }

        #[test]
        fn decode_never_panics_on_text(body in "[0-9b\u{1e}A-Za-z+/=€]*") {
            let _ = decode(body.as_bytes());
        }
    }
}
