//! Inboxes found on disk at start. The server does not know their rooms' names (they are not
//! on disk), only a keyed hash of each: such an inbox waits here, its items expiring on their
//! own, until a join names its room; that join is checked against the room's stored admission
//! secret and brings the room back with its inbox ([`Inboxes::revive`]).

use std::collections::HashMap;

use super::disk::ScannedItem;
use super::*;
use crate::app::room_record::{Revocation, RoomRecord};

/// Inboxes whose rooms nobody has named since the start.
#[derive(Default)]
pub struct Dormant {
    rooms: HashMap<RoomKey, Sleeping>,
    /// The deadline of the oldest item among them, once armed.
    pub timer: Option<TimerId>,
}

struct Sleeping {
    record: RoomRecord,
    revoked: Vec<Revocation>,
    inbox: Inbox,
}

/// A room brought back: what admits its members, and the tokens it no longer accepts.
pub struct Revived {
    pub record: RoomRecord,
    pub revoked: Vec<Revocation>,
}

impl Inboxes {
    /// Reads the inbox directory at start: every item still within its time (and within
    /// today's caps, which may have shrunk since) is indexed, everything else removed.
    /// `now_ms` is `now` in milliseconds since the UNIX epoch.
    pub fn restore(&mut self, now: Instant, now_ms: u64) {
        let Some(disk) = self.disk.as_mut() else {
            return;
        };
        let scanned = disk.store.scan();
        let ttl_ms = millis(self.limits.ttl);
        for room in scanned {
            let mut inbox = Inbox {
                files: Some(RoomFiles {
                    key: room.key,
                    written: true,
                }),
                disk_used: room.room_bytes,
                ..Inbox::default()
            };
            let mut items = room.items;
            items.sort_by_key(|i| i.expires_ms);
            for scanned in items {
                let left_ms = scanned.expires_ms.saturating_sub(now_ms).min(ttl_ms);
                let item = restored_item(scanned, now + Duration::from_millis(left_ms));
                if left_ms > 0 && self.fits_at_start(&inbox, &item) {
                    let position = self.next_position;
                    self.next_position += 1;
                    inbox.used += item.bytes;
                    inbox.disk_used += item.disk_bytes;
                    inbox.by_id.insert(item.content_id.clone(), position);
                    inbox.items.insert(position, Box::new(item));
                } else if let (Some(disk), Body::Disk { file, .. }) =
                    (self.disk.as_mut(), &item.body)
                {
                    disk.store.remove_item(file);
                }
            }
            let Some(disk) = self.disk.as_mut() else {
                return;
            };
            if inbox.items.is_empty() {
                disk.store.remove_room(room.key);
                continue;
            }
            disk.used += inbox.disk_used;
            self.used += inbox.used;
            self.items += inbox.items.len();
            let sleeping = Sleeping {
                record: room.record,
                revoked: room.revoked,
                inbox,
            };
            self.dormant.rooms.insert(room.key, sleeping);
        }
        log::info!(
            "the inbox directory keeps {} items of {} sessions ({} bytes)",
            self.items,
            self.dormant.rooms.len(),
            self.disk_bytes()
        );
    }

    /// Whether an item found at start fits today's caps, with what its room already got back.
    fn fits_at_start(&self, inbox: &Inbox, item: &Item) -> bool {
        let disk_used = self.disk.as_ref().map_or(0, |d| d.used);
        let disk_total = self.disk.as_ref().map_or(0, |d| d.total_bytes);
        inbox.disk_used + item.disk_bytes <= self.limits.session_bytes as u64
            && disk_used + inbox.disk_used + item.disk_bytes <= disk_total
            && self.used + inbox.used + item.bytes <= self.limits.total_bytes
    }

    /// Whether a room named by `key` waits on disk.
    pub fn is_dormant(&self, key: RoomKey) -> bool {
        self.dormant.rooms.contains_key(&key)
    }

    /// What admits the members of the room that waits on disk under `key`.
    pub fn dormant_record(&self, key: RoomKey) -> Option<&RoomRecord> {
        self.dormant.rooms.get(&key).map(|s| &s.record)
    }

    /// The room waiting under `key` is live again as `room`: its inbox is its own.
    pub fn revive(&mut self, key: RoomKey, room: Handle) -> Option<Revived> {
        let sleeping = self.dormant.rooms.remove(&key)?;
        self.rooms.insert(room, sleeping.inbox);
        Some(Revived {
            record: sleeping.record,
            revoked: sleeping.revoked,
        })
    }

    /// Drops the waiting items whose time is up, and the rooms left without any.
    pub fn expire_dormant(&mut self, now: Instant) {
        let mut due = Vec::new();
        let mut emptied = Vec::new();
        for (key, sleeping) in &mut self.dormant.rooms {
            due.extend(sleeping.inbox.take_due(now));
            if sleeping.inbox.items.is_empty() {
                emptied.push(*key);
            }
        }
        for item in due {
            self.release(item);
        }
        for key in emptied {
            if let Some(sleeping) = self.dormant.rooms.remove(&key) {
                if let Some(disk) = self.disk.as_mut() {
                    disk.store.remove_room(key);
                    disk.used -= sleeping.inbox.disk_used;
                }
            }
        }
    }

    /// When the oldest waiting item expires.
    pub fn next_dormant_expiry(&self) -> Option<Instant> {
        self.dormant
            .rooms
            .values()
            .filter_map(|s| s.inbox.items.values().next().map(|i| i.expires))
            .min()
    }
}

/// The index entry of an item found at start, expiring at `expires`.
fn restored_item(scanned: ScannedItem, expires: Instant) -> Item {
    let fetched: usize = scanned
        .fetched_by
        .iter()
        .map(|id| FETCHED_OVERHEAD + id.len())
        .sum();
    Item {
        bytes: DISK_ITEM_OVERHEAD
            + 2 * scanned.content_id.len()
            + scanned.sender.len()
            + scanned.chunks.len() * DISK_CHUNK_OVERHEAD
            + fetched,
        disk_bytes: scanned.file.disk_bytes(),
        content_id: scanned.content_id,
        sender: scanned.sender,
        expires,
        total_chunks: scanned.total_chunks,
        fetched_by: scanned.fetched_by,
        body: Body::Disk {
            file: scanned.file,
            item: scanned.item,
            chunks: scanned.chunks.into_iter().collect(),
        },
    }
}
