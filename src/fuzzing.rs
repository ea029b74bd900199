//! Entry points for the fuzz targets in `fuzz/` (docs/security.md, "Fuzzing"): one per
//! decoder that reads bytes from the network, each taking arbitrary bytes and feeding them
//! to the decoder the way the server does. They must never panic, whatever the input. Every
//! result goes through `black_box`: the decoders are pure, so an unused result would let the
//! optimiser delete the very code the fuzzer is meant to reach.
//!
//! Not part of the server's interface; public only so that the fuzz crate, which is outside
//! the workspace, can reach decoders that live in private modules.

use std::hint::black_box;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use miniserde::json::Value;

use crate::app::join_request::JoinRequest;
use crate::app::payload;
use crate::front::cors::Cors;
use crate::front::peer;
use crate::front::pool::BufferPool;
use crate::front::ws::{self, ReadStatus, WsReader};
use crate::front::ServedHosts;
use crate::http::assets::Assets;
use crate::http::route::{RequestView, Router};
use crate::metrics::Metrics;
use crate::wire::{eio, http_head, payload as polling, query, sid, sio};

/// The server's default caps (`Config::default()`), for the decoders that take them.
const SIO_LIMITS: sio::Limits = sio::Limits {
    attachments: 10,
    json_depth: 32,
    json_nodes: 262_144,
    json_expansion: 24,
};
const MAX_HEADERS: usize = 64;

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// An Engine.IO packet from a WebSocket text frame or a polling payload part.
pub fn eio_packet(data: &[u8]) {
    if let Some(s) = text(data) {
        let _ = black_box(eio::decode_text(s));
    }
}

/// A polling POST body: a 0x1E-separated payload of text and base64 parts.
pub fn polling_payload(data: &[u8]) {
    let _ = black_box(polling::decode(data));
}

/// A Socket.IO packet with the default caps (the JSON depth and node scan included), then
/// the placeholders of a binary one.
pub fn sio_packet(data: &[u8]) {
    if let Some(packet) = text(data).and_then(|s| sio::decode(s, SIO_LIMITS).ok()) {
        if let Some(value) = &packet.data {
            let _ = black_box(sio::check_placeholders(value, packet.attachments));
        }
    }
}

/// An HTTP request head, then everything the front door reads from it: `Origin`, `Host`,
/// `X-Forwarded-For` (from a trusted proxy) and the target's query.
pub fn http_head(data: &[u8]) {
    let Ok(Some(head)) = http_head::parse_request_head(data, MAX_HEADERS) else {
        return;
    };
    let _ = black_box(
        Cors {
            allowed: vec!["https://a.example".to_string()],
        }
        .check(&head),
    );
    let hosts = ServedHosts::new(&["pi.lan".to_string()], Some("raspberrypi"));
    let _ = black_box(
        hosts.allows(
            head.headers
                .iter()
                .filter(|(n, _)| n == "host")
                .map(|(_, v)| v.as_slice()),
        ),
    );
    let proxy = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let _ = black_box(peer::client_address(
        SocketAddr::new(proxy, 1),
        &head,
        &[proxy],
    ));
    let (_, query_string) = query::split_target(&head.target);
    let _ = black_box(query::parse_engine_query(query_string));
}

/// A request target's query string, as the Engine.IO endpoint reads it.
pub fn query(data: &[u8]) {
    if let Some(s) = text(data) {
        let (_, query_string) = query::split_target(s);
        let _ = black_box(query::parse_engine_query(query_string));
        let _ = black_box(query::query_param(query_string, "sid"));
    }
}

/// A session id from a query string.
pub fn sid(data: &[u8]) {
    if let Some(s) = text(data) {
        let _ = black_box(s.parse::<sid::Sid>());
    }
}

/// A stream that hands out its bytes a few at a time, then blocks.
struct Steps<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Steps<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.step).min(self.data.len());
        let (now, rest) = self.data.split_at(n);
        buf.get_mut(..n).unwrap_or_default().copy_from_slice(now);
        self.data = rest;
        Ok(n)
    }
}

/// WebSocket client frames read by the server's reader: the first byte picks the read size
/// and the second the largest message, the rest is the stream; every large frame is admitted.
pub fn websocket_frames(data: &[u8]) {
    let [step, max, stream @ ..] = data else {
        return;
    };
    let mut reader = WsReader::new(usize::from(*max) * 1024, &[]);
    let mut stream = Steps {
        data: stream,
        step: usize::from(*step) + 1,
    };
    let (mut scratch, mut pool) = (ws::scratch(), BufferPool::default());
    let (mut budget, mut out) = (usize::MAX, Vec::new());
    while let Ok(status) = reader.read(&mut stream, &mut scratch, &mut pool, &mut budget, &mut out)
    {
        match status {
            ReadStatus::WouldBlock => return,
            ReadStatus::Admit(_) => reader.admit(),
            ReadStatus::Budget | ReadStatus::Decoded => black_box(&mut out).clear(),
        }
    }
}

/// A plain-HTTP request target (path spellings, percent-encoding) through the router, with
/// the embedded web client.
pub fn http_route(data: &[u8]) {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    let Some(target) = text(data) else {
        return;
    };
    let router = ROUTER.get_or_init(|| Router {
        assets: Assets::embedded(),
        metrics: Arc::new(Metrics::default()),
        version: "fuzz",
        started: Instant::now(),
    });
    let request = RequestView {
        method: "GET",
        target,
        if_none_match: vec![target],
        accept_encoding: vec![target],
    };
    let _ = black_box(router.route(&request, Instant::now()));
}

/// A Socket.IO event's arguments as the application checks them (join in both formats,
/// admit, content, chunk).
pub fn app_payload(data: &[u8]) {
    let Some(packet) = text(data).and_then(|s| sio::decode(s, SIO_LIMITS).ok()) else {
        return;
    };
    let Some(Value::Array(event)) = packet.data else {
        return;
    };
    let Ok(object) = payload::object(event.into_iter().skip(1).collect()) else {
        return;
    };
    let _ = black_box(payload::session_id(&object));
    let _ = black_box(payload::client_name(&object));
    let _ = black_box(payload::fingerprint(&object));
    let _ = black_box(payload::optional_string(&object, "token"));
    let _ = black_box(payload::check_chunk(&object));
    let _ = black_box(payload::check_content(&object));
    let _ = black_box(payload::check_content_id(&object));
    let _ = black_box(JoinRequest::parse(&object).is_ok());
    let _ = black_box(payload::check_admit(&object, 16 * 1024));
}

/// An entry point: arbitrary bytes in, nothing out (it must only not panic).
pub type Target = fn(&[u8]);

/// Every entry point with the name its fuzz target has.
pub const TARGETS: &[(&str, Target)] = &[
    ("eio_packet", eio_packet),
    ("polling_payload", polling_payload),
    ("sio_packet", sio_packet),
    ("http_head", http_head),
    ("query", query),
    ("sid", sid),
    ("websocket_frames", websocket_frames),
    ("http_route", http_route),
    ("app_payload", app_payload),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A few seeds through every entry point on every `cargo test`, so the fuzz targets'
    /// entry points stay compiled, checked and working without the fuzzer.
    #[test]
    fn every_entry_point_takes_the_seeds_and_regressions() {
        let seeds: &[&[u8]] = &[
            b"",
            b"4hello",
            b"b4aGVsbG8=\x1e4x",
            b"451-[\"e\",{\"_placeholder\":true,\"num\":0}]",
            b"2[\"join\",{\"sessionId\":\"s\",\"clientName\":\"n\",\"fingerprint\":{\"v\":2}}]",
            b"GET /socket.io/?EIO=4&sid=AAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: [::1]:1\r\nOrigin: http://[::1]:1\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
            b"/%6detrics?x=%zz",
            b"\x00\x01\x81\x85\x01\x02\x03\x04i",
        ];
        for (name, target) in TARGETS {
            for seed in seeds {
                target(seed);
            }
            eprintln!("{name}: {} seeds", seeds.len());
        }
    }
}
