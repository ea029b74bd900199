//! One item being received: checks every chunk against the item (count, index, exact length,
//! AAD), writes files straight to their `.part` file at the chunk's offset, keeps text in
//! memory up to a limit, and knows the first chunk still missing (for a resend request).

use std::io;
use std::path::Path;

use sharethings_protocol::format::chunks::CHUNK_SIZE;

use crate::codec::Layout;
use crate::item::ItemMeta;
use crate::save::PartFile;
use crate::v3::keys::PublicKey;

/// Text up to this size is printed; a larger "text" is saved as a file instead.
pub const MAX_TEXT_BYTES: u64 = 1 << 20;

pub struct Incoming {
    pub from: String,
    /// The v3 sender's device key: its chunks must be signed by it, and only it may cancel.
    pub sender: Option<PublicKey>,
    pub meta: ItemMeta,
    layout: Layout,
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
    /// Does not fit the item (count, index, length or padding), or is not binary where it
    /// must be.
    Corrupt(&'static str),
    /// Did not authenticate: tampered, sealed for another place, or signed by another device.
    Integrity,
    Io(io::Error),
}

/// A finished item.
pub enum Finished {
    Text(String),
    File(std::path::PathBuf),
}

/// Where an item comes from: the server's `from` and, in v3, the signed sender.
pub struct Origin {
    pub from: String,
    pub sender: Option<PublicKey>,
}

impl Incoming {
    /// Starts receiving; refuses, before allocating anything, metadata whose size is beyond
    /// the format's cap or disagrees with the chunk count.
    pub fn new(
        id: &str,
        total_chunks: u64,
        origin: Origin,
        meta: ItemMeta,
        dir: &Path,
        layout: Layout,
    ) -> Result<Incoming, ChunkError> {
        if !layout.accepts_item(meta.size, total_chunks) {
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
            from: origin.from,
            sender: origin.sender,
            layout,
            received: vec![false; total_chunks as usize],
            count: 0,
            sink,
            meta,
        })
    }

    pub fn total(&self) -> u64 {
        self.received.len() as u64
    }

    /// Whether chunk `index` is still wanted (in range, not received yet).
    pub fn wants(&self, index: u64) -> bool {
        self.received.get(index as usize) == Some(&false)
    }

    /// An opened chunk of this item. Returns the item's bytes it added (0 for a duplicate).
    pub fn accept(&mut self, index: u64, plain: &[u8]) -> Result<u64, ChunkError> {
        if index >= self.total() {
            return Err(ChunkError::Corrupt("chunk index out of range"));
        }
        if self.received[index as usize] {
            return Ok(0);
        }
        if plain.len() as u64 != self.layout.chunk_len(index, self.meta.size) {
            return Err(ChunkError::Corrupt("chunk has the wrong length"));
        }
        let offset = index * CHUNK_SIZE;
        let content = &plain[..self
            .meta
            .size
            .saturating_sub(offset)
            .min(plain.len() as u64) as usize];
        if !crate::v3::envelope::padding_is_zero(plain, offset, self.meta.size) {
            return Err(ChunkError::Corrupt("padding is not zero"));
        }
        match &mut self.sink {
            Sink::File(part) => part.write_at(offset, content).map_err(ChunkError::Io)?,
            Sink::Text(buf) => buf[offset as usize..][..content.len()].copy_from_slice(content),
        }
        self.received[index as usize] = true;
        self.count += 1;
        Ok(content.len() as u64)
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

    fn origin() -> Origin {
        Origin {
            from: "a".into(),
            sender: None,
        }
    }

    #[test]
    fn out_of_order_chunks_land_at_their_offsets_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let size = CHUNK_SIZE * 2 + 10;
        let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let mut inc = Incoming::new(
            "id",
            3,
            origin(),
            meta("file", size),
            dir.path(),
            Layout::V2,
        )
        .unwrap();
        for i in [2u64, 0, 1] {
            let part = &body[(i * CHUNK_SIZE) as usize..][..Layout::V2.chunk_len(i, size) as usize];
            assert!(inc.wants(i));
            assert_eq!(inc.accept(i, part).unwrap(), part.len() as u64);
            assert_eq!(inc.accept(i, part).unwrap(), 0, "duplicate");
            assert!(!inc.wants(i));
        }
        assert!(inc.complete());
        let Finished::File(path) = inc.finish(false).unwrap() else {
            panic!()
        };
        assert_eq!(std::fs::read(path).unwrap(), body);
    }

    #[test]
    fn v3_bodies_keep_their_size_and_refuse_padding_that_is_not_zero() {
        let dir = tempfile::tempdir().unwrap();
        let size = CHUNK_SIZE + 100;
        let total = Layout::V3.chunk_count(size);
        assert_eq!(total, 2);
        let body: Vec<u8> = (0..size).map(|i| (i % 13) as u8 + 1).collect();
        let mut padded = body.clone();
        padded.resize(
            sharethings_protocol::format::v3::padded_size(size) as usize,
            0,
        );
        let mut inc = Incoming::new(
            "id",
            total,
            origin(),
            meta("file", size),
            dir.path(),
            Layout::V3,
        )
        .unwrap();
        let last = &padded[CHUNK_SIZE as usize..];
        let mut dirty = last.to_vec();
        *dirty.last_mut().unwrap() = 9;
        assert!(matches!(inc.accept(1, &dirty), Err(ChunkError::Corrupt(_))));
        assert!(
            matches!(inc.accept(1, &last[..100]), Err(ChunkError::Corrupt(_))),
            "unpadded"
        );
        assert_eq!(inc.accept(1, last).unwrap(), 100);
        assert_eq!(
            inc.accept(0, &padded[..CHUNK_SIZE as usize]).unwrap(),
            CHUNK_SIZE
        );
        let Finished::File(path) = inc.finish(false).unwrap() else {
            panic!()
        };
        assert_eq!(std::fs::read(path).unwrap(), body);
        // A short text is padded to 256 bytes in one chunk and printed without the zeros.
        let mut text =
            Incoming::new("t", 1, origin(), meta("text", 5), dir.path(), Layout::V3).unwrap();
        let mut plain = b"hello".to_vec();
        plain.resize(256, 0);
        assert_eq!(text.accept(0, &plain).unwrap(), 5);
        let Finished::Text(t) = text.finish(false).unwrap() else {
            panic!()
        };
        assert_eq!(t, "hello");
    }

    #[test]
    fn items_that_do_not_fit_are_refused_before_allocating() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Incoming::new("id", 2, origin(), meta("file", 5), dir.path(), Layout::V2).is_err());
        for layout in [Layout::V2, Layout::V3] {
            let huge = u64::MAX - 1;
            let total = layout.chunk_count(huge);
            assert!(Incoming::new(
                "id",
                total,
                origin(),
                meta("file", huge),
                dir.path(),
                layout
            )
            .is_err());
        }
        assert!(Incoming::new("id", 1, origin(), meta("file", 5), dir.path(), Layout::V3).is_ok());
        let mut inc =
            Incoming::new("id2", 1, origin(), meta("text", 5), dir.path(), Layout::V2).unwrap();
        assert!(matches!(
            inc.accept(0, b"toolong"),
            Err(ChunkError::Corrupt(_))
        ));
        assert!(matches!(
            inc.accept(1, b"hello"),
            Err(ChunkError::Corrupt(_))
        ));
        assert_eq!(inc.accept(0, b"hello").unwrap(), 5);
    }
}
