//! The bridge from the event loop to the tiny_http workers.
//!
//! A plain-HTTP request (always without a body: the loop refuses bodies before bridging) is
//! forwarded over a fresh connection to the workers' private Unix socket: its head unchanged
//! except that the loop adds `X-ShareThings-Peer` (the real TCP peer) after removing any copy
//! the client sent. The response is relayed back unchanged. Its end is found from `Content-Length` (the workers always send one), so the
//! client's connection stays usable for the next request, which may well be Engine.IO.

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;

use crate::wire::http_head::{Method, RequestHead};

use super::nonblocking::{self, Got};
use crate::http::PEER_HEADER;

/// Response heads larger than this are a worker bug; the client gets its connection closed.
const RESPONSE_HEAD_MAX: usize = 16 * 1024;
/// Headers in a worker's response at most (the workers send about a dozen).
const MAX_RESPONSE_HEADERS: usize = 64;
/// Bytes read from a worker at a time (into fresh, unzeroed capacity that becomes the
/// queued `Bytes` without a copy).
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

/// What one read from the worker did.
#[derive(Debug)]
pub enum Progress {
    /// Bytes for the client.
    ToClient(Bytes),
    /// Bytes of a response head that is not complete yet: read again.
    Partial,
    /// The worker has nothing more for now (or the response is done, see `is_done`).
    Blocked,
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
            match nonblocking::write(&mut self.unix, &self.to_worker)? {
                Some(n) => {
                    self.to_worker.drain(..n);
                }
                None => return Ok(()),
            }
        }
        Ok(())
    }

    pub fn is_done(&self) -> bool {
        matches!(self.response, ResponseState::Done)
    }

    /// Reads up to one chunk of the worker's response.
    pub fn read(&mut self) -> io::Result<Progress> {
        match &mut self.response {
            ResponseState::Done => Ok(Progress::Blocked),
            ResponseState::Head(head) => {
                let got = nonblocking::read_into(&mut self.unix, head, CHUNK)?;
                self.parse_head(got)
            }
            ResponseState::Body(_) => {
                let mut chunk = Vec::new();
                let got = nonblocking::read_into(&mut self.unix, &mut chunk, CHUNK)?;
                if !chunk.is_empty() {
                    self.consume_body(chunk.len() as u64);
                    return Ok(Progress::ToClient(Bytes::from(chunk)));
                }
                match (got, &self.response) {
                    (Got::Eof, ResponseState::Body(None)) => {
                        // Relaying until the worker closes: this is the end.
                        self.response = ResponseState::Done;
                        self.keep_alive = false;
                        Ok(Progress::Blocked)
                    }
                    (Got::Eof, _) => Err(io::ErrorKind::UnexpectedEof.into()),
                    _ => Ok(Progress::Blocked),
                }
            }
        }
    }

    /// Parses the head read so far; once complete, it and the body bytes after it go to the
    /// client together.
    fn parse_head(&mut self, got: Got) -> io::Result<Progress> {
        let ResponseState::Head(head) = &mut self.response else {
            return Ok(Progress::Blocked);
        };
        let mut headers = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = response
            .parse(head)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad worker response"))?;
        let httparse::Status::Complete(head_len) = parsed else {
            if head.len() > RESPONSE_HEAD_MAX {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "worker response head too large",
                ));
            }
            return match got {
                Got::Eof => Err(io::ErrorKind::UnexpectedEof.into()),
                Got::WouldBlock => Ok(Progress::Blocked),
                Got::Data(_) => Ok(Progress::Partial),
            };
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
        let no_body =
            self.head_request || status == 204 || status == 304 || (100..200).contains(&status);
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

    fn bridge_to(response: &[u8]) -> Bridge {
        let (unix, mut worker) = mio::net::UnixStream::pair().unwrap();
        std::io::Write::write_all(&mut worker, response).unwrap();
        drop(worker);
        let raw = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let head = crate::wire::http_head::parse_request_head(raw, 8)
            .unwrap()
            .unwrap();
        Bridge::new(unix, &head, raw, "192.0.2.7:4000".parse().unwrap())
    }

    #[test]
    fn a_whole_response_and_the_workers_close_in_one_read() {
        let response = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
        let mut bridge = bridge_to(response);
        match bridge.read().unwrap() {
            Progress::ToClient(bytes) => assert_eq!(&bytes[..], &response[..]),
            other => panic!("{other:?}"),
        }
        assert!(bridge.is_done());
        assert!(!bridge.keep_alive);
    }

    #[test]
    fn a_response_cut_short_is_an_error() {
        let mut bridge = bridge_to(b"HTTP/1.1 200 OK\r\nContent-Le");
        assert!(bridge.read().is_err());
    }

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
