//! The heartbeat: the server pings every pingInterval; without a pong within pingTimeout of
//! the ping's due time the session is gone.
//!
//! The pong deadline is fixed when the ping is scheduled: the ping's due time plus
//! pingTimeout. So the wheel's rounding (up to one tick late for each timer) never adds up
//! across ping -> pong timeout, and a loop held up (a starved CPU) does not stretch it either:
//! the client's own rule (socket.io-client gives up pingInterval + pingTimeout after the last
//! ping) counts from the same due times. Every request and message checks the deadline
//! itself, so a session is gone from that instant whether or not a timer fired, and whether
//! or not the late ping ever left.

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

    /// Closes the session if its pong deadline has passed, whether or not the ping or pong
    /// timer fired yet (on time, both would have). Returns whether it did.
    pub(super) fn close_if_pong_overdue(&mut self, now: Instant, id: SessionId) -> bool {
        let overdue = self
            .sessions
            .get(id)
            .is_some_and(|s| now >= s.pong_deadline);
        if overdue {
            self.close(id, CloseReason::PingTimeout);
        }
        overdue
    }

    pub(super) fn heartbeat_due(&mut self, id: SessionId) {
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        session.heartbeat_timer = None;
        match session.heartbeat {
            Heartbeat::WaitingToPing => {
                session.heartbeat = Heartbeat::AwaitingPong;
                // From when the ping was due, not from now (see the module doc).
                let deadline = session.pong_deadline;
                session.heartbeat_timer = self.timers.insert(deadline, Timer::Heartbeat(id)).ok();
                self.send(id, Frame::text(PacketKind::Ping, ""));
            }
            Heartbeat::AwaitingPong => self.close(id, CloseReason::PingTimeout),
        }
    }
}
