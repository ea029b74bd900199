//! Flow control of one delivery, sans-IO: at most [`MAX_UNACKED_CHUNKS`] chunks without an
//! ack; after a reconnect, everything unacknowledged is sent again from the first gap (what
//! the web client does), acknowledged chunks never again.

use sharethings_protocol::format::chunks::MAX_UNACKED_CHUNKS;

pub struct Window {
    acked: Vec<bool>,
    acked_count: u64,
    /// Chunks before this index are not part of the delivery (a resend from `fromChunk`).
    from: u64,
    next: u64,
    in_flight: usize,
}

impl Window {
    pub fn new(total: u64, from: u64) -> Window {
        let from = from.min(total);
        Window {
            acked: vec![false; total as usize],
            acked_count: 0,
            from,
            next: from,
            in_flight: 0,
        }
    }

    fn total(&self) -> u64 {
        self.acked.len() as u64
    }

    /// The next chunk to send now, if the window has room; counts it as in flight.
    pub fn take(&mut self) -> Option<u64> {
        if self.in_flight >= MAX_UNACKED_CHUNKS {
            return None;
        }
        while self.next < self.total() && self.acked[self.next as usize] {
            self.next += 1;
        }
        if self.next >= self.total() {
            return None;
        }
        let index = self.next;
        self.next += 1;
        self.in_flight += 1;
        Some(index)
    }

    /// An ack for a chunk sent on the current connection. Returns whether it was new.
    pub fn ack(&mut self, index: u64) -> bool {
        self.in_flight = self.in_flight.saturating_sub(1);
        let Some(slot) = self.acked.get_mut(index as usize) else {
            return false;
        };
        let new = !*slot;
        if new {
            *slot = true;
            self.acked_count += 1;
        }
        new
    }

    /// A new connection: acks for what was in flight will never come; resend from the gap.
    pub fn restart(&mut self) {
        self.in_flight = 0;
        self.next = self.from;
    }

    pub fn done(&self) -> bool {
        self.acked_count == self.total() - self.from
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(w: &mut Window) -> Vec<u64> {
        std::iter::from_fn(|| w.take()).collect()
    }

    #[test]
    fn at_most_eight_unacknowledged_chunks() {
        let mut w = Window::new(20, 0);
        assert_eq!(drain(&mut w), (0..8).collect::<Vec<_>>());
        assert!(w.ack(0));
        assert_eq!(drain(&mut w), vec![8]);
        for i in 1..=8 {
            w.ack(i);
        }
        assert_eq!(drain(&mut w), (9..17).collect::<Vec<_>>());
        assert!(!w.done());
    }

    #[test]
    fn a_reconnect_resends_exactly_the_unacknowledged_chunks() {
        let mut w = Window::new(10, 0);
        drain(&mut w);
        for i in [0, 1, 3] {
            w.ack(i);
        }
        w.restart();
        let again = drain(&mut w);
        assert_eq!(again, vec![2, 4, 5, 6, 7, 8, 9]);
        for i in again {
            w.ack(i);
        }
        assert!(w.done());
        assert!(!w.ack(2), "a late duplicate ack is not new");
        assert_eq!(w.take(), None);
    }

    #[test]
    fn a_resend_starts_at_its_first_chunk() {
        let mut w = Window::new(5, 3);
        assert_eq!(drain(&mut w), vec![3, 4]);
        w.ack(3);
        w.ack(4);
        assert!(w.done());
        assert!(
            Window::new(3, 9).done(),
            "a start past the end is an empty delivery"
        );
        assert!(
            !Window::new(1, 0).done(),
            "an empty item still has one chunk"
        );
        assert!(
            !Window::new(2, 0).ack(7),
            "an index out of range is ignored"
        );
    }
}
