//! What the inbox keeps of a relayed item: its documented envelope (docs/protocol.md, "Items
//! on the wire" for format 2, "Sealed blobs" for format 3) and its sealed `data`, nothing else,
//! encoded once as the `inbox-item` event a late joiner is sent.
//!
//! Any other field a client put in the payload or in `content` is relayed to the members
//! online as it came, but not kept: metadata belongs in the sealed `data`, and what the inbox
//! holds for an hour is then small, of a known shape, and counted at its length.

use bytes::Bytes;
use miniserde::json::{Number, Object, Value};

use crate::socketio::Outgoing;
use crate::wire::sio;

/// The event a kept item is listed as.
pub const LISTING_EVENT: &str = "inbox-item";

/// The fields of `content` that are kept, and the shape each must have to be: format 2's
/// and format 3's (`by`, `seq` and `sig` are v3's; a v2 item has none of them). Each string
/// is bounded well above what a client sends (a 32-digit id, base64 of a 12-byte IV, of a
/// 32-byte public key and of a 64-byte signature).
const ENVELOPE: [(&str, Shape); 7] = [
    ("contentId", Shape::String(CONTENT_ID_MAX)),
    ("format", Shape::Integer),
    ("totalChunks", Shape::Integer),
    ("iv", Shape::String(64)),
    ("by", Shape::String(64)),
    ("seq", Shape::Integer),
    ("sig", Shape::String(128)),
];

/// The longest `contentId` of a kept item, in bytes.
const CONTENT_ID_MAX: usize = 64;

#[derive(Clone, Copy)]
enum Shape {
    /// A string of at most this many bytes.
    String(usize),
    /// A whole number from 0 to 2^64 - 1.
    Integer,
}

impl Shape {
    fn fits(self, value: &Value) -> bool {
        match (self, value) {
            (Shape::String(max), Value::String(s)) => s.len() <= max,
            (Shape::Integer, Value::Number(Number::U64(_))) => true,
            _ => false,
        }
    }
}

/// The item a relayed `content` payload announces: `content.contentId` and
/// `content.totalChunks` when it has chunks; `None` for a control message (no chunks) or a
/// payload the web client and CLI never send (an id longer than a kept one may be).
pub fn item(object: &Object) -> Option<(String, u64)> {
    let Some(Value::Object(content)) = object.get("content") else {
        return None;
    };
    match (content.get("contentId"), content.get("totalChunks")) {
        (Some(Value::String(id)), Some(Value::Number(Number::U64(total))))
            if !id.is_empty() && id.len() <= CONTENT_ID_MAX && *total > 0 =>
        {
            Some((id.clone(), *total))
        }
        _ => None,
    }
}

/// The `inbox-item` event for a relayed item: `{sessionId, from, inbox: true, content:
/// {contentId, format, totalChunks, iv, by?, seq?, sig?}, data}`, each field only when it has its documented
/// shape, and `data` only when it stands for a binary attachment, which becomes the event's one
/// attachment (shared, not copied).
pub fn listing(object: &Object, attachments: &[Bytes]) -> Outgoing {
    let mut kept = Object::new();
    for key in ["sessionId", "from"] {
        if let Some(Value::String(s)) = object.get(key) {
            kept.insert(key.into(), Value::String(s.clone()));
        }
    }
    kept.insert("inbox".into(), Value::Bool(true));
    if let Some(Value::Object(content)) = object.get("content") {
        let mut envelope = Object::new();
        for (key, shape) in ENVELOPE {
            if let Some(value) = content.get(key).filter(|v| shape.fits(v)) {
                envelope.insert(key.into(), shallow_copy(value));
            }
        }
        kept.insert("content".into(), Value::Object(envelope));
    }
    let data = object
        .get("data")
        .and_then(sio::placeholder_index)
        .and_then(|num| attachments.get(num));
    let mut listed_attachments = Vec::new();
    if let Some(data) = data {
        kept.insert("data".into(), sio::placeholder(0));
        listed_attachments.push(data.clone());
    }
    Outgoing::event(
        "/",
        LISTING_EVENT,
        vec![Value::Object(kept)],
        listed_attachments,
    )
}

/// A copy of a string or number (what [`ENVELOPE`] admits). `Value::clone` is recursive, and
/// this never needs to be.
fn shallow_copy(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(s.clone()),
        Value::Number(n) => Value::Number(n.clone()),
        _ => Value::Null,
    }
}
