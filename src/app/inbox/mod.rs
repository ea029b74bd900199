//! The opt-in inbox: for sessions whose creator turned it on, the server also keeps every item
//! it relays to everyone, in memory only, so that a device joining later can fetch what it
//! missed.
//!
//! What is kept is encoded once and kept in that form, whose size is its length: an item as
//! the `inbox-item` event a late joiner is sent (the documented envelope and its sealed
//! `data`, built by [`kept`]), and each chunk as the very packet the members were relayed
//! (sharing its bytes). Listing or fetching queues those packets again; nothing is parsed or
//! copied. Each is charged at its length plus a fixed overhead that covers this store's own
//! bookkeeping (maps, timers, the shared buffers' headers): the integration test
//! `inbox_footprint` measures real allocations against those charges.
//!
//! Sans-IO: time comes in as `now`, and the deadline of each inbox is a [`TimerId`] the
//! application arms (one per session, for its oldest item). Every item waits the same
//! `ttl` from when its metadata arrived, so arrival order is expiry order. Two caps bound it:
//! bytes per session and bytes for the whole process; an item that does not fit is refused
//! (and, if its chunks were coming in, dropped whole), never anything else.

pub(super) mod events;
pub mod kept;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::socketio::Outgoing;
use crate::util::arena::Handle;
use crate::util::timer::TimerId;

/// Bookkeeping charged for every kept item besides its packet and its id (kept twice): its
/// entries in the maps (the first item of an inbox takes a whole B-tree node of about 1.3 KB
/// and the hash table's first buckets; later ones a share of both), and the packet's frame
/// list and shared-buffer headers. A flood of tiny items is bounded by the same byte caps as
/// a few large ones.
pub const ITEM_OVERHEAD: usize = 2048;
/// The same, for every kept chunk (the first of an item takes a B-tree node of about 500
/// bytes; each its packet's frame list and one shared-buffer header per frame).
pub const CHUNK_OVERHEAD: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxLimits {
    /// How long each item waits.
    pub ttl: Duration,
    /// Bytes one session's inbox keeps at most.
    pub session_bytes: usize,
    /// Bytes all inboxes keep together at most; 0 turns the inbox off for every session.
    pub total_bytes: usize,
    /// The largest `inbox-item` kept (its envelope and sealed metadata), in bytes.
    pub meta_bytes: usize,
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

/// One kept item, as a listing walks them.
pub struct Listed<'a> {
    /// Where the item is in its inbox: a listing goes on from here.
    pub position: u64,
    pub content_id: &'a str,
    /// The `inbox-item` event, ready to queue.
    pub packet: &'a Outgoing,
    pub expires: Instant,
}

struct Item {
    content_id: String,
    expires: Instant,
    total_chunks: u64,
    listing: Outgoing,
    /// The relayed `chunk` packets by index, shared with what the receivers were sent.
    chunks: BTreeMap<u64, Outgoing>,
    bytes: usize,
}

#[derive(Default)]
struct Inbox {
    used: usize,
    /// Items in arrival (and so expiry) order, by position.
    items: BTreeMap<u64, Item>,
    by_id: HashMap<String, u64>,
    timer: Option<TimerId>,
}

impl Inbox {
    fn item(&self, content_id: &str) -> Option<&Item> {
        self.items.get(self.by_id.get(content_id)?)
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

/// Every session's inbox, and the bytes they hold together. The one owner of inbox state.
pub struct Inboxes {
    limits: InboxLimits,
    rooms: HashMap<Handle, Inbox>,
    used: usize,
    items: usize,
    next_position: u64,
}

impl Inboxes {
    pub fn new(limits: InboxLimits) -> Inboxes {
        Inboxes {
            limits,
            rooms: HashMap::new(),
            used: 0,
            items: 0,
            next_position: 0,
        }
    }

    pub fn limits(&self) -> InboxLimits {
        self.limits
    }

    /// Whether the server offers inboxes at all.
    pub fn enabled(&self) -> bool {
        self.limits.total_bytes > 0
    }

    /// Turns the inbox of `room` on (at its creation).
    pub fn open(&mut self, room: Handle) {
        if self.enabled() {
            self.rooms.entry(room).or_default();
        }
    }

    pub fn is_open(&self, room: Handle) -> bool {
        self.rooms.contains_key(&room)
    }

    /// Whether the inbox of `room` holds any item (such a session does not expire yet).
    pub fn holds_items(&self, room: Handle) -> bool {
        self.rooms.get(&room).is_some_and(|i| !i.items.is_empty())
    }

    /// Bytes charged for everything all inboxes keep (counted against the memory budget).
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    pub fn item_count(&self) -> usize {
        self.items
    }

    /// Keeps item `content_id`, as the `inbox-item` event `listing` (see [`kept::listing`]).
    /// An item already kept stays as it is. Returns the bytes charged for it.
    pub fn keep_item(
        &mut self,
        room: Handle,
        content_id: &str,
        total_chunks: u64,
        listing: Outgoing,
        now: Instant,
    ) -> Result<usize, Refusal> {
        let Some(inbox) = self.rooms.get(&room) else {
            return Ok(0);
        };
        if inbox.by_id.contains_key(content_id) {
            return Ok(0);
        }
        if listing.len() > self.limits.meta_bytes {
            return Err(Refusal::TooLarge);
        }
        let bytes = ITEM_OVERHEAD
            .saturating_add(content_id.len().saturating_mul(2))
            .saturating_add(listing.len());
        self.fits(inbox.used, bytes)?;
        let position = self.next_position;
        self.next_position += 1;
        let item = Item {
            content_id: content_id.to_string(),
            expires: now + self.limits.ttl,
            total_chunks,
            listing,
            chunks: BTreeMap::new(),
            bytes,
        };
        if let Some(inbox) = self.rooms.get_mut(&room) {
            inbox.used += bytes;
            inbox.by_id.insert(item.content_id.clone(), position);
            inbox.items.insert(position, item);
            self.used += bytes;
            self.items += 1;
        }
        Ok(bytes)
    }

    /// Keeps chunk `index` of a kept item. One that does not fit drops its whole item.
    pub fn keep_chunk(
        &mut self,
        room: Handle,
        content_id: &str,
        index: u64,
        packet: &Outgoing,
    ) -> ChunkKept {
        let Some(inbox) = self.rooms.get(&room) else {
            return ChunkKept::Ignored;
        };
        let Some(item) = inbox.item(content_id) else {
            return ChunkKept::Ignored;
        };
        if index >= item.total_chunks || item.chunks.contains_key(&index) {
            return ChunkKept::Ignored;
        }
        let bytes = CHUNK_OVERHEAD.saturating_add(packet.len());
        if let Err(refusal) = self.fits(inbox.used, bytes) {
            self.remove(room, content_id);
            return ChunkKept::Refused(refusal);
        }
        let Some(inbox) = self.rooms.get_mut(&room) else {
            return ChunkKept::Ignored;
        };
        let Some(item) = inbox
            .by_id
            .get(content_id)
            .and_then(|p| inbox.items.get_mut(p))
        else {
            return ChunkKept::Ignored;
        };
        item.chunks.insert(index, packet.clone());
        item.bytes += bytes;
        inbox.used += bytes;
        self.used += bytes;
        ChunkKept::Kept
    }

    fn fits(&self, session_used: usize, bytes: usize) -> Result<(), Refusal> {
        if session_used.saturating_add(bytes) > self.limits.session_bytes {
            Err(Refusal::SessionFull)
        } else if self.used.saturating_add(bytes) > self.limits.total_bytes {
            Err(Refusal::ServerFull)
        } else {
            Ok(())
        }
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
        inbox.used -= item.bytes;
        inbox.trim();
        self.used -= item.bytes;
        self.items -= 1;
        true
    }

    /// Empties the inbox of `room` (a clear); it stays on. Returns how many items went.
    pub fn clear(&mut self, room: Handle) -> usize {
        let Some(inbox) = self.rooms.get_mut(&room) else {
            return 0;
        };
        let gone = inbox.items.len();
        self.used -= inbox.used;
        self.items -= gone;
        inbox.used = 0;
        inbox.items.clear();
        inbox.by_id.clear();
        inbox.trim();
        gone
    }

    /// Drops the inbox of `room` with everything in it (the session expired or gave way).
    /// Returns its deadline, for the caller to cancel.
    pub fn close(&mut self, room: Handle) -> Option<TimerId> {
        self.clear(room);
        self.rooms.remove(&room).and_then(|inbox| inbox.timer)
    }

    /// Drops the items of `room` whose time is up; returns their ids, oldest first.
    pub fn expire(&mut self, room: Handle, now: Instant) -> Vec<String> {
        let mut gone = Vec::new();
        let Some(inbox) = self.rooms.get_mut(&room) else {
            return gone;
        };
        while let Some(entry) = inbox.items.first_entry() {
            if entry.get().expires > now {
                break;
            }
            let item = entry.remove();
            inbox.by_id.remove(&item.content_id);
            inbox.used -= item.bytes;
            self.used -= item.bytes;
            self.items -= 1;
            gone.push(item.content_id);
        }
        inbox.trim();
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

    /// The kept items of `room` from `position` on, oldest first.
    pub fn listing(&self, room: Handle, position: u64) -> impl Iterator<Item = Listed<'_>> {
        self.rooms
            .get(&room)
            .into_iter()
            .flat_map(move |inbox| inbox.items.range(position..))
            .map(|(position, item)| Listed {
                position: *position,
                content_id: &item.content_id,
                packet: &item.listing,
                expires: item.expires,
            })
    }

    /// The kept chunks of item `content_id` from index `from` on, in order, with their
    /// indices; `None` when the inbox does not keep that item.
    pub fn chunks(
        &self,
        room: Handle,
        content_id: &str,
        from: u64,
    ) -> Option<impl Iterator<Item = (u64, &Outgoing)>> {
        let item = self.rooms.get(&room)?.item(content_id)?;
        Some(
            item.chunks
                .range(from..)
                .map(|(index, packet)| (*index, packet)),
        )
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod app_tests;

#[cfg(test)]
mod answer_tests;
