//! Socket.IO v5 packets, decoded as strictly as the reference `socket.io-parser` (v4.2.x)
//! decoder, and encoded exactly as its encoder writes them.
//!
//! Wire format (spec: <https://github.com/socketio/socket.io-protocol>, "Packet encoding"):
//!
//! ```text
//! <type digit>[<attachments>-][<namespace>,][<ack id>][JSON payload]
//! ```
//!
//! The attachment count appears only on binary types; the namespace only when it is not `/`.
//! Binary values are replaced by placeholders `{"_placeholder":true,"num":i}` and sent as
//! separate binary Engine.IO messages after the packet; collecting them is the caller's job.
//!
//! JSON is miniserde's [`Value`]: its parser, `Drop` and serializer are non-recursive, so
//! attacker-chosen nesting depth cannot overflow the stack here. (`Value`'s `Clone` and
//! `Debug` *are* recursive: do not clone or debug-print untrusted values.) Objects are
//! `BTreeMap`s, so re-encoded objects have sorted keys, unlike `JSON.stringify`.
//!
//! # Where miniserde's JSON differs from `JSON.parse` / `JSON.stringify`
//!
//! Pinned by the `miniserde_json_behaviour` test:
//!
//! - Rejected although `JSON.parse` accepts: lone UTF-16 surrogate escapes (`"\ud800"`,
//!   `"\udc00"`), and numbers that overflow to infinity (`1e400`).
//! - Integers are kept exactly up to `u64::MAX` / `i64::MIN` (JavaScript rounds above 2^53);
//!   larger ones become `f64`.
//! - Floats are written by `zmij`: `1.0` stays `1.0` and `1e2` becomes `100.0` (JavaScript
//!   writes `1` and `100`); exponent notation starts at 1e16 (JavaScript: 1e21) and already
//!   at 1e-6 (JavaScript: below 1e-6); `-0.0` stays `-0.0` (JavaScript: `0`). Float parsing
//!   (significand times a power of ten) is not always correctly rounded in the last bit.
//! - Object keys come back sorted; a duplicated key keeps its last value, as in JavaScript.

use miniserde::json::{self, Number, Object, Value};

use super::DecodeError;

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
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

impl PacketKind {
    /// Every kind, in digit order.
    pub const ALL: [PacketKind; 7] = [
        Self::Connect,
        Self::Disconnect,
        Self::Event,
        Self::Ack,
        Self::ConnectError,
        Self::BinaryEvent,
        Self::BinaryAck,
    ];

    /// The kind for an ASCII digit byte `b'0'..=b'6'`; `None` for anything else.
    pub fn from_digit(digit: u8) -> Option<Self> {
        Some(match digit {
            b'0' => Self::Connect,
            b'1' => Self::Disconnect,
            b'2' => Self::Event,
            b'3' => Self::Ack,
            b'4' => Self::ConnectError,
            b'5' => Self::BinaryEvent,
            b'6' => Self::BinaryAck,
            _ => return None,
        })
    }

    /// The ASCII digit byte (`b'0'..=b'6'`) that starts a packet of this kind.
    pub fn digit(self) -> u8 {
        match self {
            Self::Connect => b'0',
            Self::Disconnect => b'1',
            Self::Event => b'2',
            Self::Ack => b'3',
            Self::ConnectError => b'4',
            Self::BinaryEvent => b'5',
            Self::BinaryAck => b'6',
        }
    }

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

/// One decoded Socket.IO packet (without its binary attachments, which arrive separately).
#[derive(Clone, Debug)]
pub struct Packet {
    /// The packet type.
    pub kind: PacketKind,
    /// The namespace, `/` when the packet names none.
    pub nsp: String,
    /// The ack id, when the sender wants an acknowledgement (or this is an ack).
    pub id: Option<u64>,
    /// The number of binary attachments that follow; always 0 for non-binary kinds.
    pub attachments: usize,
    /// The JSON payload, already checked to have the shape its kind requires.
    pub data: Option<Value>,
}

/// Decodes one Socket.IO packet from the data of an Engine.IO `message` text packet.
///
/// Rejects, like the reference decoder: an unknown type digit; a binary type without
/// `<digits>-`; a payload that is not JSON or has the wrong shape for its kind (see
/// [`PacketKind`]); reserved event names. In addition: more than `max_attachments`
/// attachments, an ack id beyond `u64`, and (for binary kinds) any malformed or out-of-range
/// placeholder (see [`check_placeholders`]).
pub fn decode(s: &str, max_attachments: usize) -> Result<Packet, DecodeError> {
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

    let (digits, after) = split_digits(rest);
    let id = if digits.is_empty() {
        None
    } else {
        Some(parse_decimal(digits).ok_or(DecodeError::InvalidAckId)?)
    };
    rest = after;

    let data = if rest.is_empty() {
        None
    } else {
        Some(json::from_str::<Value>(rest).map_err(|_| DecodeError::InvalidJson)?)
    };
    check_payload(kind, data.as_ref())?;
    if let (true, Some(value)) = (kind.is_binary(), &data) {
        check_placeholders(value, attachments)?;
    }

    Ok(Packet {
        kind,
        nsp: nsp.to_owned(),
        id,
        attachments,
        data,
    })
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

/// The reference's `isPayloadValid`, plus "EVENT and ACK need a payload".
fn check_payload(kind: PacketKind, data: Option<&Value>) -> Result<(), DecodeError> {
    let valid = match (kind, data) {
        (PacketKind::Connect, None | Some(Value::Object(_))) => true,
        (PacketKind::Disconnect, None) => true,
        (PacketKind::ConnectError, Some(Value::String(_) | Value::Object(_))) => true,
        (PacketKind::Event | PacketKind::BinaryEvent, Some(Value::Array(args))) => {
            match args.first() {
                Some(Value::Number(_)) => true,
                Some(Value::String(name)) => !RESERVED_EVENTS.contains(&name.as_str()),
                _ => false,
            }
        }
        (PacketKind::Ack | PacketKind::BinaryAck, Some(Value::Array(_))) => true,
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(DecodeError::InvalidPayload)
    }
}

/// Checks that every placeholder in `value` is exactly `{"_placeholder":true,"num":i}` with
/// `0 <= i < attachments`.
///
/// Any object with a `_placeholder` key counts as a placeholder (the reference treats any
/// truthy `_placeholder` as one); other objects and arrays are searched. Attachments that no
/// placeholder refers to, and placeholders sharing one attachment, are allowed, as in the
/// reference. Walks with an explicit stack: nesting depth is chosen by the peer.
pub fn check_placeholders(value: &Value, attachments: usize) -> Result<(), DecodeError> {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items.iter()),
            Value::Object(object) if object.contains_key(PLACEHOLDER_KEY) => {
                match placeholder_num(object) {
                    Some(num) if num < attachments => {}
                    _ => return Err(DecodeError::InvalidPlaceholder),
                }
            }
            Value::Object(object) => stack.extend(object.values()),
            _ => {}
        }
    }
    Ok(())
}

const PLACEHOLDER_KEY: &str = "_placeholder";
const NUM_KEY: &str = "num";

/// The `num` of a well-formed placeholder object, `None` if it is malformed.
fn placeholder_num(object: &Object) -> Option<usize> {
    if object.len() != 2 || !matches!(object.get(PLACEHOLDER_KEY), Some(Value::Bool(true))) {
        return None;
    }
    match object.get(NUM_KEY)? {
        Value::Number(Number::U64(n)) => usize::try_from(*n).ok(),
        Value::Number(Number::I64(n)) => usize::try_from(*n).ok(),
        // `0.0` is a valid JavaScript array index; anything fractional is not.
        Value::Number(Number::F64(f)) if f.fract() == 0.0 && *f >= 0.0 && *f < 4_294_967_296.0 => {
            // Exact: integral, non-negative and below 2^32.
            usize::try_from(*f as u64).ok()
        }
        _ => None,
    }
}

/// The placeholder that stands for attachment `num`: `{"_placeholder":true,"num":num}`.
pub fn placeholder(num: usize) -> Value {
    let mut object = Object::new();
    object.insert(PLACEHOLDER_KEY.to_owned(), Value::Bool(true));
    let num = u64::try_from(num).unwrap_or(u64::MAX);
    object.insert(NUM_KEY.to_owned(), Value::Number(Number::U64(num)));
    Value::Object(object)
}

/// The packet header, to which the caller appends the JSON payload: e.g. `51-/custom,12`.
///
/// `attachments` is written only for binary kinds; the namespace only when it is not `/`
/// (or empty), followed by `,`; then the ack id, if any.
pub fn encode_header(kind: PacketKind, attachments: usize, nsp: &str, id: Option<u64>) -> String {
    let mut out = String::with_capacity(nsp.len().saturating_add(32));
    out.push(char::from(kind.digit()));
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

/// A whole packet: [`encode_header`] followed by the compact JSON of `data`, if any.
pub fn encode(
    kind: PacketKind,
    attachments: usize,
    nsp: &str,
    id: Option<u64>,
    data: Option<&Value>,
) -> String {
    let mut out = encode_header(kind, attachments, nsp, id);
    if let Some(data) = data {
        out.push_str(&json::to_string(data));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniserde::json::Array;
    use proptest::prelude::*;

    const MAX: usize = 10;

    /// (wire, kind, nsp, id, attachments, JSON payload).
    type Fixture = (
        &'static str,
        PacketKind,
        &'static str,
        Option<u64>,
        usize,
        Option<&'static str>,
    );

    /// The socket.io-protocol v5 README's
    /// "Packet encoding" tables and the socket.io-parser test fixtures.
    #[rustfmt::skip]
    const FIXTURES: &[Fixture] = &[
        ("0", PacketKind::Connect, "/", None, 0, None),
        (r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#, PacketKind::Connect, "/", None, 0, Some(r#"{"sid":"wZX3oN0bSVIhsaknAAAI"}"#)),
        ("0/admin,", PacketKind::Connect, "/admin", None, 0, None),
        (r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#, PacketKind::Connect, "/admin", None, 0, Some(r#"{"sid":"oSO0OpakMV_3jnilAAAA"}"#)),
        (r#"4{"message":"Not authorized"}"#, PacketKind::ConnectError, "/", None, 0, Some(r#"{"message":"Not authorized"}"#)),
        (r#"2["foo"]"#, PacketKind::Event, "/", None, 0, Some(r#"["foo"]"#)),
        (r#"2/admin,["bar"]"#, PacketKind::Event, "/admin", None, 0, Some(r#"["bar"]"#)),
        (r#"51-["baz",{"_placeholder":true,"num":0}]"#, PacketKind::BinaryEvent, "/", None, 1, Some(r#"["baz",{"_placeholder":true,"num":0}]"#)),
        (r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#, PacketKind::BinaryEvent, "/admin", None, 2, Some(r#"["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)),
        (r#"212["foo"]"#, PacketKind::Event, "/", Some(12), 0, Some(r#"["foo"]"#)),
        ("312[]", PacketKind::Ack, "/", Some(12), 0, Some("[]")),
        (r#"2/admin,13["foo"]"#, PacketKind::Event, "/admin", Some(13), 0, Some(r#"["foo"]"#)),
        (r#"3/admin,13["bar"]"#, PacketKind::Ack, "/admin", Some(13), 0, Some(r#"["bar"]"#)),
        (r#"51-14["foo",{"_placeholder":true,"num":0}]"#, PacketKind::BinaryEvent, "/", Some(14), 1, Some(r#"["foo",{"_placeholder":true,"num":0}]"#)),
        (r#"314["bar"]"#, PacketKind::Ack, "/", Some(14), 0, Some(r#"["bar"]"#)),
        (r#"61-15["bar",{"_placeholder":true,"num":0}]"#, PacketKind::BinaryAck, "/", Some(15), 1, Some(r#"["bar",{"_placeholder":true,"num":0}]"#)),
        ("1", PacketKind::Disconnect, "/", None, 0, None),
        ("1/admin,", PacketKind::Disconnect, "/admin", None, 0, None),
        (r#"0/woot,{"token":"123"}"#, PacketKind::Connect, "/woot", None, 0, Some(r#"{"token":"123"}"#)),
        ("1/woot,", PacketKind::Disconnect, "/woot", None, 0, None),
        (r#"2["a",1,{}]"#, PacketKind::Event, "/", None, 0, Some(r#"["a",1,{}]"#)),
        (r#"2[1,"a",{}]"#, PacketKind::Event, "/", None, 0, Some(r#"[1,"a",{}]"#)),
        (r#"2/test,1["a",1,{}]"#, PacketKind::Event, "/test", Some(1), 0, Some(r#"["a",1,{}]"#)),
        (r#"3123["a",1,{}]"#, PacketKind::Ack, "/", Some(123), 0, Some(r#"["a",1,{}]"#)),
        (r#"4"Unauthorized""#, PacketKind::ConnectError, "/", None, 0, Some(r#""Unauthorized""#)),
        (r#"4{"message":"Unauthorized"}"#, PacketKind::ConnectError, "/", None, 0, Some(r#"{"message":"Unauthorized"}"#)),
        (r#"51-["hello"]"#, PacketKind::BinaryEvent, "/", None, 1, Some(r#"["hello"]"#)),
        (r#"50-["hello"]"#, PacketKind::BinaryEvent, "/", None, 0, Some(r#"["hello"]"#)),
    ];

    #[test]
    fn decodes_protocol_examples() {
        for &(wire, kind, nsp, id, attachments, data) in FIXTURES {
            let p = decode(wire, MAX).unwrap_or_else(|e| panic!("{wire}: {e}"));
            assert_eq!(p.kind, kind, "{wire}");
            assert_eq!(p.nsp, nsp, "{wire}");
            assert_eq!(p.id, id, "{wire}");
            assert_eq!(p.attachments, attachments, "{wire}");
            assert_eq!(
                p.data.as_ref().map(json::to_string),
                data.map(str::to_owned),
                "{wire}"
            );
        }
    }

    #[test]
    fn encodes_protocol_examples() {
        for &(wire, kind, nsp, id, attachments, data) in FIXTURES {
            let value = data.map(|d| json::from_str::<Value>(d).unwrap());
            assert_eq!(encode(kind, attachments, nsp, id, value.as_ref()), wire);
        }
    }

    #[test]
    fn engine_io_wrapped() {
        // `40{"sid":…}` on the wire is Engine.IO message `4` + Socket.IO CONNECT.
        let (kind, data) =
            super::super::eio::decode_text(r#"40{"sid":"wZX3oN0bSVIhsaknAAAI"}"#).unwrap();
        assert_eq!(kind, super::super::eio::PacketKind::Message);
        let p = decode(data, MAX).unwrap();
        assert_eq!(p.kind, PacketKind::Connect);
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
    fn placeholder_shape() {
        assert_eq!(
            json::to_string(&placeholder(3)),
            r#"{"_placeholder":true,"num":3}"#
        );
        check_placeholders(&placeholder(3), 4).unwrap();
        assert_eq!(
            check_placeholders(&placeholder(4), 4),
            Err(DecodeError::InvalidPlaceholder)
        );
    }

    #[test]
    fn rejects_what_the_reference_rejects() {
        use DecodeError::*;
        let cases: &[(&str, DecodeError)] = &[
            // socket.io-parser test/parser.js "throw an error upon parsing error"
            (r#"442["some","data""#, InvalidJson),
            (r#"0/admin,"invalid""#, InvalidPayload),
            ("0[]", InvalidPayload),
            ("1/admin,{}", InvalidPayload),
            (r#"2/admin,"invalid"#, InvalidJson),
            ("2/admin,{}", InvalidPayload),
            (r#"2[{"toString":"foo"}]"#, InvalidPayload),
            (r#"2[true,"foo"]"#, InvalidPayload),
            (r#"2[null,"bar"]"#, InvalidPayload),
            (r#"2["connect"]"#, InvalidPayload),
            (r#"2["disconnect","123"]"#, InvalidPayload),
            ("999", UnknownPacketType),
            ("5", IllegalAttachments),
            // Every reserved name, and the binary kind too.
            (r#"2["connect_error"]"#, InvalidPayload),
            (r#"2["disconnecting"]"#, InvalidPayload),
            (r#"2["newListener"]"#, InvalidPayload),
            (
                r#"51-["removeListener",{"_placeholder":true,"num":0}]"#,
                InvalidPayload,
            ),
            // Shapes per kind.
            ("", Empty),
            ("7", UnknownPacketType),
            ("a", UnknownPacketType),
            ("2", InvalidPayload),
            ("2[]", InvalidPayload),
            ("3", InvalidPayload),
            ("3{}", InvalidPayload),
            ("4", InvalidPayload),
            ("4[]", InvalidPayload),
            ("41", InvalidPayload),
            ("1[]", InvalidPayload),
            ("0null", InvalidPayload),
            ("2 ", InvalidJson),
            (r#"2["a"]x"#, InvalidJson),
            ("2admin,[\"a\"]", InvalidJson),
            // Attachments.
            (r#"5-["a"]"#, IllegalAttachments),
            (r#"5x-["a"]"#, IllegalAttachments),
            (r#"51["a"]"#, IllegalAttachments),
            (r#"6["a"]"#, IllegalAttachments),
            (r#"511-["a"]"#, TooManyAttachments),
            (r#"599999999999999999999999-["a"]"#, TooManyAttachments),
            // Ack ids.
            (r#"218446744073709551616["a"]"#, InvalidAckId),
            // Placeholders.
            (
                r#"51-["a",{"_placeholder":true,"num":1}]"#,
                InvalidPlaceholder,
            ),
            (
                r#"51-["a",{"_placeholder":true,"num":-1}]"#,
                InvalidPlaceholder,
            ),
            (
                r#"51-["a",{"_placeholder":true,"num":0.5}]"#,
                InvalidPlaceholder,
            ),
            (
                r#"51-["a",{"_placeholder":true,"num":"0"}]"#,
                InvalidPlaceholder,
            ),
            (r#"51-["a",{"_placeholder":true}]"#, InvalidPlaceholder),
            (
                r#"51-["a",{"_placeholder":false,"num":0}]"#,
                InvalidPlaceholder,
            ),
            (
                r#"51-["a",{"_placeholder":true,"num":0,"x":1}]"#,
                InvalidPlaceholder,
            ),
            (
                r#"61-1[{"x":[{"_placeholder":true,"num":3}]}]"#,
                InvalidPlaceholder,
            ),
        ];
        for &(wire, want) in cases {
            assert_eq!(decode(wire, MAX).map(|p| p.kind), Err(want), "{wire}");
        }
    }

    #[test]
    fn accepts_edge_cases() {
        let max_id = format!("2{}[\"a\"]", u64::MAX);
        assert_eq!(decode(&max_id, MAX).unwrap().id, Some(u64::MAX));
        // A namespace running to the end of the packet, without a comma.
        assert_eq!(decode("0/admin", MAX).unwrap().nsp, "/admin");
        // Leading zeros in counts and ids are plain decimal.
        let p = decode(r#"601-007[{"_placeholder":true,"num":0.0}]"#, MAX).unwrap();
        assert_eq!((p.attachments, p.id), (1, Some(7)));
        // Placeholders nested anywhere, shared, or unused.
        decode(
            r#"62-/a,9[{"x":[[{"_placeholder":true,"num":1}]],"y":{"_placeholder":true,"num":1}}]"#,
            MAX,
        )
        .unwrap();
        // Non-binary kinds do not interpret placeholders, like the reference.
        decode(r#"2["a",{"_placeholder":true,"num":99}]"#, MAX).unwrap();
        // Whitespace around JSON is JSON.
        decode(" 2", MAX).unwrap_err();
        decode("2 [\"a\"] ", MAX).unwrap();
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let depth = 200_000;
        let deep = format!("51-[\"a\",{}{}]", "[".repeat(depth), "]".repeat(depth));
        let p = decode(&deep, MAX).unwrap();
        check_placeholders(p.data.as_ref().unwrap(), 1).unwrap();
        let encoded = encode(p.kind, p.attachments, &p.nsp, p.id, p.data.as_ref());
        assert_eq!(encoded, deep);
        let deep_obj = format!("61-[{}1{}]", "{\"a\":".repeat(depth), "}".repeat(depth));
        decode(&deep_obj, MAX).unwrap();
    }

    /// Pins how miniserde treats JSON that the reference's `JSON.parse`/`JSON.stringify`
    /// treat differently (see the report in the module doc).
    #[test]
    fn miniserde_json_behaviour() {
        let round = |s: &str| json::from_str::<Value>(s).map(|v| json::to_string(&v));
        assert_eq!(round("1.0").unwrap(), "1.0");
        assert_eq!(round("1e2").unwrap(), "100.0");
        assert_eq!(round("-0").unwrap(), "0");
        assert_eq!(round("-0.0").unwrap(), "-0.0");
        assert_eq!(round("1e16").unwrap(), "1e+16");
        assert_eq!(round("1e-6").unwrap(), "1e-6");
        assert_eq!(
            round("18446744073709551615").unwrap(),
            "18446744073709551615"
        );
        assert_eq!(
            round("18446744073709551616").unwrap(),
            "1.8446744073709552e+19"
        );
        assert_eq!(round("9007199254740993").unwrap(), "9007199254740993");
        assert_eq!(round(r#"{"b":1,"a":2,"b":3}"#).unwrap(), r#"{"a":2,"b":3}"#);
        assert_eq!(round(r#""\ud83d\ude00""#).unwrap(), "\"\u{1f600}\"");
        assert_eq!(round(r#""\u00e9\u0000""#).unwrap(), "\"é\\u0000\"");
        assert!(round("1e400").is_err());
        assert!(round(r#""\ud800""#).is_err());
        assert!(round(r#""\udc00""#).is_err());
    }

    fn kind_and_data() -> impl Strategy<Value = (PacketKind, usize, Option<Value>)> {
        let scalar = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(|n| Value::Number(Number::U64(n))),
            (i64::MIN..0).prop_map(|n| Value::Number(Number::I64(n))),
            ".{0,12}".prop_map(Value::String),
        ];
        let args = proptest::collection::vec(scalar, 0..4);
        (0u8..7, "[a-z:-]{1,10}", args, 0usize..4).prop_map(|(digit, name, args, n)| {
            let kind = PacketKind::ALL[usize::from(digit)];
            let mut array: Array = args.into_iter().collect();
            match kind {
                PacketKind::Connect => {
                    let mut o = Object::new();
                    o.insert(name, Value::Array(array));
                    (kind, 0, Some(Value::Object(o)))
                }
                PacketKind::Disconnect => (kind, 0, None),
                PacketKind::ConnectError => (kind, 0, Some(Value::String(name))),
                PacketKind::Event => {
                    array.insert(0, Value::String(format!("ev{name}")));
                    (kind, 0, Some(Value::Array(array)))
                }
                PacketKind::Ack => (kind, 0, Some(Value::Array(array))),
                PacketKind::BinaryEvent | PacketKind::BinaryAck => {
                    array.extend((0..n).map(placeholder));
                    if kind == PacketKind::BinaryEvent {
                        array.insert(0, Value::String(format!("ev{name}")));
                    }
                    (kind, n, Some(Value::Array(array)))
                }
            }
        })
    }

    proptest! {
        #[test]
        fn round_trip(
            (kind, attachments, data) in kind_and_data(),
            nsp in prop_oneof![Just("/".to_owned()), "/[a-z0-9/_-]{1,10}"],
            id in proptest::option::of(any::<u64>()),
        ) {
            let wire = encode(kind, attachments, &nsp, id, data.as_ref());
            let p = decode(&wire, MAX).map_err(|e| TestCaseError::fail(format!("{wire}: {e}")))?;
            prop_assert_eq!(p.kind, kind);
            prop_assert_eq!(&p.nsp, &nsp);
            prop_assert_eq!(p.id, id);
            prop_assert_eq!(p.attachments, attachments);
            prop_assert_eq!(p.data.as_ref().map(json::to_string), data.as_ref().map(json::to_string));
            prop_assert_eq!(encode(p.kind, p.attachments, &p.nsp, p.id, p.data.as_ref()), wire);
        }

        #[test]
        fn decode_never_panics(s in ".*") {
            let _ = decode(&s, MAX);
        }

        #[test]
        fn decode_never_panics_on_near_misses(s in r#"[0-6][0-9/,a-z\-\[\]{}":_.e]{0,40}"#) {
            let _ = decode(&s, MAX);
        }
    }
}
