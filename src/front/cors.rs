//! The CORS policy of the Engine.IO endpoint, as the reference's `cors` middleware applies it.

use crate::wire::http_head::RequestHead;

use super::response::render;

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
