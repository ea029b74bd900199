//! What travels sealed inside a `content` event (docs/protocol.md; web/src/types/protocol.ts):
//! an item's metadata, or a control message (a resend request, which the CLI answers, or a
//! cancel, progress report or clear, which it recognises and leaves alone). Also the wire
//! envelope both are carried in.

use data_encoding::BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use sharethings_protocol::format::v2::{self, chunk_aad, meta_aad};

use crate::format::SessionKeys;
use crate::socketio::{placeholder, Message};

/// Sealed metadata of an item; the server never sees it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ItemMeta {
    /// `text`, `image` or `file`.
    pub kind: String,
    pub name: String,
    pub mime: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    pub sender_name: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Set by a web client that offers a recent item to a member who joined after it was sent
    /// (docs/protocol.md, "Late joiners choose"): the body comes only if asked for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offered: bool,
}

/// "Send me item `content_id` again from chunk `from_chunk`", to one sender after a rejoin.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Resend {
    pub kind: String,
    pub content_id: String,
    pub from_chunk: u64,
}

impl Resend {
    pub fn new(content_id: &str, from_chunk: u64) -> Resend {
        Resend {
            kind: "resend".into(),
            content_id: content_id.into(),
            from_chunk,
        }
    }
}

/// A sealed control message of the web client that the CLI recognises and does not act on
/// (docs/cli.md): it neither cancels nor paces its own sends, nor clears what it saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Cancel,
    Progress,
    Clear,
}

/// What a `content` event's sealed metadata turned out to be.
#[derive(Debug, PartialEq)]
pub enum Sealed {
    Item(ItemMeta),
    Resend(Resend),
    Control(Control),
}

/// Reads sealed metadata; `None` for anything not of a documented shape (docs/protocol.md,
/// "Sealed control messages").
pub fn parse_sealed(plain: &[u8]) -> Option<Sealed> {
    let v: Value = serde_json::from_slice(plain).ok()?;
    let has_item = v["contentId"].is_string();
    match v["kind"].as_str()? {
        "resend" => serde_json::from_value(v).ok().map(Sealed::Resend),
        "text" | "image" | "file" => serde_json::from_value(v).ok().map(Sealed::Item),
        "cancel"
            if has_item
                && matches!(
                    v["reason"].as_str(),
                    Some("cancelled" | "unreadable" | "failed")
                ) =>
        {
            Some(Sealed::Control(Control::Cancel))
        }
        "progress" if has_item && v["have"].is_u64() => Some(Sealed::Control(Control::Progress)),
        "clear" if v["at"].is_number() => Some(Sealed::Control(Control::Clear)),
        _ => None,
    }
}

/// A relayed `content` event opened: its envelope and what its sealed metadata says. `None`
/// for anything that is not format v2 or does not authenticate with our key.
pub struct Content {
    pub id: String,
    pub total_chunks: u64,
    pub from: String,
    pub sealed: Sealed,
}

pub fn open_content(keys: &SessionKeys, payload: &Value, binaries: &[Vec<u8>]) -> Option<Content> {
    let env = &payload["content"];
    if env["format"] != v2::VERSION {
        return None;
    }
    let id = env["contentId"].as_str()?.to_string();
    let iv = BASE64.decode(env["iv"].as_str()?.as_bytes()).ok()?;
    let data = Message::binary(binaries, &payload["data"])?;
    let plain = keys.open(&iv, data, &meta_aad(&id)).ok()?;
    Some(Content {
        total_chunks: env["totalChunks"].as_u64()?,
        from: payload["from"].as_str().unwrap_or_default().to_string(),
        sealed: parse_sealed(&plain)?,
        id,
    })
}

/// A `content` payload (without `sessionId`, which the room adds) and its one attachment.
pub fn content_payload(id: &str, total_chunks: u64, iv: &[u8], to: Option<&str>) -> Value {
    let mut p = json!({
        "content": { "contentId": id, "format": v2::VERSION, "totalChunks": total_chunks, "iv": BASE64.encode(iv) },
        "data": placeholder(0),
    });
    if let Some(to) = to {
        p["to"] = json!(to);
    }
    p
}

/// Seals `value` as the metadata of item `id`: `(iv, ciphertext)`.
pub fn seal_meta<T: Serialize>(keys: &SessionKeys, id: &str, value: &T) -> (Vec<u8>, Vec<u8>) {
    let plain = serde_json::to_vec(value).expect("metadata serialises");
    let (iv, data) = keys.seal(&plain, &meta_aad(id));
    (iv.to_vec(), data)
}

/// Seals chunk `index` of `total` and returns the `chunk` payload and its attachment.
pub fn chunk_payload(
    keys: &SessionKeys,
    id: &str,
    index: u64,
    total: u64,
    plain: &[u8],
    to: Option<&str>,
) -> (Value, Vec<u8>) {
    let (iv, data) = keys.seal(plain, &chunk_aad(id, index, total));
    let mut p = json!({
        "chunk": {
            "contentId": id, "chunkIndex": index, "totalChunks": total,
            "encryptedData": placeholder(0), "iv": BASE64.encode(&iv),
        },
    });
    if let Some(to) = to {
        p["to"] = json!(to);
    }
    (p, data)
}

/// Image types the web client shows inline (its PREVIEWABLE list), by file extension.
pub fn mime_for(name: &str) -> (&'static str, &'static str) {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let image = |mime| ("image", mime);
    match ext.as_deref() {
        Some("png") => image("image/png"),
        Some("jpg" | "jpeg") => image("image/jpeg"),
        Some("gif") => image("image/gif"),
        Some("webp") => image("image/webp"),
        Some("avif") => image("image/avif"),
        Some("bmp") => image("image/bmp"),
        Some("svg") => image("image/svg+xml"),
        Some("pdf") => ("file", "application/pdf"),
        Some("txt" | "log") => ("file", "text/plain"),
        Some("json") => ("file", "application/json"),
        Some("zip") => ("file", "application/zip"),
        _ => ("file", "application/octet-stream"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_reads_what_the_web_client_writes() {
        let web = br#"{"kind":"image","name":"drawing.png","mime":"image/png","width":320,"height":200,"size":1234,"senderName":"Laptop","createdAt":1700000000000}"#;
        let Some(Sealed::Item(meta)) = parse_sealed(web) else {
            panic!()
        };
        assert_eq!(
            (meta.width, meta.height, meta.size),
            (Some(320), Some(200), 1234)
        );
        assert_eq!(meta.sender_name, "Laptop");
        assert!(!meta.offered);
        let offer = br#"{"kind":"file","name":"a.bin","mime":"application/octet-stream","size":9,"senderName":"Laptop","createdAt":1,"offered":true}"#;
        let Some(Sealed::Item(offered)) = parse_sealed(offer) else {
            panic!()
        };
        assert!(offered.offered);
        let resend = br#"{"kind":"resend","contentId":"ab","fromChunk":3}"#;
        assert_eq!(
            parse_sealed(resend),
            Some(Sealed::Resend(Resend::new("ab", 3)))
        );
        assert_eq!(
            parse_sealed(br#"{"kind":"cancel","contentId":"ab","reason":"failed"}"#),
            Some(Sealed::Control(Control::Cancel))
        );
        assert_eq!(
            parse_sealed(br#"{"kind":"cancel","contentId":"ab","reason":"bored"}"#),
            None
        );
        assert_eq!(parse_sealed(br#"{"kind":"progress","have":3}"#), None);
        assert_eq!(parse_sealed(br#"{"kind":"clear"}"#), None);
        assert_eq!(parse_sealed(br#"{"kind":"virus"}"#), None);
        assert_eq!(parse_sealed(br#"{"kind":"file","name":1}"#), None);
        assert_eq!(parse_sealed(b"\xff"), None);
    }

    #[test]
    fn metadata_is_written_with_the_web_clients_field_names() {
        let meta = ItemMeta {
            kind: "text".into(),
            name: "Text".into(),
            mime: "text/plain;charset=utf-8".into(),
            size: 2,
            width: None,
            height: None,
            sender_name: "nas".into(),
            created_at: 5,
            offered: false,
        };
        let v = serde_json::to_value(&meta).unwrap();
        assert_eq!(
            v,
            json!({"kind":"text","name":"Text","mime":"text/plain;charset=utf-8","size":2,"senderName":"nas","createdAt":5})
        );
        assert_eq!(mime_for("A.PNG"), ("image", "image/png"));
        assert_eq!(mime_for("notes"), ("file", "application/octet-stream"));
    }
}
