//! One connection's life outside its protocol: its deadline in the loop's wheel, its poll
//! interest, reading as its state wants (into `Conn::input`, discarded, or only watched for
//! EOF), lingering after a last response, and closing.

use super::*;

impl<L: Layer> Server<L> {
    /// Registers the connection for what it can use now: readable unless its reading is
    /// paused, writable only while bytes wait in its queue. So a paused sender's bytes stay in
    /// the kernel without waking the loop, and a connection with nothing to write is not woken
    /// as its peer acknowledges. Changes the registration only when that changes.
    pub(super) fn sync_interest(&mut self, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let read = (!conn.read_paused).then_some(Interest::READABLE);
        let write = (!conn.out.is_empty()).then_some(Interest::WRITABLE);
        let want = match (read, write) {
            (Some(r), Some(w)) => Some(r | w),
            (r, w) => r.or(w),
        };
        if want == conn.interest {
            return;
        }
        let registry = self.poll.registry();
        let token = tcp_token(id);
        let result = match (conn.interest, want) {
            (None, Some(interest)) => registry.register(&mut conn.stream, token, interest),
            (Some(_), Some(interest)) => registry.reregister(&mut conn.stream, token, interest),
            (Some(_), None) => registry.deregister(&mut conn.stream),
            (None, None) => Ok(()),
        };
        match result {
            Ok(()) => conn.interest = want,
            Err(e) => {
                log::debug!("cannot change a connection's poll interest: {e}");
                self.close_conn(id);
            }
        }
    }

    /// Stops or resumes reading a connection (backpressure), its interest following.
    pub(super) fn set_read_paused(&mut self, id: Handle, paused: bool) {
        if let Some(conn) = self.conns.get_mut(id) {
            conn.read_paused = paused;
        }
        self.sync_interest(id);
    }

    pub(super) fn arm_head_timer(&mut self, now: Instant, id: Handle) {
        self.arm_deadline(now + self.config.head_timeout, id);
    }

    pub(super) fn arm_deadline(&mut self, deadline: Instant, id: Handle) {
        let timer = self.deadlines.set_conn(deadline, id).ok();
        if let Some(conn) = self.conns.get_mut(id) {
            if let Some(old) = std::mem::replace(&mut conn.timer, timer) {
                self.deadlines.cancel_conn(old);
            }
        }
    }

    pub(super) fn disarm_timer(&mut self, id: Handle) {
        if let Some(timer) = self.conns.get_mut(id).and_then(|c| c.timer.take()) {
            self.deadlines.cancel_conn(timer);
        }
    }

    /// Gives a connection that is finishing (a last response, a close frame, a bridged
    /// response) until this deadline to make progress; each write that moves bytes extends it.
    pub(super) fn arm_drain_timer(&mut self, id: Handle) {
        let now = self.now;
        self.arm_head_timer(now, id);
    }

    pub(super) fn conn_deadline(&mut self, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        conn.timer = None;
        match conn.state {
            State::Head if conn.input.is_empty() => self.close_conn(id),
            State::Head | State::Body { .. } => self.reject(id, 408, "request timeout"),
            State::BridgeWait { .. } => self.reject(id, 503, "server busy"),
            // A client that stopped reading its last response, a close frame or a bridged
            // response: it gets no more of the server's time.
            State::Closing { .. }
            | State::Lingering { .. }
            | State::Bridge(_)
            | State::WebSocket { closing: true, .. } => {
                log::debug!("closing a connection that stopped reading");
                self.close_conn(id);
            }
            State::Held { .. } | State::WebSocket { closing: false, .. } => {}
        }
    }

    /// Reads whatever the connection has, as its state wants it.
    pub(super) fn read_conn(&mut self, now: Instant, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if conn.read_paused {
            return;
        }
        match &mut conn.state {
            State::WebSocket { closing: false, .. } => self.read_ws(now, id),
            State::WebSocket { closing: true, .. } | State::Closing { .. } => {
                self.discard_input(id)
            }
            State::Lingering { .. } => self.linger(id),
            State::Held { .. } | State::BridgeWait { .. } | State::Bridge(_) => {
                // Nothing may arrive while parked except EOF; detect it without consuming a
                // pipelined request (clients do not pipeline behind a long-poll).
                self.peek_eof(id);
            }
            // Pipelined requests are taken one at a time: the next is not read or parsed
            // until the previous answer has gone out (resumed from `write_conn`), so a client
            // that never reads its answers holds one of them, not one per request it sent.
            State::Head if !conn.out.is_empty() => {}
            State::Head | State::Body { .. } => self.read_http(now, id),
        }
    }

    pub(super) fn peek_eof(&mut self, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let mut probe = [0u8; 1];
        match conn.stream.peek(&mut probe) {
            Ok(0) => self.close_conn(id),
            Err(e) if !nonblocking::would_block(&e) && !nonblocking::interrupted(&e) => {
                self.close_conn(id)
            }
            _ => {}
        }
    }

    /// The last response is out: shut our side down and drain up to `left` bytes the client
    /// still sends.
    pub(super) fn begin_linger(&mut self, id: Handle, left: usize) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if conn.stream.shutdown(std::net::Shutdown::Write).is_err() {
            return self.close_conn(id);
        }
        conn.state = State::Lingering { left };
        let deadline = self.now + LINGER;
        self.arm_deadline(deadline, id);
        self.linger(id);
    }

    /// Drops what a lingering client sends; closes at its EOF, once it sent too much, or once
    /// it sent nothing for [`LINGER`] (each read that brings bytes gives it [`LINGER`] again).
    pub(super) fn linger(&mut self, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let State::Lingering { left } = &mut conn.state else {
            return;
        };
        // Like any read, at most READ_BUDGET a turn: a fast uploader is revisited next turn.
        let mut budget = READ_BUDGET;
        let mut progress = false;
        loop {
            let room = (*left).min(self.scratch.len());
            if room == 0 {
                return self.close_conn(id);
            }
            if budget == 0 {
                self.again.push(id);
                break;
            }
            let buf = self.scratch.get_mut(..room.min(budget)).unwrap_or_default();
            match nonblocking::read(&mut conn.stream, buf) {
                Ok(Got::Data(n)) => {
                    *left = left.saturating_sub(n);
                    budget = budget.saturating_sub(n);
                    progress = true;
                }
                Ok(Got::WouldBlock) => break,
                Ok(Got::Eof) | Err(_) => return self.close_conn(id),
            }
        }
        if progress {
            let deadline = self.now + LINGER;
            self.arm_deadline(deadline, id);
        }
    }

    pub(super) fn discard_input(&mut self, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        loop {
            match nonblocking::read(&mut conn.stream, &mut self.scratch) {
                Ok(Got::Data(_)) => {}
                Ok(Got::WouldBlock) => return,
                Ok(Got::Eof) | Err(_) => return self.close_conn(id),
            }
        }
    }

    /// Reads into the connection's input buffer, bounded by `limit` bytes in total.
    /// Returns false when the connection was closed.
    pub(super) fn fill_input(&mut self, id: Handle, limit: usize) -> bool {
        let Some(conn) = self.conns.get_mut(id) else {
            return false;
        };
        let chunk = &mut self.scratch;
        while conn.input.len() < limit {
            let room = (limit - conn.input.len()).min(chunk.len());
            match nonblocking::read(&mut conn.stream, chunk.get_mut(..room).unwrap_or_default()) {
                Ok(Got::Data(n)) => conn
                    .input
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Ok(Got::WouldBlock) => return true,
                Ok(Got::Eof) | Err(_) => {
                    self.close_conn(id);
                    return false;
                }
            }
        }
        // At the limit with possibly more unread: come back after this turn.
        self.again.push(id);
        true
    }

    /// Closes a connection now and tells the engine what it carried.
    /// A WebSocket closed this way was lost (no close frame was read: that path tells the
    /// engine itself before closing).
    pub(super) fn close_conn(&mut self, id: Handle) {
        self.disarm_timer(id);
        let Some(mut conn) = self.conns.remove(id) else {
            return;
        };
        if let Some(key) = conn.counted {
            self.uncount_address(key);
        }
        let _ = self.poll.registry().deregister(&mut conn.stream);
        self.abandon(id, conn.state);
    }

    /// Tells whoever relied on a connection's old state that it is over.
    pub(super) fn abandon(&mut self, id: Handle, old: State) {
        match old {
            State::Held { session, .. } | State::Body { session, .. } => self
                .engine
                .polling_conn_gone(&mut self.deadlines, session, id),
            State::BridgeWait { .. } => self.bridge_queue.retain(|c| *c != id),
            State::Bridge(mut bridge) => {
                let _ = self.poll.registry().deregister(&mut bridge.unix);
                self.bridged = self.bridged.saturating_sub(1);
                self.start_waiting_bridge();
            }
            State::WebSocket { session, .. } => {
                self.engine
                    .ws_closed(&mut self.deadlines, session, id, false)
            }
            State::Head | State::Closing { .. } | State::Lingering { .. } => {}
        }
    }
}
