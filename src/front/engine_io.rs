//! The glue between connections and the engine: WebSocket reading message by message, and
//! carrying out the engine's actions after the layers above reacted to its events.

use super::*;

impl<L: Layer> Server<L> {
    /// Reads a WebSocket message by message: the application sees each one (and may pause
    /// this sender for backpressure) before the next is read, so a paused sender overshoots
    /// by at most one message, however many it has in flight.
    pub(super) fn read_ws(&mut self, now: Instant, id: Handle) {
        let mut budget = READ_BUDGET;
        let mut events = Vec::new();
        loop {
            let (session, result) = {
                let Some(conn) = self.conns.get_mut(id) else {
                    return;
                };
                if conn.read_paused {
                    return;
                }
                let State::WebSocket {
                    session,
                    reader,
                    closing: false,
                } = &mut conn.state
                else {
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
                        now,
                        session,
                        id,
                        Message::Text(data),
                    ),
                    WsEvent::Binary(data) => self.engine.ws_message(
                        &mut self.deadlines,
                        now,
                        session,
                        id,
                        Message::Binary(data),
                    ),
                    WsEvent::Ping(data) => self.queue_pong(id, data),
                    WsEvent::Close(_) => {
                        self.engine
                            .ws_closed(&mut self.deadlines, session, id, true);
                        self.close_ws(id, 1000);
                        return;
                    }
                }
            }
            self.settle(now);
            match result {
                Ok(ReadStatus::Decoded) => {}
                Ok(ReadStatus::WouldBlock) => return,
                Ok(ReadStatus::Budget) => return self.again.push(id),
                Ok(ReadStatus::Admit(len)) => {
                    if !self.within_budget(len) {
                        log::debug!("refusing a {len} B websocket message: memory budget reached");
                        self.engine
                            .ws_closed(&mut self.deadlines, session, id, false);
                        return self.close_ws(id, CLOSE_TRY_AGAIN_LATER);
                    }
                    if let Some(State::WebSocket { reader, .. }) =
                        self.conns.get_mut(id).map(|c| &mut c.state)
                    {
                        reader.admit();
                    }
                }
                Err(WsError::TooLarge) => {
                    log::debug!("websocket message above maxPayload");
                    return self.engine.ws_too_large(&mut self.deadlines, session, id);
                }
                Err(WsError::Protocol(why, code)) => {
                    log::debug!("websocket protocol error: {why}");
                    self.engine
                        .ws_closed(&mut self.deadlines, session, id, false);
                    return self.close_ws(id, code);
                }
                Err(WsError::Io(e)) => {
                    log::debug!("websocket read failed: {e}");
                    return self.close_conn(id);
                }
                Err(WsError::Eof) => return self.close_conn(id),
            }
        }
    }

    pub(super) fn queue_ws(
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
            self.to_write.push(id);
        }
    }

    /// Answers a ping, unless the answer to an earlier one is still unwritten.
    pub(super) fn queue_pong(&mut self, id: Handle, payload: Bytes) {
        if let Some(conn) = self.conns.get_mut(id) {
            let (header, len) = ws::frame_header(ws::PONG, payload.len());
            if conn
                .out
                .push_pong(header.get(..len).unwrap_or_default(), payload)
            {
                self.to_write.push(id);
            }
        }
    }

    /// Sends a close frame and closes once it is written.
    pub(super) fn close_ws(&mut self, id: Handle, code: u16) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if let State::WebSocket { closing, .. } = &mut conn.state {
            if *closing {
                return;
            }
            *closing = true;
            self.queue_ws(
                id,
                ws::CLOSE,
                Bytes::copy_from_slice(&code.to_be_bytes()),
                0,
            );
            self.arm_drain_timer(id);
        } else {
            self.close_conn(id);
        }
    }

    /// Lets the layers above react, then carries out what the engine decided, until quiet.
    pub(super) fn settle(&mut self, now: Instant) {
        loop {
            while let Some(event) = self.engine.events.pop_front() {
                self.layer
                    .handle(&mut self.engine, &mut self.deadlines, now, event);
            }
            self.engine.flush(&mut self.deadlines, now);
            if self.engine.actions.is_empty() {
                if self.engine.events.is_empty() {
                    return;
                }
                continue;
            }
            while let Some(action) = self.engine.actions.pop_front() {
                self.apply(now, action);
            }
        }
    }

    pub(super) fn apply(&mut self, now: Instant, action: Action) {
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
                    self.queue_response(now, conn, bytes, true);
                    // Anything the client sent meanwhile (a next request) can now be read.
                    self.again.push(conn);
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
                    .is_some_and(|c| matches!(c.state, State::WebSocket { closing: false, .. }));
                if open {
                    self.queue_ws(conn, opcode, payload, accounted);
                }
            }
            Action::CloseWs { conn, code } => self.close_ws(conn, code),
            Action::PauseRead { conn } => self.set_read_paused(conn, true),
            Action::ResumeRead { conn } => {
                if let Some(c) = self.conns.get(conn) {
                    let body_left = matches!(c.state, State::Body { .. });
                    self.set_read_paused(conn, false);
                    self.again.push(conn);
                    if body_left {
                        self.arm_head_timer(now, conn);
                    }
                }
            }
            Action::Flush { conn } => self.write_conn(conn),
        }
    }
}
