//! The one timer wheel the event loop advances: every deadline (a connection's wait in its
//! state, heartbeats, upgrade and stall timeouts, room expiry, rate-limit windows) is an entry
//! here.
//!
//! Owns: the timer entries, in a fixed-capacity [`Arena`] reserved at construction, linked into
//! per-slot lists by handle (no pointers, no `unsafe`).
//!
//! Never does: read the clock (every `Instant` comes in as an argument, so tests run on virtual
//! time), allocate after construction (except pushing fired keys into the caller's `Vec`), or
//! scan every entry to answer [`TimerWheel::next_deadline`].

// Slot and word indices here are masked by `slots - 1` or derived from the slot count fixed at
// construction; they never come from outside the wheel.
#![allow(clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use super::arena::{Arena, Full, Handle};

/// Identifies one armed timer. Generation-checked (it is an arena handle), so cancelling a
/// timer that already fired or was cancelled is a harmless no-op, even after its slot was
/// reused by another timer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TimerId(Handle);

#[derive(Debug)]
struct Entry<K> {
    key: K,
    /// Absolute tick at which the entry may fire: its deadline rounded up to the tick.
    tick: u64,
    /// Index into `TimerWheel::lists`: a slot, or `overdue_list()`.
    list: usize,
    prev: Option<Handle>,
    next: Option<Handle>,
}

/// A single-level hashed timer wheel with a rounds counter (Varghese & Lauck, "Hashed and
/// Hierarchical Timing Wheels", 1987, scheme 6).
///
/// Time is cut into ticks of `tick` length counted from `start`; tick `t` begins at
/// `start + t * tick`. A deadline is rounded **up** to a tick, so a timer never fires early and
/// at most one tick late. The wheel has `slots` (a power of two) slots; a timer whose tick is
/// `t` lives in slot `t & (slots - 1)`. Timers more than one turn away share a slot with nearer
/// ones: each entry keeps its absolute tick, from which its rounds counter follows
/// (`(tick - current) / slots` turns still to go). Storing the absolute tick rather than a
/// counter decremented on every visit means a visit changes nothing for entries not yet due, and
/// skipping whole turns (the loop slept long) needs no bookkeeping: an entry fires on the first
/// visit of its slot at or after its tick.
///
/// - `insert` and `cancel` are O(1): the entry is pushed on / unlinked from its slot's doubly
///   linked list (links are arena handles).
/// - `expire(now)` visits each slot between the last call and `now` once, and at most one full
///   turn of slots however long the gap; its cost is that plus the entries it visits.
/// - `next_deadline` finds the next occupied slot through an `occupied` bitset (one bit per
///   slot, 64 slots per word), in O(slots / 64).
///
/// Deadlines already due when inserted (their rounded tick was already processed) go to an
/// *overdue* list that the next `expire` always fires, whatever `now` it is given.
#[derive(Debug)]
pub struct TimerWheel<K: Copy> {
    start: Instant,
    tick: Duration,
    /// `slots - 1`; slots is a power of two.
    mask: u64,
    /// Heads of the slot lists, then one more: the overdue list. Always `slots + 1` long, and
    /// every index used is masked or `overdue_list()`, so indexing cannot go out of bounds.
    lists: Vec<Option<Handle>>,
    /// Bit `s` is set iff slot `s`'s list is non-empty (the overdue list has no bit).
    occupied: Vec<u64>,
    entries: Arena<Entry<K>>,
    /// The first tick not processed yet: every tick `< next_tick` has been visited.
    next_tick: u64,
}

impl<K: Copy> TimerWheel<K> {
    /// A wheel whose tick 0 begins at `start`, with room for `capacity` timers.
    ///
    /// # Panics
    ///
    /// If `tick` is zero or `slots` is not a power of two. Both are constants or validated
    /// configuration, never network input.
    pub fn new(start: Instant, tick: Duration, slots: usize, capacity: usize) -> Self {
        assert!(!tick.is_zero(), "timer wheel tick must be non-zero");
        assert!(
            slots.is_power_of_two(),
            "timer wheel slots must be a power of two, got {slots}"
        );
        let mut lists = Vec::with_capacity(slots + 1);
        lists.resize(slots + 1, None);
        TimerWheel {
            start,
            tick,
            mask: slots as u64 - 1,
            lists,
            occupied: vec![0; slots.div_ceil(64)],
            entries: Arena::with_capacity(capacity),
            next_tick: 0,
        }
    }

    /// Arms a timer that fires `key` on the first `expire(now)` with `now >= deadline` (in
    /// practice: `now` at or past `deadline` rounded up to the tick). A deadline already in the
    /// past, or in a tick already processed, fires on the next `expire`.
    pub fn insert(&mut self, deadline: Instant, key: K) -> Result<TimerId, Full> {
        let tick = self.tick_ceil(deadline);
        let list = if tick < self.next_tick {
            self.overdue_list()
        } else {
            self.slot_of(tick)
        };
        let handle = self.entries.try_insert(Entry {
            key,
            tick,
            list,
            prev: None,
            next: None,
        })?;
        self.push_front(list, handle);
        Ok(TimerId(handle))
    }

    /// Disarms a timer and returns its key, or `None` if it already fired or was cancelled.
    pub fn cancel(&mut self, id: TimerId) -> Option<K> {
        if !self.entries.contains(id.0) {
            return None;
        }
        self.unlink(id.0);
        self.entries.remove(id.0).map(|entry| entry.key)
    }

    /// Appends to `fired` the key of every timer due at `now` and disarms them. Processes every
    /// tick since the last call up to the one containing `now`, visiting at most one full turn
    /// of slots. Keys come in slot order, not strictly deadline order. Timers the caller
    /// inserts afterwards (say, re-arming a heartbeat) are never fired by this call.
    pub fn expire(&mut self, now: Instant, fired: &mut Vec<K>) {
        let overdue = self.overdue_list();
        self.drain_list(overdue, u64::MAX, fired);

        // The tick containing `now`: every deadline rounded up to it or earlier is <= now.
        let now_tick = self.tick_floor(now);
        if now_tick < self.next_tick {
            return;
        }
        let elapsed = now_tick - self.next_tick;
        // After a full turn every slot has been seen; an entry further ahead stays where it is
        // because its tick is past `now_tick`, so walking more turns would find nothing new.
        let visits = elapsed.min(self.mask);
        for step in 0..=visits {
            let slot = self.slot_of(self.next_tick.wrapping_add(step));
            self.drain_list(slot, now_tick, fired);
        }
        self.next_tick = now_tick.saturating_add(1);
    }

    /// When the loop must call `expire` next for a timer to fire: the start of the first tick
    /// at which an occupied slot is visited. It may be early (that slot's entries may be turns
    /// away; `expire` then fires nothing and this moves on), never late. `None` when no timer
    /// is armed. An instant in the past means "now".
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.entries.is_empty() {
            return None;
        }
        if self.lists[self.overdue_list()].is_some() {
            return Some(self.tick_instant(self.next_tick.saturating_sub(1)));
        }
        let from = self.slot_of(self.next_tick);
        let distance = self.next_occupied_distance(from)?;
        Some(self.tick_instant(self.next_tick.saturating_add(distance)))
    }

    /// Armed timers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Most timers that can be armed at once, fixed at construction.
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    fn overdue_list(&self) -> usize {
        self.lists.len() - 1
    }

    fn slot_of(&self, tick: u64) -> usize {
        // Masked by `slots - 1`, which itself came from a usize: fits.
        (tick & self.mask) as usize
    }

    fn tick_nanos(&self) -> u128 {
        self.tick.as_nanos()
    }

    /// The first tick whose start is at or after `deadline` (saturating).
    fn tick_ceil(&self, deadline: Instant) -> u64 {
        let nanos = deadline.saturating_duration_since(self.start).as_nanos();
        let ticks = nanos.div_ceil(self.tick_nanos());
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }

    /// The tick containing `now` (saturating; 0 before `start`).
    fn tick_floor(&self, now: Instant) -> u64 {
        let nanos = now.saturating_duration_since(self.start).as_nanos();
        u64::try_from(nanos / self.tick_nanos()).unwrap_or(u64::MAX)
    }

    /// The start of tick `tick`. Only asked for ticks near the last `expire`, so the sum is
    /// representable; if it ever were not, `start` (early, never late) is the safe answer.
    fn tick_instant(&self, tick: u64) -> Instant {
        let nanos = self.tick_nanos().saturating_mul(u128::from(tick));
        let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
        // The remainder is < 10^9, so it fits.
        let sub = (nanos % 1_000_000_000) as u32;
        self.start
            .checked_add(Duration::new(secs, sub))
            .unwrap_or(self.start)
    }

    /// Distance in slots from `from` to the first occupied slot at or after it, wrapping.
    fn next_occupied_distance(&self, from: usize) -> Option<u64> {
        let slots = self.lists.len() - 1;
        let words = self.occupied.len();
        let first_word = from / 64;
        for step in 0..=words {
            let w = (first_word + step) % words;
            let mut bits = self.occupied[w];
            if step == 0 {
                // Only slots at or after `from` in the first word...
                bits &= u64::MAX << (from % 64);
            } else if step == words {
                // ...and, after wrapping all the way round, the ones before it.
                bits = self.occupied[first_word] & !(u64::MAX << (from % 64));
            }
            if bits != 0 {
                let slot = w * 64 + bits.trailing_zeros() as usize;
                debug_assert!(slot < slots, "occupied bit {slot} beyond {slots} slots");
                return Some(((slot + slots - from) % slots) as u64);
            }
        }
        None
    }

    fn set_occupied(&mut self, slot: usize, on: bool) {
        let bit = 1u64 << (slot % 64);
        let word = &mut self.occupied[slot / 64];
        if on {
            *word |= bit;
        } else {
            *word &= !bit;
        }
    }

    fn push_front(&mut self, list: usize, handle: Handle) {
        let old_head = self.lists[list];
        if let Some(entry) = self.entries.get_mut(handle) {
            entry.list = list;
            entry.prev = None;
            entry.next = old_head;
        }
        if let Some(old) = old_head.and_then(|h| self.entries.get_mut(h)) {
            old.prev = Some(handle);
        }
        self.lists[list] = Some(handle);
        if list != self.overdue_list() {
            self.set_occupied(list, true);
        }
    }

    fn unlink(&mut self, handle: Handle) {
        let Some(entry) = self.entries.get(handle) else {
            return;
        };
        let (list, prev, next) = (entry.list, entry.prev, entry.next);
        match prev.and_then(|p| self.entries.get_mut(p)) {
            Some(p) => p.next = next,
            None => self.lists[list] = next,
        }
        if let Some(n) = next.and_then(|n| self.entries.get_mut(n)) {
            n.prev = prev;
        }
        if self.lists[list].is_none() && list != self.overdue_list() {
            self.set_occupied(list, false);
        }
    }

    /// Fires every entry of `list` whose tick is <= `up_to` and puts the others back.
    ///
    /// The list is detached first and rebuilt from what is not due, so the walk only ever sees
    /// the entries that were there when it began (the tokio wheel's rule: empty a slot before
    /// processing it, or re-inserted entries can loop forever).
    fn drain_list(&mut self, list: usize, up_to: u64, fired: &mut Vec<K>) {
        let mut cursor = self.lists[list].take();
        if list != self.overdue_list() {
            self.set_occupied(list, false);
        }
        while let Some(handle) = cursor {
            let Some(entry) = self.entries.get(handle) else {
                debug_assert!(false, "timer list links a freed entry");
                return;
            };
            cursor = entry.next;
            if entry.tick <= up_to {
                if let Some(entry) = self.entries.remove(handle) {
                    fired.push(entry.key);
                }
            } else {
                self.push_front(list, handle);
            }
        }
    }
}

#[cfg(test)]
mod tests;
