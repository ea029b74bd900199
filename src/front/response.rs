//! HTTP/1.1 responses the loop writes itself.

use crate::wire::http_head::reason_phrase;

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
