//! Sessions created per client address (IPv6 per /64) per window: one connection may not
//! fill the session arena with names it abandons. Windows reset lazily, so no deadline is
//! needed; the table is bounded, and past its size new addresses are not counted (the arena's
//! eviction of the room empty longest still lets new sessions in).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::util::address::limit_key;

/// Addresses counted at once.
const CAPACITY: usize = 4096;

pub struct Creations {
    limit: u32,
    window: Duration,
    /// Per address key: sessions created in the window, and when the window ends.
    by_address: HashMap<IpAddr, (u32, Instant)>,
}

impl Creations {
    pub fn new(limit: u32, window: Duration) -> Creations {
        Creations {
            limit,
            window,
            by_address: HashMap::new(),
        }
    }

    /// How long this address must wait before it may create another session, if it must.
    pub fn blocked(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        let &(count, ends) = self.by_address.get(&limit_key(address))?;
        (ends > now && count >= self.limit).then(|| ends - now)
    }

    /// The address created a session.
    pub fn record(&mut self, address: IpAddr, now: Instant) {
        let key = limit_key(address);
        if !self.by_address.contains_key(&key) && self.by_address.len() >= CAPACITY {
            self.by_address.retain(|_, (_, ends)| *ends > now);
            if self.by_address.len() >= CAPACITY {
                return;
            }
        }
        let entry = self.by_address.entry(key).or_insert((0, now + self.window));
        if entry.1 <= now {
            *entry = (0, now + self.window);
        }
        entry.0 = entry.0.saturating_add(1);
    }
}
