//! One item being received: checks every chunk against the item (count, index, exact length,
//! AAD), writes files straight to their `.part` file at the chunk's offset, keeps text in
//! memory up to a limit, and knows the first chunk still missing (for a resend request).

use std::io;
use std::path::Path;

use data_encoding::BASE64;
use serde_json::Value;

use sharethings_protocol::format::chunks::{accepts_item, chunk_len, CHUNK_SIZE};
use sharethings_protocol::format::v2::chunk_aad;

use crate::format::SessionKeys;
use crate::item::ItemMeta;
use crate::save::PartFile;
use crate::socketio::Message;

/// Text up to this size is printed; a larger "text" is saved as a file instead.
pub const MAX_TEXT_BYTES: u64 = 1 << 20;

pub struct Incoming {
    pub from: String,
    pub meta: ItemMeta,
    id: String,
    received: Vec<bool>,
    count: u64,
    sink: Sink,
}

enum Sink {
    File(PartFile),
    Text(Vec<u8>),
}

#[derive(Debug)]
pub enum ChunkError {
    /// Does not fit the item (count, index or length), or is not binary where it must be.
    Corrupt(&'static str),
    /// Did not authenticate: tampered, or sealed for another place.
    Integrity,
    Io(io::Error),
}

/// A finished item.
pub enum Finished {
    Text(String),
    File(std::path::PathBuf),
}

impl Incoming {
    /// Starts receiving; refuses, before allocating anything, metadata whose size is beyond
    /// the format's cap or disagrees with the chunk count.
    pub fn new(
        id: &str,
        total_chunks: u64,
        from: &str,
        meta: ItemMeta,
        dir: &Path,
    ) -> Result<Incoming, ChunkError> {
        if !accepts_item(meta.size, total_chunks) {
            return Err(ChunkError::Corrupt(
                "size too large or disagrees with the chunk count",
            ));
        }
        let sink = if meta.kind == "text" && meta.size <= MAX_TEXT_BYTES {
            Sink::Text(vec![0; meta.size as usize])
        } else {
            let name = if meta.kind == "text" {
                "Text.txt"
            } else {
                &meta.name
            };
            Sink::File(PartFile::create(dir, name, id).map_err(ChunkError::Io)?)
        };
        Ok(Incoming {
            from: from.into(),
            id: id.into(),
            received: vec![false; total_chunks as usize],
            count: 0,
            sink,
            meta,
        })
    }

    /// A relayed `chunk` payload for this item. Returns the plaintext bytes it added (0 for a
    /// duplicate).
    pub fn accept(
        &mut self,
        keys: &SessionKeys,
        chunk: &Value,
        binaries: &[Vec<u8>],
    ) -> Result<u64, ChunkError> {
        let total = self.received.len() as u64;
        let index = chunk["chunkIndex"]
            .as_u64()
            .ok_or(ChunkError::Corrupt("no index"))?;
        if chunk["totalChunks"].as_u64() != Some(total) {
            return Err(ChunkError::Corrupt("chunk count changed"));
        }
        if index >= total {
            return Err(ChunkError::Corrupt("chunk index out of range"));
        }
        if self.received[index as usize] {
            return Ok(0);
        }
        let data = Message::binary(binaries, &chunk["encryptedData"])
            .ok_or(ChunkError::Corrupt("chunk data is not binary"))?;
        let iv = chunk["iv"]
            .as_str()
            .and_then(|iv| BASE64.decode(iv.as_bytes()).ok())
            .ok_or(ChunkError::Corrupt("bad iv"))?;
        let plain = keys
            .open(&iv, data, &chunk_aad(&self.id, index, total))
            .map_err(|_| ChunkError::Integrity)?;
        if plain.len() as u64 != chunk_len(index, self.meta.size) {
            return Err(ChunkError::Corrupt("chunk has the wrong length"));
        }
        let offset = index * CHUNK_SIZE;
        match &mut self.sink {
            Sink::File(part) => part.write_at(offset, &plain).map_err(ChunkError::Io)?,
            Sink::Text(buf) => buf[offset as usize..][..plain.len()].copy_from_slice(&plain),
        }
        self.received[index as usize] = true;
        self.count += 1;
        Ok(plain.len() as u64)
    }

    pub fn complete(&self) -> bool {
        self.count == self.received.len() as u64
    }

    /// The first chunk not yet received (the `fromChunk` of a resend request).
    pub fn first_missing(&self) -> u64 {
        self.received
            .iter()
            .position(|r| !r)
            .unwrap_or(self.received.len()) as u64
    }

    pub fn finish(self, force: bool) -> io::Result<Finished> {
        match self.sink {
            Sink::Text(buf) => Ok(Finished::Text(String::from_utf8_lossy(&buf).into_owned())),
            Sink::File(part) => part.finish(force).map(Finished::File),
        }
    }

    pub fn discard(self) {
        if let Sink::File(part) = self.sink {
            part.discard();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::chunk_payload;

    fn meta(kind: &str, size: u64) -> ItemMeta {
        ItemMeta {
            kind: kind.into(),
            name: "x.bin".into(),
            mime: "application/octet-stream".into(),
            size,
            width: None,
            height: None,
            sender_name: "s".into(),
            created_at: 0,
            offered: false,
        }
    }

    fn chunk(
        keys: &SessionKeys,
        id: &str,
        i: u64,
        total: u64,
        plain: &[u8],
    ) -> (Value, Vec<Vec<u8>>) {
        let (p, data) = chunk_payload(keys, id, i, total, plain, None);
        (p["chunk"].clone(), vec![data])
    }

    #[test]
    fn out_of_order_chunks_land_at_their_offsets_on_disk() {
        let keys = SessionKeys::cheap("p");
        let dir = tempfile::tempdir().unwrap();
        let size = CHUNK_SIZE * 2 + 10;
        let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let mut inc = Incoming::new("id", 3, "a", meta("file", size), dir.path()).unwrap();
        for i in [2u64, 0, 1] {
            let part = &body[(i * CHUNK_SIZE) as usize..][..chunk_len(i, size) as usize];
            if i == 0 {
                assert_eq!(inc.first_missing(), 0);
            }
            let (c, b) = chunk(&keys, "id", i, 3, part);
            assert_eq!(inc.accept(&keys, &c, &b).unwrap(), part.len() as u64);
            assert_eq!(inc.accept(&keys, &c, &b).unwrap(), 0, "duplicate");
        }
        assert!(inc.complete());
        let Finished::File(path) = inc.finish(false).unwrap() else {
            panic!()
        };
        assert_eq!(std::fs::read(path).unwrap(), body);
    }

    #[test]
    fn chunks_that_do_not_fit_are_refused() {
        let keys = SessionKeys::cheap("p");
        let dir = tempfile::tempdir().unwrap();
        assert!(Incoming::new("id", 2, "a", meta("file", 5), dir.path()).is_err());
        // A sender's consistent but huge claim is refused before anything is allocated.
        let huge = u64::MAX - 1;
        let total = sharethings_protocol::format::chunks::chunk_count(huge);
        assert!(Incoming::new("id", total, "a", meta("file", huge), dir.path()).is_err());
        let mut inc = Incoming::new("id", 1, "a", meta("text", 5), dir.path()).unwrap();
        let (c, b) = chunk(&keys, "id", 0, 1, b"toolong");
        assert!(matches!(
            inc.accept(&keys, &c, &b),
            Err(ChunkError::Corrupt(_))
        ));
        let (c, b) = chunk(&keys, "other", 0, 1, b"hello");
        assert!(matches!(
            inc.accept(&keys, &c, &b),
            Err(ChunkError::Integrity)
        ));
        let (c, b) = chunk(&keys, "id", 1, 1, b"hello");
        assert!(matches!(
            inc.accept(&keys, &c, &b),
            Err(ChunkError::Corrupt(_))
        ));
        let (mut c, b) = chunk(&keys, "id", 0, 1, b"hello");
        c["encryptedData"] = Value::from("AAAA");
        assert!(matches!(
            inc.accept(&keys, &c, &b),
            Err(ChunkError::Corrupt(_))
        ));
        let (c, b) = chunk(&keys, "id", 0, 1, b"hello");
        assert_eq!(inc.accept(&keys, &c, &b).unwrap(), 5);
        let Finished::Text(t) = inc.finish(false).unwrap() else {
            panic!()
        };
        assert_eq!(t, "hello");
    }
}
