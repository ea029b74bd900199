//! Socket.IO v5 packets with their JSON parsed, decoded as strictly as the reference
//! `socket.io-parser` (v4.2.x) decoder, and encoded exactly as its encoder writes them. The
//! header around the JSON is the protocol crate's (`sharethings_protocol::sio`); what this
//! module adds is the server's side of the JSON: the cost scan before parsing
//! ([`json_cost`]), the shape each packet kind needs, and the placeholders.
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

use sharethings_protocol::sio::{decode_header, NUM_KEY, PLACEHOLDER_KEY};
pub use sharethings_protocol::sio::{encode_header, PacketKind, RESERVED_EVENTS};

use super::DecodeError;

pub mod json_cost;

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
    let (header, rest) = decode_header(s, limits.attachments)?;
    let data = if rest.is_empty() {
        None
    } else {
        json_cost::check(rest, limits)?;
        Some(json::from_str::<Value>(rest).map_err(|_| DecodeError::InvalidJson)?)
    };
    check_payload(header.kind, data.as_ref())?;
    if let (true, Some(value)) = (header.kind.is_binary(), &data) {
        check_placeholders(value, header.attachments)?;
    }

    Ok(Packet {
        kind: header.kind,
        nsp: header.nsp.to_owned(),
        id: header.id,
        attachments: header.attachments,
        data,
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
