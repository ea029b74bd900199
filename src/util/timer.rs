//! The one timer wheel the event loop advances: every deadline (head-read timeout, heartbeats,
//! long-poll hold, upgrade timeout, session expiry, rate-limit windows) is an entry here.
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
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TICK: Duration = Duration::from_millis(10);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn wheel(slots: usize, capacity: usize) -> (Instant, TimerWheel<u32>) {
        let start = Instant::now();
        (start, TimerWheel::new(start, TICK, slots, capacity))
    }

    fn expire(w: &mut TimerWheel<u32>, now: Instant) -> Vec<u32> {
        let mut fired = Vec::new();
        w.expire(now, &mut fired);
        fired.sort_unstable();
        fired
    }

    #[test]
    fn fires_at_deadline_never_before() {
        let (t0, mut w) = wheel(8, 4);
        w.insert(t0 + ms(30), 1).unwrap();
        assert_eq!(w.next_deadline(), Some(t0 + ms(30)));
        assert!(expire(&mut w, t0 + ms(29)).is_empty());
        assert_eq!(expire(&mut w, t0 + ms(30)), vec![1]);
        assert!(w.is_empty());
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn deadline_rounds_up_to_tick() {
        let (t0, mut w) = wheel(8, 4);
        w.insert(t0 + ms(31), 1).unwrap();
        assert_eq!(w.next_deadline(), Some(t0 + ms(40)));
        assert!(
            expire(&mut w, t0 + ms(31)).is_empty(),
            "still inside tick 3"
        );
        assert!(expire(&mut w, t0 + ms(39)).is_empty());
        assert_eq!(expire(&mut w, t0 + ms(40)), vec![1]);
    }

    #[test]
    fn fires_when_checked_late() {
        let (t0, mut w) = wheel(8, 4);
        w.insert(t0 + ms(20), 1).unwrap();
        w.insert(t0 + ms(50), 2).unwrap();
        assert_eq!(expire(&mut w, t0 + ms(65)), vec![1, 2]);
    }

    #[test]
    fn cancel_and_stale_ids() {
        let (t0, mut w) = wheel(8, 2);
        let a = w.insert(t0 + ms(20), 1).unwrap();
        let b = w.insert(t0 + ms(20), 2).unwrap();
        assert_eq!(w.cancel(a), Some(1));
        assert_eq!(w.cancel(a), None, "second cancel is a no-op");
        assert_eq!(w.len(), 1);
        assert_eq!(expire(&mut w, t0 + ms(20)), vec![2]);
        assert_eq!(w.cancel(b), None, "cancelling a fired timer is a no-op");
        // The freed entry slot is reused; the old ids must not reach the new timer.
        let c = w.insert(t0 + ms(40), 3).unwrap();
        assert_eq!(w.cancel(a), None);
        assert_eq!(w.cancel(b), None);
        assert_eq!(w.len(), 1);
        assert_eq!(expire(&mut w, t0 + ms(40)), vec![3]);
        assert_eq!(w.cancel(c), None);
    }

    #[test]
    fn past_and_current_tick_fire_on_next_expire() {
        let (t0, mut w) = wheel(8, 4);
        assert!(expire(&mut w, t0 + ms(105)).is_empty());
        // Deadline long gone, and one inside the tick just processed (tick 10 = 100..110 ms):
        // both fire on the next call even though time has not moved.
        w.insert(t0, 1).unwrap();
        w.insert(t0 + ms(100), 2).unwrap();
        // One later in this same tick is not due yet: it rounds up to 110 ms.
        w.insert(t0 + ms(107), 3).unwrap();
        assert!(w.next_deadline().unwrap() <= t0 + ms(105));
        assert_eq!(expire(&mut w, t0 + ms(105)), vec![1, 2]);
        assert_eq!(w.next_deadline(), Some(t0 + ms(110)));
        assert_eq!(expire(&mut w, t0 + ms(110)), vec![3]);
    }

    #[test]
    fn deadline_at_start_fires_immediately() {
        let (t0, mut w) = wheel(8, 4);
        w.insert(t0, 1).unwrap();
        assert_eq!(w.next_deadline(), Some(t0));
        assert_eq!(expire(&mut w, t0), vec![1]);
    }

    #[test]
    fn long_deadlines_span_many_rounds() {
        // 8 slots of 10 ms: a turn is 80 ms. 1 s is 12.5 turns away.
        let (t0, mut w) = wheel(8, 4);
        w.insert(t0 + ms(1000), 1).unwrap();
        w.insert(t0 + ms(1000 - 80), 2).unwrap(); // same slot, one round earlier
        let mut now = t0;
        let mut fired_at = Vec::new();
        while now < t0 + ms(1200) {
            for k in expire(&mut w, now) {
                fired_at.push((k, now - t0));
            }
            now += ms(5);
        }
        assert_eq!(fired_at, vec![(2, ms(920)), (1, ms(1000))]);
    }

    #[test]
    fn jump_over_many_turns_walks_one_turn() {
        let (t0, mut w) = wheel(8, 8);
        for k in 0..8u32 {
            w.insert(t0 + ms(u64::from(k) * 1000), k).unwrap();
        }
        assert_eq!(expire(&mut w, t0 + ms(3500)), vec![0, 1, 2, 3]);
        assert_eq!(expire(&mut w, t0 + ms(1_000_000)), vec![4, 5, 6, 7]);
        assert!(w.is_empty());
    }

    #[test]
    fn many_timers_in_one_slot() {
        let (t0, mut w) = wheel(4, 100);
        let mut ids = Vec::new();
        for k in 0..100u32 {
            // Ticks 1, 5, 9, ...: all in slot 1, in 25 different rounds (4 timers each).
            let tick = 1 + 4 * u64::from(k / 4);
            ids.push(w.insert(t0 + TICK * tick as u32, k).unwrap());
        }
        assert!(w.insert(t0, 999).is_err(), "full");
        // Cancel every other one, from the middle of the lists.
        for id in ids.iter().skip(1).step_by(2) {
            assert!(w.cancel(*id).is_some());
        }
        let mut all = Vec::new();
        let mut now = t0;
        for _ in 0..200 {
            let fired = expire(&mut w, now);
            for k in &fired {
                let tick = 1 + 4 * u64::from(k / 4);
                assert!(now >= t0 + TICK * tick as u32, "{k} fired early");
            }
            all.extend(fired);
            now += TICK;
        }
        all.sort_unstable();
        assert_eq!(all, (0..100).step_by(2).collect::<Vec<_>>());
    }

    #[test]
    fn full_is_an_error() {
        let (t0, mut w) = wheel(8, 1);
        w.insert(t0 + ms(10), 1).unwrap();
        assert_eq!(w.insert(t0 + ms(10), 2), Err(Full));
        assert_eq!(w.len(), 1);
        assert_eq!(w.capacity(), 1);
    }

    #[test]
    fn reinsert_from_fired_does_not_loop() {
        let (t0, mut w) = wheel(8, 4);
        w.insert(t0 + ms(10), 1).unwrap();
        let mut fired = Vec::new();
        w.expire(t0 + ms(10), &mut fired);
        assert_eq!(fired, vec![1]);
        // The caller re-arms with a deadline in the tick just processed: next expire.
        w.insert(t0 + ms(10), 1).unwrap();
        fired.clear();
        w.expire(t0 + ms(10), &mut fired);
        assert_eq!(fired, vec![1]);
        fired.clear();
        w.expire(t0 + ms(10), &mut fired);
        assert!(fired.is_empty());
    }

    #[test]
    fn next_deadline_finds_slot_across_words() {
        // 256 slots: the bitset spans four words; wrap around past the last one.
        let (t0, mut w) = wheel(256, 4);
        assert!(expire(&mut w, t0 + TICK * 200).is_empty());
        w.insert(t0 + TICK * 300, 1).unwrap(); // slot 44, after wrapping
        assert_eq!(w.next_deadline(), Some(t0 + TICK * 300));
        w.insert(t0 + TICK * 250, 2).unwrap(); // slot 250
        assert_eq!(w.next_deadline(), Some(t0 + TICK * 250));
        // One turn and a bit ahead in slot 210: the wheel may wake early at 210, never late.
        let far = w.insert(t0 + TICK * (210 + 256), 3).unwrap();
        assert_eq!(w.next_deadline(), Some(t0 + TICK * 210));
        w.cancel(far);
        assert_eq!(w.next_deadline(), Some(t0 + TICK * 250));
    }

    #[test]
    fn one_slot_wheel() {
        let (t0, mut w) = wheel(1, 4);
        w.insert(t0 + ms(35), 1).unwrap();
        w.insert(t0 + ms(15), 2).unwrap();
        assert_eq!(w.next_deadline(), Some(t0), "early is allowed");
        assert_eq!(expire(&mut w, t0 + ms(20)), vec![2]);
        assert_eq!(expire(&mut w, t0 + ms(40)), vec![1]);
    }

    #[test]
    #[should_panic(expected = "power of two")]
    fn slots_must_be_power_of_two() {
        let _ = TimerWheel::<u32>::new(Instant::now(), TICK, 12, 1);
    }

    #[test]
    fn time_before_start_is_tick_zero() {
        let t0 = Instant::now() + ms(1000);
        let mut w = TimerWheel::new(t0, TICK, 8, 2);
        w.insert(t0 - ms(500), 1u32).unwrap();
        let mut fired = Vec::new();
        w.expire(t0 - ms(900), &mut fired);
        assert_eq!(
            fired,
            vec![1],
            "a deadline at or before start is due at tick 0"
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// Arm a timer this many ms after the current virtual time (negative: in the past).
        Insert(i64),
        /// Cancel the n-th id ever issued (maybe fired or cancelled already).
        Cancel(usize),
        /// Advance virtual time by this many ms and expire.
        Advance(u64),
        /// Expire without moving time.
        Expire,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (-50i64..3000).prop_map(Op::Insert),
            2 => any::<usize>().prop_map(Op::Cancel),
            3 => prop_oneof![0u64..30, 0u64..2000].prop_map(Op::Advance),
            1 => Just(Op::Expire),
        ]
    }

    proptest! {
        // Failures are reported with their minimal input; no regression files in the tree.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn matches_a_sorted_vec_model(
            slots_log in 0u32..6,
            ops in proptest::collection::vec(op(), 0..150),
        ) {
            let t0 = Instant::now() + ms(100);
            let capacity = 32;
            let mut w = TimerWheel::new(t0, TICK, 1 << slots_log, capacity);
            // (deadline, key) of armed timers, kept sorted by deadline.
            let mut model: Vec<(Instant, u32)> = Vec::new();
            let mut ids: Vec<(TimerId, u32)> = Vec::new();
            let mut now = t0;
            // Whatever is due by the last expire's `now` (rounded deadline <= it) fired then.
            let mut next_key = 0u32;
            for op in ops {
                match op {
                    Op::Insert(offset) => {
                        let deadline = if offset < 0 {
                            now - ms(offset.unsigned_abs())
                        } else {
                            now + ms(offset.unsigned_abs())
                        };
                        let key = next_key;
                        next_key += 1;
                        match w.insert(deadline, key) {
                            Ok(id) => {
                                prop_assert!(model.len() < capacity);
                                let at = model.partition_point(|(d, _)| *d <= deadline);
                                model.insert(at, (deadline, key));
                                ids.push((id, key));
                            }
                            Err(Full) => prop_assert_eq!(model.len(), capacity),
                        }
                    }
                    Op::Cancel(i) if !ids.is_empty() => {
                        let (id, key) = ids[i % ids.len()];
                        let armed = model.iter().position(|(_, k)| *k == key);
                        let got = w.cancel(id);
                        match armed {
                            Some(at) => {
                                prop_assert_eq!(got, Some(key));
                                model.remove(at);
                            }
                            None => prop_assert_eq!(got, None),
                        }
                    }
                    Op::Cancel(_) => {}
                    Op::Advance(_) | Op::Expire => {
                        if let Op::Advance(by) = op {
                            now += ms(by);
                        }
                        let mut fired = Vec::new();
                        w.expire(now, &mut fired);
                        fired.sort_unstable();
                        // Due: the deadline rounded up to the tick is <= now.
                        let due_by = |d: Instant| {
                            let ticks = d.saturating_duration_since(t0).as_nanos()
                                .div_ceil(TICK.as_nanos());
                            t0 + TICK * ticks as u32 <= now
                        };
                        let mut expected: Vec<u32> = model.iter()
                            .filter(|(d, _)| due_by(*d)).map(|(_, k)| *k).collect();
                        expected.sort_unstable();
                        for key in &fired {
                            let deadline = model.iter().find(|(_, k)| k == key).map(|(d, _)| *d);
                            prop_assert!(deadline.is_some_and(|d| d <= now), "{} fired early", key);
                        }
                        prop_assert_eq!(&fired, &expected);
                        model.retain(|(_, k)| !fired.contains(k));
                    }
                }
                prop_assert_eq!(w.len(), model.len());
                match (w.next_deadline(), model.first()) {
                    (None, None) => {}
                    (Some(wake), Some((earliest, _))) => {
                        // Never late: by the time the earliest timer can fire, the loop woke
                        // (an instant at or before `now` means "at once").
                        let ticks = earliest.saturating_duration_since(t0).as_nanos()
                            .div_ceil(TICK.as_nanos());
                        prop_assert!(wake <= (t0 + TICK * ticks as u32).max(now));
                    }
                    (wake, first) => prop_assert!(false, "next_deadline {:?} vs model {:?}", wake, first),
                }
            }
        }
    }
}
