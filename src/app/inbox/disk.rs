//! The inbox's files (`INBOX_DIR`): one directory per room, named by a keyed hash of the
//! room's name, holding a `room` file (what admits its members, then the revocations, see
//! [`crate::app::room_record`]) and one `<hash>.item` file per kept item: the item's record,
//! then each chunk's record as it arrives, then a record for each member that fetched it all
//! (layout in [`record`]). Every record is appended once; an item or room that goes is
//! unlinked whole. What is on disk is what the server relayed, without the session's name:
//! envelopes, sealed metadata and ciphertext, never a key or plaintext.
//!
//! No clock and no policy here: the caller decides what to keep and when it expires, and
//! holds the index ([`super::Inboxes`]); this only writes, reads, removes and, at start, scans.

use std::io;
use std::path::{Path, PathBuf};

use miniserde::json::{self, Number, Object, Value};
use sha2::{Digest, Sha256};

use super::files::Files;
use super::record::{self, Kind, Span, HEADER_LEN};
use crate::app::room_record::{Revocation, RoomRecord};

/// What one file costs on disk besides its bytes: its last block's slack and its inode.
pub const FILE_OVERHEAD: u64 = 4096;
const ROOM_FILE: &str = "room";
const KEY_FILE: &str = "server.key";
const ITEM_SUFFIX: &str = ".item";

/// A room's directory name: a keyed hash of its name (see `Keys::room_file_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomKey(pub [u8; 32]);

impl RoomKey {
    fn dir(&self) -> PathBuf {
        PathBuf::from(data_encoding::HEXLOWER.encode(&self.0))
    }

    fn parse(name: &str) -> Option<RoomKey> {
        let bytes = data_encoding::HEXLOWER.decode(name.as_bytes()).ok()?;
        Some(RoomKey(bytes.try_into().ok()?))
    }
}

/// A kept item's file, as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFile {
    path: PathBuf,
    /// Its length: where the next record goes.
    len: u64,
    /// Whether records may be appended (not when it ends in a record cut short).
    appendable: bool,
}

impl ItemFile {
    /// Bytes it takes on disk, as charged against the caps.
    pub fn disk_bytes(&self) -> u64 {
        self.len + FILE_OVERHEAD
    }
}

/// One record read back: its JSON and its data.
pub struct Read {
    pub json: Vec<u8>,
    pub data: Vec<u8>,
}

/// An item found at start.
pub struct ScannedItem {
    pub file: ItemFile,
    pub content_id: String,
    /// The `from` of its envelope: the member that sent it.
    pub sender: String,
    pub total_chunks: u64,
    /// Milliseconds since the UNIX epoch.
    pub expires_ms: u64,
    pub item: Span,
    pub chunks: Vec<(u64, Span)>,
    pub fetched_by: Vec<String>,
}

/// A room found at start, with its items.
pub struct ScannedRoom {
    pub key: RoomKey,
    pub record: RoomRecord,
    pub revoked: Vec<Revocation>,
    /// Bytes its `room` file takes on disk.
    pub room_bytes: u64,
    pub items: Vec<ScannedItem>,
}

pub struct DiskStore<F> {
    files: F,
}

impl<F: Files> DiskStore<F> {
    pub fn new(files: F) -> DiskStore<F> {
        DiskStore { files }
    }

    /// Creates the room's directory and its `room` file; returns the bytes it takes on disk.
    pub fn create_room(
        &mut self,
        room: RoomKey,
        record: &RoomRecord,
        revoked: &[Revocation],
    ) -> io::Result<u64> {
        let dir = room.dir();
        self.files.create_dir(&dir)?;
        let mut records = vec![encode(Kind::Room, 0, record.to_json().as_bytes(), &[])?];
        for revocation in revoked {
            records.push(encode(
                Kind::Revoked,
                0,
                revocation.to_json().as_bytes(),
                &[],
            )?);
        }
        let parts: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        let path = dir.join(ROOM_FILE);
        let created = match self.files.create(&path, &parts) {
            // Left by a room of that name that could not be removed: nothing in it is
            // indexed, so it goes.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.files.remove_dir(&dir)?;
                self.files.create_dir(&dir)?;
                self.files.create(&path, &parts)
            }
            other => other,
        };
        if let Err(e) = created {
            let _ = self.files.remove_dir(&dir);
            return Err(e);
        }
        Ok(parts.iter().map(|p| p.len() as u64).sum::<u64>() + FILE_OVERHEAD)
    }

    /// Appends a revocation to the room's file; returns the bytes written.
    pub fn append_revocation(&mut self, room: RoomKey, revoked: &Revocation) -> io::Result<u64> {
        let bytes = encode(Kind::Revoked, 0, revoked.to_json().as_bytes(), &[])?;
        self.files.append(&room.dir().join(ROOM_FILE), &[&bytes])?;
        Ok(bytes.len() as u64)
    }

    /// Removes a room's directory with everything in it.
    pub fn remove_room(&mut self, room: RoomKey) {
        if let Err(e) = self.files.remove_dir(&room.dir()) {
            log::warn!("cannot remove an inbox directory: {e}");
        }
    }

    /// Creates the file of item `content_id` with its record; a file left by an earlier
    /// incarnation of the same item is replaced (it is not in the index).
    pub fn create_item(
        &mut self,
        room: RoomKey,
        content_id: &str,
        expires_ms: u64,
        json: &[u8],
        data: &[u8],
    ) -> io::Result<(ItemFile, Span)> {
        let path = room.dir().join(item_name(room, content_id));
        let head = header(Kind::Item, expires_ms, json, data.len())?;
        let parts: [&[u8]; 3] = [&head, json, data];
        let created = match self.files.create(&path, &parts) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.files.remove_file(&path)?;
                self.files.create(&path, &parts)
            }
            other => other,
        };
        if let Err(e) = created {
            let _ = self.files.remove_file(&path);
            return Err(e);
        }
        let span = span_at(0, json, data);
        let file = ItemFile {
            path,
            len: span.len(),
            appendable: true,
        };
        Ok((file, span))
    }

    /// Appends a chunk (`Kind::Chunk`, `number` its index) or a fetch (`Kind::Fetched`) to an
    /// item's file. On an error the file may end in a partial record: the caller drops the
    /// item.
    pub fn append(
        &mut self,
        file: &mut ItemFile,
        kind: Kind,
        number: u64,
        json: &[u8],
        data: &[u8],
    ) -> io::Result<Span> {
        if !file.appendable {
            return Err(io::Error::other("the item's file ends in a damaged record"));
        }
        let head = header(kind, number, json, data.len())?;
        self.files.append(&file.path, &[&head, json, data])?;
        let span = span_at(file.len, json, data);
        file.len += span.len();
        Ok(span)
    }

    /// Reads a record's JSON and data back.
    pub fn read(&self, file: &ItemFile, span: Span) -> io::Result<Read> {
        let mut json = vec![0u8; span.json_len as usize];
        let mut data = vec![0u8; span.data_len as usize];
        self.files.read_at(&file.path, span.json_at(), &mut json)?;
        let data_at = span.json_at() + u64::from(span.json_len);
        self.files.read_at(&file.path, data_at, &mut data)?;
        Ok(Read { json, data })
    }

    /// Removes an item's file.
    pub fn remove_item(&mut self, file: &ItemFile) {
        if let Err(e) = self.files.remove_file(&file.path) {
            log::warn!("cannot remove an inbox item's file: {e}");
        }
    }

    /// Reads every room and item at start. What cannot be read (a damaged or foreign file, a
    /// room without its `room` file) is logged and removed: nothing could ever use it.
    pub fn scan(&mut self) -> Vec<ScannedRoom> {
        let names = match self.files.list(Path::new("")) {
            Ok(names) => names,
            Err(e) => {
                log::error!("cannot list the inbox directory: {e}");
                return Vec::new();
            }
        };
        let mut rooms = Vec::new();
        for key in names.iter().filter_map(|n| RoomKey::parse(n)) {
            match self.scan_room(key) {
                Ok(room) => rooms.push(room),
                Err(why) => {
                    log::warn!("skipping an inbox directory ({why}); removing it");
                    self.remove_room(key);
                }
            }
        }
        rooms
    }

    fn scan_room(&mut self, key: RoomKey) -> Result<ScannedRoom, String> {
        let dir = key.dir();
        let room_path = dir.join(ROOM_FILE);
        let (records, _) = self.records(&room_path)?;
        let mut records = records.into_iter();
        let record = match records.next() {
            Some((header, json)) if header.kind == Kind::Room => {
                RoomRecord::from_json(&json).ok_or("an unreadable room record")?
            }
            _ => return Err("no room record".into()),
        };
        let revoked = records
            .filter(|(h, _)| h.kind == Kind::Revoked)
            .filter_map(|(_, json)| Revocation::from_json(&json))
            .collect();
        let room_bytes = self.files.len(&room_path).map_err(|e| e.to_string())? + FILE_OVERHEAD;
        let mut items = Vec::new();
        let names = self.files.list(&dir).map_err(|e| e.to_string())?;
        for name in names.iter().filter(|n| n.ends_with(ITEM_SUFFIX)) {
            let path = dir.join(name);
            match self.scan_item(&path) {
                Ok(item) => items.push(item),
                Err(why) => {
                    log::warn!("skipping an inbox item's file ({why}); removing it");
                    let _ = self.files.remove_file(&path);
                }
            }
        }
        Ok(ScannedRoom {
            key,
            record,
            revoked,
            room_bytes,
            items,
        })
    }

    fn scan_item(&mut self, path: &Path) -> Result<ScannedItem, String> {
        let (records, whole) = self.records(path)?;
        let mut offset = 0u64;
        let mut spans = records.into_iter().map(|(header, json)| {
            let span = Span {
                offset,
                json_len: header.json_len,
                data_len: header.data_len,
            };
            offset += header.record_len();
            (header, json, span)
        });
        let Some((header, json, item)) = spans.next().filter(|(h, ..)| h.kind == Kind::Item) else {
            return Err("no item record".into());
        };
        let (content_id, total_chunks, sender) =
            item_of(&json).ok_or("an unreadable item record")?;
        let mut scanned = ScannedItem {
            file: ItemFile {
                path: path.to_path_buf(),
                len: 0,
                appendable: whole,
            },
            content_id,
            sender,
            total_chunks,
            expires_ms: header.number,
            item,
            chunks: Vec::new(),
            fetched_by: Vec::new(),
        };
        for (header, json, span) in spans {
            match header.kind {
                Kind::Chunk
                    if header.number < total_chunks
                        && !scanned.chunks.iter().any(|(i, _)| *i == header.number) =>
                {
                    scanned.chunks.push((header.number, span));
                }
                Kind::Fetched => {
                    if let Some(client_id) = client_id_of(&json) {
                        scanned.fetched_by.push(client_id);
                    }
                }
                _ => {}
            }
        }
        scanned.file.len = self.files.len(path).map_err(|e| e.to_string())?;
        Ok(scanned)
    }

    /// A file's whole, checked records (header and JSON); and whether it ends with the last
    /// of them (a file cut short by a crash or a full disk keeps what came before).
    fn records(&self, path: &Path) -> Result<(Vec<(record::Header, String)>, bool), String> {
        let len = self.files.len(path).map_err(|e| e.to_string())?;
        let mut offset = 0u64;
        let mut records = Vec::new();
        while offset < len {
            let Some(found) = self.record_at(path, offset, len) else {
                log::warn!("an inbox file ends in a damaged record; keeping what comes before");
                return Ok((records, false));
            };
            offset += found.0.record_len();
            records.push(found);
        }
        Ok((records, true))
    }

    fn record_at(&self, path: &Path, offset: u64, len: u64) -> Option<(record::Header, String)> {
        let mut head = [0u8; HEADER_LEN];
        self.files.read_at(path, offset, &mut head).ok()?;
        let header = record::decode(&head).ok()?;
        if offset.checked_add(header.record_len())? > len {
            return None;
        }
        let mut json = vec![0u8; header.json_len as usize];
        self.files
            .read_at(path, offset + HEADER_LEN as u64, &mut json)
            .ok()?;
        if !header.checks(&json) {
            return None;
        }
        Some((header, String::from_utf8(json).ok()?))
    }
}

/// The server key kept in the directory (`server.key`, 0600): it keys the v2 rooms'
/// verifiers, the tokens and the directories' names, so they all outlive a restart. Made from
/// `fresh` on first use. One that cannot be read is replaced, and every room goes with it:
/// nothing keyed by the old one could be checked any more.
pub fn server_key<F: Files + ?Sized>(files: &mut F, fresh: [u8; 32]) -> io::Result<[u8; 32]> {
    let path = Path::new(KEY_FILE);
    let mut key = [0u8; 32];
    match files.len(path) {
        Ok(32) => {
            files.read_at(path, 0, &mut key)?;
            return Ok(key);
        }
        Ok(_) => {
            log::error!("the inbox's server key is damaged: starting with a new key and no inbox");
            for name in files.list(Path::new(""))? {
                if let Some(room) = RoomKey::parse(&name) {
                    files.remove_dir(&room.dir())?;
                }
            }
            files.remove_file(path)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    files.create(path, &[&fresh])?;
    Ok(fresh)
}

/// The encoded record, for the small ones written in one piece.
fn encode(kind: Kind, number: u64, json: &[u8], data: &[u8]) -> io::Result<Vec<u8>> {
    let head = header(kind, number, json, data.len())?;
    Ok([&head[..], json, data].concat())
}

fn header(kind: Kind, number: u64, json: &[u8], data_len: usize) -> io::Result<[u8; HEADER_LEN]> {
    record::header(kind, number, json, data_len)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "record too large"))
}

fn span_at(offset: u64, json: &[u8], data: &[u8]) -> Span {
    Span {
        offset,
        json_len: json.len() as u32,
        data_len: data.len() as u32,
    }
}

/// An item's file name: a hash of its room and id (ids are the client's; names are ours).
fn item_name(room: RoomKey, content_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(room.0);
    hasher.update(content_id.as_bytes());
    let digest = hasher.finalize();
    format!(
        "{}{ITEM_SUFFIX}",
        data_encoding::HEXLOWER.encode(digest.get(..16).unwrap_or_default())
    )
}

/// The `content.contentId` and `content.totalChunks` of an item record's JSON.
/// The `contentId`, `totalChunks` and `from` of an item record.
fn item_of(json: &str) -> Option<(String, u64, String)> {
    let object: Object = json::from_str(json).ok()?;
    let Some(Value::Object(content)) = object.get("content") else {
        return None;
    };
    let sender = match object.get("from") {
        Some(Value::String(from)) => from.clone(),
        _ => String::new(),
    };
    match (content.get("contentId"), content.get("totalChunks")) {
        (Some(Value::String(id)), Some(Value::Number(Number::U64(total)))) => {
            Some((id.clone(), *total, sender))
        }
        _ => None,
    }
}

/// The JSON of a `Kind::Fetched` record.
pub fn fetched_json(client_id: &str) -> String {
    let mut object = Object::new();
    object.insert("clientId".into(), Value::String(client_id.to_string()));
    json::to_string(&object)
}

fn client_id_of(json: &str) -> Option<String> {
    let object: Object = json::from_str(json).ok()?;
    match object.get("clientId") {
        Some(Value::String(id)) => Some(id.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
