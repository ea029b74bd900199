//! The loop's side of the bridge to the tiny_http workers: bounded slots, a queue for the
//! rest, and pumping each response to its client at the speed of the socket.

use super::*;

/// The manifest's `share_target.action`.
const SHARE_TARGET: &str = "/share-target";
/// Bytes of a share sent before the service worker runs that are read and dropped at most
/// (about a long phone video): past this the connection is closed, and the phone may see a
/// reset instead of the 303. Dropping costs a read per 16 KiB and no memory.
const SHARE_TARGET_DRAIN: usize = 2 << 30;

impl<L: Layer> Server<L> {
    pub(super) fn bridge_or_wait(
        &mut self,
        now: Instant,
        id: Handle,
        head: RequestHead,
        raw: Vec<u8>,
    ) {
        if head.method == Method::Post && head.target.split('?').next() == Some(SHARE_TARGET) {
            return self.share_target_without_worker(id, &head);
        }
        // Every plain-HTTP route is GET or HEAD. Refusing bodies here keeps the bridge simple
        // and keeps a client from tying up a worker by trickling a large body into it.
        if head.chunked || head.content_length.is_some_and(|n| n > 0) {
            return self.reject(id, 413, "request bodies are not accepted here");
        }
        if head.header("expect").is_some() {
            return self.reject(id, 417, "expectations are not supported");
        }
        if self.bridged >= self.config.max_bridged {
            if let Some(conn) = self.conns.get_mut(id) {
                conn.state = State::BridgeWait { head, raw };
            }
            self.bridge_queue.push_back(id);
            self.arm_head_timer(now, id);
            return;
        }
        self.start_bridge(id, head, raw);
    }

    /// The manifest's Web Share Target posts here; the service worker takes that POST once
    /// installed. Before that the share cannot be kept, so the app opens instead of an error
    /// page: 303 makes the browser GET `/`. The body is not kept: after the answer it is read
    /// to its end and dropped, so that a phone still uploading a large share gets the 303
    /// rather than a reset.
    fn share_target_without_worker(&mut self, id: Handle, head: &RequestHead) {
        let bytes = response::render(
            303,
            "text/plain; charset=UTF-8",
            "Location: /\r\n",
            b"",
            true,
        );
        let body = match head.content_length {
            Some(length) => usize::try_from(length).unwrap_or(usize::MAX),
            None if head.chunked => SHARE_TARGET_DRAIN,
            None => 0,
        };
        self.send_and_drain(id, bytes, body.min(SHARE_TARGET_DRAIN));
    }

    pub(super) fn start_bridge(&mut self, id: Handle, head: RequestHead, raw: Vec<u8>) {
        let Some(path) = self.config.http_socket.clone() else {
            return self.reject(id, 404, "not found");
        };
        let unix = match UnixStream::connect(&path) {
            Ok(unix) => unix,
            Err(e) => {
                log::error!("cannot reach the HTTP workers: {e}");
                return self.reject(id, 503, "server busy");
            }
        };
        let Some(conn) = self.conns.get_mut(id) else {
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
            return self.reject(id, 503, "server busy");
        }
        conn.state = State::Bridge(bridge);
        self.bridged += 1;
        self.arm_drain_timer(id);
        self.bridge_write(id);
    }

    pub(super) fn bridge_write(&mut self, id: Handle) {
        let failed = match self.conns.get_mut(id).map(|c| &mut c.state) {
            Some(State::Bridge(bridge)) => bridge.write().is_err(),
            _ => false,
        };
        if failed {
            self.end_bridge(id, false);
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
                    self.end_bridge(id, false);
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
                    self.to_write.push(id);
                }
                Ok(Progress::Partial) => {}
                Ok(Progress::Blocked) if !bridge.is_done() => return,
                Ok(Progress::Blocked) => {}
                Err(e) => {
                    log::warn!("HTTP worker connection failed: {e}");
                    self.end_bridge(id, false);
                    return self.close_conn(id);
                }
            }
            if bridge.is_done() {
                let keep_alive = bridge.keep_alive;
                return self.end_bridge(id, keep_alive);
            }
        }
    }

    /// Finishes a bridged request: frees the slot, and either goes back to reading heads or
    /// closes once the response is written.
    pub(super) fn end_bridge(&mut self, id: Handle, keep_alive: bool) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let state = std::mem::replace(
            &mut conn.state,
            if keep_alive {
                State::Head
            } else {
                State::Closing { drain: 0 }
            },
        );
        if let State::Bridge(mut bridge) = state {
            let _ = self.poll.registry().deregister(&mut bridge.unix);
            self.bridged = self.bridged.saturating_sub(1);
        }
        self.to_write.push(id);
        if keep_alive {
            self.arm_head_timer(self.now, id);
            self.again.push(id);
        }
        self.start_waiting_bridge();
    }

    pub(super) fn start_waiting_bridge(&mut self) {
        while self.bridged < self.config.max_bridged {
            let Some(next) = self.bridge_queue.pop_front() else {
                return;
            };
            let Some(conn) = self.conns.get_mut(next) else {
                continue;
            };
            if let State::BridgeWait { head, raw } = std::mem::replace(&mut conn.state, State::Head)
            {
                self.disarm_timer(next);
                self.start_bridge(next, head, raw);
            }
        }
    }
}
