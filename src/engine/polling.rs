//! Long-polling: the parked GET, the POST body, and answering the GET once per turn.

use super::*;

impl Engine {
    pub(super) fn polling_get(
        &mut self,
        timers: &mut dyn Timers,
        id: SessionId,
        conn: ConnId,
    ) -> Outcome {
        let Some(session) = self.sessions.get_mut(id) else {
            return Outcome::Reply(Reply::error(RequestError::UnknownSid));
        };
        let upgrading = session.upgrading();
        let nothing_queued = session.queue.is_empty();
        let TransportState::Polling { held_get, .. } = &mut session.transport else {
            return Outcome::Reply(Reply::error(RequestError::BadRequest));
        };
        if let Some(first) = held_get.take() {
            // Reference: "overlap from client" is a transport error that closes the session;
            // the parked GET gets the close packet, the second a bare 400.
            self.actions.push_back(Action::AnswerPoll {
                conn: first,
                body: vec![PacketKind::Close.digit()],
            });
            self.close(timers, id, CloseReason::TransportError);
            return Outcome::Reply(Reply::bare(400));
        }
        if nothing_queued && upgrading {
            // During an upgrade a GET must not be parked, or the client could not finish.
            return Outcome::Reply(Reply::ok_text(vec![PacketKind::Noop.digit()]));
        }
        if nothing_queued {
            *held_get = Some(conn);
            return Outcome::Hold(id);
        }
        let (body, sent) = session.take_payload();
        self.after_dequeue(timers, id, sent);
        Outcome::Reply(Reply::ok_text(body))
    }

    pub(super) fn polling_post_start(
        &mut self,
        timers: &mut dyn Timers,
        id: SessionId,
        conn: ConnId,
    ) -> Outcome {
        let Some(session) = self.sessions.get_mut(id) else {
            return Outcome::Reply(Reply::error(RequestError::UnknownSid));
        };
        let TransportState::Polling { reading_post, .. } = &mut session.transport else {
            return Outcome::Reply(Reply::error(RequestError::BadRequest));
        };
        if reading_post.is_some() {
            // Reference: "data request overlap from client" closes the session.
            self.close(timers, id, CloseReason::TransportError);
            return Outcome::Reply(Reply::bare(400));
        }
        *reading_post = Some(conn);
        Outcome::ReadBody(id)
    }

    /// The body of a polling POST arrived (the front door enforced `max_payload`).
    pub fn polling_body(
        &mut self,
        timers: &mut dyn Timers,
        now: Instant,
        id: SessionId,
        body: &[u8],
    ) -> Reply {
        if self.close_if_pong_overdue(timers, now, id) {
            return Reply::error(RequestError::UnknownSid);
        }
        match self.sessions.get_mut(id).map(|s| &mut s.transport) {
            Some(TransportState::Polling { reading_post, .. }) => *reading_post = None,
            // The session was upgraded or closed while the body was in flight.
            _ => return Reply::error(RequestError::BadRequest),
        }
        let parts = match payload::decode(body) {
            Ok(parts) => parts,
            Err(err) => {
                log::debug!("closing session: bad polling payload: {err}");
                self.close(timers, id, CloseReason::ParseError);
                return Reply::error(RequestError::BadRequest);
            }
        };
        for part in parts {
            let packet = match part {
                payload::Part::Text(kind, data) => {
                    Incoming::Text(kind, Bytes::copy_from_slice(data.as_bytes()))
                }
                payload::Part::Binary(data) => Incoming::Binary(Bytes::from(data)),
            };
            self.on_packet(timers, now, id, packet);
            if !self.sessions.contains(id) {
                break;
            }
        }
        Reply {
            status: 200,
            content_type: "text/html",
            body: b"ok".to_vec(),
        }
    }

    /// A polling POST whose body is larger than `max_payload`: the reference answers 413 and
    /// the session survives.
    pub fn polling_body_too_large(&mut self, id: SessionId) -> Reply {
        self.refuse_post(id);
        Reply::bare(413)
    }

    /// A POST body the process has no room for now (its memory budget is reached): `503`, the
    /// session survives and the client may send it again later.
    pub fn polling_body_over_budget(&mut self, id: SessionId) -> Reply {
        self.refuse_post(id);
        Reply::bare(503)
    }

    fn refuse_post(&mut self, id: SessionId) {
        if let Some(TransportState::Polling { reading_post, .. }) =
            self.sessions.get_mut(id).map(|s| &mut s.transport)
        {
            *reading_post = None;
        }
    }

    /// The connection holding a parked GET or a POST being read ended before it was answered.
    /// Like the reference ("poll connection closed prematurely"), that is a transport error
    /// which closes the session: a closed tab is noticed at once, not at the ping timeout.
    pub fn polling_conn_gone(&mut self, timers: &mut dyn Timers, id: SessionId, conn: ConnId) {
        let was_in_flight = matches!(
            self.sessions.get(id).map(|s| &s.transport),
            Some(TransportState::Polling { held_get, reading_post })
                if *held_get == Some(conn) || *reading_post == Some(conn)
        );
        if was_in_flight {
            self.close(timers, id, CloseReason::TransportError);
        }
    }

    /// Answers parked polling GETs that have something to send, and starts the stall clocks
    /// noted since the last flush. Run by [`Engine::settle`] once the layer above reacted, so
    /// that everything queued in one go leaves in one response.
    pub(super) fn flush(&mut self, timers: &mut dyn Timers, now: Instant) {
        self.arm_stall_timers(timers, now);
        for id in std::mem::take(&mut self.dirty) {
            let Some(session) = self.sessions.get_mut(id) else {
                continue;
            };
            let TransportState::Polling { held_get, .. } = &mut session.transport else {
                continue;
            };
            let Some(conn) = held_get.take() else {
                continue;
            };
            let (body, sent) = session.take_payload();
            self.actions.push_back(Action::AnswerPoll { conn, body });
            self.after_dequeue(timers, id, sent);
        }
    }

    /// Answers the parked GET, if any, with exactly `body`; the queue stays (or is dropped
    /// with the session).
    pub(super) fn answer_held_get(&mut self, id: SessionId, body: Vec<u8>) {
        let held = match self.sessions.get_mut(id).map(|s| &mut s.transport) {
            Some(TransportState::Polling { held_get, .. }) => held_get.take(),
            _ => None,
        };
        if let Some(conn) = held {
            self.actions.push_back(Action::AnswerPoll { conn, body });
        }
    }

    pub(super) fn release_held_get(
        &mut self,
        timers: &mut dyn Timers,
        id: SessionId,
        kind: PacketKind,
    ) {
        if let Some(session) = self.sessions.get_mut(id) {
            if let TransportState::Polling { held_get, .. } = &mut session.transport {
                if let Some(conn) = held_get.take() {
                    let (body, sent) = if session.queue.is_empty() {
                        (vec![kind.digit()], 0)
                    } else {
                        session.take_payload()
                    };
                    self.actions.push_back(Action::AnswerPoll { conn, body });
                    self.after_dequeue(timers, id, sent);
                }
            }
        }
    }
}
