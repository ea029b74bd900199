//! One direction of one Wi-Fi link: random loss, a queue drained at the link's rate (air time
//! shared by both directions, as a Wi-Fi channel is half duplex), and a delay with jitter that
//! keeps frames in order (802.11 delivers a station's frames in order; reordering would be a
//! different fault). Pure: it is given the time and a random number, and says when a frame
//! leaves or that it is dropped, so the profiles are tested on virtual time.

use std::time::Duration;

/// How a link behaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    /// One-way delay of each direction (a round trip passes both).
    pub delay: Duration,
    /// Each frame's delay is `delay` plus a uniform amount in [-jitter, +jitter].
    pub jitter: Duration,
    /// Chance that a frame is lost, in each direction.
    pub loss: f64,
    /// Bits per second of air time, both directions together; 0 is unlimited.
    pub rate: u64,
    /// Queueing time past which a frame is dropped (the tail of the queue), at `rate`.
    pub queue: Duration,
}

/// Round-trip loss of `round_trip`, as each direction's loss: 1 - (1 - p)² = round_trip.
const fn per_direction(round_trip_percent: f64) -> f64 {
    // 1 - sqrt(1 - r), by two Newton steps from r/2 (exact enough for a few percent).
    let r = round_trip_percent / 100.0;
    let mut p = r / 2.0;
    p -= (1.0 - (1.0 - p) * (1.0 - p) - r) / (2.0 * (1.0 - p));
    p -= (1.0 - (1.0 - p) * (1.0 - p) - r) / (2.0 * (1.0 - p));
    p
}

/// The profiles of issue 26: a round trip of 20 ms with 0.5 % loss at 100 Mbit/s, and one of
/// 120 ± 40 ms with 3 % loss at 10 Mbit/s; `wired` does nothing (the server's port).
pub const PROFILES: &[Profile] = &[
    Profile {
        name: "good",
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(2),
        loss: per_direction(0.5),
        rate: 100_000_000,
        queue: Duration::from_millis(100),
    },
    Profile {
        name: "poor",
        delay: Duration::from_millis(60),
        jitter: Duration::from_millis(20),
        loss: per_direction(3.0),
        rate: 10_000_000,
        queue: Duration::from_millis(200),
    },
    Profile {
        name: "wired",
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
        loss: 0.0,
        rate: 0,
        queue: Duration::ZERO,
    },
];

pub fn profile(name: &str) -> Option<Profile> {
    PROFILES.iter().copied().find(|p| p.name == name)
}

/// The air time of one port, shared by its two directions.
#[derive(Default)]
pub struct Air {
    busy_until: Duration,
}

/// One direction's state: the last frame's departure, so that none overtakes another.
#[derive(Default)]
pub struct Pipe {
    last_departure: Duration,
}

impl Pipe {
    /// When a frame of `len` bytes that arrives at `now` leaves, or `None` when it is lost or
    /// the queue is full. `loss_draw` and `jitter_draw` are uniform in [0, 1).
    pub fn admit(
        &mut self,
        p: &Profile,
        air: &mut Air,
        now: Duration,
        len: usize,
        loss_draw: f64,
        jitter_draw: f64,
    ) -> Option<Duration> {
        if loss_draw < p.loss {
            return None;
        }
        let mut sent = now;
        if let Some(nanos) = (len as u64 * 8)
            .saturating_mul(1_000_000_000)
            .checked_div(p.rate)
        {
            let start = air.busy_until.max(now);
            if start - now > p.queue {
                return None;
            }
            air.busy_until = start + Duration::from_nanos(nanos);
            sent = air.busy_until;
        }
        let jitter = p.jitter.as_secs_f64() * (2.0 * jitter_draw - 1.0);
        let delay = Duration::from_secs_f64((p.delay.as_secs_f64() + jitter).max(0.0));
        let departure = (sent + delay).max(self.last_departure);
        self.last_departure = departure;
        Some(departure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn round_trip_loss_is_the_profiles() {
        for (p, want) in [
            (profile("good").unwrap(), 0.005),
            (profile("poor").unwrap(), 0.03),
        ] {
            let rt = 1.0 - (1.0 - p.loss) * (1.0 - p.loss);
            assert!((rt - want).abs() < 1e-6, "{}: {rt}", p.name);
        }
    }

    #[test]
    fn a_frame_waits_its_air_time_and_delay() {
        let p = profile("poor").unwrap();
        let (mut pipe, mut air) = (Pipe::default(), Air::default());
        // 1250 bytes at 10 Mbit/s is 1 ms on air; a jitter draw of 0.5 is no jitter.
        let at = pipe.admit(&p, &mut air, Duration::ZERO, 1250, 0.5, 0.5);
        assert_eq!(at, Some(MS + 60 * MS));
    }

    #[test]
    fn jitter_never_reorders() {
        let p = profile("poor").unwrap();
        let (mut pipe, mut air) = (Pipe::default(), Air::default());
        let first = pipe
            .admit(&p, &mut air, Duration::ZERO, 100, 0.5, 0.999)
            .unwrap();
        let second = pipe.admit(&p, &mut air, MS, 100, 0.5, 0.0).unwrap();
        assert!(second >= first, "{second:?} before {first:?}");
    }

    #[test]
    fn the_queue_drops_its_tail_and_both_directions_share_the_air() {
        let p = profile("poor").unwrap();
        let (mut up, mut down, mut air) = (Pipe::default(), Pipe::default(), Air::default());
        // 200 ms of queue at 10 Mbit/s is 250 000 bytes: 200 frames of 1250 fit, then the
        // next is dropped, whichever direction it goes.
        for _ in 0..200 {
            assert!(up
                .admit(&p, &mut air, Duration::ZERO, 1250, 0.5, 0.5)
                .is_some());
        }
        assert!(up
            .admit(&p, &mut air, Duration::ZERO, 1250, 0.5, 0.5)
            .is_some());
        assert_eq!(
            down.admit(&p, &mut air, Duration::ZERO, 1250, 0.5, 0.5),
            None
        );
        // 100 ms later half the queue is gone.
        assert!(down.admit(&p, &mut air, 100 * MS, 1250, 0.5, 0.5).is_some());
    }

    #[test]
    fn a_loss_draw_below_the_loss_drops() {
        let p = profile("good").unwrap();
        let (mut pipe, mut air) = (Pipe::default(), Air::default());
        assert_eq!(
            pipe.admit(&p, &mut air, Duration::ZERO, 100, 0.0, 0.5),
            None
        );
        assert!(pipe
            .admit(&p, &mut air, Duration::ZERO, 100, p.loss, 0.5)
            .is_some());
    }
}
