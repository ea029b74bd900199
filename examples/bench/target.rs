//! The address the figures talk to, the processes behind it, and what their `/metrics` say.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};

use crate::process::Server;
use crate::procfs::process_cpu;
use crate::STEP_TIMEOUT;

/// What the figures measure: the address clients connect to, and the processes behind it.
pub struct Target {
    pub addr: SocketAddr,
    /// The single server process whose memory is measured (not behind a proxy).
    pub rss_pid: Option<u32>,
    /// Server processes, whose CPU time is billed to the server.
    pub servers: Vec<u32>,
    /// HAProxy, whose CPU time is reported apart.
    pub proxy: Option<u32>,
    /// Each server process's own address, to read its `/metrics` (empty: not shown).
    pub backends: Vec<SocketAddr>,
}

impl Target {
    /// One server, reached directly.
    pub fn direct(server: &Server) -> Target {
        Target {
            addr: server.addr,
            rss_pid: server.pid,
            servers: server.pid.into_iter().collect(),
            proxy: None,
            backends: Vec::new(),
        }
    }

    /// CPU clock ticks of all server processes together.
    pub fn server_ticks(&self) -> Option<u64> {
        if self.servers.is_empty() {
            return None;
        }
        self.servers.iter().map(|pid| process_cpu(Some(*pid))).sum()
    }

    pub fn proxy_ticks(&self) -> Option<u64> {
        process_cpu(self.proxy)
    }
}

/// One GET over a fresh connection; the body.
pub fn http_get(addr: SocketAddr, path: &str) -> io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, STEP_TIMEOUT)?;
    s.set_read_timeout(Some(STEP_TIMEOUT))?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    Ok(text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_string()))
}

/// Sum of the samples of `name` in a Prometheus text body.
pub fn metric(body: &str, name: &str) -> Option<f64> {
    let mut total = None;
    for line in body.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with(' ') || rest.starts_with('{')) {
            continue;
        }
        let value = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
        if let Some(v) = value {
            total = Some(total.unwrap_or(0.0) + v);
        }
    }
    total
}

/// Members and sessions of each server process, from its own `/metrics`.
pub fn counts(backends: &[SocketAddr]) -> Vec<Option<(f64, f64)>> {
    backends
        .iter()
        .map(|addr| {
            let body = http_get(*addr, "/metrics").ok()?;
            Some((
                metric(&body, "sharethings_members")?,
                metric(&body, "sharethings_sessions")?,
            ))
        })
        .collect()
}

/// How the members and sessions that joined since `before` (a [`counts`]) spread over the
/// processes. Members of an earlier figure may still be waiting out their rejoin grace, so
/// only the difference belongs to this one.
pub fn spread(backends: &[SocketAddr], before: &[Option<(f64, f64)>]) -> String {
    let now = counts(backends);
    let show = |pick: fn((f64, f64)) -> f64| {
        now.iter()
            .enumerate()
            .map(|(i, c)| {
                let was = before.get(i).copied().flatten().map_or(0.0, pick);
                c.map_or("?".into(), |c| format!("{:.0}", pick(c) - was))
            })
            .collect::<Vec<_>>()
            .join(" / ")
    };
    format!(
        "members per process {}; sessions per process {}",
        show(|c| c.0),
        show(|c| c.1)
    )
}
