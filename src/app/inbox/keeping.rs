//! Keeping: an item's envelope, its chunks, who fetched it, and (on disk) the room's own file
//! before its first item, each within the caps, each written once.

use super::*;
use crate::app::room_record::{Revocation, RoomRecord};

/// An item offered to an inbox.
pub struct NewItem<'a> {
    pub content_id: &'a str,
    /// The `clientId` of the member that sent it.
    pub sender: &'a str,
    pub total_chunks: u64,
}

impl Inboxes {
    /// Whether the `room` file of `room` must still be written before its first item.
    pub fn needs_room_file(&self, room: Handle) -> bool {
        self.rooms
            .get(&room)
            .and_then(|i| i.files)
            .is_some_and(|f| !f.written)
    }

    /// Writes the `room` file of `room`: what admits its members after a restart.
    pub fn write_room_file(
        &mut self,
        room: Handle,
        record: &RoomRecord,
        revoked: &[Revocation],
    ) -> Result<(), Refusal> {
        let (Some(disk), Some(inbox)) = (self.disk.as_mut(), self.rooms.get_mut(&room)) else {
            return Ok(());
        };
        let Some(files) = inbox.files.as_mut() else {
            return Ok(());
        };
        let bytes = disk
            .store
            .create_room(files.key, record, revoked)
            .map_err(|e| written_refusal(&e))?;
        files.written = true;
        inbox.disk_used += bytes;
        disk.used += bytes;
        Ok(())
    }

    /// Appends a revocation to the `room` file of `room`, if it has one. A revocation that
    /// cannot be written would be forgotten at the next start, so the room's files go.
    pub fn record_revocation(&mut self, room: Handle, revoked: &Revocation) -> Vec<String> {
        let (Some(disk), Some(inbox)) = (self.disk.as_mut(), self.rooms.get_mut(&room)) else {
            return Vec::new();
        };
        let Some(files) = inbox.files.filter(|f| f.written) else {
            return Vec::new();
        };
        match disk.store.append_revocation(files.key, revoked) {
            Ok(bytes) => {
                inbox.disk_used += bytes;
                disk.used += bytes;
                Vec::new()
            }
            Err(e) => {
                log::error!(
                    "cannot record a revocation on disk ({e}); dropping the session's inbox files"
                );
                let gone = self.clear(room);
                if let (Some(disk), Some(inbox)) = (self.disk.as_mut(), self.rooms.get_mut(&room)) {
                    if let Some(files) = inbox.files.as_mut() {
                        disk.store.remove_room(files.key);
                        files.written = false;
                    }
                    disk.used -= inbox.disk_used;
                    inbox.disk_used = 0;
                }
                gone
            }
        }
    }

    /// Keeps item `new` (see [`kept::item`]). An item already kept stays as it is. Returns
    /// the bytes of memory charged for it.
    pub fn keep_item(
        &mut self,
        room: Handle,
        new: NewItem<'_>,
        kept: Kept,
        now: Instant,
        now_ms: u64,
    ) -> Result<usize, Refusal> {
        let NewItem {
            content_id,
            sender,
            total_chunks,
        } = new;
        let Some(inbox) = self.rooms.get(&room) else {
            return Ok(0);
        };
        if inbox.by_id.contains_key(content_id) {
            return Ok(0);
        }
        if kept.len() > self.limits.meta_bytes {
            return Err(Refusal::TooLarge);
        }
        let id_bytes = content_id.len().saturating_mul(2) + sender.len();
        let (bytes, disk_bytes) = if self.disk.is_some() {
            let on_disk = (record::HEADER_LEN + kept.len()) as u64 + disk::FILE_OVERHEAD;
            (DISK_ITEM_OVERHEAD.saturating_add(id_bytes), on_disk)
        } else {
            (ITEM_OVERHEAD + id_bytes + kept.len(), 0)
        };
        self.fits(inbox, bytes, disk_bytes)?;
        let expires = now + self.limits.ttl;
        let body = match (self.disk.as_mut(), inbox.files) {
            (None, _) => Body::Memory {
                kept,
                chunks: BTreeMap::new(),
            },
            (Some(disk), Some(files)) => {
                let expires_ms = now_ms + millis(self.limits.ttl);
                let data = kept.data.as_deref().unwrap_or_default();
                let (file, item) = disk
                    .store
                    .create_item(files.key, content_id, expires_ms, &kept.json, data)
                    .map_err(|e| written_refusal(&e))?;
                Body::Disk {
                    file,
                    item,
                    chunks: BTreeMap::new(),
                }
            }
            (Some(_), None) => return Err(Refusal::DiskError),
        };
        let item = Item {
            content_id: content_id.to_string(),
            sender: sender.to_string(),
            expires,
            total_chunks,
            body,
            fetched_by: Vec::new(),
            bytes,
            disk_bytes,
        };
        self.insert(room, item);
        Ok(bytes)
    }

    /// Adds an item to the index of `room`, at the next position.
    fn insert(&mut self, room: Handle, item: Item) {
        let position = self.next_position;
        self.next_position += 1;
        let Some(inbox) = self.rooms.get_mut(&room) else {
            return;
        };
        inbox.used += item.bytes;
        inbox.disk_used += item.disk_bytes;
        self.used += item.bytes;
        if let Some(disk) = self.disk.as_mut() {
            disk.used += item.disk_bytes;
        }
        self.items += 1;
        inbox.by_id.insert(item.content_id.clone(), position);
        inbox.items.insert(position, Box::new(item));
    }

    /// Keeps chunk `index` of a kept item. One that does not fit, or cannot be written, drops
    /// its whole item.
    pub fn keep_chunk(
        &mut self,
        room: Handle,
        content_id: &str,
        index: u64,
        chunk: OfferedChunk<'_>,
    ) -> ChunkKept {
        let Some(inbox) = self.rooms.get(&room) else {
            return ChunkKept::Ignored;
        };
        let Some(item) = inbox.item(content_id) else {
            return ChunkKept::Ignored;
        };
        if index >= item.total_chunks || item.has_chunk(index) {
            return ChunkKept::Ignored;
        }
        let (bytes, disk_bytes) = match &chunk {
            OfferedChunk::Packet(packet) => (CHUNK_OVERHEAD.saturating_add(packet.len()), 0),
            OfferedChunk::Envelope(kept) => (
                DISK_CHUNK_OVERHEAD,
                (record::HEADER_LEN + kept.len()) as u64,
            ),
        };
        if let Err(refusal) = self.fits(inbox, bytes, disk_bytes) {
            self.remove(room, content_id);
            return ChunkKept::Refused(refusal);
        }
        let disk = self.disk.as_mut();
        let Some(inbox) = self.rooms.get_mut(&room) else {
            return ChunkKept::Ignored;
        };
        let Some(item) = inbox.item_mut(content_id) else {
            return ChunkKept::Ignored;
        };
        let stored = match (&mut item.body, chunk, disk) {
            (Body::Memory { chunks, .. }, OfferedChunk::Packet(packet), _) => {
                chunks.insert(index, packet.clone());
                Ok(())
            }
            (Body::Disk { file, chunks, .. }, OfferedChunk::Envelope(kept), Some(disk)) => {
                let data = kept.data.as_deref().unwrap_or_default();
                match disk
                    .store
                    .append(file, Kind::Chunk, index, &kept.json, data)
                {
                    Ok(span) => {
                        chunks.insert(index, span);
                        disk.used += disk_bytes;
                        Ok(())
                    }
                    Err(e) => Err(written_refusal(&e)),
                }
            }
            _ => Err(Refusal::DiskError),
        };
        if let Err(refusal) = stored {
            self.remove(room, content_id);
            return ChunkKept::Refused(refusal);
        }
        item.bytes += bytes;
        item.disk_bytes += disk_bytes;
        inbox.used += bytes;
        inbox.disk_used += disk_bytes;
        self.used += bytes;
        ChunkKept::Kept
    }

    fn fits(&self, inbox: &Inbox, bytes: usize, disk_bytes: u64) -> Result<(), Refusal> {
        let session_cap = self.limits.session_bytes as u64;
        if let Some(disk) = &self.disk {
            if inbox.disk_used.saturating_add(disk_bytes) > session_cap {
                return Err(Refusal::SessionFull);
            }
            if disk.used.saturating_add(disk_bytes) > disk.total_bytes {
                return Err(Refusal::ServerFull);
            }
        } else if inbox.used.saturating_add(bytes) as u64 > session_cap {
            return Err(Refusal::SessionFull);
        }
        if self.used.saturating_add(bytes) > self.limits.total_bytes {
            return Err(Refusal::ServerFull);
        }
        Ok(())
    }

    /// Records that member `client_id` fetched item `content_id` to its last chunk; says
    /// whether that is news.
    pub fn record_fetch(&mut self, room: Handle, content_id: &str, client_id: &str) -> bool {
        let disk = self.disk.as_mut();
        let Some(inbox) = self.rooms.get_mut(&room) else {
            return false;
        };
        let Some(item) = inbox.item_mut(content_id) else {
            return false;
        };
        if item.fetched_by.len() >= FETCHED_BY_MAX || item.fetched_by.iter().any(|c| c == client_id)
        {
            return false;
        }
        let bytes = FETCHED_OVERHEAD + client_id.len();
        if self.used.saturating_add(bytes) > self.limits.total_bytes {
            return false;
        }
        let mut written = 0;
        if let (Body::Disk { file, .. }, Some(disk)) = (&mut item.body, disk) {
            let json = disk::fetched_json(client_id);
            match disk
                .store
                .append(file, Kind::Fetched, 0, json.as_bytes(), &[])
            {
                Ok(span) => {
                    written = span.len();
                    disk.used += written;
                }
                Err(e) => log::warn!("cannot record a fetch on disk: {e}"),
            }
        }
        item.fetched_by.push(client_id.to_string());
        item.bytes += bytes;
        item.disk_bytes += written;
        inbox.used += bytes;
        inbox.disk_used += written;
        self.used += bytes;
        true
    }
}

/// The refusal for a failed write: a full disk, or any other error.
fn written_refusal(error: &std::io::Error) -> Refusal {
    if error.kind() == std::io::ErrorKind::StorageFull {
        log::warn!("the inbox's disk is full; an item is not kept");
        Refusal::DiskFull
    } else {
        log::error!("cannot write to the inbox's directory: {error}");
        Refusal::DiskError
    }
}
