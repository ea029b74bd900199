//! Tests of [`super`] (`route`).

use super::*;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::metrics::JoinRejection;

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
    r.metrics.rooms.store(2, Relaxed);
    r.metrics.room_slots.store(8, Relaxed);
    r.metrics.members.store(5, Relaxed);
    r.metrics.member_slots.store(64, Relaxed);
    r.metrics.events_relayed.store(7, Relaxed);
    r.metrics.events_received.store(9, Relaxed);
    r.metrics.bytes_relayed.store(1000, Relaxed);
    r.metrics.queued_bytes.store(12, Relaxed);
    r.metrics.inbox_bytes.store(3000, Relaxed);
    r.metrics.inbox_items.store(2, Relaxed);
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
        "sharethings_events_received_total 9",
        "sharethings_bytes_relayed_total 1000",
        "sharethings_queued_bytes 12",
        "sharethings_inbox_bytes 3000",
        "sharethings_inbox_items 2",
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
