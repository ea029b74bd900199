//! A fixed-capacity arena with generation-checked handles.
//!
//! Owns: a slab of `capacity` slots, all reserved by [`Arena::with_capacity`] at start (each
//! written only when first used, so untouched slots cost address space, not resident memory),
//! and an O(1) free list threaded through the released slots. It never reallocates or shrinks
//! after construction, so a configured cap is a hard bound and a full arena is an answer
//! ([`Full`]) rather than an allocation failure.
//!
//! Every slot carries a generation that is bumped when its value is removed. A [`Handle`] names
//! both the slot and the generation it was issued for, so a handle kept after its value was
//! removed (a *stale* handle) never reaches a value later stored in the same slot: lookups with
//! it return `None` and removals with it change nothing.
//!
//! Never does: panic on a handle (stale, foreign or out of range handles are simply not found),
//! read the clock, or do I/O.

use std::fmt;

/// Names one value in an [`Arena`]: its slot index and the slot's generation when it was
/// inserted.
///
/// The index is what the event loop uses as a mio `Token`; [`Arena::handle_at`] maps it back.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Handle {
    index: u32,
    generation: u32,
}

impl Handle {
    /// The slot index, in `0..capacity`.
    pub fn index(self) -> usize {
        // u32 always fits in usize on the targets we build for (64- and 32-bit Linux).
        self.index as usize
    }

    /// Packs the handle into 64 bits (generation high, index low), e.g. for a timer key.
    pub fn to_bits(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    /// The handle [`Handle::to_bits`] packed. A made-up value is harmless: it names a slot
    /// the arena will not confirm unless index and generation both match.
    pub fn from_bits(bits: u64) -> Handle {
        Handle {
            index: (bits & u64::from(u32::MAX)) as u32,
            generation: (bits >> 32) as u32,
        }
    }
}

/// The arena has no vacant slot. Nothing was inserted; the caller answers its client with a
/// capacity error (503, `server_full`, …) and carries on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("capacity reached")
    }
}

impl std::error::Error for Full {}

#[derive(Debug)]
enum Entry<T> {
    Occupied(T),
    /// A vacant slot and the next vacant slot in the free list.
    Vacant {
        next_free: Option<u32>,
    },
}

#[derive(Debug)]
struct Slot<T> {
    /// Bumped (wrapping) on every removal. A handle would only alias a new value after 2^32
    /// insert/remove cycles of the same slot while the old handle was kept; accepted.
    generation: u32,
    entry: Entry<T>,
}

/// Fixed-capacity storage addressed by generation-checked [`Handle`]s.
///
/// The memory for every slot is reserved at construction and the vector never reallocates,
/// but a slot is only written (so its pages only become resident) the first time it is used:
/// memory use follows what the server holds, not what it is configured to hold.
#[derive(Debug)]
pub struct Arena<T> {
    slots: Vec<Slot<T>>,
    /// Slots at most; `slots` grows up to this within its reserved capacity.
    cap: usize,
    /// Head of the free list (a LIFO stack of vacant slot indices).
    free_head: Option<u32>,
    len: usize,
}

impl<T> Arena<T> {
    /// Reserves all `capacity` slots now; the arena never allocates again.
    ///
    /// # Panics
    ///
    /// If `capacity` exceeds `u32::MAX` (handles store 32-bit indices). Capacities come from
    /// validated configuration at start, never from the network.
    pub fn with_capacity(capacity: usize) -> Self {
        if u32::try_from(capacity).is_err() {
            panic!("arena capacity {capacity} exceeds u32::MAX");
        }
        Arena {
            slots: Vec::with_capacity(capacity),
            cap: capacity,
            free_head: None,
            len: 0,
        }
    }

    /// Stores `value` in a vacant slot, or returns [`Full`] (and drops nothing but `value`).
    pub fn try_insert(&mut self, value: T) -> Result<Handle, Full> {
        self.try_insert_with(|_| value)
    }

    /// Like [`Arena::try_insert`], for values that must know their own handle. `f` is only
    /// called when a slot is available.
    pub fn try_insert_with(&mut self, f: impl FnOnce(Handle) -> T) -> Result<Handle, Full> {
        let Some(index) = self.free_head else {
            return self.push_new_slot(f);
        };
        let slot = self.slots.get_mut(index as usize).ok_or(Full)?;
        let Entry::Vacant { next_free } = slot.entry else {
            debug_assert!(false, "free list points at occupied slot {index}");
            return Err(Full);
        };
        let handle = Handle {
            index,
            generation: slot.generation,
        };
        slot.entry = Entry::Occupied(f(handle));
        self.free_head = next_free;
        self.len += 1;
        Ok(handle)
    }

    /// Uses a never-used slot, within the reserved capacity (so without reallocating).
    fn push_new_slot(&mut self, f: impl FnOnce(Handle) -> T) -> Result<Handle, Full> {
        if self.slots.len() >= self.cap {
            return Err(Full);
        }
        let index = u32::try_from(self.slots.len()).map_err(|_| Full)?;
        let handle = Handle {
            index,
            generation: 0,
        };
        debug_assert!(
            self.slots.len() < self.slots.capacity(),
            "arena would reallocate"
        );
        self.slots.push(Slot {
            generation: 0,
            entry: Entry::Occupied(f(handle)),
        });
        self.len += 1;
        Ok(handle)
    }

    fn slot(&self, handle: Handle) -> Option<&Slot<T>> {
        self.slots
            .get(handle.index())
            .filter(|slot| slot.generation == handle.generation)
    }

    pub fn get(&self, handle: Handle) -> Option<&T> {
        match &self.slot(handle)?.entry {
            Entry::Occupied(value) => Some(value),
            Entry::Vacant { .. } => None,
        }
    }

    pub fn get_mut(&mut self, handle: Handle) -> Option<&mut T> {
        let slot = self
            .slots
            .get_mut(handle.index())
            .filter(|slot| slot.generation == handle.generation)?;
        match &mut slot.entry {
            Entry::Occupied(value) => Some(value),
            Entry::Vacant { .. } => None,
        }
    }

    pub fn contains(&self, handle: Handle) -> bool {
        self.get(handle).is_some()
    }

    /// Takes the value out and frees its slot. The slot's generation is bumped, so `handle` and
    /// every copy of it are stale from now on. A stale handle returns `None` and changes nothing.
    pub fn remove(&mut self, handle: Handle) -> Option<T> {
        let slot = self
            .slots
            .get_mut(handle.index())
            .filter(|slot| slot.generation == handle.generation)?;
        if !matches!(slot.entry, Entry::Occupied(_)) {
            return None;
        }
        let vacant = Entry::Vacant {
            next_free: self.free_head,
        };
        let Entry::Occupied(value) = std::mem::replace(&mut slot.entry, vacant) else {
            return None;
        };
        slot.generation = slot.generation.wrapping_add(1);
        self.free_head = Some(handle.index);
        self.len -= 1;
        Some(value)
    }

    /// The handle of the value living in slot `index` now, if any. Maps a mio `Token` (a slot
    /// index) back to a handle; readiness for a slot that was freed meanwhile finds `None`.
    pub fn handle_at(&self, index: usize) -> Option<Handle> {
        let slot = self.slots.get(index)?;
        match slot.entry {
            Entry::Occupied(_) => Some(Handle {
                index: u32::try_from(index).ok()?,
                generation: slot.generation,
            }),
            Entry::Vacant { .. } => None,
        }
    }

    /// Number of values stored.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of slots, fixed at construction.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    pub fn is_full(&self) -> bool {
        self.free_head.is_none() && self.slots.len() >= self.cap
    }

    /// Every stored value with its handle, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Handle, &T)> + '_ {
        self.slots.iter().zip(0u32..).filter_map(|(slot, index)| {
            let Entry::Occupied(value) = &slot.entry else {
                return None;
            };
            let handle = Handle {
                index,
                generation: slot.generation,
            };
            Some((handle, value))
        })
    }

    /// Every stored value, mutably, with its handle, in slot order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Handle, &mut T)> + '_ {
        self.slots
            .iter_mut()
            .zip(0u32..)
            .filter_map(|(slot, index)| {
                let generation = slot.generation;
                let Entry::Occupied(value) = &mut slot.entry else {
                    return None;
                };
                Some((Handle { index, generation }, value))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[test]
    fn insert_get_remove() {
        let mut arena = Arena::with_capacity(4);
        let a = arena.try_insert("a").unwrap();
        let b = arena.try_insert("b").unwrap();
        assert_eq!(arena.get(a), Some(&"a"));
        assert_eq!(arena.get(b), Some(&"b"));
        assert_eq!(arena.len(), 2);
        *arena.get_mut(a).unwrap() = "A";
        assert_eq!(arena.remove(a), Some("A"));
        assert_eq!(arena.len(), 1);
        assert!(!arena.contains(a));
        assert!(arena.contains(b));
    }

    #[test]
    fn reused_slot_rejects_stale_handle() {
        let mut arena = Arena::with_capacity(1);
        let old = arena.try_insert(1).unwrap();
        assert_eq!(arena.remove(old), Some(1));
        let new = arena.try_insert(2).unwrap();
        assert_eq!(old.index(), new.index(), "the single slot is reused");
        assert_ne!(old, new);
        assert_eq!(arena.get(old), None);
        assert_eq!(arena.get_mut(old), None);
        assert_eq!(arena.remove(old), None, "stale remove changes nothing");
        assert_eq!(arena.get(new), Some(&2));
        assert_eq!(arena.len(), 1);
    }

    #[test]
    fn double_remove_is_harmless() {
        let mut arena = Arena::with_capacity(2);
        let a = arena.try_insert('a').unwrap();
        assert_eq!(arena.remove(a), Some('a'));
        assert_eq!(arena.remove(a), None);
        assert_eq!(arena.len(), 0);
        // The free list was not corrupted: both slots are usable exactly once each.
        arena.try_insert('b').unwrap();
        arena.try_insert('c').unwrap();
        assert_eq!(arena.try_insert('d'), Err(Full));
    }

    #[test]
    fn full_then_free_one() {
        let mut arena = Arena::with_capacity(3);
        let handles: Vec<_> = (0..3).map(|i| arena.try_insert(i).unwrap()).collect();
        assert!(arena.is_full());
        assert_eq!(arena.try_insert(9), Err(Full));
        let mut called = false;
        assert_eq!(
            arena.try_insert_with(|_| {
                called = true;
                9
            }),
            Err(Full)
        );
        assert!(!called, "the constructor is not run when full");
        arena.remove(handles[1]);
        assert!(!arena.is_full());
        let h = arena.try_insert(7).unwrap();
        assert_eq!(h.index(), handles[1].index());
        assert_eq!(arena.capacity(), 3);
    }

    #[test]
    fn capacity_zero() {
        let mut arena: Arena<u8> = Arena::with_capacity(0);
        assert!(arena.is_full());
        assert!(arena.is_empty());
        assert_eq!(arena.try_insert(1), Err(Full));
        assert_eq!(arena.handle_at(0), None);
        assert_eq!(arena.iter().count(), 0);
    }

    #[test]
    fn never_grows() {
        let mut arena = Arena::with_capacity(8);
        let reserved = arena.slots.capacity();
        for round in 0..100 {
            let hs: Vec<_> = (0..8)
                .map(|i| arena.try_insert(round * 8 + i).unwrap())
                .collect();
            assert_eq!(arena.try_insert(0), Err(Full));
            for h in hs {
                arena.remove(h);
            }
        }
        assert_eq!(arena.slots.capacity(), reserved);
    }

    #[test]
    fn insert_with_sees_own_handle() {
        let mut arena = Arena::with_capacity(2);
        let h = arena.try_insert_with(|h| h).unwrap();
        assert_eq!(arena.get(h), Some(&h));
    }

    #[test]
    fn handle_at_maps_index_back() {
        let mut arena = Arena::with_capacity(3);
        let a = arena.try_insert(10).unwrap();
        let b = arena.try_insert(20).unwrap();
        assert_eq!(arena.handle_at(a.index()), Some(a));
        assert_eq!(arena.handle_at(b.index()), Some(b));
        assert_eq!(arena.handle_at(2), None, "vacant");
        assert_eq!(arena.handle_at(3), None, "out of range");
        assert_eq!(arena.handle_at(usize::MAX), None);
        arena.remove(a);
        assert_eq!(arena.handle_at(a.index()), None);
        let c = arena.try_insert(30).unwrap();
        assert_eq!(arena.handle_at(a.index()), Some(c));
    }

    #[test]
    fn iteration_after_removals() {
        let mut arena = Arena::with_capacity(6);
        let hs: Vec<_> = (0..6).map(|i| arena.try_insert(i).unwrap()).collect();
        arena.remove(hs[0]);
        arena.remove(hs[3]);
        arena.remove(hs[5]);
        let seen: Vec<_> = arena.iter().map(|(h, v)| (h, *v)).collect();
        assert_eq!(seen, vec![(hs[1], 1), (hs[2], 2), (hs[4], 4)]);
        for (_, v) in arena.iter_mut() {
            *v *= 10;
        }
        let seen: Vec<_> = arena.iter().map(|(h, v)| (h, *v)).collect();
        assert_eq!(seen, vec![(hs[1], 10), (hs[2], 20), (hs[4], 40)]);
        let h = arena.try_insert(99).unwrap();
        assert!(arena.iter().any(|(ih, v)| ih == h && *v == 99));
        assert_eq!(arena.iter_mut().count(), 4);
    }

    #[test]
    fn foreign_handle_out_of_range() {
        let mut big = Arena::with_capacity(10);
        let mut hs = Vec::new();
        for i in 0..10 {
            hs.push(big.try_insert(i).unwrap());
        }
        let mut small: Arena<i32> = Arena::with_capacity(2);
        let far = hs[9];
        assert_eq!(small.get(far), None);
        assert_eq!(small.get_mut(far), None);
        assert_eq!(small.remove(far), None);
        assert!(!small.contains(far));
    }

    #[test]
    fn full_displays() {
        assert_eq!(Full.to_string(), "capacity reached");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16),
        /// Remove the handle at this position of every handle ever issued (maybe stale).
        Remove(usize),
        Get(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            any::<u16>().prop_map(Op::Insert),
            any::<usize>().prop_map(Op::Remove),
            any::<usize>().prop_map(Op::Get),
        ]
    }

    proptest! {
        // Failures are reported with their minimal input; no regression files in the tree.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn behaves_like_a_bounded_map(cap in 0usize..8, ops in proptest::collection::vec(op(), 0..200)) {
            let mut arena = Arena::with_capacity(cap);
            let mut model: HashMap<Handle, u16> = HashMap::new();
            let mut issued: Vec<Handle> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(v) => match arena.try_insert(v) {
                        Ok(h) => {
                            prop_assert!(model.len() < cap);
                            prop_assert!(!issued.contains(&h), "handle {h:?} issued twice");
                            prop_assert!(h.index() < cap);
                            model.insert(h, v);
                            issued.push(h);
                        }
                        Err(Full) => prop_assert_eq!(model.len(), cap),
                    },
                    Op::Remove(i) if !issued.is_empty() => {
                        let h = issued[i % issued.len()];
                        prop_assert_eq!(arena.remove(h), model.remove(&h));
                    }
                    Op::Get(i) if !issued.is_empty() => {
                        let h = issued[i % issued.len()];
                        prop_assert_eq!(arena.get(h), model.get(&h));
                        prop_assert_eq!(arena.contains(h), model.contains_key(&h));
                    }
                    Op::Remove(_) | Op::Get(_) => {}
                }
                prop_assert_eq!(arena.len(), model.len());
                prop_assert_eq!(arena.is_full(), model.len() == cap);
                let mut listed: Vec<_> = arena.iter().map(|(h, v)| (h, *v)).collect();
                let mut expected: Vec<_> = model.iter().map(|(h, v)| (*h, *v)).collect();
                listed.sort_by_key(|(h, _)| h.index());
                expected.sort_by_key(|(h, _)| h.index());
                prop_assert_eq!(listed, expected);
                for h in model.keys() {
                    prop_assert_eq!(arena.handle_at(h.index()), Some(*h));
                }
            }
        }
    }
}
