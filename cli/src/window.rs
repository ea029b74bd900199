//! Flow control of one delivery, sans-IO: at most [`MAX_UNACKED_CHUNKS`] chunks without an
//! ack; after a reconnect, everything unacknowledged is sent again from the first gap (what
//! the web client does), acknowledged chunks never again.

use sharethings_protocol::format::chunks::MAX_UNACKED_CHUNKS;

pub struct Window {
    acked: Vec<bool>,
    acked_count: u64,
    /// Chunks before this index are not part of the delivery (a resend from `fromChunk`).
    from: u64,
    /// Nor are chunks from this one on (a resend of what another delivery will not send).
    until: u64,
    next: u64,
    in_flight: usize,
}

impl Window {
    /// The chunks of an item of `total` from `from` up to, not including, `until`.
    pub fn new(total: u64, from: u64, until: u64) -> Window {
        let until = until.min(total);
        let from = from.min(until);
        Window {
            acked: vec![false; total as usize],
            acked_count: 0,
            from,
            until,
            next: from,
            in_flight: 0,
        }
    }

    /// The first chunk this delivery has neither sent on the current connection nor had
    /// acknowledged (its end when there is none): it still sends that one and every
    /// unacknowledged one after it. Each chunk before it is acknowledged or in flight, and a
    /// member that came meanwhile may have missed it.
    pub fn still_to_send(&self) -> u64 {
        (self.next..self.until)
            .find(|&i| !self.acked[i as usize])
            .unwrap_or(self.until)
    }

    /// The next chunk to send now, if the window has room; counts it as in flight.
    pub fn take(&mut self) -> Option<u64> {
        if self.in_flight >= MAX_UNACKED_CHUNKS {
            return None;
        }
        while self.next < self.until && self.acked[self.next as usize] {
            self.next += 1;
        }
        if self.next >= self.until {
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
        if !(self.from..self.until).contains(&index) {
            return false;
        }
        let slot = &mut self.acked[index as usize];
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
        self.acked_count == self.until - self.from
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
        let mut w = Window::new(20, 0, 20);
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
        let mut w = Window::new(10, 0, 10);
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
        let mut w = Window::new(5, 3, 5);
        assert_eq!(drain(&mut w), vec![3, 4]);
        w.ack(3);
        w.ack(4);
        assert!(w.done());
        assert!(
            Window::new(3, 9, 3).done(),
            "a start past the end is an empty delivery"
        );
        assert!(
            !Window::new(1, 0, 1).done(),
            "an empty item still has one chunk"
        );
        assert!(
            !Window::new(2, 0, 2).ack(7),
            "an index out of range is ignored"
        );
    }

    #[test]
    fn a_resend_up_to_a_chunk_stops_before_it() {
        let mut w = Window::new(10, 2, 5);
        assert_eq!(drain(&mut w), vec![2, 3, 4]);
        assert!(!w.ack(7), "a chunk past its end is not part of it");
        for i in [2, 3, 4] {
            w.ack(i);
        }
        assert!(w.done());
        assert!(Window::new(10, 6, 4).done(), "an empty range");
    }

    #[test]
    fn still_to_send_skips_what_is_in_flight_or_acknowledged() {
        let mut w = Window::new(20, 1, 20);
        assert_eq!(w.still_to_send(), 1);
        assert_eq!(drain(&mut w), (1..9).collect::<Vec<_>>());
        assert_eq!(w.still_to_send(), 9, "1 to 8 are in flight");
        for i in 1..9 {
            w.ack(i);
        }
        // A reconnect: 1 to 8 are acknowledged, so what it sends again starts at 9.
        w.restart();
        assert_eq!(w.still_to_send(), 9);
        assert_eq!(w.take(), Some(9));
        assert_eq!(w.still_to_send(), 10);
        while !w.done() {
            for i in drain(&mut w) {
                w.ack(i);
            }
            w.ack(9);
        }
        assert_eq!(w.still_to_send(), 20, "all acknowledged: its end");
    }
}
