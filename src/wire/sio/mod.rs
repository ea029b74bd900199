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

pub mod json_cost;

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

/// What one packet may contain at most. The JSON caps are checked by a linear scan of the
/// text before any tree is built ([`json_cost`]): a tree can take a hundred times its text,
/// and a relayed deep tree crashes other members' clients.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Binary attachments.
    pub attachments: usize,
    /// Nesting of JSON arrays and objects (ShareThings payloads are at most 3 deep).
    pub json_depth: usize,
    /// JSON values, keys included (counted as containers, commas and colons).
    pub json_nodes: usize,
    /// Bytes the parsed tree may take, as a multiple of the JSON's length (plus
    /// [`json_cost::ALLOWANCE`]).
    pub json_expansion: usize,
}

/// Decodes one Socket.IO packet from the data of an Engine.IO `message` text packet.
///
/// Rejects, like the reference decoder: an unknown type digit; a binary type without
/// `<digits>-`; a payload that is not JSON or has the wrong shape for its kind (see
/// [`PacketKind`]); reserved event names. In addition: more attachments, or deeper, larger or
/// costlier JSON than `limits` allow, an ack id beyond `u64`, and (for binary kinds) any malformed or
/// out-of-range placeholder (see [`check_placeholders`]).
pub fn decode(s: &str, limits: Limits) -> Result<Packet, DecodeError> {
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
            .filter(|&n| n <= limits.attachments)
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
        json_cost::check(rest, limits)?;
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

/// The attachment a value stands for, when it is a well-formed placeholder.
pub fn placeholder_index(value: &Value) -> Option<usize> {
    match value {
        Value::Object(object) if object.contains_key(PLACEHOLDER_KEY) => placeholder_num(object),
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
mod tests;
