//! A blocking tungstenite client with deadlines, on Engine.IO's WebSocket transport.

use super::*;

/// A blocking WebSocket client with deadlines.
pub struct Ws {
    pub ws: WebSocket<TcpStream>,
    /// Answer Engine.IO pings with pongs while waiting for something else.
    pub auto_pong: bool,
}

/// What a WebSocket read produced.
#[derive(Debug)]
pub enum WsRead {
    Text(String),
    Binary(Vec<u8>),
    /// A close frame with its code (if any).
    Closed(Option<u16>),
    /// The TCP stream ended without a close frame.
    Dropped(String),
    Timeout,
}

/// Opens a WebSocket to `/socket.io/?EIO=4&transport=websocket` plus `extra_query`
/// (e.g. `&sid=...`). On a refused handshake returns the HTTP status and body.
pub fn try_ws_connect(addr: SocketAddr, extra_query: &str) -> Result<Ws, (u16, String)> {
    try_ws_connect_with(addr, extra_query, &[])
}

/// Like [`try_ws_connect`], with extra request headers.
pub fn try_ws_connect_with(
    addr: SocketAddr,
    extra_query: &str,
    headers: &[(&'static str, &str)],
) -> Result<Ws, (u16, String)> {
    let stream = TcpStream::connect(addr).expect("connect to the server");
    try_ws_handshake(stream, extra_query, headers)
}

/// Like [`try_ws_connect_with`], on a stream already connected (e.g. from another local
/// address).
pub fn try_ws_handshake(
    stream: TcpStream,
    extra_query: &str,
    headers: &[(&'static str, &str)],
) -> Result<Ws, (u16, String)> {
    use tungstenite::client::IntoClientRequest;
    let addr = stream.peer_addr().expect("a connected stream");
    let query = protocol::eio::handshake_query(protocol::eio::Transport::WebSocket, None);
    let url = format!("ws://{addr}{}?{query}{extra_query}", protocol::eio::PATH);
    let mut request = url.into_client_request().expect("websocket request");
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, value.parse().expect("header value"));
    }
    stream.set_read_timeout(Some(TICK)).expect("set timeout");
    let _ = stream.set_nodelay(true);
    let until = deadline(STEP);
    let mut attempt = tungstenite::client::client(request, stream);
    loop {
        match attempt {
            Ok((ws, _)) => {
                return Ok(Ws {
                    ws,
                    auto_pong: true,
                })
            }
            Err(HandshakeError::Interrupted(mid)) => {
                assert!(Instant::now() < until, "websocket handshake timed out");
                attempt = mid.handshake();
            }
            Err(HandshakeError::Failure(tungstenite::Error::Http(res))) => {
                let body = res
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                return Err((res.status().as_u16(), body));
            }
            Err(HandshakeError::Failure(e)) => panic!("websocket handshake failed: {e}"),
        }
    }
}

pub fn ws_connect(addr: SocketAddr, extra_query: &str) -> Ws {
    try_ws_connect(addr, extra_query)
        .unwrap_or_else(|(status, body)| panic!("websocket refused: {status} {body:?}"))
}

/// A direct WebSocket session: connects and reads the open packet; returns it with its JSON.
pub fn ws_open(addr: SocketAddr, extra_query: &str) -> (Ws, Value) {
    ws_open_with(addr, extra_query, &[])
}

pub fn ws_open_with(
    addr: SocketAddr,
    extra_query: &str,
    headers: &[(&'static str, &str)],
) -> (Ws, Value) {
    let mut ws = try_ws_connect_with(addr, extra_query, headers)
        .unwrap_or_else(|(status, body)| panic!("websocket refused: {status} {body:?}"));
    let open = open_json(&ws.expect_text());
    (ws, open)
}

impl Ws {
    pub fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).expect("send text frame");
    }

    pub fn send_binary(&mut self, data: &[u8]) {
        self.ws
            .send(Message::binary(data.to_vec()))
            .expect("send binary frame");
    }

    /// Queues several text frames and writes them with one flush (one TCP write when they fit).
    pub fn send_batch(&mut self, texts: &[&str]) {
        for text in texts {
            self.ws
                .write(Message::text(*text))
                .expect("queue text frame");
        }
        self.ws.flush().expect("flush frames");
    }

    /// Sends one text message split into continuation frames, one per part.
    pub fn send_fragments(&mut self, parts: &[&str]) {
        use tungstenite::protocol::frame::coding::{Data, OpCode};
        use tungstenite::protocol::frame::Frame;
        for (i, part) in parts.iter().enumerate() {
            let opcode = if i == 0 { Data::Text } else { Data::Continue };
            let last = i + 1 == parts.len();
            let frame = Frame::message(part.as_bytes().to_vec(), OpCode::Data(opcode), last);
            self.ws
                .write(Message::Frame(frame))
                .expect("queue fragment");
        }
        self.ws.flush().expect("flush fragments");
    }

    /// Sends a WebSocket ping and returns the pong's payload.
    pub fn ping(&mut self, payload: &[u8]) -> Vec<u8> {
        self.ws
            .send(Message::Ping(payload.to_vec().into()))
            .expect("send ping");
        let until = deadline(STEP);
        loop {
            match self.ws.read() {
                Ok(Message::Pong(p)) => return p.to_vec(),
                Ok(other) => panic!("expected a pong, got {other:?}"),
                Err(tungstenite::Error::Io(e)) if is_timeout(&e) => {
                    assert!(Instant::now() < until, "no pong");
                }
                Err(e) => panic!("no pong: {e}"),
            }
        }
    }

    /// Reads the next data message or close before `until`.
    pub fn read_until(&mut self, until: Instant) -> WsRead {
        loop {
            match self.ws.read() {
                Ok(Message::Text(t)) => {
                    let ping = Ok((protocol::eio::PacketKind::Ping, ""));
                    if self.auto_pong && protocol::eio::decode_text(&t) == ping {
                        let _ = self.ws.send(Message::text(protocol::eio::PONG));
                        continue;
                    }
                    return WsRead::Text(t.as_str().to_string());
                }
                Ok(Message::Binary(b)) => return WsRead::Binary(b.to_vec()),
                Ok(Message::Close(frame)) => {
                    return WsRead::Closed(frame.map(|f| u16::from(f.code)))
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if is_timeout(&e) => {
                    if Instant::now() >= until {
                        return WsRead::Timeout;
                    }
                }
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return WsRead::Dropped("closed".into())
                }
                Err(e) => return WsRead::Dropped(e.to_string()),
            }
        }
    }

    pub fn read(&mut self) -> WsRead {
        self.read_until(deadline(STEP))
    }

    pub fn expect_text(&mut self) -> String {
        match self.read() {
            WsRead::Text(t) => t,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    pub fn expect_binary(&mut self) -> Vec<u8> {
        match self.read() {
            WsRead::Binary(b) => b,
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }

    /// Reads until the server closes; returns the close code (None for a drop without close
    /// frame). Data frames on the way are returned too.
    pub fn expect_close(&mut self) -> (Option<u16>, Vec<String>) {
        let until = deadline(STEP);
        let mut seen = Vec::new();
        loop {
            match self.read_until(until) {
                WsRead::Text(t) => seen.push(t),
                WsRead::Binary(b) => seen.push(format!("<binary {} bytes>", b.len())),
                WsRead::Closed(code) => return (code, seen),
                WsRead::Dropped(why) => {
                    eprintln!("websocket dropped without a close frame: {why}");
                    return (None, seen);
                }
                WsRead::Timeout => panic!("websocket not closed; saw {seen:?}"),
            }
        }
    }
}
