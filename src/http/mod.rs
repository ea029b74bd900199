//! The plain-HTTP side: a tiny_http worker pool behind the event loop.
//!
//! The loop owns the public port. Every request that is not Engine.IO it relays, unchanged but
//! for one added header ([`PEER_HEADER`], the real TCP peer), over a private Unix socket that
//! this module listens on and tiny_http serves. Routing lives in `route.rs` as a pure function;
//! this file only creates the socket, runs the workers and turns a `route::Reply` into bytes.
//!
//! # What the bridge can rely on
//!
//! Every response this module writes is `HTTP/1.1` with an exact `Content-Length` and is never
//! chunked; responses to HEAD and `304 Not Modified` carry the `Content-Length` the GET / 200
//! would have (RFC 9110 §9.3.2, §15.4.5) and no body, so the loop must frame them as bodyless
//! (RFC 9112 §6.3 rule 1). We write the bytes ourselves through `Request::into_writer` instead
//! of tiny_http's `Response`, because tiny_http 0.12 switches to chunked encoding for bodies of
//! 32 KiB or more and, worse, whenever the *client* sends `TE: chunked`.
//!
//! tiny_http still answers some requests on its own: 400 (bad request line or header) and 417
//! (unknown `Expect`) with `Content-Length: 0`, then closes; 505 for HTTP/2+; and a
//! `100 Continue` interim response if we read the body of a request that sent
//! `Expect: 100-continue`.
//!
//! Never does: touch live state (workers only read [`Metrics`]), log query strings (they can
//! carry routing keys), or listen on anything but the private socket.

pub(crate) mod assets;
pub(crate) mod route;

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::metrics::Metrics;
use route::{Reply, RequestView, Router};

/// The header the loop adds to every relayed request: `<ip>:<port>` of the real TCP peer. The
/// loop strips any copy the client sent.
pub const PEER_HEADER: &str = "X-ShareThings-Peer";

/// Name of the socket inside the private directory.
const SOCKET_NAME: &str = "http.sock";

pub struct HttpConfig {
    /// Worker threads answering requests (at least one is started).
    pub workers: usize,
    /// Reported by `/health`.
    pub version: &'static str,
    /// Process start, for the uptime in `/health` and `/metrics`.
    pub started: Instant,
}

/// The running pool. Dropping it stops the workers and removes the socket and its directory.
pub struct HttpServer {
    dir: PathBuf,
    socket_path: PathBuf,
    server: Option<Arc<tiny_http::Server>>,
    stopping: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

/// Creates the private socket directory, binds the socket, hashes the embedded bundle and
/// starts `config.workers` threads.
///
/// The directory is mode 0700, under `$RUNTIME_DIRECTORY` (set by systemd's
/// `RuntimeDirectory=`; its first entry) or else the system temporary directory, named with the
/// pid and a random suffix so that two instances, or a stale directory, never collide.
pub fn spawn(config: HttpConfig, metrics: Arc<Metrics>) -> io::Result<HttpServer> {
    let dir = create_private_dir()?;
    let socket_path = dir.join(SOCKET_NAME);
    let mut pool = HttpServer {
        dir,
        socket_path,
        server: None,
        stopping: Arc::new(AtomicBool::new(false)),
        workers: Vec::new(),
    };
    // From here on, an early return drops `pool`, which cleans up whatever exists.
    let listener = UnixListener::bind(&pool.socket_path)?;
    let server = tiny_http::Server::from_listener(listener, None).map_err(io::Error::other)?;
    let server = Arc::new(server);
    pool.server = Some(Arc::clone(&server));

    let router = Arc::new(Router {
        assets: assets::Assets::embedded(),
        metrics,
        version: config.version,
        started: config.started,
    });
    for i in 0..config.workers.max(1) {
        let server = Arc::clone(&server);
        let router = Arc::clone(&router);
        let stopping = Arc::clone(&pool.stopping);
        let worker = thread::Builder::new()
            .name(format!("http-{i}"))
            .spawn(move || serve(&server, &router, &stopping))?;
        pool.workers.push(worker);
    }
    Ok(pool)
}

impl HttpServer {
    /// Where the loop connects to relay a request.
    pub fn socket_path(&self) -> &Path {
        &self.socket_path
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        if let Some(server) = &self.server {
            // Each unblock releases exactly one thread waiting in `recv`.
            for _ in &self.workers {
                server.unblock();
            }
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        // The last reference: tiny_http's Drop wakes its accept thread and removes the socket.
        drop(self.server.take());
        let _ = fs::remove_file(&self.socket_path);
        if let Err(err) = fs::remove_dir(&self.dir) {
            log::warn!("could not remove {}: {err}", self.dir.display());
        }
    }
}

fn create_private_dir() -> io::Result<PathBuf> {
    let base = std::env::var_os("RUNTIME_DIRECTORY")
        .and_then(|dirs| {
            let first = dirs.as_bytes().split(|&b| b == b':').next()?;
            (!first.is_empty()).then(|| PathBuf::from(std::ffi::OsStr::from_bytes(first)))
        })
        .unwrap_or_else(std::env::temp_dir);
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|err| io::Error::other(err.to_string()))?;
    let mut name = format!("sharethings-{}-", std::process::id());
    for byte in random {
        // Writing to a String cannot fail.
        let _ = write!(name, "{byte:02x}");
    }
    let dir = base.join(name);
    // `create` fails if the name exists, so nobody can have prepared it for us.
    fs::DirBuilder::new().mode(0o700).create(&dir)?;
    // The mode above passes through the umask; make it exactly 0700 whatever the umask is.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
    Ok(dir)
}

fn serve(server: &tiny_http::Server, router: &Router, stopping: &AtomicBool) {
    loop {
        match server.recv() {
            Ok(request) => handle(request, router),
            Err(_) if stopping.load(Ordering::Relaxed) => return,
            // tiny_http's accept thread reports its error here and then stops accepting; the
            // loop sees its connects fail from then on. Keep waiting for the shutdown unblock.
            Err(err) => log::error!("plain-HTTP listener failed: {err}"),
        }
    }
}

fn header_values<'a>(request: &'a tiny_http::Request, name: &'static str) -> Vec<&'a str> {
    request
        .headers()
        .iter()
        .filter(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
        .collect()
}

fn handle(mut request: tiny_http::Request, router: &Router) {
    let reply = {
        let view = RequestView {
            method: request.method().as_str(),
            target: request.url(),
            if_none_match: header_values(&request, "If-None-Match"),
            accept_encoding: header_values(&request, "Accept-Encoding"),
        };
        let reply = router.route(&view, Instant::now());
        let peer = header_values(&request, PEER_HEADER);
        log::debug!(
            "{} {:?} {} peer={}",
            view.method,
            view.path(),
            reply.status,
            peer.first().unwrap_or(&"-")
        );
        reply
    };
    let close = closes_after(&request);
    drain_body(&mut request);
    let mut writer = request.into_writer();
    if let Err(err) = write_reply(&mut writer, &reply, close, SystemTime::now()) {
        log::debug!("plain-HTTP response not delivered: {err}");
    }
}

/// Whether tiny_http will read no further request on this connection (its own rule), which we
/// announce with `Connection: close`.
fn closes_after(request: &tiny_http::Request) -> bool {
    let connection = header_values(request, "Connection")
        .iter()
        .map(|v| v.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",");
    let http10 = *request.http_version() == tiny_http::HTTPVersion(1, 0);
    connection.contains("close") || (http10 && !connection.contains("keep-alive"))
}

/// Reads and discards any request body before answering, in fixed-size pieces.
///
/// None of our routes take a body, but its bytes are on the connection before the next request,
/// and tiny_http 0.12 would otherwise discard the unread rest when the request drops by
/// allocating one buffer of the whole remaining `Content-Length` — a client-chosen size.
fn drain_body(request: &mut tiny_http::Request) {
    let has_body = request.body_length().is_some_and(|n| n > 0)
        || request
            .headers()
            .iter()
            .any(|h| h.field.equiv("Transfer-Encoding"));
    if !has_body {
        return;
    }
    let reader = request.as_reader();
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn write_reply(w: &mut dyn Write, reply: &Reply, close: bool, now: SystemTime) -> io::Result<()> {
    let body = reply.body.as_bytes();
    let mut head = String::with_capacity(1024);
    // Writing to a String cannot fail.
    let _ = write!(
        head,
        "HTTP/1.1 {} {}\r\nDate: {}\r\n",
        reply.status,
        crate::wire::http_head::reason_phrase(reply.status),
        http_date(now)
    );
    for (name, value) in &reply.headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    let _ = write!(head, "Content-Length: {}\r\n\r\n", body.len());
    w.write_all(head.as_bytes())?;
    if reply.sends_body() {
        w.write_all(body)?;
    }
    w.flush()
}

/// IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(now: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, second_of_day) = (secs / 86_400, secs % 86_400);
    // 1970-01-01 was a Thursday.
    let weekday = DAYS.get((days % 7) as usize).copied().unwrap_or("");
    // Civil date from days since the epoch (Howard Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month_index = if mp < 10 { mp + 2 } else { mp - 10 };
    let year = yoe + era * 400 + u64::from(month_index < 2);
    let month = MONTHS.get(month_index as usize).copied().unwrap_or("");
    format!(
        "{weekday}, {day:02} {month} {year} {:02}:{:02}:{:02} GMT",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    #[test]
    fn http_dates() {
        let at = |secs| http_date(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(at(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(at(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(at(1_709_251_199), "Thu, 29 Feb 2024 23:59:59 GMT");
        assert_eq!(at(1_735_689_600), "Wed, 01 Jan 2025 00:00:00 GMT");
    }

    /// One parsed response: status, headers, body (as framed by Content-Length).
    struct Parsed {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Parsed {
        fn header(&self, name: &str) -> Option<&str> {
            let mut found = self
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name));
            let first = found.next().map(|(_, v)| v.as_str());
            assert!(found.next().is_none(), "{name} sent twice");
            first
        }
    }

    /// Splits a byte stream into responses using only what the loop will use: the head, then
    /// `Content-Length` body bytes unless the request was HEAD or the status is 304. `None`
    /// while the bytes do not yet hold them all; panics on trailing bytes or bad framing.
    fn split_responses(mut bytes: &[u8], bodyless: &[bool]) -> Option<Vec<Parsed>> {
        let mut out = Vec::new();
        for &no_body in bodyless {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            let httparse::Status::Complete(head_len) = response.parse(bytes).unwrap() else {
                return None;
            };
            let status = response.code.unwrap();
            let headers: Vec<(String, String)> = response
                .headers
                .iter()
                .map(|h| {
                    let value = String::from_utf8(h.value.to_vec()).unwrap();
                    (h.name.to_owned(), value)
                })
                .collect();
            let parsed = Parsed {
                status,
                headers,
                body: Vec::new(),
            };
            assert!(parsed.header("Transfer-Encoding").is_none());
            let length: usize = parsed.header("Content-Length").unwrap().parse().unwrap();
            let body_len = if no_body || status == 304 { 0 } else { length };
            let body = bytes.get(head_len..head_len + body_len)?.to_vec();
            bytes = &bytes[head_len + body_len..];
            out.push(Parsed { body, ..parsed });
        }
        assert!(bytes.is_empty(), "trailing bytes: {bytes:?}");
        Some(out)
    }

    #[test]
    fn pool_serves_keep_alive_over_unix_socket_and_cleans_up() {
        let metrics = Arc::new(Metrics::default());
        let started = Instant::now();
        let pool = spawn(
            HttpConfig {
                workers: 2,
                version: "9.9.9",
                started,
            },
            metrics,
        )
        .unwrap();
        let path = pool.socket_path().to_owned();
        let dir = path.parent().unwrap().to_owned();
        let mode = fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);

        let mut stream = UnixStream::connect(&path).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let big_body = "x".repeat(5000);
        let requests = format!(
            "GET /health HTTP/1.1\r\nHost: a\r\nX-ShareThings-Peer: 192.0.2.1:5000\r\n\r\n\
             HEAD / HTTP/1.1\r\nHost: a\r\n\r\n\
             GET /missing.js?secret=1 HTTP/1.1\r\nHost: a\r\nTE: chunked\r\n\r\n\
             POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{big_body}\
             GET /a/../b HTTP/1.1\r\nHost: a\r\n\r\n\
             GET /metrics HTTP/1.1\r\nHost: a\r\nTE: chunked\r\n\r\n\
             GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            big_body.len()
        );
        stream.write_all(requests.as_bytes()).unwrap();
        // Read up to the end of the 7th response, found by framing; the connection stays open.
        let mut bytes = Vec::new();
        let bodyless = [false, true, false, false, false, false, false];
        let mut buf = [0u8; 4096];
        let responses = loop {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&bytes));
            bytes.extend_from_slice(&buf[..n]);
            if let Some(responses) = split_responses(&bytes, &bodyless) {
                break responses;
            }
        };
        let [health, head, missing, post, bad, metrics, index] = &responses[..] else {
            panic!("seven responses");
        };
        assert_eq!(health.status, 200);
        assert!(String::from_utf8_lossy(&health.body).contains("\"version\":\"9.9.9\""));
        assert!(health.header("Date").is_some_and(|d| d.ends_with(" GMT")));
        assert_eq!(health.header("X-Frame-Options"), Some("DENY"));
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        assert_eq!(index.status, 200);
        assert_eq!(
            head.header("Content-Length").unwrap(),
            index.body.len().to_string(),
            "HEAD carries GET's length"
        );
        assert_eq!(missing.status, 404);
        assert_eq!(missing.body, b"not found\n");
        assert_eq!(post.status, 405);
        assert_eq!(post.header("Allow"), Some("GET, HEAD"));
        assert_eq!(bad.status, 400);
        assert_eq!(metrics.status, 200);
        assert!(metrics.body.len() > 1000);

        // A conditional request on a fresh connection, closed by the client's request.
        let etag = index.header("ETag").unwrap().to_owned();
        let mut stream = UnixStream::connect(&path).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        write!(
            stream,
            "GET / HTTP/1.1\r\nIf-None-Match: {etag}\r\n\r\n\
             GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        let [not_modified, last] = &split_responses(&bytes, &[false, false]).unwrap()[..] else {
            panic!("two responses");
        };
        assert_eq!(not_modified.status, 304);
        assert_eq!(not_modified.header("ETag"), Some(etag.as_str()));
        assert_eq!(
            not_modified.header("Content-Length").unwrap(),
            index.body.len().to_string()
        );
        assert_eq!(last.status, 200);
        assert_eq!(last.header("Connection"), Some("close"));

        drop(pool);
        assert!(!path.exists(), "socket removed");
        assert!(!dir.exists(), "directory removed");
    }
}
