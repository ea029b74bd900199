//! Pauses between reconnection attempts: 200 ms, doubling up to [`MAX_BACKOFF`].

use std::time::Duration;

/// Pauses between reconnection attempts grow to this (socket.io-client's reconnectionDelayMax
/// as the web client sets it).
const MAX_BACKOFF: Duration = Duration::from_secs(4);

pub struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff(Duration::from_millis(200))
    }
}

impl Backoff {
    pub fn next(&mut self) -> Duration {
        let pause = self.0;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnection_pauses_double_up_to_four_seconds() {
        let mut b = Backoff::default();
        let pauses: Vec<u128> = (0..7).map(|_| b.next().as_millis()).collect();
        assert_eq!(pauses, [200, 400, 800, 1600, 3200, 4000, 4000]);
    }
}
