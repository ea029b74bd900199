//! The session's format, as the sender and the receiver use it: format v2 (a key from the
//! passphrase; legacy sessions) or format v3 (a member's room secret and device key). Both
//! seal and open the same envelopes' places (`content`, `chunk`); what differs is behind
//! these methods: keys, associated data, padding, signatures, counters and chunk counts.

use data_encoding::BASE64;
use serde_json::{json, Value};
use sharethings_protocol::format::{chunks, v2, v3};

use crate::exit::Failure;
use crate::format::SessionKeys;
use crate::incoming::ChunkError;
use crate::item::{self, Content};
use crate::socketio::{placeholder, Message};
use crate::v3::admit::Admissions;
use crate::v3::envelope::{self, EnvelopeError, ItemRef};
use crate::v3::keys::PublicKey;
use crate::v3::member::Member;

/// How an item's body is cut: v2 into its bytes, v3 into its padded bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    V2,
    V3,
}

impl Layout {
    pub fn chunk_count(self, size: u64) -> u64 {
        match self {
            Layout::V2 => chunks::chunk_count(size),
            Layout::V3 => v3::chunk_count(size),
        }
    }

    /// Exact plaintext length of chunk `index` (v3: padding included).
    pub fn chunk_len(self, index: u64, size: u64) -> u64 {
        match self {
            Layout::V2 => chunks::chunk_len(index, size),
            Layout::V3 => v3::chunk_len(index, size),
        }
    }

    pub fn accepts_item(self, size: u64, total: u64) -> bool {
        match self {
            Layout::V2 => chunks::accepts_item(size, total),
            Layout::V3 => v3::accepts_item(size, total),
        }
    }
}

pub struct V3 {
    pub member: Member,
    pub admissions: Admissions,
}

pub enum Codec {
    /// A legacy session: the key and the display name that v2 metadata carries.
    V2 {
        keys: Box<SessionKeys>,
        name: String,
    },
    V3(Box<V3>),
}

/// An item whose chunks arrive: enough to check and open them.
pub struct ChunkItem<'a> {
    pub id: &'a str,
    pub total: u64,
    pub size: u64,
    /// The v3 sender's device key.
    pub sender: Option<&'a PublicKey>,
}

fn local(e: std::io::Error) -> Failure {
    Failure::Local(format!("the key store: {e}"))
}

impl Codec {
    pub fn layout(&self) -> Layout {
        match self {
            Codec::V2 { .. } => Layout::V2,
            Codec::V3(_) => Layout::V3,
        }
    }

    /// The display name v2 metadata carries; v3 names senders from the signed roster.
    pub fn name_in_metadata(&self) -> Option<&str> {
        match self {
            Codec::V2 { name, .. } => Some(name),
            Codec::V3(_) => None,
        }
    }

    /// A `content` payload sealing `json` as item or control `id` (the room adds
    /// `sessionId`), and its attachment. v3 takes a fresh counter for every call.
    pub fn seal_content(
        &mut self,
        id: &str,
        total: u64,
        json: &Value,
        to: Option<&str>,
    ) -> Result<(Value, Vec<u8>), Failure> {
        match self {
            Codec::V2 { keys, .. } => {
                let (iv, data) = item::seal_meta(keys, id, json);
                Ok((item::content_payload(id, total, &iv, to), data))
            }
            Codec::V3(v3) => v3.member.seal(id, total, json, to).map_err(local),
        }
    }

    /// A `chunk` payload sealing chunk `index` of `total` (its exact plaintext), and its
    /// attachment.
    pub fn seal_chunk(
        &self,
        id: &str,
        index: u64,
        total: u64,
        plain: &[u8],
        to: Option<&str>,
    ) -> (Value, Vec<u8>) {
        let (mut chunk, data) = match self {
            Codec::V2 { keys, .. } => {
                let (iv, data) = keys.seal(plain, &v2::chunk_aad(id, index, total));
                let chunk = json!({ "contentId": id, "chunkIndex": index, "totalChunks": total, "iv": BASE64.encode(&iv) });
                (chunk, data)
            }
            Codec::V3(v3) => envelope::seal_chunk(
                &v3.member.keys,
                &v3.member.stored.device,
                id,
                index,
                total,
                plain,
            ),
        };
        chunk["encryptedData"] = placeholder(0);
        let mut payload = json!({ "chunk": chunk });
        if let Some(to) = to {
            payload["to"] = json!(to);
        }
        (payload, data)
    }

    /// Opens a relayed v2 `content` (v3's are opened by the room, which settles the roster's
    /// business first).
    pub fn open_v2(&self, payload: &Value, binaries: &[Vec<u8>]) -> Option<Content> {
        match self {
            Codec::V2 { keys, .. } => item::open_content(keys, payload, binaries),
            Codec::V3(_) => None,
        }
    }

    /// Opens a relayed `chunk` of `item`: its index and exact plaintext.
    pub fn open_chunk(
        &self,
        item: &ChunkItem,
        chunk: &Value,
        binaries: &[Vec<u8>],
    ) -> Result<(u64, Vec<u8>), ChunkError> {
        let data = Message::binary(binaries, &chunk["encryptedData"])
            .ok_or(ChunkError::Corrupt("chunk data is not binary"))?;
        match (self, item.sender) {
            (Codec::V2 { keys, .. }, _) => {
                let index = chunk["chunkIndex"]
                    .as_u64()
                    .ok_or(ChunkError::Corrupt("no index"))?;
                if chunk["totalChunks"].as_u64() != Some(item.total) {
                    return Err(ChunkError::Corrupt("chunk count changed"));
                }
                if index >= item.total {
                    return Err(ChunkError::Corrupt("chunk index out of range"));
                }
                let iv = chunk["iv"]
                    .as_str()
                    .and_then(|iv| BASE64.decode(iv.as_bytes()).ok())
                    .ok_or(ChunkError::Corrupt("bad iv"))?;
                let plain = keys
                    .open(&iv, data, &v2::chunk_aad(item.id, index, item.total))
                    .map_err(|_| ChunkError::Integrity)?;
                Ok((index, plain))
            }
            (Codec::V3(v3), Some(by)) => {
                let r = ItemRef {
                    id: item.id,
                    by,
                    total: item.total,
                    size: item.size,
                };
                envelope::open_chunk(&v3.member.keys, &r, chunk, data).map_err(|e| match e {
                    EnvelopeError::Shape(why) => ChunkError::Corrupt(why),
                    EnvelopeError::Padding => ChunkError::Corrupt("bad padding"),
                    EnvelopeError::Signature | EnvelopeError::Auth => ChunkError::Integrity,
                })
            }
            (Codec::V3(_), None) => Err(ChunkError::Corrupt("an item with no sender")),
        }
    }

    /// The name to show for an item's sender: v3's roster, or v2's sealed `senderName`.
    pub fn sender_name(&self, content: &Content) -> String {
        match (self, &content.sender, &content.sealed) {
            (Codec::V3(v3), Some(pk), _) => v3.member.name_of(pk),
            (_, _, item::Sealed::Item(meta)) if !meta.sender_name.is_empty() => {
                meta.sender_name.clone()
            }
            _ => "an unknown device".into(),
        }
    }

    pub fn v3(&mut self) -> Option<&mut V3> {
        match self {
            Codec::V3(v3) => Some(v3),
            Codec::V2 { .. } => None,
        }
    }
}
