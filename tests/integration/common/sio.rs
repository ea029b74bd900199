//! Socket.IO v5 on the WebSocket client: packets, emits with acks, events.

use super::*;

/// A decoded Socket.IO packet (inside an Engine.IO message).
#[derive(Debug, Clone)]
pub struct SioPacket {
    pub kind: PacketKind,
    pub nsp: String,
    pub id: Option<u64>,
    pub data: Option<Value>,
}

/// Decodes the text of an Engine.IO message `4…` as a Socket.IO packet (framing by the
/// protocol crate, JSON by miniserde); `None` for anything else.
pub fn decode_sio(text: &str) -> Option<SioPacket> {
    let (protocol::eio::PacketKind::Message, packet) = protocol::eio::decode_text(text).ok()?
    else {
        return None;
    };
    let (header, json) = protocol::sio::decode_header(packet, usize::MAX).ok()?;
    Some(SioPacket {
        kind: header.kind,
        nsp: header.nsp.to_string(),
        id: header.id,
        data: (!json.is_empty()).then(|| parse_json(json)),
    })
}

/// The Engine.IO text packet of an event on `/`: `42[<event>,<json>]`, with an ack id if any.
pub fn event_text(event: &str, json: &str, ack: Option<u64>) -> String {
    Header::event(0, ack).message(&format!("[{},{json}]", quote(event)))
}

/// A Socket.IO client on a direct WebSocket, joined to `/`.
pub struct SioClient {
    pub ws: Ws,
    /// The Socket.IO socket id from the CONNECT ack.
    pub id: String,
    next_ack: u64,
    /// Events read while waiting for something else: (name, first argument).
    pub events: VecDeque<(String, Value)>,
}

impl SioClient {
    pub fn connect(addr: SocketAddr) -> SioClient {
        SioClient::connect_with(addr, "")
    }

    /// Connects with `extra_query` added to the Engine.IO handshake URL.
    pub fn connect_with(addr: SocketAddr, extra_query: &str) -> SioClient {
        SioClient::connect_with_headers(addr, extra_query, &[])
    }

    /// Connects with `extra_query` and extra handshake headers.
    pub fn connect_with_headers(
        addr: SocketAddr,
        extra_query: &str,
        headers: &[(&'static str, &str)],
    ) -> SioClient {
        let (ws, _open) = ws_open_with(addr, extra_query, headers);
        SioClient::over(ws)
    }

    /// Joins `/` on a WebSocket whose open packet was read.
    pub fn over(mut ws: Ws) -> SioClient {
        ws.send_text(protocol::sio::CONNECT);
        let ack = ws.expect_text();
        let packet = decode_sio(&ack).unwrap_or_else(|| panic!("not socket.io: {ack:?}"));
        assert_eq!(packet.kind, PacketKind::Connect, "connect ack: {ack}");
        let id = str_of(get(packet.data.as_ref().expect("connect data"), "sid")).to_string();
        SioClient {
            ws,
            id,
            next_ack: 0,
            events: VecDeque::new(),
        }
    }

    /// Emits `42["event",<json>]` with no ack.
    pub fn emit(&mut self, event: &str, json: &str) {
        self.ws.send_text(&event_text(event, json, None));
    }

    /// Emits with an ack id and waits for the ack; returns its first argument. Events that
    /// arrive meanwhile are kept in [`SioClient::events`].
    pub fn emit_ack(&mut self, event: &str, json: &str) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        self.ws.send_text(&event_text(event, json, Some(id)));
        self.wait_ack(id)
    }

    pub fn wait_ack(&mut self, id: u64) -> Value {
        let until = deadline(STEP);
        loop {
            let packet = self.next_packet(until);
            match packet.kind {
                PacketKind::Ack if packet.id == Some(id) => {
                    let args = packet.data.expect("ack data");
                    return arr(&args).first().cloned().expect("ack argument");
                }
                PacketKind::Event => self.keep_event(packet),
                _ => panic!("unexpected packet while waiting for ack {id}: {packet:?}"),
            }
        }
    }

    fn keep_event(&mut self, packet: SioPacket) {
        let args = packet.data.expect("event data");
        let args = arr(&args);
        let name = str_of(&args[0]).to_string();
        let first = args.get(1).cloned().unwrap_or(Value::Null);
        self.events.push_back((name, first));
    }

    fn next_packet(&mut self, until: Instant) -> SioPacket {
        match self.ws.read_until(until) {
            WsRead::Text(t) => decode_sio(&t).unwrap_or_else(|| panic!("not socket.io: {t:?}")),
            other => panic!(
                "socket {} expected a packet, got {other:?}; events so far {:?}",
                self.id,
                self.event_names()
            ),
        }
    }

    fn event_names(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|(n, v)| format!("{n} {}", to_json(v)))
            .collect()
    }

    /// Waits for event `name` and returns its first argument; other events stay queued.
    pub fn expect_event(&mut self, name: &str) -> Value {
        if let Some(pos) = self.events.iter().position(|(n, _)| n == name) {
            return self.events.remove(pos).expect("present").1;
        }
        let until = deadline(STEP);
        loop {
            let packet = self.next_packet(until);
            assert_eq!(
                packet.kind,
                PacketKind::Event,
                "expected event {name}, got {packet:?}"
            );
            self.keep_event(packet);
            if self.events.back().is_some_and(|(n, _)| n == name) {
                return self.events.pop_back().expect("present").1;
            }
        }
    }

    /// A round trip: an unknown event with an ack. Everything the server queued for this
    /// client before handling it arrives first; returns (and clears) the events seen.
    pub fn sync(&mut self) -> Vec<(String, Value)> {
        let ack = self.emit_ack("sync-barrier", "{}");
        assert_eq!(str_of(get(&ack, "code")), "invalid_request", "barrier ack");
        self.events.drain(..).collect()
    }

    /// Asserts that no event arrived up to a round trip with the server.
    pub fn assert_no_events(&mut self) {
        let events = self.sync();
        assert!(
            events.is_empty(),
            "socket {} got unexpected events: {:?}",
            self.id,
            events
                .iter()
                .map(|(n, v)| format!("{n} {}", to_json(v)))
                .collect::<Vec<_>>()
        );
    }

    /// Closes with a WebSocket close frame and waits for the server's close.
    pub fn close_cleanly(self) {
        let SioClient { mut ws, .. } = self;
        ws.ws.close(None).expect("send close frame");
        let until = deadline(STEP);
        loop {
            match ws.read_until(until) {
                WsRead::Closed(_) | WsRead::Dropped(_) => return,
                WsRead::Timeout => panic!("server did not answer the close"),
                _ => {}
            }
        }
    }

    /// Drops the TCP connection with a reset (unread data in the receive buffer makes the
    /// kernel send RST), without a WebSocket close frame.
    pub fn reset(self) {
        let SioClient { mut ws, .. } = self;
        ws.send_text("421999[\"reset-probe\"]");
        let stream = ws.ws.get_mut();
        let until = deadline(STEP);
        let mut probe = [0u8; 1];
        loop {
            match stream.peek(&mut probe) {
                Ok(n) if n > 0 => break,
                Ok(_) => panic!("server closed first"),
                Err(e) if is_timeout(&e) => assert!(Instant::now() < until, "no probe answer"),
                Err(e) => panic!("peek failed: {e}"),
            }
        }
        drop(ws);
    }
}
