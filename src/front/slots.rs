//! What connections may hold at once, counted with no I/O: connections per client address,
//! and the slots of the tiny_http worker bridge with the queue of those waiting for one.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::util::address::limit_key;
use crate::util::arena::Handle;

/// Open connections per client address key ([`limit_key`]: IPv6 per /64).
pub(super) struct AddressCounts {
    max: u32,
    open: HashMap<IpAddr, u32>,
}

impl AddressCounts {
    pub(super) fn new(max: u32) -> AddressCounts {
        AddressCounts {
            max,
            open: HashMap::new(),
        }
    }

    /// Whether one more connection from `address` is allowed.
    pub(super) fn has_room(&self, address: IpAddr) -> bool {
        self.open.get(&limit_key(address)).copied().unwrap_or(0) < self.max
    }

    /// Counts a connection under `address`; returns the key to give back with [`Self::remove`].
    pub(super) fn add(&mut self, address: IpAddr) -> IpAddr {
        let key = limit_key(address);
        *self.open.entry(key).or_insert(0) += 1;
        key
    }

    pub(super) fn remove(&mut self, key: IpAddr) {
        if let Some(n) = self.open.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.open.remove(&key);
            }
        }
    }

    #[cfg(test)]
    fn count(&self, address: IpAddr) -> u32 {
        self.open.get(&limit_key(address)).copied().unwrap_or(0)
    }
}

/// Requests in flight to the tiny_http workers, at most `max`; the others wait their turn,
/// first come first served.
pub(super) struct BridgeSlots {
    max: usize,
    in_use: usize,
    waiting: VecDeque<Handle>,
}

impl BridgeSlots {
    pub(super) fn new(max: usize) -> BridgeSlots {
        BridgeSlots {
            max,
            in_use: 0,
            waiting: VecDeque::new(),
        }
    }

    /// Takes a slot for `conn` if one is free (and nobody waits before it); otherwise puts it
    /// in the queue. Returns whether it got one.
    pub(super) fn take_or_wait(&mut self, conn: Handle) -> bool {
        if self.in_use < self.max && self.waiting.is_empty() {
            self.in_use += 1;
            true
        } else {
            self.waiting.push_back(conn);
            false
        }
    }

    /// Gives a slot back.
    pub(super) fn give_back(&mut self) {
        self.in_use = self.in_use.saturating_sub(1);
    }

    /// The connection that waited no longer waits (it closed).
    pub(super) fn leave_queue(&mut self, conn: Handle) {
        self.waiting.retain(|c| *c != conn);
    }

    /// The next waiting connection, holding a slot now, while one is free.
    pub(super) fn next_waiting(&mut self) -> Option<Handle> {
        if self.in_use >= self.max {
            return None;
        }
        let next = self.waiting.pop_front()?;
        self.in_use += 1;
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn connections_per_address_are_counted_per_key_and_given_back() {
        let mut counts = AddressCounts::new(2);
        let a = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20));
        let keys = [counts.add(a), counts.add(a)];
        assert!(!counts.has_room(a), "two is the cap");
        assert!(counts.has_room(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 21))));
        // IPv6 addresses of one /64 are one client.
        let v6 = |last| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, last));
        counts.add(v6(1));
        counts.add(v6(2));
        assert!(!counts.has_room(v6(3)));
        counts.remove(keys[0]);
        assert!(counts.has_room(a));
        counts.remove(keys[1]);
        assert_eq!(counts.count(a), 0);
        assert!(
            counts.open.len() == 1,
            "an address with none open is forgotten"
        );
        counts.remove(keys[1]);
        assert_eq!(
            counts.count(a),
            0,
            "giving back twice takes nothing from others"
        );
    }

    #[test]
    fn bridge_slots_go_to_waiting_connections_in_order() {
        let conn = |n| Handle::from_bits(n);
        let mut slots = BridgeSlots::new(2);
        assert!(slots.take_or_wait(conn(1)));
        assert!(slots.take_or_wait(conn(2)));
        assert!(!slots.take_or_wait(conn(3)), "full: it waits");
        assert!(!slots.take_or_wait(conn(4)));
        assert_eq!(slots.next_waiting(), None, "nothing freed yet");
        slots.give_back();
        // A connection that closed while waiting leaves the queue.
        slots.leave_queue(conn(3));
        assert_eq!(slots.next_waiting(), Some(conn(4)));
        assert_eq!(slots.next_waiting(), None);
        assert!(!slots.take_or_wait(conn(5)));
        slots.give_back();
        // A newcomer does not overtake one that waits.
        assert!(!slots.take_or_wait(conn(6)));
        assert_eq!(slots.next_waiting(), Some(conn(5)));
        assert_eq!(slots.next_waiting(), None);
    }
}
