//! The opt-in inbox: for sessions whose creator turned it on, the server also keeps every item
//! it relays to everyone, so that a device joining later can fetch what it missed. In memory,
//! or with `INBOX_DIR` on disk (`disk.rs`), where it outlives a restart.
//!
//! What is kept is encoded once and kept in that form, whose size is its length: an item as
//! its documented envelope (JSON without the session's name, built by [`kept`]) and its sealed
//! `data`; each chunk in memory as the very packet the members were relayed (sharing its
//! bytes), on disk as its envelope and ciphertext. Listing or fetching builds the event from
//! that again. In memory each is charged at its length plus a fixed overhead that covers this
//! store's own bookkeeping (the integration test `inbox_footprint` measures real allocations
//! against those charges); on disk only the index is in memory and charged
//! ([`DISK_ITEM_OVERHEAD`], [`DISK_CHUNK_OVERHEAD`]), and the files against the disk caps.
//!
//! Sans-IO for time: it comes in as `now`, and the deadline of each inbox is a [`TimerId`] the
//! application arms (one per session, for its oldest item). Every item waits the same
//! `ttl` from when its metadata arrived, so arrival order is expiry order. Caps bound it (bytes
//! per session, bytes for the process, and on disk bytes of files); an item that does not fit
//! is refused (and, if its chunks were coming in, dropped whole), never anything else.

mod answers;
mod disk;
pub(super) mod dormant;
pub(super) mod events;
mod files;
mod keeping;
pub mod kept;
mod reads;
mod record;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::socketio::Outgoing;
use crate::util::arena::Handle;
use crate::util::timer::TimerId;

pub use self::disk::{server_key, RoomKey};
use self::disk::{DiskStore, ItemFile};
pub use self::files::{Files, RealFiles};
pub use self::keeping::NewItem;
use self::kept::Kept;
use self::record::{Kind, Span};

/// Bookkeeping charged for every item kept in memory besides its bytes and its id (kept
/// twice): its entries in the maps (the first item of an inbox takes a whole B-tree node of
/// about 1.3 KB and the hash table's first buckets; later ones a share of both), and the
/// shared buffers' headers. A flood of tiny items is bounded by the same byte caps as a few
/// large ones.
pub const ITEM_OVERHEAD: usize = 2048;
/// The same, for every chunk kept in memory (the first of an item takes a B-tree node of about
/// 500 bytes; each its packet's frame list and one shared-buffer header per frame).
pub const CHUNK_OVERHEAD: usize = 1024;
/// Memory charged for every item kept on disk besides its id (kept twice): its index entry,
/// its file's path and the maps' share, as for [`ITEM_OVERHEAD`].
pub const DISK_ITEM_OVERHEAD: usize = 2048;
/// Memory charged for every chunk kept on disk: its place in its item's file (a B-tree entry
/// of 24 bytes, about 80 with the node's share at worst).
pub const DISK_CHUNK_OVERHEAD: usize = 128;
/// Members recorded per item as having fetched it, at most (later ones are not listed).
pub const FETCHED_BY_MAX: usize = 64;
/// Memory charged per member recorded besides its id.
const FETCHED_OVERHEAD: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxLimits {
    /// How long each item waits.
    pub ttl: Duration,
    /// Bytes one session's inbox keeps at most (on disk when it is there).
    pub session_bytes: usize,
    /// Bytes of memory all inboxes take together at most; 0 turns the inbox off.
    pub total_bytes: usize,
    /// The largest item kept (its envelope and sealed metadata), in bytes.
    pub meta_bytes: usize,
}

/// The inbox on disk: where, how much, how fast.
pub struct DiskInbox {
    pub files: Box<dyn Files>,
    /// Bytes of files all inboxes keep together at most (`INBOX_DISK_BYTES`).
    pub total_bytes: u64,
    /// Bytes read from disk per turn of the event loop at most (`INBOX_DISK_READ_BYTES`).
    pub read_bytes: usize,
}

/// Why an item was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The session's inbox has no room for it.
    SessionFull,
    /// All inboxes together have no room for it.
    ServerFull,
    /// Its envelope and sealed metadata are larger than `meta_bytes`.
    TooLarge,
    /// The disk is full (ENOSPC).
    DiskFull,
    /// Writing it failed otherwise.
    DiskError,
}

/// What became of a chunk offered to the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKept {
    Kept,
    /// Not an item the inbox keeps (never kept, dropped, or removed), or a chunk it has.
    Ignored,
    /// It did not fit: its whole item was dropped from the inbox.
    Refused(Refusal),
}

/// A chunk offered to the inbox: the relayed packet (kept in memory) or its envelope (written
/// to disk).
pub enum OfferedChunk<'a> {
    Packet(&'a Outgoing),
    Envelope(Kept),
}

/// Where an item's bytes are.
enum Body {
    Memory {
        kept: Kept,
        /// The relayed `chunk` packets by index, shared with what the receivers were sent.
        chunks: BTreeMap<u64, Outgoing>,
    },
    Disk {
        file: ItemFile,
        item: Span,
        chunks: BTreeMap<u64, Span>,
    },
}

struct Item {
    content_id: String,
    /// The `clientId` of the member that sent it, which may delete it from the inbox.
    sender: String,
    expires: Instant,
    total_chunks: u64,
    body: Body,
    /// The members that fetched it to its last chunk.
    fetched_by: Vec<String>,
    /// Memory charged.
    bytes: usize,
    /// Disk charged.
    disk_bytes: u64,
}

impl Item {
    fn has_chunk(&self, index: u64) -> bool {
        match &self.body {
            Body::Memory { chunks, .. } => chunks.contains_key(&index),
            Body::Disk { chunks, .. } => chunks.contains_key(&index),
        }
    }

    fn chunk_indices(&self, from: u64) -> Vec<u64> {
        match &self.body {
            Body::Memory { chunks, .. } => chunks.range(from..).map(|(i, _)| *i).collect(),
            Body::Disk { chunks, .. } => chunks.range(from..).map(|(i, _)| *i).collect(),
        }
    }
}

/// The room's files, when its inbox is on disk.
#[derive(Clone, Copy)]
struct RoomFiles {
    key: RoomKey,
    /// Whether its `room` file is written.
    written: bool,
}

#[derive(Default)]
struct Inbox {
    used: usize,
    disk_used: u64,
    /// Items in arrival (and so expiry) order, by position; boxed, so that a B-tree node (the
    /// first item of an inbox takes a whole one) stays small.
    items: BTreeMap<u64, Box<Item>>,
    by_id: HashMap<String, u64>,
    timer: Option<TimerId>,
    files: Option<RoomFiles>,
}

impl Inbox {
    fn item(&self, content_id: &str) -> Option<&Item> {
        self.items
            .get(self.by_id.get(content_id)?)
            .map(|item| &**item)
    }

    fn item_mut(&mut self, content_id: &str) -> Option<&mut Item> {
        self.items
            .get_mut(self.by_id.get(content_id)?)
            .map(|item| &mut **item)
    }

    /// Takes an item that left the index off this inbox's charges.
    fn unindexed(&mut self, item: &Item) {
        self.used -= item.bytes;
        self.disk_used -= item.disk_bytes;
    }

    /// Takes the items whose time is up out, oldest first.
    fn take_due(&mut self, now: Instant) -> Vec<Item> {
        let mut due = Vec::new();
        while let Some(entry) = self.items.first_entry() {
            if entry.get().expires > now {
                break;
            }
            let item = *entry.remove();
            self.by_id.remove(&item.content_id);
            self.unindexed(&item);
            due.push(item);
        }
        self.trim();
        due
    }

    /// Gives back the maps' memory as items go, which would otherwise be held without being
    /// charged: a hash table keeps its largest size, and an emptied B-tree its root node.
    fn trim(&mut self) {
        if self.items.is_empty() {
            self.items = BTreeMap::new();
        }
        if self.by_id.is_empty() {
            self.by_id = HashMap::new();
        } else if self.by_id.capacity() > 4 * self.by_id.len() {
            self.by_id.shrink_to(2 * self.by_id.len());
        }
    }
}

/// The disk side of [`Inboxes`].
struct Disk {
    store: DiskStore<Box<dyn Files>>,
    total_bytes: u64,
    used: u64,
    reads: reads::TurnBudget,
}

/// Every session's inbox, and the bytes they hold together. The one owner of inbox state.
pub struct Inboxes {
    limits: InboxLimits,
    rooms: HashMap<Handle, Inbox>,
    /// Inboxes found on disk at start whose room nobody has named since (see [`dormant`]).
    dormant: dormant::Dormant,
    disk: Option<Disk>,
    used: usize,
    items: usize,
    next_position: u64,
}

impl Inboxes {
    pub fn new(limits: InboxLimits) -> Inboxes {
        Inboxes {
            limits,
            rooms: HashMap::new(),
            dormant: dormant::Dormant::default(),
            disk: None,
            used: 0,
            items: 0,
            next_position: 0,
        }
    }

    /// Inboxes whose items are kept on disk, in `disk`.
    pub fn on_disk(limits: InboxLimits, disk: DiskInbox) -> Inboxes {
        let mut inboxes = Inboxes::new(limits);
        inboxes.disk = Some(Disk {
            store: DiskStore::new(disk.files),
            total_bytes: disk.total_bytes,
            used: 0,
            reads: reads::TurnBudget::new(disk.read_bytes),
        });
        inboxes
    }

    pub fn limits(&self) -> InboxLimits {
        self.limits
    }

    /// Whether the server offers inboxes at all.
    pub fn enabled(&self) -> bool {
        self.limits.total_bytes > 0
    }

    /// Whether items are kept on disk.
    pub fn is_on_disk(&self) -> bool {
        self.disk.is_some()
    }

    /// Turns the inbox of `room` on (at its creation); `key` names its files on disk.
    pub fn open(&mut self, room: Handle, key: Option<RoomKey>) {
        if self.enabled() {
            let inbox = self.rooms.entry(room).or_default();
            if self.disk.is_some() {
                inbox.files = key.map(|key| RoomFiles {
                    key,
                    written: false,
                });
            }
        }
    }

    pub fn is_open(&self, room: Handle) -> bool {
        self.rooms.contains_key(&room)
    }

    /// Whether the inbox of `room` holds any item (such a session does not expire yet).
    pub fn holds_items(&self, room: Handle) -> bool {
        self.rooms.get(&room).is_some_and(|i| !i.items.is_empty())
    }

    /// Bytes charged for what all inboxes keep in memory (counted against the memory budget).
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    /// Bytes of files all inboxes keep on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.disk.as_ref().map_or(0, |d| d.used)
    }

    pub fn item_count(&self) -> usize {
        self.items
    }

    /// The `clientId` that sent item `content_id` of the inbox of `room`, if it keeps it.
    pub fn sender_of(&self, room: Handle, content_id: &str) -> Option<String> {
        let item = self.rooms.get(&room)?.item(content_id)?;
        Some(item.sender.clone())
    }

    /// Drops item `content_id`; says whether it was kept.
    pub fn remove(&mut self, room: Handle, content_id: &str) -> bool {
        let Some(inbox) = self.rooms.get_mut(&room) else {
            return false;
        };
        let Some(item) = inbox
            .by_id
            .remove(content_id)
            .and_then(|position| inbox.items.remove(&position))
        else {
            return false;
        };
        inbox.unindexed(&item);
        inbox.trim();
        self.release(*item);
        true
    }

    /// Takes the process's charges for an item that left its inbox back, and its file away.
    fn release(&mut self, item: Item) {
        self.used -= item.bytes;
        self.items -= 1;
        if let (Some(disk), Body::Disk { file, .. }) = (self.disk.as_mut(), &item.body) {
            disk.store.remove_item(file);
            disk.used -= item.disk_bytes;
        }
    }

    /// Empties the inbox of `room` (a clear); it stays on. Returns the ids that went.
    pub fn clear(&mut self, room: Handle) -> Vec<String> {
        let Some(inbox) = self.rooms.get_mut(&room) else {
            return Vec::new();
        };
        let items = std::mem::take(&mut inbox.items);
        inbox.by_id.clear();
        for item in items.values() {
            inbox.unindexed(item);
        }
        inbox.trim();
        let mut gone = Vec::with_capacity(items.len());
        for item in items.into_values().map(|item| *item) {
            gone.push(item.content_id.clone());
            self.release(item);
        }
        gone
    }

    /// Drops the inbox of `room` with everything in it, its files too (the session expired or
    /// gave way). Returns its deadline, for the caller to cancel.
    pub fn close(&mut self, room: Handle) -> Option<TimerId> {
        self.clear(room);
        let inbox = self.rooms.remove(&room)?;
        if let (Some(disk), Some(files)) = (self.disk.as_mut(), inbox.files) {
            if files.written {
                disk.store.remove_room(files.key);
                disk.used -= inbox.disk_used;
            }
        }
        inbox.timer
    }

    /// Drops the items of `room` whose time is up; returns their ids, oldest first.
    pub fn expire(&mut self, room: Handle, now: Instant) -> Vec<String> {
        let Some(inbox) = self.rooms.get_mut(&room) else {
            return Vec::new();
        };
        let due = inbox.take_due(now);
        let mut gone = Vec::with_capacity(due.len());
        for item in due {
            gone.push(item.content_id.clone());
            self.release(item);
        }
        gone
    }

    /// When the oldest item of `room` expires.
    pub fn next_expiry(&self, room: Handle) -> Option<Instant> {
        let inbox = self.rooms.get(&room)?;
        inbox.items.values().next().map(|item| item.expires)
    }

    pub fn timer_armed(&self, room: Handle) -> bool {
        self.rooms.get(&room).is_some_and(|i| i.timer.is_some())
    }

    /// Records the deadline armed for `room`; returns the one it replaces.
    pub fn set_timer(&mut self, room: Handle, timer: Option<TimerId>) -> Option<TimerId> {
        let inbox = self.rooms.get_mut(&room)?;
        std::mem::replace(&mut inbox.timer, timer)
    }

    /// The positions of the kept items of `room` from `position` on, oldest first, at most
    /// `count`.
    pub fn positions(&self, room: Handle, position: u64, count: usize) -> Vec<u64> {
        self.rooms.get(&room).map_or_else(Vec::new, |inbox| {
            inbox
                .items
                .range(position..)
                .take(count)
                .map(|(p, _)| *p)
                .collect()
        })
    }

    /// The indices of the kept chunks of item `content_id` from `from` on, in order, at most
    /// `count`; `None` when the inbox does not keep that item.
    pub fn chunk_indices(
        &self,
        room: Handle,
        content_id: &str,
        from: u64,
        count: usize,
    ) -> Option<Vec<u64>> {
        let item = self.rooms.get(&room)?.item(content_id)?;
        let mut indices = item.chunk_indices(from);
        indices.truncate(count);
        Some(indices)
    }

    /// The total chunk count of item `content_id`.
    pub fn total_chunks(&self, room: Handle, content_id: &str) -> Option<u64> {
        Some(self.rooms.get(&room)?.item(content_id)?.total_chunks)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Bytes read back, shared from here on.
fn bytes_of(data: Vec<u8>) -> Option<Bytes> {
    (!data.is_empty()).then(|| Bytes::from(data))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod app_tests;

#[cfg(test)]
mod answer_tests;

#[cfg(test)]
mod disk_tests;

#[cfg(test)]
mod authority_tests;
