//! The opt-in inbox: for sessions whose creator turned it on, the server also keeps every item
//! it relays to everyone (the same sealed metadata and chunk envelopes, byte for byte), in
//! memory only, so that a device joining later can fetch what it missed.
//!
//! Sans-IO: time comes in as `now`, and the deadline of each inbox is a [`TimerId`] the
//! application arms (one per session, for its oldest item). Every item waits the same
//! `ttl` from when its metadata arrived, so arrival order is expiry order. Two caps bound it:
//! bytes per session and bytes for the whole process; an item that does not fit is refused
//! (and, if its chunks were coming in, dropped whole), never anything else.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use miniserde::json::{self, Object, Value};

use crate::socketio::Outgoing;
use crate::util::arena::Handle;
use crate::util::timer::TimerId;

/// Bookkeeping counted for every kept item besides its envelopes (its id, maps and timers),
/// so that a flood of tiny items is bounded by the same byte caps as a few large ones.
const ITEM_OVERHEAD: usize = 256;
/// The same, for every kept chunk.
const CHUNK_OVERHEAD: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxLimits {
    /// How long each item waits.
    pub ttl: Duration,
    /// Bytes one session's inbox keeps at most.
    pub session_bytes: usize,
    /// Bytes all inboxes keep together at most; 0 turns the inbox off for every session.
    pub total_bytes: usize,
}

/// Why an item was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The session's inbox has no room for it.
    SessionFull,
    /// All inboxes together have no room for it.
    ServerFull,
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

/// One kept item, as a late joiner is given it.
pub struct Listed {
    /// The relayed `content` payload (with `from`), its `data` a placeholder for `data`.
    pub payload: Object,
    pub data: Vec<Bytes>,
    pub expires_in: Duration,
}

struct Item {
    content_id: String,
    expires: Instant,
    total_chunks: u64,
    payload: Object,
    data: Vec<Bytes>,
    /// The relayed `chunk` packets by index, shared with what the receivers were sent.
    chunks: BTreeMap<u64, Outgoing>,
    bytes: usize,
}

#[derive(Default)]
struct Inbox {
    used: usize,
    /// Items in arrival (and so expiry) order.
    items: BTreeMap<u64, Item>,
    by_id: HashMap<String, u64>,
    timer: Option<TimerId>,
}

/// Every session's inbox, and the bytes they hold together. The one owner of inbox state.
pub struct Inboxes {
    limits: InboxLimits,
    rooms: HashMap<Handle, Inbox>,
    used: usize,
    items: usize,
    next_seq: u64,
}

impl Inboxes {
    pub fn new(limits: InboxLimits) -> Inboxes {
        Inboxes {
            limits,
            rooms: HashMap::new(),
            used: 0,
            items: 0,
            next_seq: 0,
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

    /// Bytes kept by all inboxes (counted against the memory budget).
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    pub fn item_count(&self) -> usize {
        self.items
    }

    /// Keeps the metadata of item `content_id` (the relayed payload and its attachments). An
    /// item already kept stays as it is.
    pub fn keep_item(
        &mut self,
        room: Handle,
        content_id: &str,
        total_chunks: u64,
        payload: Object,
        data: Vec<Bytes>,
        now: Instant,
    ) -> Result<(), Refusal> {
        let Some(inbox) = self.rooms.get(&room) else {
            return Ok(());
        };
        if inbox.by_id.contains_key(content_id) {
            return Ok(());
        }
        let bytes = ITEM_OVERHEAD
            + content_id.len()
            + json::to_string(&Value::Object(payload.clone())).len()
            + data.iter().map(Bytes::len).sum::<usize>();
        self.fits(inbox.used, bytes)?;
        let seq = self.next_seq;
        self.next_seq += 1;
        let item = Item {
            content_id: content_id.to_string(),
            expires: now + self.limits.ttl,
            total_chunks,
            payload,
            data,
            chunks: BTreeMap::new(),
            bytes,
        };
        if let Some(inbox) = self.rooms.get_mut(&room) {
            inbox.used += bytes;
            inbox.by_id.insert(item.content_id.clone(), seq);
            inbox.items.insert(seq, item);
            self.used += bytes;
            self.items += 1;
        }
        Ok(())
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
        let Some(item) = inbox.by_id.get(content_id).and_then(|s| inbox.items.get(s)) else {
            return ChunkKept::Ignored;
        };
        if index >= item.total_chunks || item.chunks.contains_key(&index) {
            return ChunkKept::Ignored;
        }
        let bytes = CHUNK_OVERHEAD + packet.len();
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
            .and_then(|s| inbox.items.get_mut(s))
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
            .and_then(|seq| inbox.items.remove(&seq))
        else {
            return false;
        };
        inbox.used -= item.bytes;
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

    /// Every kept item of `room`, oldest first, as a late joiner is given them.
    pub fn listing(&self, room: Handle, now: Instant) -> Vec<Listed> {
        let Some(inbox) = self.rooms.get(&room) else {
            return Vec::new();
        };
        inbox
            .items
            .values()
            .map(|item| Listed {
                payload: item.payload.clone(),
                data: item.data.clone(),
                expires_in: item.expires.saturating_duration_since(now),
            })
            .collect()
    }

    /// Up to `count` kept chunks of item `content_id` from index `from` on, in order; `None`
    /// when the inbox does not keep that item.
    pub fn chunks(
        &self,
        room: Handle,
        content_id: &str,
        from: u64,
        count: usize,
    ) -> Option<Vec<Outgoing>> {
        let inbox = self.rooms.get(&room)?;
        let item = inbox.items.get(inbox.by_id.get(content_id)?)?;
        Some(
            item.chunks
                .range(from..)
                .take(count)
                .map(|(_, p)| p.clone())
                .collect(),
        )
    }
}

#[cfg(test)]
#[path = "inbox_tests.rs"]
mod tests;
