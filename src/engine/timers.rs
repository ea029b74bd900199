//! The engine's deadlines. The event loop owns the one timer wheel of the process; the engine
//! sets and cancels its own typed keys through the [`Timers`] handle it is given with each call,
//! and the loop hands each of them back to [`Engine::timer_fired`] when it passes. The engine
//! never sees a connection's or the application's deadline, and has no clock: `now` is always
//! an argument.

use super::*;

/// What one of the engine's deadlines is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Send the next ping, or the pong did not come in time.
    Heartbeat(SessionId),
    /// A started upgrade did not finish.
    Upgrade(SessionId),
    /// The session had bytes queued and none written for too long.
    Stall(SessionId),
    /// The one deadline the layer above keeps for this session (Socket.IO: the connect
    /// timeout, then a binary packet's attachment timeout).
    Layer(SessionId),
}

/// The engine's handle on the loop's timer wheel: its own keys, and no one else's.
pub trait Timers {
    /// Arms a deadline; `Err` when the wheel is full (the deadline is then not kept).
    fn set(&mut self, deadline: Instant, timer: Timer) -> Result<TimerId, Full>;
    /// Disarms a deadline; one that already fired or was cancelled is a no-op.
    fn cancel(&mut self, id: TimerId);
    /// How late a deadline may fire at most (the wheel's rounding).
    fn tick(&self) -> Duration;
}

/// The application's handle on the loop's timer wheel: its own typed keys ([`Layer::Timer`]),
/// handed back to [`Layer::timer_fired`].
pub trait AppTimers<A> {
    fn set(&mut self, deadline: Instant, key: A) -> Result<TimerId, Full>;
    fn cancel(&mut self, id: TimerId);
}

/// What a layer above the engine is given with each call: the engine's view (for the calls it
/// makes into the engine) and the application's.
pub trait LayerTimers<A>: Timers + AppTimers<A> {}

impl<A, T: Timers + AppTimers<A>> LayerTimers<A> for T {}

impl Engine {
    /// Sets (or replaces) the one deadline the layer above may keep per session.
    pub fn set_layer_deadline(
        &mut self,
        timers: &mut dyn Timers,
        id: SessionId,
        deadline: Instant,
    ) {
        let timer = timers.set(deadline, Timer::Layer(id)).ok();
        if let Some(session) = self.sessions.get_mut(id) {
            if let Some(old) = std::mem::replace(&mut session.layer_deadline, timer) {
                timers.cancel(old);
            }
        }
    }

    pub fn clear_layer_deadline(&mut self, timers: &mut dyn Timers, id: SessionId) {
        if let Some(timer) = self
            .sessions
            .get_mut(id)
            .and_then(|s| s.layer_deadline.take())
        {
            timers.cancel(timer);
        }
    }

    /// One of the engine's deadlines passed (the loop calls this for each that fired).
    pub fn timer_fired(&mut self, timers: &mut dyn Timers, now: Instant, timer: Timer) {
        match timer {
            Timer::Heartbeat(id) => self.heartbeat_due(timers, now, id),
            Timer::Upgrade(id) => {
                if let Some(session) = self.sessions.get_mut(id) {
                    session.upgrade_timer = None;
                }
                log::debug!("upgrade timed out");
                self.abandon_probe(timers, id);
            }
            Timer::Stall(id) => {
                if let Some(session) = self.sessions.get_mut(id) {
                    session.stall_timer = None;
                    log::info!("disconnecting a client that stopped reading");
                    self.close(timers, id, CloseReason::Stalled);
                }
            }
            Timer::Layer(id) => {
                if let Some(session) = self.sessions.get_mut(id) {
                    session.layer_deadline = None;
                    self.events.push_back(Event::LayerDeadline(id));
                }
            }
        }
    }
}
