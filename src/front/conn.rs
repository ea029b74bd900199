//! One connection's life outside its protocol: moving it between states (the one deadline of
//! each, and what leaving one gives back), its poll interest, reading as its state wants
//! (into `Conn::input`, discarded, or only watched for EOF), lingering after its last bytes,
//! and closing.

use super::machine::{Progress, Wait};
use super::*;

impl<L: Layer> Server<L> {
    /// Moves a connection to `next`: gives back what its old state held, and arms the new
    /// state's one deadline in place of the old one's. Every change of state goes through here.
    pub(super) fn transition(&mut self, id: Handle, next: State) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let old = std::mem::replace(&mut conn.state, next);
        self.give_back(id, old.release());
        self.arm_wait(id);
    }

    /// Arms the deadline of the connection's state from now (cancelling the one it had).
    pub(super) fn arm_wait(&mut self, id: Handle) {
        self.disarm(id);
        let head_timeout = self.config.head_timeout;
        let Some(wait) = self.conns.get(id).and_then(|c| c.state.wait()) else {
            return;
        };
        let deadline = self.turn.now() + wait.duration(head_timeout);
        let timer = self.deadlines.set_conn(deadline, id).ok();
        if let Some(conn) = self.conns.get_mut(id) {
            conn.timer = timer;
        }
    }

    /// Cancels the connection's deadline (its state's wait is suspended, or over).
    pub(super) fn disarm(&mut self, id: Handle) {
        if let Some(timer) = self.conns.get_mut(id).and_then(|c| c.timer.take()) {
            self.deadlines.cancel_conn(timer);
        }
    }

    /// Bytes moved: a wait that restarts on such progress starts again.
    pub(super) fn progress(&mut self, id: Handle, progress: Progress) {
        let restarts = self
            .conns
            .get(id)
            .and_then(|c| c.state.wait())
            .is_some_and(|wait: Wait| wait.restarts_on(progress));
        if restarts {
            self.arm_wait(id);
        }
    }

    /// The connection's deadline passed.
    pub(super) fn conn_deadline(&mut self, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        conn.timer = None;
        match conn.state.expiry(conn.input.is_empty()) {
            Expiry::Close => {
                log::debug!("closing a connection whose time ran out");
                self.close_conn(id);
            }
            Expiry::Reject(status, why) => self.reject(id, status, why),
        }
    }

    /// Gives back what a state held.
    fn give_back(&mut self, id: Handle, release: Release) {
        match release {
            Release::Nothing => {}
            Release::PollingConn(session) => {
                self.engine
                    .polling_conn_gone(&mut self.deadlines, session, id)
            }
            Release::WebSocket(session) => {
                self.engine
                    .ws_closed(&mut self.deadlines, session, id, false)
            }
            Release::Bridge(mut bridge) => {
                let _ = self.poll.registry().deregister(&mut bridge.unix);
                self.bridges.give_back();
                self.start_waiting_bridges();
            }
            Release::BridgeQueue => self.bridges.leave_queue(id),
        }
    }

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

    /// Reads whatever the connection has, as its state wants it.
    pub(super) fn read_conn(&mut self, id: Handle) {
        let Some(conn) = self.conns.get(id) else {
            return;
        };
        if conn.read_paused {
            return;
        }
        match conn.state.reading(!conn.out.is_empty()) {
            Reading::WebSocket => self.read_ws(id),
            Reading::Http => self.read_http(id),
            Reading::Discard => self.discard_input(id),
            Reading::Linger => self.linger(id),
            Reading::WatchEof => self.peek_eof(id),
            Reading::Wait => {}
        }
    }

    /// Closes a connection that closed its side while it may send nothing (clients do not
    /// pipeline behind a long-poll), without consuming a pipelined request.
    fn peek_eof(&mut self, id: Handle) {
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

    /// The last bytes are out: shut our side down and drain up to `left` bytes the client
    /// still sends.
    pub(super) fn begin_linger(&mut self, id: Handle, left: usize) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if conn.stream.shutdown(std::net::Shutdown::Write).is_err() {
            return self.close_conn(id);
        }
        self.transition(id, State::Lingering { left });
        self.linger(id);
    }

    /// Drops what a lingering client sends, at most READ_BUDGET a turn (a fast uploader is
    /// read again first thing next turn); closes at its EOF or once it sent too much.
    fn linger(&mut self, id: Handle) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let State::Lingering { left } = &mut conn.state else {
            return;
        };
        let mut budget = READ_BUDGET;
        let mut moved = false;
        loop {
            let room = (*left).min(self.scratch.len());
            if room == 0 {
                return self.close_conn(id);
            }
            if budget == 0 {
                self.turn.read_again(id);
                break;
            }
            let buf = self.scratch.get_mut(..room.min(budget)).unwrap_or_default();
            match nonblocking::read(&mut conn.stream, buf) {
                Ok(Got::Data(n)) => {
                    *left = left.saturating_sub(n);
                    budget = budget.saturating_sub(n);
                    moved = true;
                }
                Ok(Got::WouldBlock) => break,
                Ok(Got::Eof) | Err(_) => return self.close_conn(id),
            }
        }
        if moved {
            self.progress(id, Progress::Read);
        }
    }

    /// Drops what a connection whose last bytes are still being written sends.
    fn discard_input(&mut self, id: Handle) {
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
        let before = conn.input.len();
        let chunk = &mut self.scratch;
        let mut at_limit = true;
        while conn.input.len() < limit {
            let room = (limit - conn.input.len()).min(chunk.len());
            match nonblocking::read(&mut conn.stream, chunk.get_mut(..room).unwrap_or_default()) {
                Ok(Got::Data(n)) => conn
                    .input
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Ok(Got::WouldBlock) => {
                    at_limit = false;
                    break;
                }
                Ok(Got::Eof) | Err(_) => {
                    self.close_conn(id);
                    return false;
                }
            }
        }
        let moved = conn.input.len() > before;
        if at_limit {
            // At the limit with possibly more unread: read again next turn.
            self.turn.read_again(id);
        }
        if moved {
            self.progress(id, Progress::Read);
        }
        true
    }

    /// Closes a connection now and gives back what its state held. A WebSocket closed this way
    /// was lost (no close frame was read: that path tells the engine itself before closing).
    pub(super) fn close_conn(&mut self, id: Handle) {
        self.disarm(id);
        let Some(mut conn) = self.conns.remove(id) else {
            return;
        };
        if let Some(key) = conn.counted {
            self.addresses.remove(key);
        }
        let _ = self.poll.registry().deregister(&mut conn.stream);
        self.give_back(id, conn.state.release());
    }
}
