//! The glue between connections and the engine: WebSocket reading message by message, and
//! carrying out the engine's actions after the layers above reacted to its events.

use super::*;

impl<L: Layer> Server<L> {
    /// Reads a WebSocket message by message: the application sees each one (and may pause
    /// this sender for backpressure) before the next is read, so a paused sender overshoots
    /// by at most one message, however many it has in flight.
    pub(super) fn read_ws(&mut self, id: Handle) {
        let mut budget = READ_BUDGET;
        let mut events = Vec::new();
        let at = self.turn.now();
        loop {
            let (session, result) = {
                let Some(conn) = self.conns.get_mut(id) else {
                    return;
                };
                if conn.read_paused {
                    return;
                }
                let State::WebSocket { session, reader } = &mut conn.state else {
                    return;
                };
                let result = reader.read(
                    &mut conn.stream,
                    &mut self.scratch,
                    &mut self.pool,
                    &mut budget,
                    &mut events,
                );
                (*session, result)
            };
            for event in events.drain(..) {
                match event {
                    WsEvent::Text(data) => self.engine.ws_message(
                        &mut self.deadlines,
                        at,
                        session,
                        id,
                        Message::Text(data),
                    ),
                    WsEvent::Binary(data) => self.engine.ws_message(
                        &mut self.deadlines,
                        at,
                        session,
                        id,
                        Message::Binary(data),
                    ),
                    WsEvent::Ping(data) => self.queue_pong(id, data),
                    WsEvent::Close(_) => {
                        self.engine
                            .ws_closed(&mut self.deadlines, session, id, true);
                        // The client said it is done: nothing more to drain.
                        return self.close_ws(id, 1000, 0);
                    }
                }
            }
            self.settle(at);
            let refused = |server: &Self| server.config.max_payload;
            match result {
                Ok(ReadStatus::Decoded) => {}
                Ok(ReadStatus::WouldBlock) => return,
                Ok(ReadStatus::Budget) => return self.turn.read_again(id),
                Ok(ReadStatus::Admit(len)) => {
                    if !self.within_budget(len) {
                        log::debug!("refusing a {len} B websocket message: memory budget reached");
                        self.engine
                            .ws_closed(&mut self.deadlines, session, id, false);
                        let drain = len.min(DRAIN_MAX);
                        return self.close_ws(id, CLOSE_TRY_AGAIN_LATER, drain);
                    }
                    if let Some(State::WebSocket { reader, .. }) =
                        self.conns.get_mut(id).map(|c| &mut c.state)
                    {
                        reader.admit();
                    }
                }
                Err(WsError::TooLarge { coming }) => {
                    log::debug!("websocket message above maxPayload");
                    self.engine
                        .ws_closed(&mut self.deadlines, session, id, false);
                    // The client may still be writing the rest of it: drained, so that it
                    // gets the close frame rather than a reset.
                    let drain = usize::try_from(coming).unwrap_or(usize::MAX);
                    let drain = drain.saturating_add(refused(self)).min(DRAIN_MAX);
                    return self.close_ws(id, CLOSE_TOO_BIG, drain);
                }
                Err(WsError::Protocol(why, code)) => {
                    log::debug!("websocket protocol error: {why}");
                    self.engine
                        .ws_closed(&mut self.deadlines, session, id, false);
                    return self.close_ws(id, code, refused(self));
                }
                Err(WsError::Io(e)) => {
                    log::debug!("websocket read failed: {e}");
                    return self.close_conn(id);
                }
                Err(WsError::Eof) => return self.close_conn(id),
            }
        }
    }

    fn queue_ws(
        &mut self,
        id: Handle,
        opcode: tungstenite::protocol::frame::coding::OpCode,
        payload: Bytes,
        accounted: usize,
    ) {
        if let Some(conn) = self.conns.get_mut(id) {
            let (header, len) = ws::frame_header(opcode, payload.len());
            conn.out
                .push(header.get(..len).unwrap_or_default(), payload, accounted);
            self.turn.wants_write(id);
        }
    }

    /// Answers a ping, unless the answer to an earlier one is still unwritten.
    fn queue_pong(&mut self, id: Handle, payload: Bytes) {
        if let Some(conn) = self.conns.get_mut(id) {
            let (header, len) = ws::frame_header(ws::PONG, payload.len());
            if conn
                .out
                .push_pong(header.get(..len).unwrap_or_default(), payload)
            {
                self.turn.wants_write(id);
            }
        }
    }

    /// Sends a close frame with `code`, then drains up to `drain` bytes the client may still
    /// send before it reads the frame, then closes.
    fn close_ws(&mut self, id: Handle, code: u16, drain: usize) {
        let open = self
            .conns
            .get(id)
            .is_some_and(|c| matches!(c.state, State::WebSocket { .. }));
        if !open {
            return;
        }
        self.queue_ws(
            id,
            ws::CLOSE,
            Bytes::copy_from_slice(&code.to_be_bytes()),
            0,
        );
        self.transition(id, State::Closing { drain });
    }

    pub(super) fn apply(&mut self, action: Action) {
        match action {
            Action::AnswerPoll { conn, body } => {
                let answer_headers = match self.conns.get_mut(conn).map(|c| &mut c.state) {
                    Some(State::Held { answer_headers, .. }) => {
                        Some(std::mem::take(answer_headers))
                    }
                    _ => None,
                };
                if let Some(answer_headers) = answer_headers {
                    let bytes = response::render(
                        200,
                        "text/plain; charset=UTF-8",
                        &answer_headers,
                        &body,
                        false,
                    );
                    // The engine let go of the parked request when it answered it, so leaving
                    // `Held` gives it nothing back.
                    self.queue_response(conn, bytes, true);
                    // Anything the client sent meanwhile (a next request) can now be read.
                    self.turn.read_again(conn);
                }
            }
            Action::SendWs { conn, frame } => {
                let (opcode, payload, accounted) = match frame {
                    Frame::Text(bytes) => (ws::TEXT, bytes.clone(), bytes.len()),
                    Frame::Binary(bytes) => (ws::BINARY, bytes.clone(), bytes.len()),
                };
                let open = self
                    .conns
                    .get(conn)
                    .is_some_and(|c| matches!(c.state, State::WebSocket { .. }));
                if open {
                    self.queue_ws(conn, opcode, payload, accounted);
                }
            }
            Action::CloseWs { conn, code } => {
                // The server ends it: the client may be sending until it reads the frame.
                let drain = self.config.max_payload;
                self.close_ws(conn, code, drain);
            }
            Action::PauseRead { conn } => self.set_read_paused(conn, true),
            Action::ResumeRead { conn } => {
                if let Some(c) = self.conns.get(conn) {
                    let body_left = matches!(c.state, State::Body { .. });
                    self.set_read_paused(conn, false);
                    self.turn.read_again(conn);
                    if body_left {
                        // The body's wait was suspended while it was paused.
                        self.arm_wait(conn);
                    }
                }
            }
            Action::Flush { conn } => self.write_conn(conn),
        }
    }
}
