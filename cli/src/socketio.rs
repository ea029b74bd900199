//! Socket.IO v5 messages as the CLI reads and writes them, sans-IO: the protocol crate frames
//! them (and collects a packet's binary attachments); this module reads their JSON with
//! serde_json into whole [`Message`]s and writes the emits. The namespace is always `/`.

use serde_json::Value;
use sharethings_protocol::sio::{self, Assembler, Header, PacketKind, Received};
use sharethings_protocol::DecodeError;

/// Binary attachments one packet may announce. ShareThings events carry one; the bound
/// limits what a broken or hostile peer can make us hold (with the WebSocket's message cap).
const MAX_ATTACHMENTS: usize = 10;

/// A whole Socket.IO message from the server, attachments included.
#[derive(Debug, PartialEq)]
pub enum Message {
    /// CONNECT accepted (`0{"sid"}`) or refused (`4{...}`).
    Connected,
    ConnectError(Value),
    Disconnected,
    Event {
        name: String,
        payload: Value,
        binaries: Vec<Vec<u8>>,
    },
    Ack {
        id: u64,
        payload: Value,
        binaries: Vec<Vec<u8>>,
    },
}

impl Message {
    /// The bytes a `{"_placeholder":true,"num":i}` in this message's payload stands for.
    pub fn binary<'a>(binaries: &'a [Vec<u8>], placeholder: &Value) -> Option<&'a [u8]> {
        if placeholder.get(sio::PLACEHOLDER_KEY) != Some(&Value::Bool(true)) {
            return None;
        }
        let num = usize::try_from(placeholder.get(sio::NUM_KEY)?.as_u64()?).ok()?;
        binaries.get(num).map(Vec::as_slice)
    }

    /// Reads a whole packet's JSON: an event's name and first argument, an ack's first
    /// argument. Anything of another shape, or for another namespace, is an error.
    fn read(packet: Received) -> Result<Message, DecodeError> {
        if packet.nsp != "/" {
            return Err(DecodeError::InvalidPayload);
        }
        let json: Value = if packet.json.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&packet.json).map_err(|_| DecodeError::InvalidJson)?
        };
        Ok(match packet.kind {
            PacketKind::Connect => Message::Connected,
            PacketKind::Disconnect => Message::Disconnected,
            PacketKind::ConnectError => Message::ConnectError(json),
            PacketKind::Event | PacketKind::BinaryEvent => {
                let mut args = into_args(json)?.into_iter();
                let Some(Value::String(name)) = args.next() else {
                    return Err(DecodeError::InvalidPayload);
                };
                Message::Event {
                    name,
                    payload: args.next().unwrap_or(Value::Null),
                    binaries: packet.attachments,
                }
            }
            PacketKind::Ack | PacketKind::BinaryAck => Message::Ack {
                id: packet.id.ok_or(DecodeError::InvalidPayload)?,
                payload: into_args(json)?.into_iter().next().unwrap_or(Value::Null),
                binaries: packet.attachments,
            },
        })
    }
}

fn into_args(json: Value) -> Result<Vec<Value>, DecodeError> {
    match json {
        Value::Array(args) if !args.is_empty() => Ok(args),
        _ => Err(DecodeError::InvalidPayload),
    }
}

/// Turns the server's Socket.IO packets (a text packet, then one binary message per
/// attachment) into whole messages, one at a time.
pub struct Decoder {
    packets: Assembler,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder {
            packets: Assembler::new(MAX_ATTACHMENTS),
        }
    }
}

impl Decoder {
    /// A Socket.IO packet (the text after Engine.IO's `4`). Returns the message when it needs
    /// no attachments.
    pub fn text(&mut self, packet: &str) -> Result<Option<Message>, DecodeError> {
        self.packets.text(packet)?.map(Message::read).transpose()
    }

    /// A binary message: the next attachment of the message being collected.
    pub fn binary(&mut self, data: Vec<u8>) -> Result<Option<Message>, DecodeError> {
        self.packets.binary(data)?.map(Message::read).transpose()
    }
}

/// The placeholder that stands for attachment `num` in an emitted payload.
pub fn placeholder(num: usize) -> Value {
    serde_json::json!({ sio::PLACEHOLDER_KEY: true, sio::NUM_KEY: num })
}

/// The whole text frame of an emit: Engine.IO `4`, Socket.IO `2` (or `5N-` with attachments),
/// ack id, `["event",payload]`. The attachments follow as binary frames, in placeholder order.
pub fn encode_emit(event: &str, payload: &Value, attachments: usize, ack: Option<u64>) -> String {
    let args = serde_json::json!([event, payload]).to_string();
    Header::event(attachments, ack).message(&args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emits_plain_and_binary_events_as_socket_io_client_does() {
        let p = json!({"sessionId": "s"});
        assert_eq!(
            encode_emit("join", &p, 0, Some(0)),
            r#"420["join",{"sessionId":"s"}]"#
        );
        assert_eq!(
            encode_emit("leave", &p, 0, None),
            r#"42["leave",{"sessionId":"s"}]"#
        );
        let c = json!({"data": placeholder(0)});
        assert_eq!(
            encode_emit("content", &c, 1, Some(12)),
            r#"451-12["content",{"data":{"_placeholder":true,"num":0}}]"#
        );
    }

    #[test]
    fn decodes_acks_events_and_attachments() {
        let mut d = Decoder::default();
        assert_eq!(d.text(r#"0{"sid":"abc"}"#), Ok(Some(Message::Connected)));
        assert_eq!(
            d.text(r#"37[{"success":true}]"#),
            Ok(Some(Message::Ack {
                id: 7,
                payload: json!({"success": true}),
                binaries: vec![]
            }))
        );
        assert_eq!(
            d.text(r#"2["client-left",{"clientId":"c"}]"#),
            Ok(Some(Message::Event {
                name: "client-left".into(),
                payload: json!({"clientId": "c"}),
                binaries: vec![]
            }))
        );
        let text =
            r#"52-["chunk",{"a":{"_placeholder":true,"num":1},"b":{"_placeholder":true,"num":0}}]"#;
        assert_eq!(d.text(text), Ok(None));
        assert!(
            d.text("2[\"x\"]").is_err(),
            "a text packet cannot interrupt attachments"
        );
        let mut d = Decoder::default();
        assert_eq!(d.text(text), Ok(None));
        assert_eq!(d.binary(vec![0]), Ok(None));
        let Ok(Some(Message::Event {
            payload, binaries, ..
        })) = d.binary(vec![1, 1])
        else {
            panic!("message not complete");
        };
        assert_eq!(
            Message::binary(&binaries, &payload["a"]),
            Some(&[1u8, 1][..])
        );
        assert_eq!(Message::binary(&binaries, &payload["b"]), Some(&[0u8][..]));
        assert_eq!(Message::binary(&binaries, &json!({"num": 0})), None);
        assert_eq!(Message::binary(&binaries, &placeholder(2)), None);
    }

    #[test]
    fn hostile_packets_are_errors_not_panics() {
        for bad in [
            "",
            "5",
            "5x-[]",
            "511-[\"a\"]",
            "2",
            "2[]",
            "2[1]",
            "2{}",
            "3[{}]",
            "/x,2[\"a\"]",
            "9",
            "2/other,[\"a\"]",
            "2/other[\"a\"]",
            "2é",
            "é",
        ] {
            let mut d = Decoder::default();
            assert!(d.text(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Decoder::default().binary(vec![1]).is_err());
    }
}
