//! The records of the inbox's files on disk: one layout for every kind, written once, appended,
//! never rewritten.
//!
//! A record is a 32-byte header, then its JSON, then its binary data:
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | magic `STr1` |
//! | 4 | kind ([`Kind`]) |
//! | 5..8 | zero |
//! | 8..16 | `number`: an item's expiry (ms since the UNIX epoch), a chunk's index, else 0 |
//! | 16..20 | JSON length |
//! | 20..24 | data length |
//! | 24..32 | the first 8 bytes of SHA-256 over bytes 0..24 and the JSON |
//!
//! All integers little-endian. The check covers the structure (header and JSON), not the data:
//! the data is ciphertext that its readers authenticate anyway, and hashing every chunk would
//! cost a Raspberry Pi more CPU than the write. A file cut short (a crash, a full disk) ends at
//! its last whole record.

use sha2::{Digest, Sha256};

pub const HEADER_LEN: usize = 32;
const MAGIC: &[u8; 4] = b"STr1";
/// The largest JSON a record may carry (an item's envelope is within `INBOX_META_BYTES`, at
/// most 1 MiB; everything else is far smaller).
pub const MAX_JSON: u32 = 1 << 20;
/// The largest data a record may carry (one Socket.IO attachment is within
/// `MAX_ATTACHMENT_BYTES`, at most 1 GiB).
pub const MAX_DATA: u32 = 1 << 30;

mod field {
    use std::ops::Range;
    pub const MAGIC: Range<usize> = 0..4;
    pub const KIND: usize = 4;
    pub const ZERO: Range<usize> = 5..8;
    pub const NUMBER: Range<usize> = 8..16;
    pub const JSON_LEN: Range<usize> = 16..20;
    pub const DATA_LEN: Range<usize> = 20..24;
    pub const CHECK: Range<usize> = 24..32;
}

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The first record of an item's file: the kept envelope (without `sessionId`) and its
    /// sealed metadata; `number` is when it expires.
    Item = 1,
    /// A chunk of the item: its envelope (without `sessionId`) and its ciphertext; `number` is
    /// its index.
    Chunk = 2,
    /// A member fetched the item to its last chunk: `{"clientId"}`.
    Fetched = 3,
    /// The first record of a room's file: what admits its members (see `room_record`).
    Room = 4,
    /// A member left the room on purpose: its tokens are revoked (see `room_record`).
    Revoked = 5,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Item,
            2 => Kind::Chunk,
            3 => Kind::Fetched,
            4 => Kind::Room,
            5 => Kind::Revoked,
            _ => return None,
        })
    }
}

/// A record's header, decoded and within bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub number: u64,
    pub json_len: u32,
    pub data_len: u32,
    check: [u8; 8],
}

impl Header {
    /// Bytes the whole record takes.
    pub fn record_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.json_len) + u64::from(self.data_len)
    }

    /// Whether `json` is the JSON this header was written with.
    pub fn checks(&self, json: &[u8]) -> bool {
        let mut head = [0u8; HEADER_LEN];
        write_fields(
            &mut head,
            self.kind,
            self.number,
            self.json_len,
            self.data_len,
        );
        check(&head, json) == self.check
    }
}

/// Where a record is in its file, as the index keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: u64,
    pub json_len: u32,
    pub data_len: u32,
}

impl Span {
    pub fn len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.json_len) + u64::from(self.data_len)
    }

    /// Where the JSON starts.
    pub fn json_at(&self) -> u64 {
        self.offset + HEADER_LEN as u64
    }
}

/// Why a header was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corrupt {
    Magic,
    Kind,
    Length,
}

/// The header of a record with this JSON and data length. `None` when they are over the
/// bounds, which the caller refuses as too large.
pub fn header(kind: Kind, number: u64, json: &[u8], data_len: usize) -> Option<[u8; HEADER_LEN]> {
    let json_len = u32::try_from(json.len()).ok().filter(|n| *n <= MAX_JSON)?;
    let data_len = u32::try_from(data_len).ok().filter(|n| *n <= MAX_DATA)?;
    let mut head = [0u8; HEADER_LEN];
    write_fields(&mut head, kind, number, json_len, data_len);
    let sum = check(&head, json);
    head[field::CHECK].copy_from_slice(&sum);
    Some(head)
}

/// Decodes a header; its JSON is checked with [`Header::checks`] once read.
pub fn decode(head: &[u8; HEADER_LEN]) -> Result<Header, Corrupt> {
    if &head[field::MAGIC] != MAGIC || head[field::ZERO] != [0, 0, 0] {
        return Err(Corrupt::Magic);
    }
    let kind = Kind::from_byte(head[field::KIND]).ok_or(Corrupt::Kind)?;
    let json_len = u32_at(head, field::JSON_LEN);
    let data_len = u32_at(head, field::DATA_LEN);
    if json_len > MAX_JSON || data_len > MAX_DATA {
        return Err(Corrupt::Length);
    }
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&head[field::CHECK]);
    let mut number = [0u8; 8];
    number.copy_from_slice(&head[field::NUMBER]);
    Ok(Header {
        kind,
        number: u64::from_le_bytes(number),
        json_len,
        data_len,
        check: sum,
    })
}

fn write_fields(head: &mut [u8; HEADER_LEN], kind: Kind, number: u64, json: u32, data: u32) {
    head[field::MAGIC].copy_from_slice(MAGIC);
    head[field::KIND] = kind as u8;
    head[field::NUMBER].copy_from_slice(&number.to_le_bytes());
    head[field::JSON_LEN].copy_from_slice(&json.to_le_bytes());
    head[field::DATA_LEN].copy_from_slice(&data.to_le_bytes());
}

fn check(head: &[u8; HEADER_LEN], json: &[u8]) -> [u8; 8] {
    let mut hasher = Sha256::new();
    hasher.update(&head[..field::CHECK.start]);
    hasher.update(json);
    let digest = hasher.finalize();
    let mut sum = [0u8; 8];
    for (to, from) in sum.iter_mut().zip(digest.iter()) {
        *to = *from;
    }
    sum
}

fn u32_at(head: &[u8; HEADER_LEN], range: std::ops::Range<usize>) -> u32 {
    let mut bytes = [0u8; 4];
    if let Some(field) = head.get(range) {
        bytes.copy_from_slice(field);
    }
    u32::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_round_trips_and_checks_its_json() {
        let head = header(Kind::Chunk, 7, b"{\"a\":1}", 300).expect("in bounds");
        assert_eq!(&head[0..4], b"STr1");
        let decoded = decode(&head).expect("valid");
        assert_eq!(
            (
                decoded.kind,
                decoded.number,
                decoded.json_len,
                decoded.data_len
            ),
            (Kind::Chunk, 7, 7, 300)
        );
        assert_eq!(decoded.record_len(), 32 + 7 + 300);
        assert!(decoded.checks(b"{\"a\":1}"));
        assert!(!decoded.checks(b"{\"a\":2}"), "another JSON");
    }

    #[test]
    fn damaged_headers_are_refused_never_trusted() {
        let good = header(Kind::Item, 1, b"{}", 0).expect("in bounds");
        let mut bad = good;
        bad[0] = b'X';
        assert_eq!(decode(&bad), Err(Corrupt::Magic));
        let mut bad = good;
        bad[4] = 99;
        assert_eq!(decode(&bad), Err(Corrupt::Kind));
        let mut bad = good;
        bad[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&bad), Err(Corrupt::Length));
        let mut bad = good;
        bad[8] ^= 1;
        let decoded = decode(&bad).expect("the fields are in bounds");
        assert!(!decoded.checks(b"{}"), "a changed number fails the check");
        assert_eq!(decode(&[0u8; HEADER_LEN]), Err(Corrupt::Magic), "zeros");
    }

    #[test]
    fn lengths_past_the_bounds_are_not_written() {
        assert!(header(Kind::Chunk, 0, &vec![b' '; MAX_JSON as usize + 1], 0).is_none());
        assert!(header(Kind::Chunk, 0, b"{}", MAX_DATA as usize + 1).is_none());
    }
}
