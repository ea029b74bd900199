//! Send queues and backpressure.
//!
//! `Session::queued_bytes` is the one count of what the server holds for a client: every
//! frame queued for the session (on the polling queue, or handed to the front door for its
//! WebSocket) is added by [`Engine::count_queued`] and taken off when a poll answer carries
//! it or the front door reports it written ([`Engine::ws_written`]). The per-session cap,
//! the water marks that pause and resume senders, and the stall timer all read that count.
//!
//! The stall clock runs whenever that count is above zero and nothing of it is written: any
//! progress restarts it, so a receiver that reads slowly is kept and one that stopped reading
//! is closed at `stall_timeout`, however little it lets pile up (below the high-water mark
//! too).
//! (The front door's `OutQueue` holds a WebSocket's frames while they wait for the socket,
//! beside its HTTP answers and control frames, and reports the session's part back as it is
//! written, so both agree on a session's bytes. The memory budget takes connections' bytes
//! from the front door and only polling queues from here, so nothing is counted twice.)

use super::*;

impl Engine {
    /// Queues one Engine.IO packet for the session. Frames of the same session leave in order.
    pub fn send(&mut self, timers: &mut dyn Timers, id: SessionId, frame: Frame) {
        let hard_cap = self.config.send_queue_bytes;
        let Some(queued) = self.count_queued(id, &frame) else {
            return;
        };
        let over_cap = queued > hard_cap;
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        match session.transport {
            TransportState::WebSocket { conn } => {
                self.actions.push_back(Action::SendWs { conn, frame });
            }
            TransportState::Polling { held_get, .. } => {
                session.queue.push_back(frame);
                if held_get.is_some() && !self.dirty.contains(&id) {
                    self.dirty.push(id);
                }
            }
        }
        if over_cap {
            log::info!("disconnecting a client whose send queue passed its cap");
            self.close(timers, id, CloseReason::QueueFull);
            return;
        }
        self.watch_stall(id);
    }

    /// Adds a frame queued for the session to its count; returns the new count.
    pub(super) fn count_queued(&mut self, id: SessionId, frame: &Frame) -> Option<usize> {
        let session = self.sessions.get_mut(id)?;
        session.queued_bytes = session.queued_bytes.saturating_add(frame.len());
        Some(session.queued_bytes)
    }

    /// Sends a text message (`4` + text).
    pub fn send_text(&mut self, timers: &mut dyn Timers, id: SessionId, text: &str) {
        self.send(timers, id, Frame::text(PacketKind::Message, text));
    }

    /// The front door wrote `bytes` of this session's WebSocket frames to the kernel.
    pub fn ws_written(&mut self, timers: &mut dyn Timers, id: SessionId, bytes: usize) {
        self.after_dequeue(timers, id, bytes);
    }

    pub(super) fn after_dequeue(&mut self, timers: &mut dyn Timers, id: SessionId, bytes: usize) {
        let low_water = self.config.low_water();
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        session.queued_bytes = session.queued_bytes.saturating_sub(bytes);
        let still_queued = session.queued_bytes > 0;
        if bytes > 0 || !still_queued {
            // Progress (or nothing left): the stall clock starts again, if anything is left.
            if let Some(timer) = session.stall_timer.take() {
                timers.cancel(timer);
            }
            if still_queued {
                self.watch_stall(id);
            }
        }
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        if session.queued_bytes > low_water {
            return;
        }
        let waiters = std::mem::take(&mut session.waiters);
        for sender in waiters {
            self.release_sender(sender);
        }
    }

    /// Notes a session with bytes queued and no stall clock running, for the next flush.
    pub(super) fn watch_stall(&mut self, id: SessionId) {
        let Some(session) = self.sessions.get(id) else {
            return;
        };
        if session.queued_bytes > 0
            && session.stall_timer.is_none()
            && !self.stall_watch.contains(&id)
        {
            self.stall_watch.push(id);
        }
    }

    /// Starts the stall clock of every session noted since the last call that still has
    /// bytes queued.
    pub(super) fn arm_stall_timers(&mut self, timers: &mut dyn Timers, now: Instant) {
        let deadline = now + self.config.stall_timeout;
        for id in std::mem::take(&mut self.stall_watch) {
            let Some(session) = self.sessions.get_mut(id) else {
                continue;
            };
            if session.queued_bytes > 0 && session.stall_timer.is_none() {
                session.stall_timer = timers.set(deadline, Timer::Stall(id)).ok();
            }
        }
    }

    /// Whether the session's queue is above its high-water mark.
    pub fn is_congested(&self, id: SessionId) -> bool {
        self.sessions
            .get(id)
            .is_some_and(|s| s.queued_bytes > self.config.high_water())
    }

    /// Pauses `sender` until `receiver` drains below its low-water mark. The connection that
    /// carries the sender's input stops being read: its WebSocket, or its polling POST (one
    /// being read now, or the next one: while [`Engine::is_held`], the front door leaves a POST's
    /// body unread, so it stays in the kernel and the client, waiting for the answer, sends
    /// nothing more, until [`Action::ResumeRead`] names that connection).
    /// [`Event::Resumed`] tells the layer above when it may go on (for example to send the
    /// acks it held).
    pub fn hold_sender(&mut self, sender: SessionId, receiver: SessionId) {
        if !self.sessions.contains(sender) {
            return;
        }
        let Some(r) = self.sessions.get_mut(receiver) else {
            return;
        };
        r.waiters.push(sender);
        if let Some(s) = self.sessions.get_mut(sender) {
            s.held_by = s.held_by.saturating_add(1);
            if s.held_by == 1 {
                if let Some(conn) = s.transport.input_conn() {
                    self.actions.push_back(Action::PauseRead { conn });
                }
            }
        }
    }

    /// Whether the session waits for receivers to drain.
    pub fn is_held(&self, id: SessionId) -> bool {
        self.sessions.get(id).is_some_and(|s| s.held_by > 0)
    }

    pub(super) fn release_sender(&mut self, sender: SessionId) {
        let Some(s) = self.sessions.get_mut(sender) else {
            return;
        };
        s.held_by = s.held_by.saturating_sub(1);
        if s.held_by == 0 {
            if let Some(conn) = s.transport.input_conn() {
                self.actions.push_back(Action::ResumeRead { conn });
            }
            self.events.push_back(Event::Resumed(sender));
        }
    }
}
