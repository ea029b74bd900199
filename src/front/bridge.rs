//! The bridge from the event loop to the tiny_http workers.
//!
//! A plain-HTTP request (always without a body: the loop refuses bodies before bridging) is
//! forwarded over a fresh connection to the workers' private Unix socket: its head unchanged
//! except that the loop adds `X-ShareThings-Peer` (the real TCP peer) after removing any copy
//! the client sent. The response is relayed back unchanged. Its end is found from `Content-Length` (the workers always send one), so the
//! client's connection stays usable for the next request, which may well be Engine.IO.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use bytes::Bytes;

use crate::wire::http_head::{Method, RequestHead};

use crate::http::PEER_HEADER;
/// Response heads larger than this are a worker bug; the client gets its connection closed.
const RESPONSE_HEAD_MAX: usize = 16 * 1024;
/// Bytes read from a worker at a time.
const CHUNK: usize = 64 * 1024;

/// The request head as forwarded: request line and headers unchanged, peer header added.
pub fn forwarded_head(raw_head: &[u8], peer: SocketAddr) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw_head.len() + 48);
    let mut lines = raw_head.split_inclusive(|b| *b == b'\n');
    if let Some(request_line) = lines.next() {
        out.extend_from_slice(request_line);
    }
    out.extend_from_slice(format!("X-ShareThings-Peer: {peer}\r\n").as_bytes());
    for line in lines {
        let name = line.split(|b| *b == b':').next().unwrap_or_default();
        if name.eq_ignore_ascii_case(PEER_HEADER.as_bytes()) {
            continue;
        }
        out.extend_from_slice(line);
    }
    out
}

/// How far the worker's response has come.
#[derive(Debug)]
enum ResponseState {
    Head(Vec<u8>),
    /// Body bytes still to relay; `None` means "until the worker closes".
    Body(Option<u64>),
    Done,
}

/// One request in flight to the workers.
pub struct Bridge {
    pub unix: mio::net::UnixStream,
    /// Bytes for the worker not yet written.
    to_worker: Vec<u8>,
    response: ResponseState,
    head_request: bool,
    /// Whether the client's connection can take another request afterwards.
    pub keep_alive: bool,
}

/// What relaying did.
pub enum Progress {
    /// Bytes for the client.
    ToClient(Bytes),
    Nothing,
}

impl Bridge {
    pub fn new(
        unix: mio::net::UnixStream,
        head: &RequestHead,
        raw_head: &[u8],
        peer: SocketAddr,
    ) -> Bridge {
        Bridge {
            unix,
            to_worker: forwarded_head(raw_head, peer),
            response: ResponseState::Head(Vec::new()),
            head_request: head.method == Method::Head,
            keep_alive: head.keep_alive,
        }
    }

    /// Writes what it can to the worker.
    pub fn write(&mut self) -> io::Result<()> {
        while !self.to_worker.is_empty() {
            match self.unix.write(&self.to_worker) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.to_worker.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub fn is_done(&self) -> bool {
        matches!(self.response, ResponseState::Done)
    }

    /// Reads one chunk of the worker's response. `Ok(Nothing)` with `is_done() == false`
    /// means it would block.
    pub fn read(&mut self) -> io::Result<Progress> {
        let mut buf = vec![0u8; CHUNK];
        let n = loop {
            match self.unix.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Progress::Nothing),
                Err(e) => return Err(e),
            }
        };
        buf.truncate(n);
        if n == 0 {
            return match self.response {
                // Relaying until the worker closes: this is the end.
                ResponseState::Body(None) => {
                    self.response = ResponseState::Done;
                    self.keep_alive = false;
                    Ok(Progress::Nothing)
                }
                _ => Err(io::ErrorKind::UnexpectedEof.into()),
            };
        }
        match &mut self.response {
            ResponseState::Head(head) => {
                head.extend_from_slice(&buf);
                let mut headers = [httparse::EMPTY_HEADER; 64];
                let mut response = httparse::Response::new(&mut headers);
                let parsed = response.parse(head).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "bad worker response")
                })?;
                let httparse::Status::Complete(head_len) = parsed else {
                    if head.len() > RESPONSE_HEAD_MAX {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "worker response head too large",
                        ));
                    }
                    return Ok(Progress::Nothing);
                };
                let status = response.code.unwrap_or(500);
                let mut length = None;
                let mut close = false;
                for header in response.headers.iter() {
                    if header.name.eq_ignore_ascii_case("content-length") {
                        length = std::str::from_utf8(header.value)
                            .ok()
                            .and_then(|v| v.trim().parse::<u64>().ok());
                    } else if header.name.eq_ignore_ascii_case("connection") {
                        close |= header.value.eq_ignore_ascii_case(b"close");
                    }
                }
                let no_body = self.head_request
                    || status == 204
                    || status == 304
                    || (100..200).contains(&status);
                let body_len = if no_body { Some(0) } else { length };
                if body_len.is_none() || close {
                    self.keep_alive = false;
                }
                let all = std::mem::take(head);
                let body_part = all.len().saturating_sub(head_len) as u64;
                self.response = ResponseState::Body(body_len);
                self.consume_body(body_part);
                Ok(Progress::ToClient(Bytes::from(all)))
            }
            ResponseState::Body(_) => {
                self.consume_body(n as u64);
                Ok(Progress::ToClient(Bytes::from(buf)))
            }
            ResponseState::Done => Ok(Progress::Nothing),
        }
    }

    fn consume_body(&mut self, n: u64) {
        if let ResponseState::Body(Some(left)) = &mut self.response {
            *left = left.saturating_sub(n);
            if *left == 0 {
                self.response = ResponseState::Done;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_header_is_added_and_a_forged_one_removed() {
        let raw =
            b"GET / HTTP/1.1\r\nHost: x\r\nX-ShareThings-Peer: 6.6.6.6:1\r\nAccept: */*\r\n\r\n";
        let peer: SocketAddr = "192.0.2.7:4000".parse().unwrap();
        let out = forwarded_head(raw, peer);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET / HTTP/1.1\r\nX-ShareThings-Peer: 192.0.2.7:4000\r\nHost: x\r\nAccept: */*\r\n\r\n"
        );
    }
}
