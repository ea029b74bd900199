//! The WebSocket transport: the probe and upgrade from polling, and messages and closes on an
//! established WebSocket.

use super::*;

impl Engine {
    pub(super) fn begin_upgrade(
        &mut self,
        timers: &mut dyn Timers,
        now: Instant,
        id: SessionId,
        conn: ConnId,
    ) -> Outcome {
        let Some(session) = self.sessions.get_mut(id) else {
            return Outcome::RejectWebSocket(RequestError::UnknownSid.message());
        };
        if session.transport.kind() != Transport::Polling || session.upgrading() {
            // Reference ("transport has already been upgrading/upgraded"): the handshake
            // completes, then the server closes that WebSocket; the session is untouched.
            return Outcome::AcceptThenClose;
        }
        session.probe = Some(conn);
        let deadline = now + self.config.upgrade_timeout;
        session.upgrade_timer = timers.set(deadline, Timer::Upgrade(id)).ok();
        Outcome::AcceptWebSocket(id)
    }

    /// A complete WebSocket message arrived on `conn`, which belongs to session `id`.
    pub fn ws_message(
        &mut self,
        timers: &mut dyn Timers,
        now: Instant,
        id: SessionId,
        conn: ConnId,
        message: Message,
    ) {
        if self.close_if_pong_overdue(timers, now, id) {
            return;
        }
        let Some(session) = self.sessions.get(id) else {
            return;
        };
        let packet = match message {
            Message::Binary(data) => Incoming::Binary(data),
            Message::Text(data) => match decode_text(&data) {
                Some(kind) => Incoming::Text(kind, data.slice(1..)),
                None => {
                    log::debug!("closing session: bad engine.io packet on websocket");
                    return self.ws_protocol_error(timers, id, conn);
                }
            },
        };
        if session.probe == Some(conn) {
            return self.probe_packet(timers, id, conn, packet);
        }
        if session.transport.ws_conn() != Some(conn) {
            return;
        }
        self.on_packet(timers, now, id, packet);
    }

    /// The probing WebSocket speaks: `2probe` is answered `3probe`, `5` completes the upgrade.
    pub(super) fn probe_packet(
        &mut self,
        timers: &mut dyn Timers,
        id: SessionId,
        conn: ConnId,
        packet: Incoming,
    ) {
        match packet {
            Incoming::Text(PacketKind::Ping, data) if &data[..] == b"probe" => {
                let pong = Frame::text(PacketKind::Pong, "probe");
                // Not through `send` (that would go to the polling queue), but counted like
                // any frame: the front door reports it written.
                self.count_queued(id, &pong);
                self.actions.push_back(Action::SendWs { conn, frame: pong });
                // Written now, before requests on other connections this turn: the client
                // sends its next poll only once it has the `3probe`.
                self.actions.push_back(Action::Flush { conn });
                // Release a parked GET at once so the client can pause polling and send `5`.
                self.release_held_get(timers, id, PacketKind::Noop);
            }
            Incoming::Text(PacketKind::Upgrade, _) => self.complete_upgrade(timers, id, conn),
            _ => {
                log::debug!("closing probe: unexpected packet during upgrade");
                self.abandon_probe(timers, id);
            }
        }
    }

    pub(super) fn complete_upgrade(
        &mut self,
        timers: &mut dyn Timers,
        id: SessionId,
        conn: ConnId,
    ) {
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        session.probe = None;
        if let Some(timer) = session.upgrade_timer.take() {
            timers.cancel(timer);
        }
        let old = std::mem::replace(&mut session.transport, TransportState::WebSocket { conn });
        let queued: Vec<Frame> = session.queue.drain(..).collect();
        let held = session.held_by > 0;
        if let TransportState::Polling {
            held_get,
            reading_post,
        } = old
        {
            if let Some(get) = held_get {
                self.actions.push_back(Action::AnswerPoll {
                    conn: get,
                    body: vec![PacketKind::Noop.digit()],
                });
            }
            // A held sender stays held on its new transport; a POST it left paused is read
            // and refused (the session is no longer polling).
            if let (true, Some(post)) = (held, reading_post) {
                self.actions.push_back(Action::ResumeRead { conn: post });
            }
        }
        if held {
            self.actions.push_back(Action::PauseRead { conn });
        }
        for frame in queued {
            self.actions.push_back(Action::SendWs { conn, frame });
        }
        self.dirty.retain(|d| *d != id);
    }

    pub(super) fn abandon_probe(&mut self, timers: &mut dyn Timers, id: SessionId) {
        if let Some(session) = self.sessions.get_mut(id) {
            if let Some(conn) = session.probe.take() {
                self.actions.push_back(Action::CloseWs { conn, code: 1002 });
            }
            if let Some(timer) = session.upgrade_timer.take() {
                timers.cancel(timer);
            }
        }
    }

    pub(super) fn ws_protocol_error(
        &mut self,
        timers: &mut dyn Timers,
        id: SessionId,
        conn: ConnId,
    ) {
        let is_probe = self.sessions.get(id).and_then(|s| s.probe) == Some(conn);
        if is_probe {
            self.abandon_probe(timers, id);
        } else {
            self.close(timers, id, CloseReason::ParseError);
        }
    }

    /// The WebSocket connection of session `id` ended: `clean` when the peer sent a close
    /// frame, otherwise it was lost (EOF, reset, I/O error, protocol violation).
    pub fn ws_closed(&mut self, timers: &mut dyn Timers, id: SessionId, conn: ConnId, clean: bool) {
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        if session.probe == Some(conn) {
            session.probe = None;
            if let Some(timer) = session.upgrade_timer.take() {
                timers.cancel(timer);
            }
            return;
        }
        if session.transport.ws_conn() == Some(conn) {
            let reason = if clean {
                CloseReason::TransportClose
            } else {
                CloseReason::TransportError
            };
            self.close(timers, id, reason);
        }
    }
}
