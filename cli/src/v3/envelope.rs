//! Format v3's sealed blobs on the wire (docs/protocol.md, "Sealed blobs" and "Control
//! messages (v3)"): a `content` envelope (item metadata or a control message: padded JSON,
//! sealed, signed, counted) and a `chunk` envelope (a slice of the padded body, sealed and
//! signed). Opening checks, in this order and before anything is kept: the envelope's shape
//! and sizes, the signature under `by`, the AEAD, and the padding. The replay check of `seq`
//! is the caller's, once the blob is known to be genuine.

use data_encoding::BASE64;
use serde::Deserialize;
use serde_json::{json, Value};
use sharethings_protocol::format::v3::{
    self, IV_BYTES, PAD_BLOCK, SIGNATURE_BYTES, TAG_BYTES, VERSION,
};

use super::keys::{device_id, parse_device_id, verify_blob, Device, PublicKey, RoomKeys};
use super::roster::{Card, Record};
use crate::item::{ItemMeta, Resend};

/// Largest sealed metadata or control message a receiver opens (the server's own cap for
/// what its inbox keeps is 16 KiB): checked before the signature, the AEAD or the JSON.
pub const MAX_SEALED_JSON: usize = 64 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Not this format's shape, or sizes that cannot be right.
    Shape(&'static str),
    /// The signature does not verify under `by`.
    Signature,
    /// The AEAD does not open: another room, another place, or tampered bytes.
    Auth,
    /// Sealed JSON that is not padded JSON, or an item body whose padding is not zero.
    Padding,
}

/// A `content` envelope whose signature, AEAD and padding checked out.
#[derive(Debug)]
pub struct Opened {
    pub id: String,
    pub total_chunks: u64,
    pub by: PublicKey,
    pub by_id: String,
    pub seq: u64,
    pub json: Value,
}

/// Pads JSON with spaces to the next multiple of [`PAD_BLOCK`].
pub fn pad_json(value: &Value) -> Vec<u8> {
    let mut data = serde_json::to_vec(value).expect("JSON values serialise");
    data.resize(data.len() + v3::json_padding(data.len()), b' ');
    data
}

/// Seals `json` as the `content` of item or control `id`: the envelope and its `data`.
pub fn seal_content(
    keys: &RoomKeys,
    device: &Device,
    id: &str,
    seq: u64,
    total: u64,
    json: &Value,
) -> (Value, Vec<u8>) {
    let pk = device.public_key();
    let aad = v3::meta_aad(&keys.epoch, id, &pk, seq, total);
    let (iv, data) = keys.seal(&pad_json(json), &aad);
    let sig = device.sign_blob(&aad, &iv, &data);
    let envelope = json!({
        "contentId": id, "format": VERSION, "totalChunks": total,
        "iv": BASE64.encode(&iv), "by": device_id(&pk), "seq": seq, "sig": BASE64.encode(&sig),
    });
    (envelope, data)
}

/// Seals chunk `index` (its padded plaintext) of item `id`: the envelope (without
/// `encryptedData`, which the caller points at the attachment) and the sealed bytes.
pub fn seal_chunk(
    keys: &RoomKeys,
    device: &Device,
    id: &str,
    index: u64,
    total: u64,
    plain: &[u8],
) -> (Value, Vec<u8>) {
    let aad = v3::chunk_aad(&keys.epoch, id, &device.public_key(), index, total);
    let (iv, data) = keys.seal(plain, &aad);
    let sig = device.sign_blob(&aad, &iv, &data);
    let envelope = json!({
        "contentId": id, "chunkIndex": index, "totalChunks": total,
        "iv": BASE64.encode(&iv), "sig": BASE64.encode(&sig),
    });
    (envelope, data)
}

/// A content id as v3 makes them: 32 lowercase hex digits.
pub fn valid_content_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn field<'a>(env: &'a Value, key: &str) -> Result<&'a str, EnvelopeError> {
    env[key]
        .as_str()
        .ok_or(EnvelopeError::Shape("missing field"))
}

fn bytes_of<const N: usize>(env: &Value, key: &str) -> Result<[u8; N], EnvelopeError> {
    BASE64
        .decode(field(env, key)?.as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(EnvelopeError::Shape("bad base64 field"))
}

/// Opens a relayed `content` envelope and its `data`.
pub fn open_content(keys: &RoomKeys, env: &Value, data: &[u8]) -> Result<Opened, EnvelopeError> {
    if env["format"] != VERSION {
        return Err(EnvelopeError::Shape("not format 3"));
    }
    let id = field(env, "contentId")?;
    let by_id = field(env, "by")?;
    let (Some(total), Some(seq)) = (env["totalChunks"].as_u64(), env["seq"].as_u64()) else {
        return Err(EnvelopeError::Shape("counts are not integers"));
    };
    let by = parse_device_id(by_id).ok_or(EnvelopeError::Shape("by is not a device id"))?;
    let iv: [u8; IV_BYTES] = bytes_of(env, "iv")?;
    let sig: [u8; SIGNATURE_BYTES] = bytes_of(env, "sig")?;
    let padded = data.len().checked_sub(TAG_BYTES);
    if !valid_content_id(id)
        || data.len() > MAX_SEALED_JSON
        || padded.is_none_or(|p| p == 0 || p % PAD_BLOCK != 0)
    {
        return Err(EnvelopeError::Shape(
            "sealed JSON of a size no sender makes",
        ));
    }
    let aad = v3::meta_aad(&keys.epoch, id, &by, seq, total);
    verify_blob(&by, &aad, &iv, data, &sig).map_err(|_| EnvelopeError::Signature)?;
    let plain = keys
        .open(&iv, data, &aad)
        .map_err(|_| EnvelopeError::Auth)?;
    let text = std::str::from_utf8(&plain).map_err(|_| EnvelopeError::Padding)?;
    let json = text.trim_end_matches(' ');
    if json.len() + v3::json_padding(json.len()) != plain.len() {
        return Err(EnvelopeError::Padding);
    }
    let json = serde_json::from_str(json).map_err(|_| EnvelopeError::Padding)?;
    Ok(Opened {
        id: id.to_string(),
        total_chunks: total,
        by,
        by_id: by_id.to_string(),
        seq,
        json,
    })
}

/// What a receiver knows of an item when its chunks arrive.
pub struct ItemRef<'a> {
    pub id: &'a str,
    pub by: &'a PublicKey,
    pub total: u64,
    pub size: u64,
}

/// Opens a relayed `chunk` of `item`: checks its place and exact sealed length before the
/// signature and the AEAD. Returns its index and padded plaintext.
pub fn open_chunk(
    keys: &RoomKeys,
    item: &ItemRef,
    env: &Value,
    data: &[u8],
) -> Result<(u64, Vec<u8>), EnvelopeError> {
    let index = env["chunkIndex"]
        .as_u64()
        .ok_or(EnvelopeError::Shape("no index"))?;
    if env["contentId"] != item.id
        || env["totalChunks"].as_u64() != Some(item.total)
        || index >= item.total
    {
        return Err(EnvelopeError::Shape("chunk out of place"));
    }
    let expected = v3::chunk_len(index, item.size) as usize + TAG_BYTES;
    if data.len() != expected {
        return Err(EnvelopeError::Shape("chunk of the wrong length"));
    }
    let iv: [u8; IV_BYTES] = bytes_of(env, "iv")?;
    let sig: [u8; SIGNATURE_BYTES] = bytes_of(env, "sig")?;
    let aad = v3::chunk_aad(&keys.epoch, item.id, item.by, index, item.total);
    verify_blob(item.by, &aad, &iv, data, &sig).map_err(|_| EnvelopeError::Signature)?;
    let plain = keys
        .open(&iv, data, &aad)
        .map_err(|_| EnvelopeError::Auth)?;
    Ok((index, plain))
}

/// What a v3 `content` says, once opened.
#[derive(Debug)]
pub enum Message {
    Item(ItemMeta),
    Hello {
        client_id: String,
        card: Card,
    },
    Roster {
        cards: Vec<Card>,
        admitted: Vec<Record>,
    },
    Admitted(Record),
    AdmissionFailed,
    Resend(Resend),
    Progress,
    Cancel {
        content_id: String,
    },
    Clear,
    Policy {
        anyone_may_clear: bool,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Hello {
    client_id: String,
    card: Card,
}

#[derive(Deserialize)]
struct RosterMessage {
    cards: Vec<Card>,
    admitted: Vec<Record>,
}

/// Reads an opened `content`'s JSON; `None` for anything not of a documented shape.
pub fn parse(json: Value) -> Option<Message> {
    let has_item = json["contentId"].as_str().is_some_and(valid_content_id);
    Some(match json["kind"].as_str()? {
        "text" | "image" | "file" | "folder" => Message::Item(serde_json::from_value(json).ok()?),
        "hello" => {
            let h: Hello = serde_json::from_value(json).ok()?;
            Message::Hello {
                client_id: h.client_id,
                card: h.card,
            }
        }
        "roster" => {
            let r: RosterMessage = serde_json::from_value(json).ok()?;
            if r.cards.len() + r.admitted.len() > v3::MAX_ROSTER_ENTRIES {
                return None;
            }
            Message::Roster {
                cards: r.cards,
                admitted: r.admitted,
            }
        }
        "admitted" => Message::Admitted(serde_json::from_value(json["record"].clone()).ok()?),
        "admission-failed" if json["at"].is_u64() => Message::AdmissionFailed,
        "resend" => Message::Resend(serde_json::from_value(json).ok()?),
        "progress" if has_item && json["have"].is_u64() => Message::Progress,
        "cancel"
            if has_item
                && matches!(
                    json["reason"].as_str(),
                    Some("cancelled" | "unreadable" | "failed")
                ) =>
        {
            Message::Cancel {
                content_id: json["contentId"].as_str()?.to_string(),
            }
        }
        "clear" if json["at"].is_u64() => Message::Clear,
        "policy" => Message::Policy {
            anyone_may_clear: json["anyoneMayClear"].as_bool()?,
        },
        _ => return None,
    })
}

/// Checks a received body's padding: everything past `size` in the padded chunk at
/// `offset` must be zero.
pub fn padding_is_zero(plain: &[u8], offset: u64, size: u64) -> bool {
    let content = size.saturating_sub(offset).min(plain.len() as u64) as usize;
    plain[content..].iter().all(|&b| b == 0)
}

#[cfg(test)]
mod tests;
