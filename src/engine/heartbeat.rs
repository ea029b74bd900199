//! The heartbeat: the server pings every pingInterval; without a pong within pingTimeout of
//! the ping's due time the session is gone.
//!
//! The pong deadline is the ping's due time plus pingTimeout, so the wheel's rounding (up to
//! one tick late for each timer) never adds up across ping -> pong timeout. Only a ping that
//! reaches the client late because the loop itself was held up (a starved CPU: it answers a
//! held GET, or goes out on the WebSocket, more than a tick after its due time) moves the
//! deadline to when it left, as the reference's `setTimeout` chain does, so a client never has
//! less than pingTimeout, minus one tick, to answer a ping it got. A ping queued for a
//! polling client that is not polling reaches no one, so it moves nothing. Every request and
//! message checks the deadline itself: a session is gone from that instant whether or not a
//! timer fired, and whether or not the late ping was queued yet.
//!
//! A sender paused by backpressure (`flow.rs`) is not read, so its pong, sent in time, waits
//! unread behind its chunks: the server cannot tell it from a dead client. So a session held
//! at any time since its ping is given pingTimeout more each time its deadline passes while it
//! is held, and once more after it was released, by when its input is being read again. Its
//! receivers' stall clocks still bound how long it can be held. (Before this, one receiver
//! out of range for 20 s took the sender it paused down with it: issue 26.)
//!
//! The same holds for a sender on a slow uplink: its pong waits behind the chunks it sent
//! before it, which may take longer than pingTimeout to arrive (a few MiB at 1 Mbit/s). A
//! message that arrived since the ping is as good a sign of life as a pong (engine.io-client
//! up to v3 and rust-engineio take any packet as one for the same reason), so such a
//! session, too, gets pingTimeout more from its deadline; one that sends nothing, neither
//! message nor pong, for pingTimeout after that is gone. Each such extension sends another
//! ping: the client gives up when no ping came for pingInterval + pingTimeout, and the next
//! regular ping would come only pingInterval after the late pong.

use super::*;

impl Engine {
    pub(super) fn schedule_ping(&mut self, timers: &mut dyn Timers, now: Instant, id: SessionId) {
        let deadline = now + self.config.ping_interval;
        let timer = timers.set(deadline, Timer::Heartbeat(id)).ok();
        if let Some(session) = self.sessions.get_mut(id) {
            if let Some(old) = session.heartbeat_timer.take() {
                timers.cancel(old);
            }
            session.heartbeat = Heartbeat::WaitingToPing;
            session.heartbeat_timer = timer;
            session.pong_deadline = deadline + self.config.ping_timeout;
        }
    }

    /// Closes the session if its pong deadline has passed, whether or not the ping or pong
    /// timer fired yet (on time, both would have). Returns whether it did.
    pub(super) fn close_if_pong_overdue(
        &mut self,
        timers: &mut dyn Timers,
        now: Instant,
        id: SessionId,
    ) -> bool {
        let overdue = self
            .sessions
            .get(id)
            .is_some_and(|s| now >= s.pong_deadline && !s.gets_more_time());
        if overdue {
            self.close(timers, id, CloseReason::PingTimeout);
        }
        overdue
    }

    pub(super) fn heartbeat_due(&mut self, timers: &mut dyn Timers, now: Instant, id: SessionId) {
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        session.heartbeat_timer = None;
        match session.heartbeat {
            Heartbeat::WaitingToPing => {
                session.heartbeat = Heartbeat::AwaitingPong;
                // A hold that ended before this ping left its pong nothing to wait behind.
                session.held_since_ping = session.held_by > 0;
                session.heard_since_ping = false;
                let reaches_client = match session.transport {
                    TransportState::WebSocket { .. } => true,
                    TransportState::Polling { held_get, .. } => held_get.is_some(),
                };
                if reaches_client {
                    // Within the rounding this changes nothing (see the module doc).
                    let left = now.checked_sub(timers.tick()).unwrap_or(now);
                    session.pong_deadline =
                        session.pong_deadline.max(left + self.config.ping_timeout);
                }
                let deadline = session.pong_deadline;
                session.heartbeat_timer = timers.set(deadline, Timer::Heartbeat(id)).ok();
                self.send(timers, id, Frame::text(PacketKind::Ping, ""));
            }
            Heartbeat::AwaitingPong if session.gets_more_time() => {
                session.held_since_ping = session.held_by > 0;
                session.heard_since_ping = false;
                session.pong_deadline = now + self.config.ping_timeout;
                session.heartbeat_timer =
                    timers.set(session.pong_deadline, Timer::Heartbeat(id)).ok();
                // The client's own timer wants a ping within pingInterval + pingTimeout of the
                // last one: ping again now, or it gives up on a connection we kept.
                self.send(timers, id, Frame::text(PacketKind::Ping, ""));
            }
            Heartbeat::AwaitingPong => self.close(timers, id, CloseReason::PingTimeout),
        }
    }
}
