//! The heartbeat: the server pings every pingInterval; without a pong within pingTimeout of
//! the ping's due time the session is gone.
//!
//! The pong deadline counts from when the ping was due, so the wheel's rounding (up to one
//! tick late for each timer) never adds up across ping -> pong timeout. Only when the loop
//! itself was held up for longer (a starved CPU) does it count from when the ping really
//! left, as the reference's `setTimeout` chain does: a client is never given less than
//! pingTimeout, minus one tick, to answer.

use super::*;

impl<A: Copy> Engine<A> {
    pub(super) fn schedule_ping(&mut self, now: Instant, id: SessionId) {
        let deadline = now + self.config.ping_interval;
        let timer = self.timers.insert(deadline, Timer::Heartbeat(id)).ok();
        if let Some(session) = self.sessions.get_mut(id) {
            if let Some(old) = session.heartbeat_timer.take() {
                self.timers.cancel(old);
            }
            session.heartbeat = Heartbeat::WaitingToPing;
            session.heartbeat_timer = timer;
            session.pong_deadline = deadline + self.config.ping_timeout;
        }
    }

    /// Closes the session if a ping went out and its pong deadline has passed, whether or not
    /// the pong timer fired yet (the reference's `setTimeout` would have). Returns whether it
    /// did.
    pub(super) fn close_if_pong_overdue(&mut self, now: Instant, id: SessionId) -> bool {
        let overdue = self
            .sessions
            .get(id)
            .is_some_and(|s| s.heartbeat == Heartbeat::AwaitingPong && now >= s.pong_deadline);
        if overdue {
            self.close(id, CloseReason::PingTimeout);
        }
        overdue
    }

    pub(super) fn heartbeat_due(&mut self, now: Instant, id: SessionId) {
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        session.heartbeat_timer = None;
        match session.heartbeat {
            Heartbeat::WaitingToPing => {
                session.heartbeat = Heartbeat::AwaitingPong;
                // From when the ping was due (see the module doc), unless the loop was held
                // up for more than the wheel's rounding.
                let sent = now.checked_sub(TIMER_TICK).unwrap_or(now);
                let deadline = session.pong_deadline.max(sent + self.config.ping_timeout);
                session.pong_deadline = deadline;
                session.heartbeat_timer = self.timers.insert(deadline, Timer::Heartbeat(id)).ok();
                self.send(id, Frame::text(PacketKind::Ping, ""));
            }
            Heartbeat::AwaitingPong => self.close(id, CloseReason::PingTimeout),
        }
    }
}
