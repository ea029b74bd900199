//! Raw HTTP/1.1 over one `TcpStream`, keep-alive aware, and the round-trip barrier.

use super::*;

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
    /// Whether the server still holds the connection open (nothing to read, no EOF), without
    /// waiting.
    pub fn is_open(&self) -> bool {
        let mut probe = [0u8; 1];
        let _ = self.stream.set_nonblocking(true);
        let open = matches!(self.stream.peek(&mut probe), Err(e) if is_timeout(&e));
        let _ = self.stream.set_nonblocking(false);
        open
    }

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
