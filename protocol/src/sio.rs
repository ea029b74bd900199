//! Socket.IO v5 packets: the header around the JSON, decoded as strictly as the reference
//! `socket.io-parser` (v4.2.x) decoder and encoded exactly as its encoder writes it, and a
//! client's collection of binary attachments.
//!
//! Wire format (spec: <https://github.com/socketio/socket.io-protocol>, "Packet encoding"):
//!
//! ```text
//! <type digit>[<attachments>-][<namespace>,][<ack id>][JSON payload]
//! ```
//!
//! The attachment count appears only on binary types; the namespace only when it is not `/`.
//! Binary values are replaced by placeholders `{"_placeholder":true,"num":i}` and sent as
//! separate binary Engine.IO messages after the packet, in order.
//!
//! The JSON payload stays text ([`decode_header`] returns it as the `&str` it was): what
//! shape each kind needs (see [`PacketKind`]) is checked by whoever parses it.

use crate::eio;
use crate::DecodeError;

digit_kinds! {
/// Socket.IO packet type, written as one ASCII digit at the start of the packet.
///
/// | Type          | ID  | Usage                                                  |
/// |---------------|-----|--------------------------------------------------------|
/// | CONNECT       | 0   | Connection to a namespace (and the server's answer).   |
/// | DISCONNECT    | 1   | Disconnection from a namespace.                        |
/// | EVENT         | 2   | Send data to the other side.                           |
/// | ACK           | 3   | Acknowledge an event.                                  |
/// | CONNECT_ERROR | 4   | Connection to a namespace refused.                     |
/// | BINARY_EVENT  | 5   | Send binary data to the other side.                    |
/// | BINARY_ACK    | 6   | Acknowledge an event with binary data.                 |
pub enum PacketKind {
    /// `0`: payload absent or an object (client auth; server answer `{"sid":…}`).
    Connect = 0,
    /// `1`: no payload.
    Disconnect = 1,
    /// `2`: payload is a non-empty array: event name (or number), then arguments.
    Event = 2,
    /// `3`: payload is an array of arguments (possibly empty).
    Ack = 3,
    /// `4`: payload is a string or an object (`{"message":…}`).
    ConnectError = 4,
    /// `5`: like `Event`, with placeholders for binary attachments.
    BinaryEvent = 5,
    /// `6`: like `Ack`, with placeholders for binary attachments.
    BinaryAck = 6,
}
}

impl PacketKind {
    /// Whether packets of this kind carry an attachment count and binary attachments.
    pub fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }
}

/// Event names the reference rejects in EVENT packets, because they have a special meaning
/// to the client, the server or Node's EventEmitter.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The key that marks a placeholder object, `{"_placeholder":true,"num":i}`.
pub const PLACEHOLDER_KEY: &str = "_placeholder";
/// The key of a placeholder's attachment index.
pub const NUM_KEY: &str = "num";

/// The placeholder for attachment `num` as JSON text: `{"_placeholder":true,"num":0}`.
pub fn placeholder_json(num: usize) -> String {
    format!(r#"{{"{PLACEHOLDER_KEY}":true,"{NUM_KEY}":{num}}}"#)
}

/// CONNECT to the default namespace, as a whole Engine.IO text packet.
pub const CONNECT: &str = "40";
/// DISCONNECT from the default namespace (a clean leave), as a whole Engine.IO text packet.
pub const DISCONNECT: &str = "41";

/// Everything of a packet but its JSON payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// The packet type.
    pub kind: PacketKind,
    /// The number of binary attachments that follow; always 0 for non-binary kinds.
    pub attachments: usize,
    /// The namespace, `/` when the packet names none.
    pub nsp: &'a str,
    /// The ack id, when the sender wants an acknowledgement (or this is an ack).
    pub id: Option<u64>,
}

impl Header<'static> {
    /// An event on the default namespace: EVENT, or BINARY_EVENT when `attachments` follow.
    pub fn event(attachments: usize, id: Option<u64>) -> Header<'static> {
        let kind = if attachments > 0 {
            PacketKind::BinaryEvent
        } else {
            PacketKind::Event
        };
        Header {
            kind,
            attachments,
            nsp: "/",
            id,
        }
    }
}

impl Header<'_> {
    /// The whole Engine.IO text packet of this header and its JSON payload (`4` + header +
    /// `json`), in one allocation; the attachments follow as binary messages, in order.
    pub fn message(&self, json: &str) -> String {
        let header = encode_header(self.kind, self.attachments, self.nsp, self.id);
        eio::encode_text_parts(eio::PacketKind::Message, &[&header, json])
    }
}

/// Splits one Socket.IO packet (the data of an Engine.IO `message` text packet) into its
/// header and its JSON payload text (empty when there is none).
///
/// Rejects, like the reference decoder: an unknown type digit; a binary type without
/// `<digits>-`. In addition: more than `max_attachments`, and an ack id beyond `u64`.
pub fn decode_header(s: &str, max_attachments: usize) -> Result<(Header<'_>, &str), DecodeError> {
    let (&first, _) = s.as_bytes().split_first().ok_or(DecodeError::Empty)?;
    let kind = PacketKind::from_digit(first).ok_or(DecodeError::UnknownPacketType)?;
    // The first byte is an ASCII digit, so index 1 is a char boundary.
    let mut rest = s.get(1..).ok_or(DecodeError::UnknownPacketType)?;

    let mut attachments = 0;
    if kind.is_binary() {
        let (count, after) = split_digits(rest);
        let after = after
            .strip_prefix('-')
            .ok_or(DecodeError::IllegalAttachments)?;
        if count.is_empty() {
            return Err(DecodeError::IllegalAttachments);
        }
        // A count too large for usize is certainly above the limit.
        attachments = parse_decimal(count)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n <= max_attachments)
            .ok_or(DecodeError::TooManyAttachments)?;
        rest = after;
    }

    let nsp = if rest.starts_with('/') {
        match rest.split_once(',') {
            Some((nsp, after)) => {
                rest = after;
                nsp
            }
            None => std::mem::take(&mut rest),
        }
    } else {
        "/"
    };

    let (digits, json) = split_digits(rest);
    let id = if digits.is_empty() {
        None
    } else {
        Some(parse_decimal(digits).ok_or(DecodeError::InvalidAckId)?)
    };
    let header = Header {
        kind,
        attachments,
        nsp,
        id,
    };
    Ok((header, json))
}

/// Splits `s` after its leading ASCII digits.
fn split_digits(s: &str) -> (&str, &str) {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    // ASCII digits are one byte each, so `n` is a char boundary.
    s.split_at_checked(n).unwrap_or((s, ""))
}

/// Parses a non-empty run of ASCII digits; `None` on overflow.
fn parse_decimal(digits: &str) -> Option<u64> {
    digits.bytes().try_fold(0u64, |acc, b| {
        acc.checked_mul(10)?
            .checked_add(u64::from(b.checked_sub(b'0')?))
    })
}

/// The packet header, to which the caller appends the JSON payload: e.g. `51-/custom,12`.
///
/// `attachments` is written only for binary kinds; the namespace only when it is not `/`
/// (or empty), followed by `,`; then the ack id, if any.
pub fn encode_header(kind: PacketKind, attachments: usize, nsp: &str, id: Option<u64>) -> String {
    let mut out = String::with_capacity(nsp.len().saturating_add(32));
    out.push(kind.digit_char());
    if kind.is_binary() {
        out.push_str(&attachments.to_string());
        out.push('-');
    }
    if !nsp.is_empty() && nsp != "/" {
        out.push_str(nsp);
        out.push(',');
    }
    if let Some(id) = id {
        out.push_str(&id.to_string());
    }
    out
}

/// A whole packet received by a client: header, JSON payload text and attachments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The packet type.
    pub kind: PacketKind,
    /// The namespace, `/` when the packet names none.
    pub nsp: String,
    /// The ack id, if any.
    pub id: Option<u64>,
    /// The JSON payload as it came (empty when there is none).
    pub json: String,
    /// The binary attachments, in the order of their placeholders' `num`.
    pub attachments: Vec<Vec<u8>>,
}

/// A client's reader of the packets a server sends: a text packet, then one binary message
/// per attachment it announced, one packet at a time. (The server has its own, with a
/// deadline for the attachments and memory accounting.)
#[derive(Debug)]
pub struct Assembler {
    max_attachments: usize,
    waiting: Option<(Received, usize)>,
}

impl Assembler {
    /// A reader that refuses packets announcing more than `max_attachments`, which bounds
    /// what a hostile server can make it hold (with the WebSocket's own message size cap).
    pub fn new(max_attachments: usize) -> Assembler {
        Assembler {
            max_attachments,
            waiting: None,
        }
    }

    /// A Socket.IO packet (the data of an Engine.IO `message` text packet). Returns it when
    /// it needs no attachments; otherwise they must come next.
    pub fn text(&mut self, packet: &str) -> Result<Option<Received>, DecodeError> {
        if self.waiting.is_some() {
            return Err(DecodeError::UnexpectedAttachment);
        }
        let (header, json) = decode_header(packet, self.max_attachments)?;
        let received = Received {
            kind: header.kind,
            nsp: header.nsp.to_owned(),
            id: header.id,
            json: json.to_owned(),
            attachments: Vec::with_capacity(header.attachments),
        };
        if header.attachments == 0 {
            return Ok(Some(received));
        }
        self.waiting = Some((received, header.attachments));
        Ok(None)
    }

    /// A binary message: the next attachment of the packet being collected.
    pub fn binary(&mut self, data: Vec<u8>) -> Result<Option<Received>, DecodeError> {
        let (mut received, due) = self
            .waiting
            .take()
            .ok_or(DecodeError::UnexpectedAttachment)?;
        received.attachments.push(data);
        if received.attachments.len() == due {
            return Ok(Some(received));
        }
        self.waiting = Some((received, due));
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (wire, kind, nsp, id, attachments, JSON payload).
    type Fixture = (
        &'static str,
        PacketKind,
        &'static str,
        Option<u64>,
        usize,
        &'static str,
    );

    /// The socket.io-protocol v5 README's "Packet encoding" tables and the socket.io-parser
    /// test fixtures.
    #[rustfmt::skip]
    const FIXTURES: &[Fixture] = &[
        ("0", PacketKind::Connect, "/", None, 0, ""),
        (r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#, PacketKind::Connect, "/", None, 0, r#"{"sid":"wZX3oN0bSVIhsaknAAAI"}"#),
        ("0/admin,", PacketKind::Connect, "/admin", None, 0, ""),
        (r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#, PacketKind::Connect, "/admin", None, 0, r#"{"sid":"oSO0OpakMV_3jnilAAAA"}"#),
        (r#"4{"message":"Not authorized"}"#, PacketKind::ConnectError, "/", None, 0, r#"{"message":"Not authorized"}"#),
        (r#"2["foo"]"#, PacketKind::Event, "/", None, 0, r#"["foo"]"#),
        (r#"2/admin,["bar"]"#, PacketKind::Event, "/admin", None, 0, r#"["bar"]"#),
        (r#"51-["baz",{"_placeholder":true,"num":0}]"#, PacketKind::BinaryEvent, "/", None, 1, r#"["baz",{"_placeholder":true,"num":0}]"#),
        (r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#, PacketKind::BinaryEvent, "/admin", None, 2, r#"["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#),
        (r#"212["foo"]"#, PacketKind::Event, "/", Some(12), 0, r#"["foo"]"#),
        ("312[]", PacketKind::Ack, "/", Some(12), 0, "[]"),
        (r#"2/admin,13["foo"]"#, PacketKind::Event, "/admin", Some(13), 0, r#"["foo"]"#),
        (r#"51-14["foo",{"_placeholder":true,"num":0}]"#, PacketKind::BinaryEvent, "/", Some(14), 1, r#"["foo",{"_placeholder":true,"num":0}]"#),
        (r#"61-15["bar",{"_placeholder":true,"num":0}]"#, PacketKind::BinaryAck, "/", Some(15), 1, r#"["bar",{"_placeholder":true,"num":0}]"#),
        ("1", PacketKind::Disconnect, "/", None, 0, ""),
        ("1/admin,", PacketKind::Disconnect, "/admin", None, 0, ""),
        (r#"4"Unauthorized""#, PacketKind::ConnectError, "/", None, 0, r#""Unauthorized""#),
        (r#"50-["hello"]"#, PacketKind::BinaryEvent, "/", None, 0, r#"["hello"]"#),
    ];

    #[test]
    fn decodes_protocol_examples() {
        for &(wire, kind, nsp, id, attachments, json) in FIXTURES {
            let (header, rest) = decode_header(wire, 10).unwrap_or_else(|e| panic!("{wire}: {e}"));
            let want = Header {
                kind,
                attachments,
                nsp,
                id,
            };
            assert_eq!((header, rest), (want, json), "{wire}");
        }
    }

    #[test]
    fn encodes_protocol_examples() {
        for &(wire, kind, nsp, id, attachments, json) in FIXTURES {
            assert_eq!(encode_header(kind, attachments, nsp, id) + json, wire);
        }
    }

    #[test]
    fn header_examples() {
        assert_eq!(
            encode_header(PacketKind::BinaryEvent, 1, "/custom", Some(12)),
            "51-/custom,12"
        );
        assert_eq!(encode_header(PacketKind::Event, 3, "/", None), "2");
        assert_eq!(encode_header(PacketKind::Ack, 0, "", Some(0)), "30");
        assert_eq!(encode_header(PacketKind::BinaryAck, 0, "/", None), "60-");
    }

    #[test]
    fn emits_as_socket_io_client_does() {
        assert_eq!(
            Header::event(0, Some(0)).message(r#"["join",{"sessionId":"s"}]"#),
            r#"420["join",{"sessionId":"s"}]"#
        );
        assert_eq!(
            Header::event(0, None).message(r#"["leave",{}]"#),
            r#"42["leave",{}]"#
        );
        let content = format!(r#"["content",{{"data":{}}}]"#, placeholder_json(0));
        assert_eq!(
            Header::event(1, Some(12)).message(&content),
            r#"451-12["content",{"data":{"_placeholder":true,"num":0}}]"#
        );
        assert_eq!(eio::encode_text(eio::PacketKind::Message, "0"), CONNECT);
        assert_eq!(eio::encode_text(eio::PacketKind::Message, "1"), DISCONNECT);
    }

    #[test]
    fn rejects_bad_headers() {
        use DecodeError::*;
        let cases: &[(&str, DecodeError)] = &[
            ("", Empty),
            ("7", UnknownPacketType),
            ("é", UnknownPacketType),
            ("5", IllegalAttachments),
            (r#"5["a"]"#, IllegalAttachments),
            (r#"5x-["a"]"#, IllegalAttachments),
            (r#"5-["a"]"#, IllegalAttachments),
            (r#"511-["a"]"#, TooManyAttachments),
            (r#"599999999999999999999999-["a"]"#, TooManyAttachments),
            (r#"299999999999999999999999["a"]"#, InvalidAckId),
        ];
        for &(wire, error) in cases {
            assert_eq!(decode_header(wire, 10).err(), Some(error), "{wire}");
        }
    }

    #[test]
    fn collects_attachments_one_packet_at_a_time() {
        let mut reader = Assembler::new(10);
        assert_eq!(
            reader.text(r#"37[{"success":true}]"#),
            Ok(Some(Received {
                kind: PacketKind::Ack,
                nsp: "/".into(),
                id: Some(7),
                json: r#"[{"success":true}]"#.into(),
                attachments: vec![],
            }))
        );
        let text = r#"52-["chunk",{"a":{"_placeholder":true,"num":1}}]"#;
        assert_eq!(reader.text(text), Ok(None));
        assert_eq!(
            reader.text(r#"2["x"]"#),
            Err(DecodeError::UnexpectedAttachment),
            "a text packet cannot interrupt attachments"
        );
        let mut reader = Assembler::new(10);
        assert_eq!(reader.text(text), Ok(None));
        assert_eq!(reader.binary(vec![0]), Ok(None));
        let whole = reader.binary(vec![1, 1]).unwrap().unwrap();
        assert_eq!(whole.kind, PacketKind::BinaryEvent);
        assert_eq!(whole.attachments, vec![vec![0], vec![1, 1]]);
        assert_eq!(
            reader.binary(vec![2]),
            Err(DecodeError::UnexpectedAttachment)
        );
        assert_eq!(
            Assembler::new(1).text(r#"52-["x"]"#),
            Err(DecodeError::TooManyAttachments)
        );
    }

    proptest! {
        #[test]
        fn header_round_trip(
            digit in 0u8..7,
            attachments in 0usize..10,
            nsp in "(/|/[a-z]{1,8})",
            id in proptest::option::of(any::<u64>()),
            json in r#"(|\[[a-z"]{0,8}\]|\{\})"#,
        ) {
            let kind = PacketKind::ALL[usize::from(digit)];
            let attachments = if kind.is_binary() { attachments } else { 0 };
            let wire = encode_header(kind, attachments, &nsp, id) + &json;
            let want = Header { kind, attachments, nsp: &nsp, id };
            prop_assert_eq!(decode_header(&wire, 10), Ok((want, json.as_str())));
        }

        #[test]
        fn decode_never_panics(s in ".*") {
            let _ = decode_header(&s, 10);
        }

        #[test]
        fn decode_never_panics_on_near_misses(s in r#"[0-6][0-9/,a-z\-\[\]{}":_.e]{0,40}"#) {
            let _ = decode_header(&s, 10);
        }

        #[test]
        fn assembler_never_panics(
            steps in proptest::collection::vec(
                proptest::option::of(r#"[0-6][0-9\-/,\[\]"a]{0,12}"#), 0..12),
        ) {
            let mut reader = Assembler::new(3);
            for step in steps {
                let _ = match step {
                    Some(text) => reader.text(&text),
                    None => reader.binary(vec![7]),
                };
            }
        }
    }
}
