//! What the inbox keeps of a relayed item: its documented envelope (docs/protocol.md, "Items
//! on the wire") and its sealed `data`, nothing else, encoded once as the `inbox-item` event a
//! late joiner is sent.
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

/// The fields of `content` that are kept, and the shape each must have to be.
const ENVELOPE: [(&str, Shape); 4] = [
    ("contentId", Shape::String),
    ("format", Shape::Number),
    ("totalChunks", Shape::Number),
    ("iv", Shape::String),
];

#[derive(Clone, Copy)]
enum Shape {
    String,
    Number,
}

impl Shape {
    fn fits(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (Shape::String, Value::String(_)) | (Shape::Number, Value::Number(_))
        )
    }
}

/// The item a relayed `content` payload announces: `content.contentId` and
/// `content.totalChunks` when it has chunks; `None` for a control message (no chunks) or a
/// payload the web client and CLI never send.
pub fn item(object: &Object) -> Option<(String, u64)> {
    let Some(Value::Object(content)) = object.get("content") else {
        return None;
    };
    match (content.get("contentId"), content.get("totalChunks")) {
        (Some(Value::String(id)), Some(Value::Number(Number::U64(total))))
            if !id.is_empty() && *total > 0 =>
        {
            Some((id.clone(), *total))
        }
        _ => None,
    }
}

/// The `inbox-item` event for a relayed item: `{sessionId, from, inbox: true, content:
/// {contentId, format, totalChunks, iv}, data}`, each field only when it has its documented
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
