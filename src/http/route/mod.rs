//! Plain-HTTP routing: a pure function from a request view to a reply.
//!
//! Owns: every rule of what the worker pool answers — `/health`, `/metrics`, the embedded
//! bundle with ETag/304, gzip twins, cache policy, the SPA fallback, path safety, 405 — and the
//! security headers every response carries.
//!
//! Never does: I/O, logging, or reading the clock (`now` is an argument), so every rule is unit
//! tested without sockets. The adapter in `mod.rs` turns a [`Reply`] into bytes.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use miniserde::Serialize;

use super::assets::{Asset, Assets};
use crate::metrics::{JoinRejection, Metrics};

/// Sent with every response.
///
/// `style-src 'unsafe-inline'` is there because Chakra UI styles components through emotion,
/// which injects `<style>` tags at run time; without it the client renders unstyled. Scripts
/// stay `'self'` only. `blob:`/`data:` images and media are the decrypted items the client
/// shows; `worker-src blob:` lets it decrypt off the main thread.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    (
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' blob: data:; media-src 'self' blob:; font-src 'self' data:; \
         connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    (
        "Permissions-Policy",
        "camera=(), microphone=(), geolocation=()",
    ),
];

/// What the router needs to know of a request; borrowed from the tiny_http request.
#[derive(Debug, Clone, Default)]
pub struct RequestView<'a> {
    pub method: &'a str,
    /// The request target as sent (`/path?query`).
    pub target: &'a str,
    /// Every `If-None-Match` header value, in order.
    pub if_none_match: Vec<&'a str>,
    /// Every `Accept-Encoding` header value, in order.
    pub accept_encoding: Vec<&'a str>,
}

impl RequestView<'_> {
    fn is_head(&self) -> bool {
        self.method == "HEAD"
    }

    /// The path part of the target: what may be logged (queries can carry routing keys).
    pub fn path(&self) -> &str {
        self.target
            .split_once(['?', '#'])
            .map_or(self.target, |(path, _)| path)
    }
}

/// A response body: embedded bytes are borrowed, generated text is owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Static(&'static [u8]),
    Owned(Vec<u8>),
}

impl Body {
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Static(bytes) => bytes,
            Body::Owned(bytes) => bytes,
        }
    }
}

/// A complete response. `body` is the GET representation even for HEAD and 304, because its
/// length is the Content-Length those carry (RFC 9110 §9.3.2, §15.4.5); [`Reply::sends_body`]
/// says whether the bytes go on the wire.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Response headers besides `Content-Length` (written by the adapter from `body`).
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
    /// HEAD and 304 carry headers only.
    pub headers_only: bool,
}

impl Reply {
    fn new(status: u16, content_type: &str, body: Body) -> Self {
        let mut headers = Vec::with_capacity(SECURITY_HEADERS.len() + 5);
        headers.push(("Content-Type", content_type.to_owned()));
        headers.extend(SECURITY_HEADERS.iter().map(|(k, v)| (*k, (*v).to_owned())));
        Reply {
            status,
            headers,
            body,
            headers_only: false,
        }
    }

    fn text(status: u16, text: &'static str) -> Self {
        Reply::new(
            status,
            "text/plain; charset=utf-8",
            Body::Static(text.as_bytes()),
        )
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn sends_body(&self) -> bool {
        !self.headers_only
    }

    #[cfg(test)]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Everything the routes read: the asset table (hashed once), the loop's counters and what
/// `/health` reports.
#[derive(Debug)]
pub struct Router {
    pub assets: Assets,
    pub metrics: Arc<Metrics>,
    pub version: &'static str,
    pub started: Instant,
}

impl Router {
    /// Answers one request at time `now`.
    pub fn route(&self, req: &RequestView, now: Instant) -> Reply {
        let mut reply = self.route_get(req, now);
        if req.is_head() {
            reply.headers_only = true;
        }
        reply
    }

    fn route_get(&self, req: &RequestView, now: Instant) -> Reply {
        if !matches!(req.method, "GET" | "HEAD") {
            return Reply::text(405, "method not allowed\n").with("Allow", "GET, HEAD");
        }
        let Some(path) = safe_path(req.path()) else {
            return Reply::text(400, "bad request\n");
        };
        match path.as_ref() {
            "/health" => self.health(now),
            "/metrics" => self.metrics(now),
            _ => self.bundle(req, &path),
        }
    }

    fn health(&self, now: Instant) -> Reply {
        #[derive(Serialize)]
        struct Health {
            status: &'static str,
            version: &'static str,
            #[serde(rename = "uptimeSeconds")]
            uptime_seconds: u64,
        }
        let body = miniserde::json::to_string(&Health {
            status: "ok",
            version: self.version,
            uptime_seconds: self.uptime(now),
        });
        Reply::new(200, "application/json", Body::Owned(body.into_bytes()))
            .with("Cache-Control", "no-store")
    }

    fn uptime(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.started).as_secs()
    }

    fn metrics(&self, now: Instant) -> Reply {
        let body = render_metrics(&self.metrics, self.uptime(now));
        Reply::new(
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            Body::Owned(body.into_bytes()),
        )
        .with("Cache-Control", "no-store")
    }

    fn bundle(&self, req: &RequestView, path: &str) -> Reply {
        let relative = match path.strip_prefix('/').unwrap_or(path) {
            "" => "index.html",
            other => other,
        };
        let asset = match self.assets.get(relative) {
            Some(asset) => asset,
            // The client routes in the browser: a path without an extension is one of its
            // pages, so it gets the app shell. Paths with an extension are missing files.
            None if !last_segment_has_extension(relative) => match self.assets.get("index.html") {
                Some(index) => index,
                None => return Reply::text(404, "not found\n"),
            },
            None => return Reply::text(404, "not found\n"),
        };
        serve_asset(asset, req)
    }
}

fn serve_asset(asset: &Asset, req: &RequestView) -> Reply {
    let (variant, gzip) = match &asset.gzip {
        Some(gz) if accepts_gzip(&req.accept_encoding) => (gz, true),
        _ => (&asset.identity, false),
    };
    let mut reply = Reply::new(200, asset.content_type, Body::Static(variant.bytes))
        .with("ETag", variant.etag().to_owned())
        .with("Cache-Control", asset.cache_control)
        .with("Vary", "Accept-Encoding");
    if gzip {
        reply = reply.with("Content-Encoding", "gzip");
    }
    if etag_matches(&req.if_none_match, variant.etag()) {
        reply.status = 304;
        reply.headers_only = true;
        // RFC 9110 §15.4.5: a 304 carries no representation metadata beyond what helps caches.
        reply
            .headers
            .retain(|(k, _)| !matches!(*k, "Content-Type" | "Content-Encoding"));
    }
    reply
}

fn last_segment_has_extension(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| name.contains('.'))
}

/// Percent-decodes the path and refuses what must never reach a lookup: a malformed escape,
/// NUL, invalid UTF-8, a `..` segment, or a target that is not origin-form.
fn safe_path(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.starts_with('/') {
        return None;
    }
    let decoded = if raw.contains('%') {
        let mut bytes = Vec::with_capacity(raw.len());
        let mut rest = raw.as_bytes();
        while let Some((&b, tail)) = rest.split_first() {
            if b == b'%' {
                let (hi, lo) = match tail {
                    [hi, lo, ..] => (hex(*hi)?, hex(*lo)?),
                    _ => return None,
                };
                bytes.push(hi << 4 | lo);
                rest = tail.get(2..)?;
            } else {
                bytes.push(b);
                rest = tail;
            }
        }
        Cow::Owned(String::from_utf8(bytes).ok()?)
    } else {
        Cow::Borrowed(raw)
    };
    let unsafe_segment = decoded.split(['/', '\\']).any(|segment| segment == "..");
    if decoded.contains('\0') || unsafe_segment {
        return None;
    }
    Some(decoded)
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Whether `Accept-Encoding` allows gzip: an explicit `gzip` (or `x-gzip`) with q > 0, or else
/// `*` with q > 0. `gzip;q=0` forbids it even when `*` is present.
fn accepts_gzip(headers: &[&str]) -> bool {
    let mut star = None;
    for item in headers.iter().flat_map(|h| h.split(',')) {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok());
        // An unparsable q-value makes the item mean nothing rather than "yes".
        let acceptable = q.is_some_and(|q| q > 0.0);
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            return acceptable;
        }
        if coding == "*" {
            star = Some(acceptable);
        }
    }
    star.unwrap_or(false)
}

/// `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/` prefixes are ignored,
/// `*` matches any representation.
fn etag_matches(headers: &[&str], etag: &str) -> bool {
    headers.iter().any(|header| {
        let mut rest = header.trim();
        while !rest.is_empty() {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.starts_with('*') {
                return true;
            }
            let tagged = rest.strip_prefix("W/").unwrap_or(rest);
            let Some(inner) = tagged.strip_prefix('"') else {
                return false;
            };
            let Some(end) = inner.find('"') else {
                return false;
            };
            let (opaque, after) = inner.split_at(end);
            if etag.strip_prefix('"').and_then(|e| e.strip_suffix('"')) == Some(opaque) {
                return true;
            }
            rest = after.get(1..).unwrap_or("");
        }
        false
    })
}

/// Prometheus text exposition format 0.0.4.
pub fn render_metrics(m: &Metrics, uptime_seconds: u64) -> String {
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Relaxed);
    let head = load(&m.connections_head);
    let polling = load(&m.connections_polling);
    let websocket = load(&m.connections_websocket);
    let http = load(&m.connections_http);
    let used = load(&m.connections_open);
    let free = |slots: u64, used: u64| slots.saturating_sub(used);
    let sessions = load(&m.sessions);
    let members = load(&m.members);

    let mut out = String::with_capacity(2048);
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "# HELP sharethings_{name} {help}");
        let _ = writeln!(out, "# TYPE sharethings_{name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "sharethings_{name}{labels} {value}");
        }
    };
    family(
        "connections",
        "gauge",
        "Clients by transport (Engine.IO sessions on polling or WebSocket; TCP connections reading a request head or bridged to the HTTP workers).",
        &[
            ("{transport=\"head\"}", head),
            ("{transport=\"polling\"}", polling),
            ("{transport=\"websocket\"}", websocket),
            ("{transport=\"http\"}", http),
        ],
    );
    let connection_slots = load(&m.connection_slots);
    family(
        "connection_slots_used",
        "gauge",
        "Connection arena slots in use.",
        &[("", used)],
    );
    family(
        "connection_slots_free",
        "gauge",
        "Connection arena slots free.",
        &[("", free(connection_slots, used))],
    );
    family(
        "sessions",
        "gauge",
        "ShareThings sessions alive.",
        &[("", sessions)],
    );
    family(
        "session_slots_free",
        "gauge",
        "Session arena slots free.",
        &[("", free(load(&m.session_slots), sessions))],
    );
    family(
        "members",
        "gauge",
        "Members over all sessions.",
        &[("", members)],
    );
    family(
        "member_slots_free",
        "gauge",
        "Member arena slots free.",
        &[("", free(load(&m.member_slots), members))],
    );
    family(
        "events_relayed_total",
        "counter",
        "Application events relayed (once per event, not per receiver).",
        &[("", load(&m.events_relayed))],
    );
    family(
        "bytes_relayed_total",
        "counter",
        "Bytes queued to receivers by relaying (counted per receiver).",
        &[("", load(&m.bytes_relayed))],
    );
    family(
        "queued_bytes",
        "gauge",
        "Bytes waiting in all send queues.",
        &[("", load(&m.queued_bytes))],
    );
    family(
        "inbox_bytes",
        "gauge",
        "Bytes kept by session inboxes for absent devices.",
        &[("", load(&m.inbox_bytes))],
    );
    family(
        "inbox_items",
        "gauge",
        "Items kept by session inboxes for absent devices.",
        &[("", load(&m.inbox_items))],
    );
    let reasons: Vec<(String, u64)> = JoinRejection::ALL
        .iter()
        .map(|why| (format!("{{reason=\"{}\"}}", why.code()), m.rejected(*why)))
        .collect();
    let reasons: Vec<(&str, u64)> = reasons.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    family(
        "rejected_joins_total",
        "counter",
        "Joins refused, by reason.",
        &reasons,
    );
    family(
        "uptime_seconds",
        "gauge",
        "Seconds since the process started.",
        &[("", uptime_seconds)],
    );
    out
}

#[cfg(test)]
mod tests;
