//! HTTP/1.1 request heads for the front door: parse with `httparse`, then apply the message
//! framing rules of RFC 9112 that decide whether a request can be read safely (one
//! unambiguous body length, no request smuggling).
//!
//! The caller owns the read buffer and both caps: it answers 431 when the head grows past its
//! byte limit and 408 when it takes too long. This module only says "complete", "need more
//! bytes" (`Ok(None)`) or which error status to answer; it never panics on any input.

use std::fmt;

/// The request method. Anything we do not route is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `OPTIONS`
    Options,
    /// `HEAD`
    Head,
    /// Any other method token.
    Other,
}

impl Method {
    fn from_token(token: &str) -> Method {
        // Methods are case-sensitive (RFC 9110 §9.1).
        match token {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "OPTIONS" => Method::Options,
            "HEAD" => Method::Head,
            _ => Method::Other,
        }
    }
}

/// A complete, framing-checked request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The raw request target, e.g. `/socket.io/?EIO=4&transport=polling`.
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version_minor: u8,
    /// Every header in order: lowercased name, raw value.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Bytes of the head, including the final empty line; the body starts here.
    pub head_len: usize,
    /// The body length from `Content-Length`, if given (never together with `chunked`).
    pub content_length: Option<u64>,
    /// Whether the body is `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// Whether the connection may stay open after the response: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    pub keep_alive: bool,
}

impl RequestHead {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Whether any header called `name` lists `token` in its comma-separated value
    /// (case-insensitive), e.g. `Connection: keep-alive, Upgrade` has `upgrade`.
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(|&b| b == b','))
            .any(|item| trim_ows(item).eq_ignore_ascii_case(token.as_bytes()))
    }
}

/// Why a request head was rejected, and what to answer (then close the connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadError {
    /// 400: the request line is not `METHOD target HTTP/x.y` (bad token, bad target, bad
    /// line ending).
    MalformedRequestLine,
    /// 400: a header line is malformed (bad name, space before the colon, control
    /// characters in the value).
    MalformedHeader,
    /// 400: a header value is continued on the next line (obsolete line folding).
    ObsoleteLineFolding,
    /// 431: more header lines than the caller allows.
    TooManyHeaders,
    /// 505: a well-formed HTTP version other than 1.0 or 1.1 (e.g. `HTTP/2.0`).
    UnsupportedVersion,
    /// 400: `Content-Length` is not a plain decimal number (or does not fit in 64 bits).
    InvalidContentLength,
    /// 400: several `Content-Length` values that disagree.
    ConflictingContentLength,
    /// 400: both `Content-Length` and `Transfer-Encoding`: ambiguous framing.
    ContentLengthWithTransferEncoding,
    /// 400: `Transfer-Encoding` in an HTTP/1.0 request, where it cannot frame a body.
    TransferEncodingInHttp10,
    /// 501: a `Transfer-Encoding` other than exactly `chunked`.
    UnsupportedTransferEncoding,
    /// 400: an HTTP/1.1 request without `Host` (RFC 9112, section 3.2, requires one).
    MissingHost,
}

impl HeadError {
    /// The HTTP status to answer with.
    pub fn status(self) -> u16 {
        match self {
            Self::TooManyHeaders => 431,
            Self::UnsupportedVersion => 505,
            Self::UnsupportedTransferEncoding => 501,
            Self::MalformedRequestLine
            | Self::MalformedHeader
            | Self::ObsoleteLineFolding
            | Self::InvalidContentLength
            | Self::ConflictingContentLength
            | Self::ContentLengthWithTransferEncoding
            | Self::TransferEncodingInHttp10
            | Self::MissingHost => 400,
        }
    }

    /// A short human-readable explanation, for the response body and logs.
    pub fn reason(self) -> &'static str {
        match self {
            Self::MalformedRequestLine => "malformed request line",
            Self::MalformedHeader => "malformed header",
            Self::ObsoleteLineFolding => "obsolete line folding is not allowed",
            Self::TooManyHeaders => "too many headers",
            Self::UnsupportedVersion => "HTTP version not supported",
            Self::InvalidContentLength => "invalid Content-Length",
            Self::ConflictingContentLength => "conflicting Content-Length values",
            Self::ContentLengthWithTransferEncoding => {
                "Content-Length together with Transfer-Encoding"
            }
            Self::TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            Self::UnsupportedTransferEncoding => "only chunked transfer encoding is supported",
            Self::MissingHost => "an HTTP/1.1 request needs a Host header",
        }
    }

    /// The standard reason phrase of [`HeadError::status`], for the status line.
    pub fn status_text(self) -> &'static str {
        reason_phrase(self.status())
    }
}

/// The reason phrase (RFC 9110, section 15) of every status this server sends: the one table
/// the loop's own answers and the tiny_http workers' both use. Others get an empty phrase,
/// which HTTP/1.1 allows.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        303 => "See Other",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status(),
            self.status_text(),
            self.reason()
        )
    }
}

impl std::error::Error for HeadError {}

/// Parses the request head at the start of `buf`.
///
/// `Ok(None)`: the head is not complete yet; read more and call again with the whole buffer
/// (the caller enforces the byte and time caps). `Ok(Some(head))`: the body, if any, starts
/// at `head.head_len`. At most `max_headers` header lines are accepted.
pub fn parse_request_head(
    buf: &[u8],
    max_headers: usize,
) -> Result<Option<RequestHead>, HeadError> {
    let mut slots = vec![httparse::EMPTY_HEADER; max_headers];
    let mut req = httparse::Request::new(&mut slots);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(classify(e, buf)),
    };
    let (Some(method), Some(target), Some(version_minor)) = (req.method, req.path, req.version)
    else {
        // httparse fills all three on Complete; treat anything else as malformed.
        return Err(HeadError::MalformedRequestLine);
    };
    let headers: Vec<(String, Vec<u8>)> = req
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
        .collect();

    let mut head = RequestHead {
        method: Method::from_token(method),
        target: target.to_owned(),
        version_minor,
        headers,
        head_len,
        content_length: None,
        chunked: false,
        keep_alive: false,
    };
    if head.version_minor == 1 && head.header("host").is_none() {
        return Err(HeadError::MissingHost);
    }
    head.content_length = content_length(&head)?;
    head.chunked = transfer_encoding(&head)?;
    head.keep_alive = if head.version_minor == 0 {
        head.header_has_token("connection", "keep-alive")
    } else {
        !head.header_has_token("connection", "close")
    };
    Ok(Some(head))
}

/// Maps an httparse error to our status, looking at the bytes where httparse does not say
/// enough.
fn classify(error: httparse::Error, buf: &[u8]) -> HeadError {
    match error {
        httparse::Error::TooManyHeaders => HeadError::TooManyHeaders,
        // httparse rejects any version but 1.0 and 1.1; only a well-formed other version
        // deserves 505, garbage is 400.
        httparse::Error::Version if is_other_http_version(buf) => HeadError::UnsupportedVersion,
        httparse::Error::Version | httparse::Error::Token | httparse::Error::NewLine => {
            HeadError::MalformedRequestLine
        }
        httparse::Error::HeaderName | httparse::Error::HeaderValue if has_obs_fold(buf) => {
            HeadError::ObsoleteLineFolding
        }
        _ => HeadError::MalformedHeader,
    }
}

/// Whether the request line ends in a well-formed `HTTP/<digit>.<digit>`.
fn is_other_http_version(buf: &[u8]) -> bool {
    let line = buf.split(|&b| b == b'\n').find(|l| !trim_ows(l).is_empty());
    let Some(line) = line else { return false };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    matches!(
        version,
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit()
    )
}

/// Whether a header line (after the request line, before the blank line) starts with
/// whitespace, i.e. continues the previous one.
fn has_obs_fold(buf: &[u8]) -> bool {
    buf.split(|&b| b == b'\n')
        .skip(1)
        .take_while(|line| !matches!(line, [] | [b'\r']))
        .any(|line| matches!(line.first(), Some(b' ' | b'\t')))
}

/// The single Content-Length value, checking every header and list element agrees.
fn content_length(head: &RequestHead) -> Result<Option<u64>, HeadError> {
    let mut found: Option<u64> = None;
    for (_, value) in head.headers.iter().filter(|(n, _)| n == "content-length") {
        for item in value.split(|&b| b == b',') {
            let n = parse_decimal(trim_ows(item)).ok_or(HeadError::InvalidContentLength)?;
            match found {
                Some(prev) if prev != n => return Err(HeadError::ConflictingContentLength),
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

/// Whether the body is chunked; any other transfer coding is refused.
fn transfer_encoding(head: &RequestHead) -> Result<bool, HeadError> {
    let mut codings = head
        .headers
        .iter()
        .filter(|(n, _)| n == "transfer-encoding")
        .flat_map(|(_, v)| v.split(|&b| b == b','))
        .map(trim_ows)
        .peekable();
    if codings.peek().is_none() {
        return Ok(false);
    }
    if head.content_length.is_some() {
        return Err(HeadError::ContentLengthWithTransferEncoding);
    }
    if head.version_minor == 0 {
        return Err(HeadError::TransferEncodingInHttp10);
    }
    match (codings.next(), codings.next()) {
        (Some(only), None) if only.eq_ignore_ascii_case(b"chunked") => Ok(true),
        _ => Err(HeadError::UnsupportedTransferEncoding),
    }
}

/// A non-empty run of ASCII digits as u64; `None` for anything else or on overflow.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?
            .checked_add(u64::from(b.checked_sub(b'0')?))
    })
}

/// Strips optional whitespace (SP / HTAB) from both ends.
fn trim_ows(s: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = s.iter().position(|b| !is_ows(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i.saturating_add(1));
    s.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: usize = 16;

    fn parse(s: &str) -> Result<Option<RequestHead>, HeadError> {
        parse_request_head(s.as_bytes(), MAX)
    }

    /// `s` with a `Host` line after its request line, if it is HTTP/1.1 and has none: every
    /// such request needs one (the fixtures below are about other things).
    fn hosted(s: &str) -> String {
        match s.split_once("HTTP/1.1\r\n") {
            Some((line, rest)) if !rest.to_ascii_lowercase().contains("host") => {
                format!("{line}HTTP/1.1\r\nHost: x\r\n{rest}")
            }
            _ => s.to_string(),
        }
    }

    fn ok(s: &str) -> RequestHead {
        parse(&hosted(s)).unwrap().unwrap()
    }

    #[test]
    fn parses_polling_handshake() {
        let raw = "GET /socket.io/?EIO=4&transport=polling&t=N8hyd6w HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\nextra";
        let head = ok(raw);
        assert_eq!(head.method, Method::Get);
        assert_eq!(head.target, "/socket.io/?EIO=4&transport=polling&t=N8hyd6w");
        assert_eq!(head.version_minor, 1);
        assert_eq!(head.head_len, raw.len() - "extra".len());
        assert_eq!(head.header("HOST"), Some(&b"example.com"[..]));
        assert_eq!(head.headers[1], ("accept".to_owned(), b"*/*".to_vec()));
        assert_eq!(head.content_length, None);
        assert!(!head.chunked);
        assert!(head.keep_alive);
    }

    #[test]
    fn parses_websocket_upgrade() {
        let head = ok("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
        assert!(head.header_has_token("connection", "upgrade"));
        assert!(head.header_has_token("Connection", "Keep-Alive"));
        assert!(head.header_has_token("upgrade", "WebSocket"));
        assert!(!head.header_has_token("connection", "close"));
        assert!(!head.header_has_token("missing", "x"));
    }

    #[test]
    fn parses_post_with_body_length() {
        let head = ok("POST /socket.io/?sid=x HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
        assert_eq!(head.method, Method::Post);
        assert_eq!(head.content_length, Some(5));
        let head = ok("POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n");
        assert_eq!(head.content_length, Some(5));
        let head = ok("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n");
        assert_eq!(head.content_length, Some(5));
        let head = ok("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert!(head.chunked);
        assert_eq!(head.content_length, None);
        let head = ok("POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n");
        assert_eq!(head.content_length, Some(u64::MAX));
    }

    #[test]
    fn methods() {
        for (m, want) in [
            ("GET", Method::Get),
            ("POST", Method::Post),
            ("OPTIONS", Method::Options),
            ("HEAD", Method::Head),
            ("PUT", Method::Other),
            ("get", Method::Other),
        ] {
            assert_eq!(ok(&format!("{m} / HTTP/1.1\r\n\r\n")).method, want);
        }
    }

    #[test]
    fn keep_alive_defaults() {
        assert!(ok("GET / HTTP/1.1\r\n\r\n").keep_alive);
        assert!(!ok("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!ok("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
        assert!(!ok("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert_eq!(ok("GET / HTTP/1.0\r\n\r\n").version_minor, 0);
    }

    #[test]
    fn incomplete_heads_need_more() {
        let full = "GET /socket.io/ HTTP/1.1\r\nHost: x\r\n\r\n";
        for cut in 0..full.len() {
            assert_eq!(parse(&full[..cut]), Ok(None), "cut at {cut}");
        }
        assert!(parse(full).unwrap().is_some());
    }

    #[test]
    fn errors_and_statuses() {
        use HeadError::*;
        let cases: &[(&str, HeadError, u16)] = &[
            ("GET\r\n\r\n", MalformedRequestLine, 400),
            ("GET / FOO/1.1\r\n\r\n", MalformedRequestLine, 400),
            ("G(T / HTTP/1.1\r\n\r\n", MalformedRequestLine, 400),
            ("GET / HTTP/2.0\r\n\r\n", UnsupportedVersion, 505),
            ("GET / HTTP/1.2\r\n\r\n", UnsupportedVersion, 505),
            ("GET / HTTP/0.9\r\n\r\n", UnsupportedVersion, 505),
            ("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", MalformedHeader, 400),
            ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", MalformedHeader, 400),
            ("GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n", MalformedHeader, 400),
            ("GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", ObsoleteLineFolding, 400),
            ("GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n", ObsoleteLineFolding, 400),
            ("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", ConflictingContentLength, 400),
            ("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", ConflictingContentLength, 400),
            ("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", InvalidContentLength, 400),
            ("POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n", InvalidContentLength, 400),
            ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", InvalidContentLength, 400),
            ("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", InvalidContentLength, 400),
            ("POST / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n", InvalidContentLength, 400),
            ("POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", InvalidContentLength, 400),
            ("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", ContentLengthWithTransferEncoding, 400),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", TransferEncodingInHttp10, 400),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", UnsupportedTransferEncoding, 501),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", UnsupportedTransferEncoding, 501),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", UnsupportedTransferEncoding, 501),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n", UnsupportedTransferEncoding, 501),
        ];
        for &(raw, want, status) in cases {
            let got = parse(&hosted(raw));
            assert_eq!(got, Err(want), "{raw:?}");
            assert_eq!(want.status(), status);
            assert!(!want.reason().is_empty());
            assert!(want.to_string().starts_with(&status.to_string()));
        }
    }

    #[test]
    fn too_many_headers() {
        let mut raw = String::from("GET / HTTP/1.1\r\n");
        for i in 0..=MAX {
            raw.push_str(&format!("X-{i}: v\r\n"));
        }
        raw.push_str("\r\n");
        assert_eq!(parse(&raw), Err(HeadError::TooManyHeaders));
        assert_eq!(HeadError::TooManyHeaders.status(), 431);
        assert_eq!(
            HeadError::TooManyHeaders.status_text(),
            "Request Header Fields Too Large"
        );
        assert_eq!(
            parse_request_head(b"GET / HTTP/1.1\r\nA: b\r\n\r\n", 0),
            Err(HeadError::TooManyHeaders)
        );
        assert!(parse_request_head(b"GET / HTTP/1.0\r\n\r\n", 0)
            .unwrap()
            .is_some());
    }

    #[test]
    fn an_http_11_request_needs_a_host() {
        assert_eq!(parse("GET / HTTP/1.1\r\n\r\n"), Err(HeadError::MissingHost));
        assert_eq!(HeadError::MissingHost.status(), 400);
        assert!(parse("GET / HTTP/1.1\r\nhOsT: pi\r\n\r\n")
            .unwrap()
            .is_some());
        // HTTP/1.0 had no Host (HAProxy's health checks still send none).
        assert!(parse("GET / HTTP/1.0\r\n\r\n").unwrap().is_some());
    }

    proptest! {
        #[test]
        fn never_panics(buf in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_request_head(&buf, MAX);
        }

        #[test]
        fn never_panics_on_near_misses(
            line in "[A-Z]{1,7} /[a-z?=&]{0,10} HTTP/[0-9]\\.[0-9]",
            headers in proptest::collection::vec("[A-Za-z-]{1,16}:[ \t]?[a-z0-9, \t]{0,16}", 0..20),
            sep in prop_oneof![Just("\r\n"), Just("\n"), Just("\r\n "), Just("\r")],
        ) {
            let raw = format!("{line}{sep}{}{sep}{sep}", headers.join(sep));
            let _ = parse_request_head(raw.as_bytes(), MAX);
        }
    }
}
