//! Engine.IO v4 / Socket.IO v5 packets as they travel over a WebSocket, sans-IO: what the
//! client writes for an emit, and a decoder that turns the server's frames (a text frame, then
//! one binary frame per attachment) into whole messages. The namespace is always `/`.

use serde_json::Value;

/// Binary attachments one packet may announce; more is a protocol error (the server's limit).
const MAX_ATTACHMENTS: usize = 10;

/// An Engine.IO packet received in a text frame.
#[derive(Debug, PartialEq)]
pub enum EnginePacket {
    /// `0{...}`: the handshake, with pingInterval and pingTimeout.
    Open(Value),
    Close,
    /// `2`: the server's heartbeat; answer with [`PONG`].
    Ping,
    /// `4...`: a Socket.IO packet.
    Message(String),
    /// Pong, noop, upgrade: nothing to do on a direct WebSocket.
    Other,
}

pub const PONG: &str = "3";
/// Socket.IO CONNECT to the default namespace, as a whole text frame.
pub const CONNECT: &str = "40";
/// Socket.IO DISCONNECT from the default namespace (a clean leave), as a whole text frame.
pub const DISCONNECT: &str = "41";

pub fn parse_engine(text: &str) -> Result<EnginePacket, ProtocolError> {
    let mut chars = text.chars();
    Ok(match chars.next() {
        Some('0') => EnginePacket::Open(serde_json::from_str(chars.as_str()).map_err(bad)?),
        Some('1') => EnginePacket::Close,
        Some('2') => EnginePacket::Ping,
        Some('4') => EnginePacket::Message(chars.as_str().to_string()),
        Some('3' | '5' | '6') => EnginePacket::Other,
        _ => return Err(ProtocolError("unknown Engine.IO packet")),
    })
}

#[derive(Debug, PartialEq, Eq)]
pub struct ProtocolError(pub &'static str);

fn bad(_: serde_json::Error) -> ProtocolError {
    ProtocolError("malformed JSON")
}

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
        if placeholder.get("_placeholder") != Some(&Value::Bool(true)) {
            return None;
        }
        let num = usize::try_from(placeholder.get("num")?.as_u64()?).ok()?;
        binaries.get(num).map(Vec::as_slice)
    }
}

/// Collects a binary packet's attachments; one message at a time, as the server sends them.
#[derive(Default)]
pub struct Decoder {
    waiting: Option<(Message, usize)>,
}

impl Decoder {
    /// A Socket.IO packet (the text after Engine.IO's `4`). Returns the message when it needs
    /// no attachments.
    pub fn text(&mut self, packet: &str) -> Result<Option<Message>, ProtocolError> {
        if self.waiting.is_some() {
            return Err(ProtocolError("text packet while attachments were due"));
        }
        let bytes = packet.as_bytes();
        let kind = *bytes.first().ok_or(ProtocolError("empty packet"))?;
        if !kind.is_ascii_digit() {
            return Err(ProtocolError("unknown Socket.IO packet"));
        }
        let mut rest = &packet[1..];
        let binary = kind == b'5' || kind == b'6';
        let mut attachments = 0;
        if binary {
            let dash = rest.find('-').ok_or(ProtocolError("no attachment count"))?;
            attachments = rest[..dash]
                .parse()
                .map_err(|_| ProtocolError("bad count"))?;
            if attachments > MAX_ATTACHMENTS {
                return Err(ProtocolError("too many attachments"));
            }
            rest = &rest[dash + 1..];
        }
        if rest.starts_with('/') {
            // Only the default namespace is ever joined; anything else is not for us.
            let comma = rest.find(',').ok_or(ProtocolError("bad namespace"))?;
            if &rest[..comma] != "/" {
                return Err(ProtocolError("unexpected namespace"));
            }
            rest = &rest[comma + 1..];
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let id = if digits > 0 {
            Some(
                rest[..digits]
                    .parse()
                    .map_err(|_| ProtocolError("bad ack id"))?,
            )
        } else {
            None
        };
        let json: Value = if rest[digits..].is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&rest[digits..]).map_err(bad)?
        };
        let message = match kind {
            b'0' => Message::Connected,
            b'1' => Message::Disconnected,
            b'4' => Message::ConnectError(json),
            b'2' | b'5' => {
                let mut args = into_args(json)?;
                let Value::String(name) = args.remove(0) else {
                    return Err(ProtocolError("event name is not a string"));
                };
                let payload = args.into_iter().next().unwrap_or(Value::Null);
                Message::Event {
                    name,
                    payload,
                    binaries: Vec::new(),
                }
            }
            b'3' | b'6' => {
                let id = id.ok_or(ProtocolError("ack without id"))?;
                let payload = into_args(json)?.into_iter().next().unwrap_or(Value::Null);
                Message::Ack {
                    id,
                    payload,
                    binaries: Vec::new(),
                }
            }
            _ => return Err(ProtocolError("unknown Socket.IO packet")),
        };
        if attachments == 0 {
            return Ok(Some(message));
        }
        self.waiting = Some((message, attachments));
        Ok(None)
    }

    /// A binary frame: the next attachment of the message being collected.
    pub fn binary(&mut self, data: Vec<u8>) -> Result<Option<Message>, ProtocolError> {
        let (mut message, due) = self
            .waiting
            .take()
            .ok_or(ProtocolError("unexpected binary frame"))?;
        if let Message::Event { binaries, .. } | Message::Ack { binaries, .. } = &mut message {
            binaries.push(data);
            if binaries.len() == due {
                return Ok(Some(message));
            }
        }
        self.waiting = Some((message, due));
        Ok(None)
    }
}

fn into_args(json: Value) -> Result<Vec<Value>, ProtocolError> {
    match json {
        Value::Array(args) if !args.is_empty() => Ok(args),
        _ => Err(ProtocolError("event arguments are not a non-empty array")),
    }
}

/// The placeholder that stands for attachment `num` in an emitted payload.
pub fn placeholder(num: usize) -> Value {
    serde_json::json!({ "_placeholder": true, "num": num })
}

/// The whole text frame of an emit: Engine.IO `4`, Socket.IO `2` (or `5N-` with attachments),
/// ack id, `["event",payload]`. The attachments follow as binary frames, in placeholder order.
pub fn encode_emit(event: &str, payload: &Value, attachments: usize, ack: Option<u64>) -> String {
    let mut out = String::from(if attachments > 0 { "45" } else { "42" });
    if attachments > 0 {
        out.push_str(&format!("{attachments}-"));
    }
    if let Some(id) = ack {
        out.push_str(&id.to_string());
    }
    out.push_str(&serde_json::json!([event, payload]).to_string());
    out
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
    fn decodes_engine_packets() {
        assert_eq!(parse_engine("2"), Ok(EnginePacket::Ping));
        assert_eq!(parse_engine("1"), Ok(EnginePacket::Close));
        assert_eq!(parse_engine("40"), Ok(EnginePacket::Message("0".into())));
        assert!(
            matches!(parse_engine(r#"0{"sid":"x","pingInterval":25000}"#), Ok(EnginePacket::Open(v)) if v["sid"] == "x")
        );
        assert!(parse_engine("9").is_err());
        assert!(parse_engine("").is_err());
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
            "2é",
            "é",
        ] {
            let mut d = Decoder::default();
            assert!(d.text(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Decoder::default().binary(vec![1]).is_err());
    }
}
