//! What the inbox keeps of a relayed item: its documented envelope (docs/protocol.md, "Items
//! on the wire" for format 2, "Sealed blobs" for format 3) and its sealed `data`, nothing else,
//! encoded once as JSON without the session's name; the `inbox-item` event a late joiner is
//! sent is built from it.
//!
//! Any other field a client put in the payload or in `content` is relayed to the members
//! online as it came, but not kept: metadata belongs in the sealed `data`, and what the inbox
//! holds for an hour is then small, of a known shape, and counted at its length.

use bytes::Bytes;
use miniserde::json::{self, Number, Object, Value};

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

/// The fields of a chunk's `chunk` that the inbox on disk keeps besides its ciphertext (`sig`
/// is format 3's).
const CHUNK_ENVELOPE: [(&str, Shape); 5] = [
    ("contentId", Shape::String(CONTENT_ID_MAX)),
    ("chunkIndex", Shape::Integer),
    ("totalChunks", Shape::Integer),
    ("iv", Shape::String(64)),
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
pub fn item_of(object: &Object) -> Option<(String, u64)> {
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

/// What the inbox keeps of an item or a chunk: the documented envelope as JSON, without the
/// session's name (which is put back when it is sent, so that it is never written to disk),
/// and the one binary attachment it points to, shared with what the members were sent.
#[derive(Debug, Clone)]
pub struct Kept {
    pub json: Bytes,
    pub data: Option<Bytes>,
}

impl Kept {
    /// Its bytes: what it occupies besides its bookkeeping.
    pub fn len(&self) -> usize {
        self.json.len() + self.data.as_ref().map_or(0, Bytes::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The kept envelope of a relayed item: `{from, inbox: true, content: {contentId, format,
/// totalChunks, iv, by?, seq?, sig?}, data}`, each field only when it has its documented shape, and `data`
/// only when it stands for a binary attachment (then the kept attachment).
pub fn item(object: &Object, attachments: &[Bytes]) -> Kept {
    let mut kept = Object::new();
    if let Some(Value::String(s)) = object.get("from") {
        kept.insert("from".into(), Value::String(s.clone()));
    }
    kept.insert("inbox".into(), Value::Bool(true));
    if let Some(Value::Object(content)) = object.get("content") {
        kept.insert(
            "content".into(),
            Value::Object(envelope(content, &ENVELOPE)),
        );
    }
    let data = attachment(object.get("data"), attachments);
    if data.is_some() {
        kept.insert("data".into(), sio::placeholder(0));
    }
    Kept {
        json: encoded(&kept),
        data,
    }
}

/// The kept envelope of a relayed chunk, for the inbox on disk: `{from, chunk: {contentId,
/// chunkIndex, totalChunks, iv, sig?, encryptedData}}` (in memory the relayed packet itself is
/// kept, shared).
pub fn chunk(object: &Object, attachments: &[Bytes]) -> Kept {
    let mut kept = Object::new();
    if let Some(Value::String(s)) = object.get("from") {
        kept.insert("from".into(), Value::String(s.clone()));
    }
    let mut data = None;
    if let Some(Value::Object(chunk)) = object.get("chunk") {
        let mut envelope = envelope(chunk, &CHUNK_ENVELOPE);
        data = attachment(chunk.get("encryptedData"), attachments);
        if data.is_some() {
            envelope.insert("encryptedData".into(), sio::placeholder(0));
        }
        kept.insert("chunk".into(), Value::Object(envelope));
    }
    Kept {
        json: encoded(&kept),
        data,
    }
}

/// The event `name` for a kept envelope, with the session's name put back, and `fetchedBy`
/// for a listing. `None` when `json` is not a kept envelope (a damaged file).
pub fn packet(
    name: &str,
    session: &str,
    json: &[u8],
    data: Option<Bytes>,
    fetched_by: Option<&[String]>,
) -> Option<Outgoing> {
    let text = std::str::from_utf8(json).ok()?;
    let mut object: Object = json::from_str(text).ok()?;
    object.insert("sessionId".into(), Value::String(session.to_string()));
    if let Some(ids) = fetched_by {
        let ids = ids.iter().map(|id| Value::String(id.clone())).collect();
        object.insert("fetchedBy".into(), Value::Array(ids));
    }
    Some(Outgoing::event(
        "/",
        name,
        vec![Value::Object(object)],
        data.into_iter().collect(),
    ))
}

/// The JSON of `object`, in an allocation of its length (it is kept, and charged at that).
fn encoded(object: &Object) -> Bytes {
    let mut text = json::to_string(object);
    text.shrink_to_fit();
    Bytes::from(text)
}

fn envelope(fields: &Object, shapes: &[(&str, Shape)]) -> Object {
    let mut envelope = Object::new();
    for (key, shape) in shapes {
        if let Some(value) = fields.get(*key).filter(|v| shape.fits(v)) {
            envelope.insert((*key).into(), shallow_copy(value));
        }
    }
    envelope
}

/// The attachment a placeholder stands for.
fn attachment(value: Option<&Value>, attachments: &[Bytes]) -> Option<Bytes> {
    value
        .and_then(sio::placeholder_index)
        .and_then(|num| attachments.get(num))
        .cloned()
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
