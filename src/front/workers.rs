//! The loop's side of the tiny_http workers: plain-HTTP requests go over a [`Bridge`] each,
//! on bounded slots with a queue for the rest, and each response is pumped to its client at
//! the speed of the socket.

use super::*;

impl<L: Layer> Server<L> {
    pub(super) fn bridge_or_wait(&mut self, id: Handle, head: RequestHead, raw: Vec<u8>) {
        let path = head.target.split('?').next().unwrap_or_default();
        if head.method == Method::Post && self.config.drained_posts.iter().any(|p| p == path) {
            return self.redirect_and_drain(id, &head);
        }
        // Every plain-HTTP route is GET or HEAD. Refusing bodies here keeps the bridge simple
        // and keeps a client from tying up a worker by trickling a large body into it.
        if head.chunked || head.content_length.is_some_and(|n| n > 0) {
            return self.reject(id, 413, "request bodies are not accepted here");
        }
        if head.header("expect").is_some() {
            return self.reject(id, 417, "expectations are not supported");
        }
        if self.bridges.take_or_wait(id) {
            self.start_bridge(id, head, raw);
        } else {
            self.transition(id, State::BridgeWait { head, raw });
        }
    }

    /// A POST to one of `drained_posts` (the web app's share target, which its service worker
    /// takes once installed; before that the share cannot be kept): 303 to `/`, so the app
    /// opens instead of an error page. The body is not kept: after the answer it is read to
    /// its end and dropped, so that a phone still uploading a large share gets the 303 rather
    /// than a reset.
    fn redirect_and_drain(&mut self, id: Handle, head: &RequestHead) {
        let bytes = response::render(
            303,
            "text/plain; charset=UTF-8",
            "Location: /\r\n",
            b"",
            true,
        );
        self.send_and_drain(id, bytes, http::body_left(head));
    }

    /// Starts a bridged request on a slot the connection holds.
    fn start_bridge(&mut self, id: Handle, head: RequestHead, raw: Vec<u8>) {
        let failed = |server: &mut Self, status: u16, why: &str| {
            server.bridges.give_back();
            server.start_waiting_bridges();
            server.reject(id, status, why);
        };
        let Some(path) = self.config.http_socket.clone() else {
            return failed(self, 404, "not found");
        };
        let unix = match UnixStream::connect(&path) {
            Ok(unix) => unix,
            Err(e) => {
                log::error!("cannot reach the HTTP workers: {e}");
                return failed(self, 503, "server busy");
            }
        };
        let Some(conn) = self.conns.get(id) else {
            return;
        };
        let mut bridge = Box::new(Bridge::new(unix, &head, &raw, conn.peer));
        if self
            .poll
            .registry()
            .register(
                &mut bridge.unix,
                unix_token(id),
                Interest::READABLE | Interest::WRITABLE,
            )
            .is_err()
        {
            return failed(self, 503, "server busy");
        }
        self.transition(id, State::Bridge(bridge));
        self.bridge_write(id);
    }

    fn bridge_write(&mut self, id: Handle) {
        let failed = match self.conns.get_mut(id).map(|c| &mut c.state) {
            Some(State::Bridge(bridge)) => bridge.write().is_err(),
            _ => false,
        };
        if failed {
            self.reject(id, 502, "bad gateway");
        }
    }

    pub(super) fn bridge_ready(&mut self, id: Handle) {
        self.bridge_write(id);
        self.pump_bridge_response(id);
    }

    /// Moves the worker's response to the client until one side would block: the worker
    /// (resumed by its next readiness event) or the client (resumed when it drained, from
    /// `write_conn`). Under edge-triggered readiness stopping any earlier would stall.
    pub(super) fn pump_bridge_response(&mut self, id: Handle) {
        loop {
            let Some(conn) = self.conns.get_mut(id) else {
                return;
            };
            if conn.out.len() >= CLIENT_OUT_PAUSE {
                if conn.out.write_to(&mut conn.stream, &mut self.pool).is_err() {
                    return self.close_conn(id);
                }
                if conn.out.len() >= CLIENT_OUT_PAUSE {
                    return; // The client's socket is full.
                }
            }
            let State::Bridge(bridge) = &mut conn.state else {
                return;
            };
            match bridge.read() {
                Ok(Progress::ToClient(bytes)) => {
                    conn.out.push(b"", bytes, 0);
                    self.turn.wants_write(id);
                }
                Ok(Progress::Partial) => {}
                Ok(Progress::Blocked) if !bridge.is_done() => return,
                Ok(Progress::Blocked) => {}
                Err(e) => {
                    log::warn!("HTTP worker connection failed: {e}");
                    return self.close_conn(id);
                }
            }
            if bridge.is_done() {
                let keep_alive = bridge.keep_alive;
                return self.end_bridge(id, keep_alive);
            }
        }
    }

    /// Finishes a bridged request (its slot goes back with its state), and either goes back
    /// to reading heads or closes once the response is written.
    fn end_bridge(&mut self, id: Handle, keep_alive: bool) {
        let next = if keep_alive {
            State::Head
        } else {
            State::Closing { drain: 0 }
        };
        self.transition(id, next);
        self.turn.wants_write(id);
        if keep_alive {
            self.turn.read_again(id);
        }
    }

    /// Gives free slots to the connections waiting for one, in order.
    pub(super) fn start_waiting_bridges(&mut self) {
        while let Some(next) = self.bridges.next_waiting() {
            let Some(conn) = self.conns.get_mut(next) else {
                self.bridges.give_back();
                continue;
            };
            // Taken out for `start_bridge`, which moves the connection on from here at once.
            let State::BridgeWait { head, raw } = std::mem::replace(&mut conn.state, State::Head)
            else {
                self.bridges.give_back();
                continue;
            };
            self.start_bridge(next, head, raw);
        }
    }
}
