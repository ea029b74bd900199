//! HTTP long-polling payloads (Engine.IO v4): the protocol crate's codec, and the body of a
//! poll built from the frames a session has queued.
//!
//! Example body: `4hello\x1e2\x1ebAQIDBA==`. This module never enforces sizes: the caller
//! caps the body at `maxPayload` (413) before decoding, which also bounds the number of
//! parts.

use sharethings_protocol::payload::{self as codec, Packet};

pub use sharethings_protocol::payload::{decode, Part};

use super::eio::Frame;

/// Joins frames into one response body: text frames as-is, binary frames as `b` + base64,
/// separated by 0x1E. The output is allocated once at its final size.
pub fn encode<'a>(frames: impl IntoIterator<Item = &'a Frame>) -> Vec<u8> {
    codec::encode(frames.into_iter().map(|frame| match frame {
        Frame::Text(text) => Packet::Text(text),
        Frame::Binary(bin) => Packet::Binary(bin),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::eio::PacketKind;
    use bytes::Bytes;

    #[test]
    fn queued_frames_make_one_presized_body() {
        let frames = [
            Frame::text(PacketKind::Message, "hello"),
            Frame::Binary(Bytes::from_static(&[1, 2, 3, 4, 5])),
            Frame::Binary(Bytes::new()),
        ];
        let out = encode(&frames);
        assert_eq!(out.len(), out.capacity());
        assert_eq!(out, b"4hello\x1ebAQIDBAU=\x1eb");
        assert_eq!(
            decode(&out).unwrap(),
            vec![
                Part::Text(PacketKind::Message, "hello"),
                Part::Binary(vec![1, 2, 3, 4, 5]),
                Part::Binary(vec![]),
            ]
        );
    }
}
