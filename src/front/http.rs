//! HTTP/1.1 on a connection: request heads (bounded in size and time), routing to Engine.IO or
//! the bridge, polling bodies, and the answers the loop writes itself.

use super::*;

/// The body of the answer to a request for a host name the server does not serve.
const MISDIRECTED: &str = "this server does not answer to the host name in this request; \
     if devices open it by that name, add the name to SERVED_HOSTS";

impl<L: Layer> Server<L> {
    pub(super) fn read_http(&mut self, id: Handle) {
        loop {
            let Some(conn) = self.conns.get(id) else {
                return;
            };
            match &conn.state {
                State::Head => {
                    // A pipelined head may already be buffered: parse before reading more,
                    // and parse again only if more bytes came.
                    let mut parsed = if conn.input.is_empty() {
                        Ok(None)
                    } else {
                        http_head::parse_request_head(&conn.input, MAX_HEADERS)
                    };
                    if matches!(parsed, Ok(None)) {
                        let before = conn.input.len();
                        if !self.fill_input(id, self.config.head_max_bytes + 1) {
                            return;
                        }
                        let Some(conn) = self.conns.get(id) else {
                            return;
                        };
                        if conn.input.len() > before {
                            parsed = http_head::parse_request_head(&conn.input, MAX_HEADERS);
                        }
                    }
                    let Some(conn) = self.conns.get_mut(id) else {
                        return;
                    };
                    match parsed {
                        Ok(Some(head)) if head.head_len <= self.config.head_max_bytes => {
                            let raw: Vec<u8> = conn.input.drain(..head.head_len).collect();
                            self.on_head(id, head, raw);
                        }
                        Ok(Some(_)) => return self.reject(id, 431, "request head too large"),
                        Ok(None) if conn.input.len() > self.config.head_max_bytes => {
                            return self.reject(id, 431, "request head too large")
                        }
                        Ok(None) => return,
                        Err(err) => return self.reject(id, err.status(), err.reason()),
                    }
                }
                State::Body { need, session, .. } => {
                    let need = *need;
                    if self.engine.is_held(*session) {
                        // Backpressure (see `Engine::hold_sender`): the body stays in the
                        // kernel, with no deadline, until the engine resumes this connection.
                        self.disarm(id);
                        return self.set_read_paused(id, true);
                    }
                    if conn.input.len() < need && !self.fill_input(id, need) {
                        return;
                    }
                    let Some(conn) = self.conns.get_mut(id) else {
                        return;
                    };
                    if conn.input.len() < need {
                        return;
                    }
                    let body: Vec<u8> = conn.input.drain(..need).collect();
                    let State::Body {
                        session,
                        answer_headers,
                        ..
                    } = &mut conn.state
                    else {
                        return;
                    };
                    let (session, answer_headers) = (*session, std::mem::take(answer_headers));
                    // The engine lets go of the request as it reads the body, so leaving `Body`
                    // for `Head` gives it nothing back.
                    let reply = self.engine.polling_body(
                        &mut self.deadlines,
                        self.turn.now(),
                        session,
                        &body,
                    );
                    let bytes = response::render(
                        reply.status,
                        reply.content_type,
                        &answer_headers,
                        &reply.body,
                        false,
                    );
                    self.queue_response(id, bytes, true);
                }
                _ => return,
            }
            // Another request may already be buffered (keep-alive), or a body already
            // complete (`Content-Length: 0` needs no byte at all); stop when neither is, and
            // before a next request while an answer is still unwritten.
            let more = self.conns.get(id).is_some_and(|c| match c.state {
                State::Head => !c.input.is_empty() && c.out.is_empty(),
                State::Body { need, .. } => c.input.len() >= need,
                _ => false,
            });
            if !more {
                return;
            }
        }
    }

    fn on_head(&mut self, id: Handle, head: RequestHead, raw: Vec<u8>) {
        // A trusted proxy's connection is counted under the client its latest head names: a
        // proxy carries one client's requests after another's on a connection it keeps
        // (HAProxy's `http-reuse`). A direct client's address never changes.
        if let Some((peer, counted)) = self.conns.get(id).map(|c| (c.peer, c.counted)) {
            let client = peer::client_address(peer, &head, &self.config.trusted_proxies);
            if counted != Some(crate::util::address::limit_key(client)) {
                if let Some(old) = counted {
                    self.addresses.remove(old);
                    if let Some(conn) = self.conns.get_mut(id) {
                        conn.counted = None;
                    }
                }
                if !self.addresses.has_room(client) {
                    self.refused += 1;
                    self.log_refusals(self.turn.now());
                    return self.reject(id, 503, "too many connections from this address");
                }
                self.count_address(id, client);
            }
        }
        // Before anything is routed: a page on a rebound DNS name must not reach the app, the
        // Engine.IO endpoint or any route (docs/security.md, "DNS rebinding").
        let hosts = head.headers.iter().filter(|(n, _)| n == "host");
        if !self
            .config
            .served_hosts
            .allows(hosts.map(|(_, v)| v.as_slice()))
        {
            return self.reject(id, 421, MISDIRECTED);
        }
        let (path, query_string) = query::split_target(&head.target);
        let mount = self
            .config
            .engine_paths
            .iter()
            .position(|p| path == p.trim_end_matches('/') || path.starts_with(p.as_str()));
        let Some(mount) = mount else {
            return self.bridge_or_wait(id, head, raw);
        };
        let origin = self.cors.check(&head);
        let websocket = head.header_has_token("upgrade", "websocket");
        if origin == OriginCheck::Refused {
            return self.refuse_engine(id, websocket, engine::RequestError::Forbidden, &origin);
        }
        if head.method == Method::Options && !websocket {
            let bytes = cors::preflight(&origin, &head);
            return self.queue_response(id, bytes, head.keep_alive);
        }
        let ws_key = head.header("sec-websocket-key").map(<[u8]>::to_vec);
        let ws_valid = websocket
            && head.method == Method::Get
            && head.header_has_token("connection", "upgrade")
            && ws_key.is_some()
            && head.header("sec-websocket-version") == Some(b"13");
        if websocket && !ws_valid {
            return self.refuse_engine(id, true, engine::RequestError::BadRequest, &origin);
        }
        let engine_query = query::parse_engine_query(query_string);
        let Some(peer) = self.conns.get(id).map(|c| c.peer) else {
            return;
        };
        let request = engine::Request {
            method: head.method,
            query: &engine_query,
            websocket: ws_valid,
            remote: peer::client_address(peer, &head, &self.config.trusted_proxies),
            raw_query: query_string,
            mount,
        };
        // As the reference: polling answers must never be cached.
        let answer_headers = format!("Cache-Control: no-store\r\n{}", cors::cors_headers(&origin));
        let now = self.turn.now();
        match self.engine.request(&mut self.deadlines, now, &request, id) {
            Outcome::Reply(reply) => {
                let bytes = response::render(
                    reply.status,
                    reply.content_type,
                    &answer_headers,
                    &reply.body,
                    !head.keep_alive,
                );
                self.queue_response(id, bytes, head.keep_alive);
            }
            Outcome::Hold(session) => self.transition(
                id,
                State::Held {
                    session,
                    answer_headers,
                },
            ),
            Outcome::ReadBody(session) => {
                let length = head.content_length.unwrap_or(0);
                let large = length >= ws::LARGE_INPUT as u64;
                let too_large = head.chunked || length > self.config.max_payload as u64;
                if too_large || (large && !self.within_budget(length as usize)) {
                    let reply = if too_large {
                        self.engine.polling_body_too_large(session)
                    } else {
                        log::debug!("refusing a {length} B polling body: memory budget reached");
                        self.engine.polling_body_over_budget(session)
                    };
                    let bytes = response::render(
                        reply.status,
                        reply.content_type,
                        &answer_headers,
                        &reply.body,
                        true,
                    );
                    return self.send_and_drain(id, bytes, body_left(&head));
                }
                self.transition(
                    id,
                    State::Body {
                        session,
                        need: length as usize,
                        answer_headers,
                    },
                );
            }
            Outcome::AcceptWebSocket(session) => {
                let key = ws_key.unwrap_or_default();
                let Some(conn) = self.conns.get_mut(id) else {
                    return;
                };
                conn.out
                    .push(b"", Bytes::from(ws::accept_response(&key)), 0);
                let leftover = std::mem::take(&mut conn.input);
                let reader = Box::new(WsReader::new(self.config.max_payload, &leftover));
                self.transition(id, State::WebSocket { session, reader });
                self.turn.wants_write(id);
                self.turn.read_again(id);
            }
            Outcome::AcceptThenClose => {
                let key = ws_key.unwrap_or_default();
                let Some(conn) = self.conns.get_mut(id) else {
                    return;
                };
                conn.out
                    .push(b"", Bytes::from(ws::accept_response(&key)), 0);
                let (header, len) = ws::frame_header(ws::CLOSE, 2);
                conn.out.push(
                    header.get(..len).unwrap_or_default(),
                    Bytes::from_static(&[0x03, 0xe8]), // 1000, normal closure
                    0,
                );
                conn.input.clear();
                self.transition(id, State::Closing { drain: 0 });
                self.turn.wants_write(id);
            }
            Outcome::RejectWebSocket(message) => {
                let bytes = response::render(400, "text/html", "", message.as_bytes(), true);
                self.send_and_drain(id, bytes, 0);
            }
        }
    }

    fn refuse_engine(
        &mut self,
        id: Handle,
        websocket: bool,
        error: engine::RequestError,
        origin: &OriginCheck,
    ) {
        if websocket {
            let bytes = response::render(400, "text/html", "", error.message().as_bytes(), true);
            return self.send_and_drain(id, bytes, 0);
        }
        let reply = engine::Reply::error(error);
        let bytes = response::render(
            reply.status,
            reply.content_type,
            &cors::cors_headers(origin),
            &reply.body,
            false,
        );
        self.queue_response(id, bytes, true);
    }

    /// Queues a complete response and returns the connection to reading heads (or closes it).
    pub(super) fn queue_response(&mut self, id: Handle, bytes: Vec<u8>, keep_alive: bool) {
        if !keep_alive {
            return self.send_and_drain(id, bytes, 0);
        }
        if let Some(conn) = self.conns.get_mut(id) {
            conn.out.push(b"", Bytes::from(bytes), 0);
        }
        self.transition(id, State::Head);
        self.turn.wants_write(id);
    }

    /// Answers with an error status and closes (malformed or oversize heads, timeouts). The
    /// request may not have been read to its end: what the client may still send of a request
    /// the server accepts at all (a head and a payload) is drained first.
    pub(super) fn reject(&mut self, id: Handle, status: u16, why: &str) {
        log::debug!("rejecting request with {status}: {why}");
        let body = format!("{why}\n");
        let bytes = response::render(
            status,
            "text/plain; charset=UTF-8",
            "",
            body.as_bytes(),
            true,
        );
        let drain = self
            .config
            .max_payload
            .saturating_add(self.config.head_max_bytes);
        self.send_and_drain(id, bytes, drain);
    }

    /// Queues a last answer, then reads and drops up to `drain` bytes the client still sends
    /// (the rest of a request answered early), then closes.
    pub(super) fn send_and_drain(&mut self, id: Handle, bytes: Vec<u8>, drain: usize) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        conn.out.push(b"", Bytes::from(bytes), 0);
        self.transition(id, State::Closing { drain });
        self.turn.wants_write(id);
    }
}

/// What the client may still send of a request whose head is read: its declared body, or
/// (chunked) up to [`DRAIN_MAX`].
pub(super) fn body_left(head: &RequestHead) -> usize {
    match head.content_length {
        Some(length) => usize::try_from(length).unwrap_or(usize::MAX).min(DRAIN_MAX),
        None if head.chunked => DRAIN_MAX,
        None => 0,
    }
}
