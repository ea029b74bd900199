//! Shared harness for the integration tests: the real `sharethings` binary on a free port, and
//! clients that speak raw bytes to it.
//!
//! - [`Server`]: starts the binary with `--port 0`, learns the port from its log, keeps
//!   draining its output (kept for failure messages) and kills it on drop.
//! - [`Http`]: raw HTTP/1.1 over one `TcpStream`, keep-alive aware.
//! - Engine.IO long-polling: [`eio_open_polling`], [`poll_get`], [`poll_post`], payloads.
//! - [`Ws`]: a blocking tungstenite client with deadlines; [`SioClient`]: Socket.IO v5 on it.
//!
//! Nothing here sleeps for a fixed time: every read has a socket timeout and an overall
//! deadline, and [`wait_until`] polls a condition. Every test binary uses a different subset
//! of these helpers, so unused ones are expected in each.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use miniserde::json::{self, Value};
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::WebSocket;
use tungstenite::Message;

/// How long any single expected thing may take before the test fails.
pub const STEP: Duration = Duration::from_secs(5);
/// Socket read timeout: the granularity at which deadlines are checked.
const TICK: Duration = Duration::from_millis(50);

pub fn deadline(after: Duration) -> Instant {
    Instant::now() + after
}

/// Polls `cond` until it holds or `deadline` passes; returns whether it held.
pub fn wait_until(deadline: Instant, mut cond: impl FnMut() -> bool) -> bool {
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

// ----- the server process ------------------------------------------------------------------

/// The real server binary, listening on 127.0.0.1 and a free port.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the server with `--host 127.0.0.1 --port 0 --log-level info` plus `extra_args`
    /// (later flags win), and waits for its "listening on" line.
    pub fn start(extra_args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sharethings"))
            .args(["--host", "127.0.0.1", "--port", "0", "--log-level", "info"])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the sharethings binary");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        // Drain both pipes for the whole life of the process, so it never blocks on a full
        // pipe; the lines are kept for failure messages.
        let out_log = Arc::clone(&log);
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                }
                out_log.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let err_log = Arc::clone(&log);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                err_log
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("stderr: {line}"));
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "server did not report its address in time; output:\n{}",
                    log.lock().unwrap_or_else(|e| e.into_inner()).join("\n")
                );
            }
        };
        Server { child, addr, log }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server printed so far.
    pub fn output(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `GET /health` answers 200 with `"status":"ok"`, and the process still runs.
    pub fn assert_healthy(&mut self) {
        assert!(self.is_running(), "server exited:\n{}", self.output());
        let res = Http::connect(self.addr).request("GET", "/health", &[], b"");
        assert_eq!(res.status, 200, "health: {res:?}");
        assert!(res.text().contains("\"status\":\"ok\""), "health: {res:?}");
    }

    /// The value of one sample of `/metrics`, e.g. `sharethings_members` or
    /// `sharethings_connections{transport="websocket"}`.
    pub fn metric(&self, sample: &str) -> u64 {
        let text = get_path(self.addr, "/metrics").text();
        text.lines()
            .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no sample {sample} in:\n{text}"))
    }

    /// The server's thread count from /proc.
    pub fn threads(&self) -> usize {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("Threads: line")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!(
                "----- server output ({}) -----\n{}\n-----",
                self.addr,
                self.output()
            );
        }
    }
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on http://").nth(1)?;
    rest.trim_end().trim_end_matches('/').parse().ok()
}

// ----- raw HTTP ----------------------------------------------------------------------------

/// A parsed HTTP response.
#[derive(Clone)]
pub struct Response {
    pub status: u16,
    /// Lowercased names, values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        json::from_str(&self.text()).unwrap_or_else(|_| panic!("not JSON: {self:?}"))
    }

    /// Asserts an Engine.IO error answer: status and `{"code":N,"message":"..."}`.
    pub fn assert_eio_error(&self, status: u16, code: u64, message: &str) {
        assert_eq!(self.status, status, "{self:?}");
        let body = self.json();
        assert_eq!(num(get(&body, "code")), code, "{self:?}");
        assert_eq!(str_of(get(&body, "message")), message, "{self:?}");
    }
}

/// One client TCP connection speaking raw HTTP/1.1.
pub struct Http {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Http {
    pub fn connect(addr: SocketAddr) -> Http {
        let stream = TcpStream::connect(addr).expect("connect to the server");
        stream.set_read_timeout(Some(TICK)).expect("set timeout");
        let _ = stream.set_nodelay(true);
        Http {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write request");
    }

    /// Writes a request (with `Host` and, for a body, `Content-Length`) and reads the answer.
    pub fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.send(&request_bytes(method, target, headers, body));
        self.read_response_for(method)
    }

    /// Reads one response to a GET-like request.
    pub fn read_response(&mut self) -> Response {
        self.read_response_for("GET")
    }

    /// Reads one response; `HEAD` responses and 1xx/204/304 have no body whatever
    /// `Content-Length` says.
    pub fn read_response_for(&mut self, method: &str) -> Response {
        self.try_read_response_for(method, deadline(STEP))
            .unwrap_or_else(|e| panic!("no response: {e}"))
    }

    pub fn try_read_response_for(
        &mut self,
        method: &str,
        until: Instant,
    ) -> Result<Response, String> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(&self.buf) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let status = parsed.code.unwrap_or(0);
                    let headers: Vec<(String, String)> = parsed
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    let bodyless = method == "HEAD"
                        || status == 204
                        || status == 304
                        || (100..200).contains(&status);
                    let length = if bodyless {
                        0
                    } else {
                        headers
                            .iter()
                            .find(|(n, _)| n == "content-length")
                            .map(|(_, v)| v.trim().parse::<usize>().expect("numeric length"))
                            .unwrap_or(0)
                    };
                    while self.buf.len() < head_len + length {
                        self.fill(until)?;
                    }
                    let body = self.buf[head_len..head_len + length].to_vec();
                    self.buf.drain(..head_len + length);
                    return Ok(Response {
                        status,
                        headers,
                        body,
                    });
                }
                Ok(httparse::Status::Partial) => self.fill(until)?,
                Err(e) => {
                    return Err(format!(
                        "bad response ({e}): {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ))
                }
            }
        }
    }

    /// Reads more bytes into the buffer before `until`.
    fn fill(&mut self, until: Instant) -> Result<(), String> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(format!(
                        "connection closed; had {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ))
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if is_timeout(&e) => {
                    if Instant::now() >= until {
                        return Err(format!(
                            "timed out; had {:?}",
                            String::from_utf8_lossy(&self.buf)
                        ));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read failed: {e}")),
            }
        }
    }

    /// Asserts that the server closes the connection (EOF or reset) before the deadline.
    pub fn expect_closed(&mut self) {
        let until = deadline(STEP);
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if is_timeout(&e) => {
                    assert!(
                        Instant::now() < until,
                        "connection not closed; buffered {:?}",
                        String::from_utf8_lossy(&self.buf)
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return, // reset
            }
        }
    }
}

/// The bytes of a request with `Host` and, when there is a body, `Content-Length`.
pub fn request_bytes(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// One request on a fresh connection.
pub fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    Http::connect(addr).request(method, target, headers, body)
}

pub fn get_path(addr: SocketAddr, target: &str) -> Response {
    http(addr, "GET", target, &[], b"")
}

/// A complete round trip through the event loop on a fresh connection. Requests whose bytes
/// were written before this call are read by the loop no later than this one (connections
/// are accepted in order and read at once), so afterwards they have been processed.
pub fn loop_barrier(addr: SocketAddr) {
    let res = get_path(addr, "/socket.io/?EIO=4&transport=barrier");
    assert_eq!(res.status, 400, "barrier: {res:?}");
}

// ----- JSON helpers ------------------------------------------------------------------------

pub fn parse_json(text: &str) -> Value {
    json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text:?}"))
}

/// `value[key]`, panicking with the value when it is missing.
pub fn get<'a>(value: &'a Value, key: &str) -> &'a Value {
    match value {
        Value::Object(o) => o
            .get(key)
            .unwrap_or_else(|| panic!("no {key:?} in {}", json::to_string(value))),
        _ => panic!("not an object: {}", json::to_string(value)),
    }
}

pub fn has(value: &Value, key: &str) -> bool {
    matches!(value, Value::Object(o) if o.contains_key(key))
}

pub fn str_of(value: &Value) -> &str {
    match value {
        Value::String(s) => s,
        _ => panic!("not a string: {}", json::to_string(value)),
    }
}

pub fn num(value: &Value) -> u64 {
    match value {
        Value::Number(json::Number::U64(n)) => *n,
        Value::Number(json::Number::I64(n)) if *n >= 0 => *n as u64,
        _ => panic!("not a whole number: {}", json::to_string(value)),
    }
}

pub fn bool_of(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        _ => panic!("not a bool: {}", json::to_string(value)),
    }
}

pub fn arr(value: &Value) -> &[Value] {
    match value {
        Value::Array(a) => a,
        _ => panic!("not an array: {}", json::to_string(value)),
    }
}

pub fn to_json(value: &Value) -> String {
    json::to_string(value)
}

/// A JSON string literal for `s`.
pub fn quote(s: &str) -> String {
    json::to_string(&s.to_string())
}

// ----- Engine.IO long-polling --------------------------------------------------------------

pub const EIO_PATH: &str = "/socket.io/?EIO=4";

/// One packet of a polling payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Text(String),
    Binary(Vec<u8>),
}

/// Joins packets with 0x1E; binary as `b` + base64.
pub fn encode_payload(packets: &[Packet]) -> Vec<u8> {
    let parts: Vec<String> = packets
        .iter()
        .map(|p| match p {
            Packet::Text(t) => t.clone(),
            Packet::Binary(b) => format!("b{}", data_encoding::BASE64.encode(b)),
        })
        .collect();
    parts.join("\u{1e}").into_bytes()
}

pub fn decode_payload(body: &[u8]) -> Vec<Packet> {
    let text = std::str::from_utf8(body).expect("polling payload is UTF-8");
    text.split('\u{1e}')
        .map(|part| match part.strip_prefix('b') {
            Some(b64) => Packet::Binary(
                data_encoding::BASE64
                    .decode(b64.as_bytes())
                    .unwrap_or_else(|_| panic!("bad base64 in {part:?}")),
            ),
            None => Packet::Text(part.to_string()),
        })
        .collect()
}

/// `GET /socket.io/?EIO=4&transport=polling`: returns the sid and the open packet's JSON.
pub fn eio_open_polling(addr: SocketAddr) -> (String, Value) {
    let res = get_path(addr, &format!("{EIO_PATH}&transport=polling"));
    assert_eq!(res.status, 200, "handshake: {res:?}");
    let text = res.text();
    let open = text
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {text:?}"));
    let open = parse_json(open);
    let sid = str_of(get(&open, "sid")).to_string();
    (sid, open)
}

pub fn polling_target(sid: &str) -> String {
    format!("{EIO_PATH}&transport=polling&sid={sid}")
}

/// A polling GET on a fresh connection.
pub fn poll_get(addr: SocketAddr, sid: &str) -> Response {
    get_path(addr, &polling_target(sid))
}

/// A polling POST of raw body bytes on a fresh connection.
pub fn poll_post(addr: SocketAddr, sid: &str, body: &[u8]) -> Response {
    http(
        addr,
        "POST",
        &polling_target(sid),
        &[("Content-Type", "text/plain;charset=UTF-8")],
        body,
    )
}

/// Starts a polling GET and returns the connection without reading the answer.
pub fn start_poll_get(addr: SocketAddr, sid: &str) -> Http {
    let mut conn = Http::connect(addr);
    conn.send(&request_bytes("GET", &polling_target(sid), &[], b""));
    conn
}

// ----- WebSocket ---------------------------------------------------------------------------

/// A blocking WebSocket client with deadlines.
pub struct Ws {
    pub ws: WebSocket<TcpStream>,
    /// Answer Engine.IO pings (`2`) with `3` while waiting for something else.
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
    use tungstenite::client::IntoClientRequest;
    let url = format!("ws://{addr}{EIO_PATH}&transport=websocket{extra_query}");
    let mut request = url.into_client_request().expect("websocket request");
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, value.parse().expect("header value"));
    }
    let stream = TcpStream::connect(addr).expect("connect to the server");
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
    let text = ws.expect_text();
    let open = parse_json(
        text.strip_prefix('0')
            .unwrap_or_else(|| panic!("not an open packet: {text:?}")),
    );
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
                    if self.auto_pong && t.as_str() == "2" {
                        let _ = self.ws.send(Message::text("3"));
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
                WsRead::Dropped(_) => return (None, seen),
                WsRead::Timeout => panic!("websocket not closed; saw {seen:?}"),
            }
        }
    }
}

// ----- Socket.IO ---------------------------------------------------------------------------

/// A decoded Socket.IO packet (inside an Engine.IO message).
#[derive(Debug, Clone)]
pub struct SioPacket {
    pub kind: u8,
    pub nsp: String,
    pub id: Option<u64>,
    pub data: Option<Value>,
}

/// Decodes the text of an Engine.IO message `4…` as a Socket.IO packet.
pub fn decode_sio(text: &str) -> Option<SioPacket> {
    let rest = text.strip_prefix('4')?;
    let kind = rest.as_bytes().first()?.checked_sub(b'0')?;
    let mut rest = &rest[1..];
    if kind == 5 || kind == 6 {
        let dash = rest.find('-')?;
        rest = &rest[dash + 1..];
    }
    let mut nsp = "/".to_string();
    if rest.starts_with('/') {
        let end = rest.find(',').unwrap_or(rest.len());
        nsp = rest[..end].to_string();
        rest = rest.get(end + 1..).unwrap_or("");
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = (digits > 0).then(|| rest[..digits].parse().expect("ack id"));
    rest = &rest[digits..];
    let data = (!rest.is_empty()).then(|| parse_json(rest));
    Some(SioPacket {
        kind,
        nsp,
        id,
        data,
    })
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
        let (mut ws, _open) = ws_open_with(addr, extra_query, headers);
        ws.send_text("40");
        let ack = ws.expect_text();
        let packet = decode_sio(&ack).unwrap_or_else(|| panic!("not socket.io: {ack:?}"));
        assert_eq!(packet.kind, 0, "connect ack: {ack}");
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
        self.ws.send_text(&format!("42[{},{json}]", quote(event)));
    }

    /// Emits with an ack id and waits for the ack; returns its first argument. Events that
    /// arrive meanwhile are kept in [`SioClient::events`].
    pub fn emit_ack(&mut self, event: &str, json: &str) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        self.ws
            .send_text(&format!("42{id}[{},{json}]", quote(event)));
        self.wait_ack(id)
    }

    pub fn wait_ack(&mut self, id: u64) -> Value {
        let until = deadline(STEP);
        loop {
            let packet = self.next_packet(until);
            match packet.kind {
                3 if packet.id == Some(id) => {
                    let args = packet.data.expect("ack data");
                    return arr(&args).first().cloned().expect("ack argument");
                }
                2 => self.keep_event(packet),
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
            assert_eq!(packet.kind, 2, "expected event {name}, got {packet:?}");
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
