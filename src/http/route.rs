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
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    const INDEX: &[u8] = b"<!doctype html><title>t</title>";
    const INDEX_GZ: &[u8] = b"\x1f\x8bfake-gzip";
    const JS: &[u8] = b"console.log(1)";
    const JS_GZ: &[u8] = b"\x1f\x8bjs";

    fn router() -> Router {
        let files = [
            ("index.html", INDEX),
            ("index.html.gz", INDEX_GZ),
            ("assets/index-C0bXRwDx.js", JS),
            ("assets/index-C0bXRwDx.js.gz", JS_GZ),
            ("assets/logo-abcdefgh.svg", &b"<svg/>"[..]),
            ("favicon.ico", &b"ico"[..]),
        ];
        Router {
            assets: Assets::from_files(files.iter().copied()),
            metrics: Arc::new(Metrics::default()),
            version: "1.2.3",
            started: Instant::now(),
        }
    }

    fn get(target: &str) -> RequestView<'_> {
        RequestView {
            method: "GET",
            target,
            ..RequestView::default()
        }
    }

    fn route(r: &Router, req: &RequestView) -> Reply {
        r.route(req, r.started + Duration::from_secs(42))
    }

    fn assert_security_headers(reply: &Reply) {
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(
                reply.header(name),
                Some(value),
                "{name} on {}",
                reply.status
            );
        }
    }

    #[test]
    fn health() {
        let r = router();
        let reply = route(&r, &get("/health"));
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("Content-Type"), Some("application/json"));
        assert_eq!(reply.header("Cache-Control"), Some("no-store"));
        assert_eq!(
            reply.body.as_bytes(),
            br#"{"status":"ok","version":"1.2.3","uptimeSeconds":42}"#
        );
        assert_security_headers(&reply);
        let head = route(
            &r,
            &RequestView {
                method: "HEAD",
                ..get("/health?x=1")
            },
        );
        assert_eq!(head.status, 200);
        assert!(!head.sends_body());
        assert_eq!(head.body, reply.body, "HEAD keeps GET's length");
    }

    #[test]
    fn metrics_exposition() {
        let r = router();
        r.metrics.connections_websocket.store(3, Relaxed);
        r.metrics.connections_head.store(1, Relaxed);
        r.metrics.connection_slots.store(10, Relaxed);
        r.metrics.connections_open.store(4, Relaxed);
        r.metrics.sessions.store(2, Relaxed);
        r.metrics.session_slots.store(8, Relaxed);
        r.metrics.members.store(5, Relaxed);
        r.metrics.member_slots.store(64, Relaxed);
        r.metrics.events_relayed.store(7, Relaxed);
        r.metrics.bytes_relayed.store(1000, Relaxed);
        r.metrics.queued_bytes.store(12, Relaxed);
        r.metrics.reject_join(JoinRejection::RateLimited);
        let reply = route(&r, &get("/metrics"));
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("Content-Type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        let text = String::from_utf8(reply.body.as_bytes().to_vec()).unwrap();
        for line in [
            "sharethings_connections{transport=\"head\"} 1",
            "sharethings_connections{transport=\"polling\"} 0",
            "sharethings_connections{transport=\"websocket\"} 3",
            "sharethings_connections{transport=\"http\"} 0",
            "sharethings_connection_slots_used 4",
            "sharethings_connection_slots_free 6",
            "sharethings_sessions 2",
            "sharethings_session_slots_free 6",
            "sharethings_members 5",
            "sharethings_member_slots_free 59",
            "sharethings_events_relayed_total 7",
            "sharethings_bytes_relayed_total 1000",
            "sharethings_queued_bytes 12",
            "sharethings_rejected_joins_total{reason=\"rate_limited\"} 1",
            "sharethings_rejected_joins_total{reason=\"invalid_request\"} 0",
            "sharethings_rejected_joins_total{reason=\"invalid_passphrase\"} 0",
            "sharethings_rejected_joins_total{reason=\"session_full\"} 0",
            "sharethings_rejected_joins_total{reason=\"server_full\"} 0",
            "sharethings_uptime_seconds 42",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // Every sample's family has HELP then TYPE before it; every line is well formed.
        let mut typed = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(kind == "gauge" || kind == "counter");
                typed.push(name.to_owned());
            } else if let Some(rest) = line.strip_prefix("# HELP ") {
                assert!(rest.split_once(' ').is_some_and(|(_, h)| !h.is_empty()));
            } else {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(name.starts_with("sharethings_"));
                assert!(typed.last().is_some_and(|t| t == name), "{line}");
                let value = line.rsplit(' ').next().unwrap();
                assert!(value.parse::<u64>().is_ok(), "{line}");
            }
        }
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn metrics_saturate_instead_of_wrapping() {
        let m = Metrics {
            connections_open: AtomicU64::new(u64::MAX),
            connection_slots: AtomicU64::new(5),
            ..Metrics::default()
        };
        let text = render_metrics(&m, 0);
        assert!(text.contains("sharethings_connection_slots_free 0\n"));
        assert!(text.contains(&format!("sharethings_connection_slots_used {}\n", u64::MAX)));
    }

    #[test]
    fn index_and_root() {
        let r = router();
        for target in ["/", "/index.html", "/?room=secret"] {
            let reply = route(&r, &get(target));
            assert_eq!(reply.status, 200, "{target}");
            assert_eq!(reply.body.as_bytes(), INDEX);
            assert_eq!(
                reply.header("Content-Type"),
                Some("text/html; charset=utf-8")
            );
            assert_eq!(reply.header("Cache-Control"), Some("no-cache"));
            assert_eq!(reply.header("Vary"), Some("Accept-Encoding"));
            assert_eq!(reply.header("Content-Encoding"), None);
            assert!(reply.header("ETag").is_some_and(|e| e.len() == 34));
            assert_security_headers(&reply);
        }
    }

    #[test]
    fn hashed_files_are_immutable() {
        let r = router();
        let reply = route(&r, &get("/assets/index-C0bXRwDx.js"));
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body.as_bytes(), JS);
        assert_eq!(
            reply.header("Content-Type"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            reply.header("Cache-Control"),
            Some("public, max-age=31536000, immutable")
        );
        let reply = route(&r, &get("/favicon.ico"));
        assert_eq!(reply.header("Cache-Control"), Some("no-cache"));
        assert_eq!(reply.header("Content-Type"), Some("image/x-icon"));
    }

    #[test]
    fn gzip_negotiation() {
        let r = router();
        let with = |ae: &'static str| {
            let req = RequestView {
                accept_encoding: vec![ae],
                ..get("/assets/index-C0bXRwDx.js")
            };
            route(&r, &req)
        };
        for ae in [
            "gzip",
            "gzip, deflate, br",
            "br;q=1.0, GZIP;q=0.5",
            "*",
            "x-gzip",
        ] {
            let reply = with(ae);
            assert_eq!(reply.body.as_bytes(), JS_GZ, "{ae}");
            assert_eq!(reply.header("Content-Encoding"), Some("gzip"), "{ae}");
            assert_eq!(reply.header("Vary"), Some("Accept-Encoding"));
            assert_eq!(
                reply.header("Content-Type"),
                Some("text/javascript; charset=utf-8")
            );
        }
        for ae in [
            "gzip;q=0",
            "gzip; q=0.000",
            "*;q=0",
            "br",
            "*, gzip;q=0",
            "gzip;q=x",
            "",
        ] {
            let reply = with(ae);
            assert_eq!(reply.body.as_bytes(), JS, "{ae}");
            assert_eq!(reply.header("Content-Encoding"), None, "{ae}");
        }
        // No twin: identity whatever the client accepts.
        let req = RequestView {
            accept_encoding: vec!["gzip"],
            ..get("/assets/logo-abcdefgh.svg")
        };
        let reply = route(&r, &req);
        assert_eq!(reply.header("Content-Encoding"), None);
        assert_eq!(reply.header("Vary"), Some("Accept-Encoding"));
        // Several Accept-Encoding headers are one list.
        let req = RequestView {
            accept_encoding: vec!["br", "gzip"],
            ..get("/")
        };
        assert_eq!(route(&r, &req).body.as_bytes(), INDEX_GZ);
    }

    #[test]
    fn gz_files_are_not_paths() {
        let r = router();
        for target in ["/index.html.gz", "/assets/index-C0bXRwDx.js.gz"] {
            let reply = route(&r, &get(target));
            assert_eq!(reply.status, 404, "{target}");
            assert_eq!(
                reply.header("Content-Type"),
                Some("text/plain; charset=utf-8")
            );
            assert_security_headers(&reply);
        }
    }

    #[test]
    fn conditional_get() {
        let r = router();
        let etag = route(&r, &get("/")).header("ETag").unwrap().to_owned();
        let bare = etag.trim_matches('"').to_owned();
        let weak = format!("W/{etag}");
        let list = format!("\"nope\", {etag}");
        let weak_list = format!("W/\"a,b\" ,W/{etag}");
        for inm in [etag.as_str(), &weak, &list, &weak_list, "*"] {
            let req = RequestView {
                if_none_match: vec![inm],
                ..get("/")
            };
            let reply = route(&r, &req);
            assert_eq!(reply.status, 304, "{inm}");
            assert!(!reply.sends_body());
            assert_eq!(
                reply.body.as_bytes().len(),
                INDEX.len(),
                "Content-Length of the 200"
            );
            assert_eq!(reply.header("ETag"), Some(etag.as_str()));
            assert_eq!(reply.header("Cache-Control"), Some("no-cache"));
            assert_eq!(reply.header("Vary"), Some("Accept-Encoding"));
            assert_eq!(reply.header("Content-Type"), None);
            assert_security_headers(&reply);
        }
        for inm in ["\"nope\"", &bare, "W/\"x\"", "\"unterminated", ""] {
            let req = RequestView {
                if_none_match: vec![inm],
                ..get("/")
            };
            assert_eq!(route(&r, &req).status, 200, "{inm}");
        }
        // The gzip variant has its own tag: the identity tag does not validate it.
        let req = RequestView {
            if_none_match: vec![&etag],
            accept_encoding: vec!["gzip"],
            ..get("/")
        };
        let reply = route(&r, &req);
        assert_eq!(reply.status, 200);
        let gz_tag = reply.header("ETag").unwrap().to_owned();
        assert_ne!(gz_tag, etag);
        let req = RequestView {
            if_none_match: vec![&gz_tag],
            accept_encoding: vec!["gzip"],
            ..get("/")
        };
        let reply = route(&r, &req);
        assert_eq!(reply.status, 304);
        assert_eq!(reply.body.as_bytes().len(), INDEX_GZ.len());
    }

    #[test]
    fn spa_fallback_and_404() {
        let r = router();
        for target in ["/join", "/session/abc", "/a/b/", "/v1.2/room"] {
            let reply = route(&r, &get(target));
            assert_eq!(reply.status, 200, "{target}");
            assert_eq!(reply.body.as_bytes(), INDEX, "{target}");
            assert_eq!(reply.header("Cache-Control"), Some("no-cache"));
        }
        for target in ["/missing.js", "/assets/gone-12345678.css", "/a/b.png"] {
            let reply = route(&r, &get(target));
            assert_eq!(reply.status, 404, "{target}");
            assert_eq!(reply.body.as_bytes(), b"not found\n");
        }
        let empty = Router {
            assets: Assets::from_files(std::iter::empty()),
            ..router()
        };
        assert_eq!(route(&empty, &get("/join")).status, 404);
    }

    #[test]
    fn path_safety() {
        let r = router();
        for target in [
            "/../etc/passwd",
            "/assets/../index.html",
            "/%2e%2e/x",
            "/a/%2E%2E",
            "/a%00b",
            "/%zz",
            "/%4",
            "/%",
            "/%ff%fe",
            "/..\\x",
            "*",
            "http://example.com/",
        ] {
            let reply = route(&r, &get(target));
            assert_eq!(reply.status, 400, "{target}");
            assert_security_headers(&reply);
        }
        // Escapes that decode to something harmless are served.
        assert_eq!(route(&r, &get("/index%2Ehtml")).body.as_bytes(), INDEX);
        assert_eq!(
            route(&r, &get("/%68ealth")).header("Cache-Control"),
            Some("no-store")
        );
        assert_eq!(
            route(&r, &get("/a..b")).status,
            404,
            "'..' inside a name is fine"
        );
    }

    #[test]
    fn other_methods() {
        let r = router();
        for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "BREW"] {
            let reply = route(
                &r,
                &RequestView {
                    method,
                    ..get("/health")
                },
            );
            assert_eq!(reply.status, 405, "{method}");
            assert_eq!(reply.header("Allow"), Some("GET, HEAD"));
            assert!(reply.sends_body());
            assert_security_headers(&reply);
        }
    }

    #[test]
    fn head_mirrors_get() {
        let r = router();
        for target in [
            "/",
            "/assets/index-C0bXRwDx.js",
            "/nope.js",
            "/join",
            "/metrics",
        ] {
            let got = route(&r, &get(target));
            let head = route(
                &r,
                &RequestView {
                    method: "HEAD",
                    ..get(target)
                },
            );
            assert_eq!(head.status, got.status, "{target}");
            assert_eq!(head.headers, got.headers, "{target}");
            assert_eq!(head.body.as_bytes().len(), got.body.as_bytes().len());
            assert!(!head.sends_body());
        }
    }

    #[test]
    fn logged_path_drops_query() {
        assert_eq!(get("/a?key=secret").path(), "/a");
        assert_eq!(get("/a#frag").path(), "/a");
        assert_eq!(get("/a").path(), "/a");
    }

    #[test]
    fn every_embedded_file_is_served() {
        let r = Router {
            assets: Assets::embedded(),
            ..router()
        };
        let paths: Vec<String> = r.assets.paths().map(str::to_owned).collect();
        assert!(paths.iter().any(|p| p == "index.html"));
        for path in paths {
            let target = format!("/{path}");
            let reply = route(&r, &get(&target));
            assert_eq!(reply.status, 200, "{target}");
            let asset = r.assets.get(&path).unwrap();
            assert_eq!(reply.body.as_bytes(), asset.identity.bytes);
            assert_eq!(reply.header("ETag"), Some(asset.identity.etag()));
        }
    }
}
