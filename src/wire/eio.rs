//! Engine.IO v4 packets as a server sends them: the queued [`Frame`] and the handshake
//! (`open`) packet. The packet kinds and the text codec are the protocol crate's,
//! re-exported here.
//!
//! Spec: <https://github.com/socketio/engine.io-protocol> (v4), reference codec
//! `engine.io-parser` v5. This module never touches transports: polling payloads are in
//! [`super::payload`], WebSocket framing is the front door's.

use bytes::Bytes;

pub use sharethings_protocol::eio::{decode_text, encode_text, encode_text_parts, PacketKind};

use super::sid::Sid;

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

    #[test]
    fn frames_hold_whole_packets() {
        assert_eq!(
            Frame::text(PacketKind::Message, "2[\"hey\"]"),
            Frame::Text(Bytes::from_static(b"42[\"hey\"]"))
        );
        assert_eq!(
            Frame::text_parts(PacketKind::Message, &["2", "[\"hey\"]"]),
            Frame::text(PacketKind::Message, "2[\"hey\"]")
        );
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
}
