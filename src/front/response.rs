//! HTTP/1.1 responses the loop writes itself, the CORS policy, and the client's address.

use std::net::{IpAddr, SocketAddr};

use crate::wire::http_head::{reason_phrase, RequestHead};

/// A complete response with `Content-Length`; `extra` is preformatted header lines.
pub fn render(status: u16, content_type: &str, extra: &str, body: &[u8], close: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}{}\r\n",
        reason_phrase(status),
        body.len(),
        if close { "Connection: close\r\n" } else { "" },
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Which browser origins may talk to the Engine.IO endpoint.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    /// Extra origins (`scheme://host[:port]`) besides the page's own.
    pub allowed: Vec<String>,
}

/// The verdict on a request's `Origin`.
#[derive(Debug, PartialEq, Eq)]
pub enum OriginCheck {
    /// No `Origin` header (not a browser, or a same-origin GET): allowed, no CORS headers.
    Absent,
    /// The page's own origin: allowed, no CORS headers needed.
    SameOrigin,
    /// A listed origin: allowed, with CORS headers naming it.
    Listed(String),
    /// Anything else: refused.
    Refused,
}

impl Cors {
    pub fn check(&self, head: &RequestHead) -> OriginCheck {
        let Some(origin) = head.header("origin") else {
            return OriginCheck::Absent;
        };
        let Ok(origin) = std::str::from_utf8(origin) else {
            return OriginCheck::Refused;
        };
        let authority = origin.split_once("://").map(|(_, rest)| rest);
        let host = head
            .header("host")
            .and_then(|h| std::str::from_utf8(h).ok());
        if authority.is_some() && authority == host {
            return OriginCheck::SameOrigin;
        }
        let origin = origin.trim_end_matches('/');
        if self.allowed.iter().any(|a| a == origin) {
            OriginCheck::Listed(origin.to_string())
        } else {
            OriginCheck::Refused
        }
    }
}

/// Header lines for an allowed cross-origin request.
pub fn cors_headers(check: &OriginCheck) -> String {
    match check {
        OriginCheck::Listed(origin) => format!(
            "Access-Control-Allow-Origin: {origin}\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n"
        ),
        _ => String::new(),
    }
}

/// The preflight answer (`OPTIONS`), as the reference's `cors` middleware gives it.
pub fn preflight(check: &OriginCheck, head: &RequestHead) -> Vec<u8> {
    let mut extra = cors_headers(check);
    if matches!(check, OriginCheck::Listed(_)) {
        extra.push_str("Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\n");
        if let Some(requested) = head
            .header("access-control-request-headers")
            .and_then(|h| std::str::from_utf8(h).ok())
            .filter(|h| h.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
        {
            extra.push_str(&format!("Access-Control-Allow-Headers: {requested}\r\n"));
        }
    }
    render(204, "text/plain", &extra, b"", false)
}

/// The client's address: the TCP peer, or — only when the peer is a trusted proxy — the
/// address that proxy appended last to `X-Forwarded-For`.
pub fn client_address(peer: SocketAddr, head: &RequestHead, trusted: &[IpAddr]) -> IpAddr {
    let peer_ip = peer.ip();
    if !trusted.contains(&peer_ip) {
        return peer_ip;
    }
    head.header("x-forwarded-for")
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|list| list.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer_ip)
}
