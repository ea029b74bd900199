//! The loop's deadlines: the one [`TimerWheel`] of the process. Each layer sets and cancels
//! only its own typed keys (the front door its connections', the engine its [`engine::Timer`]s
//! through [`engine::Timers`], the application its [`engine::Layer::Timer`]s through
//! [`engine::AppTimers`]); [`Deadlines::expire`] gives back what fired, and the loop hands each
//! key to its owner. It lives here, below the layers that use it, so that the front door, the
//! Socket.IO harness and the engine's own tests all drive the same wheel.

use std::time::{Duration, Instant};

use crate::engine::{self, AppTimers, ConnId, Timers};
use crate::util::arena::Full;
use crate::util::timer::{TimerId, TimerWheel};

/// The wheel's resolution: a deadline fires at most this late. Well under the shortest
/// deadline the protocol has (the official suites' 200 ms pingTimeout), and coarse enough
/// that a busy loop visits few empty slots.
const TICK: Duration = Duration::from_millis(5);
/// Slots of the wheel: one turn is 1024 x 5 ms = 5.12 s, so the frequent deadlines (pings,
/// pong timeouts, head timeouts) are reached without rounds; longer ones wait a few turns.
const SLOTS: usize = 1024;

/// Whose deadline an entry of the wheel is; `A` is the application's own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline<A> {
    /// The front door's deadline for a connection (request head, held request, drain).
    Conn(ConnId),
    Engine(engine::Timer),
    App(A),
}

/// Every deadline of the process, in one wheel.
pub(crate) struct Deadlines<A: Copy> {
    wheel: TimerWheel<Deadline<A>>,
}

impl<A: Copy> Deadlines<A> {
    /// Room for `capacity` deadlines at once: connections', sessions' and the application's.
    pub(crate) fn new(now: Instant, capacity: usize) -> Deadlines<A> {
        Deadlines {
            wheel: TimerWheel::new(now, TICK, SLOTS, capacity),
        }
    }

    pub(crate) fn set_conn(&mut self, deadline: Instant, conn: ConnId) -> Result<TimerId, Full> {
        self.wheel.insert(deadline, Deadline::Conn(conn))
    }

    pub(crate) fn cancel_conn(&mut self, id: TimerId) {
        self.wheel.cancel(id);
    }

    /// When the loop must wake up next.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.wheel.next_deadline()
    }

    /// Moves every deadline due by `now` into `fired`.
    pub(crate) fn expire(&mut self, now: Instant, fired: &mut Vec<Deadline<A>>) {
        self.wheel.expire(now, fired);
    }
}

impl<A: Copy> Timers for Deadlines<A> {
    fn set(&mut self, deadline: Instant, timer: engine::Timer) -> Result<TimerId, Full> {
        self.wheel.insert(deadline, Deadline::Engine(timer))
    }

    fn cancel(&mut self, id: TimerId) {
        self.wheel.cancel(id);
    }

    fn tick(&self) -> Duration {
        TICK
    }
}

impl<A: Copy> AppTimers<A> for Deadlines<A> {
    fn set(&mut self, deadline: Instant, key: A) -> Result<TimerId, Full> {
        self.wheel.insert(deadline, Deadline::App(key))
    }

    fn cancel(&mut self, id: TimerId) {
        self.wheel.cancel(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::arena::Handle;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn each_layer_gets_back_its_own_typed_keys_in_one_wheel() {
        let t0 = Instant::now();
        let mut deadlines: Deadlines<&'static str> = Deadlines::new(t0, 8);
        let (conn, session) = (Handle::from_bits(1), Handle::from_bits(2));
        deadlines.set_conn(t0 + ms(10), conn).unwrap();
        Timers::set(
            &mut deadlines,
            t0 + ms(20),
            engine::Timer::Heartbeat(session),
        )
        .unwrap();
        AppTimers::set(&mut deadlines, t0 + ms(30), "room expiry").unwrap();
        let cancelled = AppTimers::set(&mut deadlines, t0 + ms(30), "cancelled").unwrap();
        AppTimers::cancel(&mut deadlines, cancelled);
        assert_eq!(deadlines.next_deadline(), Some(t0 + ms(10)));
        let mut fired = Vec::new();
        deadlines.expire(t0 + ms(30), &mut fired);
        fired.sort_by_key(|d| match d {
            Deadline::Conn(_) => 0,
            Deadline::Engine(_) => 1,
            Deadline::App(_) => 2,
        });
        assert_eq!(
            fired,
            [
                Deadline::Conn(conn),
                Deadline::Engine(engine::Timer::Heartbeat(session)),
                Deadline::App("room expiry"),
            ]
        );
        assert_eq!(deadlines.next_deadline(), None);
    }
}
