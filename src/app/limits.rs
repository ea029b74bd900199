//! Rate limits on failed joins (wrong passphrase), per client address and per room.
//!
//! Only failures count. Past the per-address limit every join from that address is refused
//! until its window ends. Past the per-room limit (guesses spread over many addresses) joins
//! to that room are refused to the addresses that failed, while its members carry on; an
//! address with no failure still gets its try, up to as many fresh tries again per window, so
//! that strangers guessing a room's name do not keep the household's new devices out (the
//! security review's B4). Joins with a member's invite skip the room's limit altogether.
//! A v3 applicant's guesses count as failures until it proves the room key, when they are
//! taken back.
//! Address windows are entries in a fixed-capacity arena whose end is a deadline in the timer
//! wheel; room windows live with the room and reset lazily.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::socketio::Io;
use crate::util::arena::{Arena, Handle};

use super::applicants::Guesses;
use super::AppTimer;
use crate::util::address::limit_key;

/// Addresses with a failure window open at once. When full, new addresses are not tracked
/// (the per-room limit still protects every room); the log says so.
pub const ADDRESS_CAPACITY: usize = 4096;

struct Window {
    failures: u32,
    ends: Instant,
}

/// A room's window: its failures, and the tries from fresh addresses it allowed past them.
struct RoomWindow {
    window: Window,
    fresh_tries: u32,
}

struct AddressWindow {
    address: IpAddr,
    window: Window,
}

/// An address's failed joins in its current window, how many it may have, and the window's
/// length: told with the refusal, so that a client warns of the lockout by the server's own
/// count, limit and window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedJoins {
    pub count: u32,
    pub limit: u32,
    pub window: Duration,
}

pub struct JoinLimits {
    per_address: u32,
    per_room: u32,
    window: Duration,
    addresses: Arena<AddressWindow>,
    by_address: HashMap<IpAddr, Handle>,
    rooms: HashMap<Handle, RoomWindow>,
}

impl JoinLimits {
    pub fn new(per_address: u32, per_room: u32, window: Duration) -> JoinLimits {
        JoinLimits {
            per_address,
            per_room,
            window,
            addresses: Arena::with_capacity(ADDRESS_CAPACITY),
            by_address: HashMap::with_capacity(ADDRESS_CAPACITY),
            rooms: HashMap::new(),
        }
    }

    /// How long this address must wait, if it is over its limit.
    pub fn address_blocked(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        let address = limit_key(address);
        let entry = self
            .by_address
            .get(&address)
            .and_then(|h| self.addresses.get(*h))?;
        blocked(&entry.window, self.per_address, now)
    }

    /// How long a join to this room from `address` must wait, if the room is over its limit
    /// and the address failed within its own window (or the room's fresh tries are used up).
    /// A fresh address's try is counted here.
    pub fn room_blocked(
        &mut self,
        room: Handle,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Option<Duration> {
        let failed_here = address.is_none_or(|a| self.failures_of(a, now) > 0);
        let per_room = self.per_room;
        let entry = self.rooms.get_mut(&room)?;
        let wait = blocked(&entry.window, per_room, now)?;
        if !failed_here && entry.fresh_tries < per_room {
            entry.fresh_tries += 1;
            return None;
        }
        Some(wait)
    }

    /// Failures of this address in its current window.
    fn failures_of(&self, address: IpAddr, now: Instant) -> u32 {
        self.by_address
            .get(&limit_key(address))
            .and_then(|h| self.addresses.get(*h))
            .filter(|entry| entry.window.ends > now)
            .map_or(0, |entry| entry.window.failures)
    }

    /// Counts a failed join; the address's count after it, unless the address is not tracked
    /// (none known, or every entry in use).
    pub fn record_failure(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        address: Option<IpAddr>,
        room: Handle,
        now: Instant,
    ) -> Option<FailedJoins> {
        let ends = now + self.window;
        let fresh = || RoomWindow {
            window: Window { failures: 0, ends },
            fresh_tries: 0,
        };
        let entry = self.rooms.entry(room).or_insert_with(fresh);
        if entry.window.ends <= now {
            *entry = fresh();
        }
        entry.window.failures = entry.window.failures.saturating_add(1);
        let address = address.map(limit_key)?;
        let (limit, window) = (self.per_address, self.window);
        if let Some(entry) = self
            .by_address
            .get(&address)
            .and_then(|h| self.addresses.get_mut(*h))
        {
            entry.window.failures = entry.window.failures.saturating_add(1);
            return Some(FailedJoins {
                count: entry.window.failures,
                limit,
                window,
            });
        }
        let new = AddressWindow {
            address,
            window: Window { failures: 1, ends },
        };
        match self.addresses.try_insert(new) {
            Ok(handle) => {
                self.by_address.insert(address, handle);
                if io.set_timer(ends, AppTimer::AddressWindow(handle)).is_err() {
                    // Without its deadline the entry would never end; do not keep it.
                    self.window_ended(handle);
                    return None;
                }
                Some(FailedJoins {
                    count: 1,
                    limit,
                    window,
                })
            }
            Err(_) => {
                log::warn!(
                    "too many addresses with failed joins to track; relying on per-session limits"
                );
                None
            }
        }
    }

    /// Takes back the `guesses` an applicant made against `room` from `address` once it proves
    /// the room key: they were right, and a household or a classroom behind one address adds
    /// its devices one after another. Only from windows that hold all of them (that began at
    /// or before the first), so a window that began since is never lowered by guesses it does
    /// not hold.
    pub fn take_back(&mut self, address: Option<IpAddr>, room: Handle, guesses: Guesses) {
        let length = self.window;
        let take_back = |w: &mut Window| {
            if w.ends
                .checked_sub(length)
                .is_some_and(|began| began <= guesses.first)
            {
                w.failures = w.failures.saturating_sub(guesses.count);
            }
        };
        if let Some(entry) = self.rooms.get_mut(&room) {
            take_back(&mut entry.window);
        }
        let handle = address.and_then(|a| self.by_address.get(&limit_key(a)).copied());
        if let Some(entry) = handle.and_then(|h| self.addresses.get_mut(h)) {
            take_back(&mut entry.window);
        }
    }

    /// An address window's deadline passed.
    pub fn window_ended(&mut self, window: Handle) {
        if let Some(entry) = self.addresses.remove(window) {
            self.by_address.remove(&entry.address);
        }
    }

    pub fn forget_room(&mut self, room: Handle) {
        self.rooms.remove(&room);
    }
}

fn blocked(window: &Window, limit: u32, now: Instant) -> Option<Duration> {
    (window.ends > now && window.failures >= limit).then(|| window.ends - now)
}
