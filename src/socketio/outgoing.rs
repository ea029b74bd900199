//! A Socket.IO packet encoded once, ready to be queued to any number of sockets.

use bytes::Bytes;
use miniserde::json::{self, Value};

use crate::wire::eio::{Frame, PacketKind as EioKind};
use crate::wire::sio::{self, PacketKind};

/// The Engine.IO frames of one Socket.IO packet: the text packet, then each attachment.
/// Cloning a frame shares its bytes, so relaying to many receivers copies nothing.
#[derive(Debug, Clone)]
pub struct Outgoing {
    frames: Vec<Frame>,
}

impl Outgoing {
    /// An EVENT (or BINARY_EVENT when there are attachments): `[event, ...args]`. Binary
    /// values in `args` must already be placeholders pointing into `attachments`.
    pub fn event(nsp: &str, event: &str, args: Vec<Value>, attachments: Vec<Bytes>) -> Outgoing {
        Outgoing::build(
            PacketKind::Event,
            nsp,
            None,
            named(event, args),
            attachments,
        )
    }

    /// An EVENT that asks the client for an acknowledgement with id `ack`.
    pub fn event_with_ack(
        nsp: &str,
        event: &str,
        args: Vec<Value>,
        attachments: Vec<Bytes>,
        ack: u64,
    ) -> Outgoing {
        Outgoing::build(
            PacketKind::Event,
            nsp,
            Some(ack),
            named(event, args),
            attachments,
        )
    }

    /// An ACK (or BINARY_ACK) answering the client's `ack` id.
    pub fn ack(nsp: &str, ack: u64, args: Vec<Value>, attachments: Vec<Bytes>) -> Outgoing {
        Outgoing::build(PacketKind::Ack, nsp, Some(ack), args, attachments)
    }

    fn build(
        kind: PacketKind,
        nsp: &str,
        id: Option<u64>,
        args: Vec<Value>,
        attachments: Vec<Bytes>,
    ) -> Outgoing {
        let kind = match (kind, attachments.is_empty()) {
            (PacketKind::Event, false) => PacketKind::BinaryEvent,
            (PacketKind::Ack, false) => PacketKind::BinaryAck,
            (kind, _) => kind,
        };
        let header = sio::encode_header(kind, attachments.len(), nsp, id);
        let body = json::to_string(&Value::Array(args.into_iter().collect()));
        let mut frames = Vec::with_capacity(1 + attachments.len());
        frames.push(Frame::text_parts(EioKind::Message, &[&header, &body]));
        frames.extend(attachments.into_iter().map(Frame::Binary));
        Outgoing { frames }
    }

    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// Bytes queued per receiver.
    pub fn len(&self) -> usize {
        self.frames.iter().map(Frame::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

fn named(event: &str, args: Vec<Value>) -> Vec<Value> {
    let mut all = Vec::with_capacity(args.len() + 1);
    all.push(Value::String(event.to_string()));
    all.extend(args);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::sio::placeholder;

    fn text(packet: &Outgoing) -> String {
        match packet.frames().first() {
            Some(Frame::Text(b)) => String::from_utf8(b.to_vec()).unwrap(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    #[test]
    fn event_without_binary() {
        let packet = Outgoing::event("/", "hello", vec![Value::String("a".into())], Vec::new());
        assert_eq!(text(&packet), r#"42["hello","a"]"#);
        assert_eq!(packet.frames().len(), 1);
    }

    #[test]
    fn binary_event_in_a_namespace_keeps_attachments_shared() {
        let data = Bytes::from(vec![1u8, 2, 3]);
        let packet = Outgoing::event("/custom", "file", vec![placeholder(0)], vec![data.clone()]);
        assert_eq!(
            text(&packet),
            r#"451-/custom,["file",{"_placeholder":true,"num":0}]"#
        );
        match packet.frames().get(1) {
            Some(Frame::Binary(b)) => {
                assert_eq!(b.as_ptr(), data.as_ptr(), "attachment must not be copied")
            }
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }

    #[test]
    fn acks() {
        assert_eq!(
            text(&Outgoing::ack("/", 7, vec![Value::Bool(true)], Vec::new())),
            "437[true]"
        );
        assert_eq!(
            text(&Outgoing::ack(
                "/",
                8,
                vec![placeholder(0)],
                vec![Bytes::from_static(b"x")]
            )),
            r#"461-8[{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(
            text(&Outgoing::event_with_ack(
                "/",
                "q",
                Vec::new(),
                Vec::new(),
                3
            )),
            r#"423["q"]"#
        );
    }
}
