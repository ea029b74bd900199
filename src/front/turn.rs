//! One turn of the loop: its clock, and the order in which its connections are read and
//! written.
//!
//! The rule is that causes and answers keep their order across connections: what the server
//! owes a connection because of input that arrived earlier is written before the answer to
//! input that arrived later on another one (an Engine.IO client that sent `2probe` on its new
//! WebSocket, then a poll on another connection, must get its `3probe` first). Two things make
//! it hold whatever the load:
//!
//! - Input left over from earlier turns (a read budget spent, a pipelined request waiting for
//!   its turn, a sender resumed, a WebSocket just upgraded) is read first: it was there before
//!   anything the poll reports. It used to be read after this turn's readiness, so a busy or
//!   starved loop answered a later request on another connection first, which is how the
//!   conformance suite's `3probe` came after the answer to the poll sent behind it.
//! - Connections are written in the order they were read.

use std::time::Instant;

use crate::util::arena::Handle;

pub(super) struct Turn {
    /// When the turn's wait ended: its one reading of the clock.
    now: Instant,
    /// Connections to read again at the start of the next turn, in the order they were left.
    again: Vec<Handle>,
    /// Connections read this turn, in the order they were read.
    read: Vec<Handle>,
    /// Connections with something queued to write.
    to_write: Vec<Handle>,
}

impl Turn {
    pub(super) fn new(now: Instant) -> Turn {
        Turn {
            now,
            again: Vec::new(),
            read: Vec::new(),
            to_write: Vec::new(),
        }
    }

    /// Whether input is left to read: the next wait must not block.
    pub(super) fn has_leftovers(&self) -> bool {
        !self.again.is_empty()
    }

    /// Starts a turn at `now`; returns the connections whose input was left over, each once,
    /// in the order they were left.
    pub(super) fn begin(&mut self, now: Instant) -> Vec<Handle> {
        self.now = now;
        self.read.clear();
        let mut leftovers = std::mem::take(&mut self.again);
        let mut seen = std::collections::HashSet::with_capacity(leftovers.len());
        leftovers.retain(|id| seen.insert(*id));
        leftovers
    }

    /// The turn's clock.
    pub(super) fn now(&self) -> Instant {
        self.now
    }

    /// The connection has input left to read next turn.
    pub(super) fn read_again(&mut self, id: Handle) {
        self.again.push(id);
    }

    /// The connection was read this turn (it is written in this order).
    pub(super) fn was_read(&mut self, id: Handle) {
        self.read.push(id);
    }

    /// The connection has something queued to write.
    pub(super) fn wants_write(&mut self, id: Handle) {
        self.to_write.push(id);
    }

    /// Takes the connections to write, each once: those read this turn first, in the order
    /// they were read, then the others in a stable order.
    pub(super) fn take_writes(&mut self) -> Vec<Handle> {
        let mut pending = std::mem::take(&mut self.to_write);
        pending.sort_unstable_by_key(|h| h.to_bits());
        pending.dedup();
        let mut order = Vec::with_capacity(pending.len());
        for id in &self.read {
            if let Ok(at) = pending.binary_search_by_key(&id.to_bits(), |h| h.to_bits()) {
                order.push(pending.remove(at));
            }
        }
        order.extend(pending);
        order
    }
}

#[cfg(test)]
mod tests;
