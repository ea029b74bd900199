//! `--haproxy N`: the latency figure and a relay spread over several sessions, for one
//! server reached directly, one behind HAProxy and N behind HAProxy.

use std::fs;
use std::net::SocketAddr;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::{server_args, Figure, Options};
use crate::fan_out::{fan_out, micros};
use crate::haproxy::{derive_config, find_haproxy, servers_up, Derive, Proxy};
use crate::process::{free_port, Server, TempDir};
use crate::record::Record;
use crate::relay::{relay_sessions, RECEIVERS};
use crate::target::Target;
use crate::STEP_TIMEOUT;

/// N server processes, optionally behind HAProxy; everything is killed when dropped.
pub struct Cluster {
    pub servers: Vec<Server>,
    pub proxy: Option<Proxy>,
}

impl Cluster {
    pub fn start(
        o: &Options,
        haproxy: &str,
        dir: &TempDir,
        processes: usize,
        proxied: bool,
    ) -> Result<Cluster, String> {
        let mut args = server_args(o);
        if proxied {
            // As deployed: the server believes X-Forwarded-For from its proxy only.
            args.extend(["--trusted-proxies".into(), "127.0.0.1".into()]);
        }
        let mut servers = Vec::new();
        for _ in 0..processes {
            servers.push(Server::start(&o.server, &args)?);
        }
        let mut cluster = Cluster {
            servers,
            proxy: None,
        };
        if !proxied {
            return Ok(cluster);
        }
        let base = fs::read_to_string(&o.haproxy_cfg)
            .map_err(|e| format!("cannot read {}: {e}", o.haproxy_cfg))?;
        let admin = dir.0.join(format!("admin-{processes}.sock"));
        let server_ports: Vec<u16> = cluster.servers.iter().map(|s| s.addr.port()).collect();
        let port = free_port()?;
        let config = derive_config(
            &base,
            &Derive {
                http_port: free_port()?,
                port,
                admin_socket: &admin.to_string_lossy(),
                server_ports: &server_ports,
                // Room for every bench client plus the relay, from one address.
                per_address: 10 * (o.clients + 64),
                maxconn: 2 * (o.clients + 64),
            },
        )?;
        let proxy = Proxy::start(haproxy, &config, dir, port)?;
        cluster.proxy = Some(proxy);
        let deadline = Instant::now() + STEP_TIMEOUT;
        while servers_up(&admin) < processes {
            if Instant::now() > deadline {
                return Err(format!(
                    "HAProxy does not see all {processes} servers UP within {STEP_TIMEOUT:?}"
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(cluster)
    }

    pub fn target(&self) -> Target {
        let backends: Vec<SocketAddr> = self.servers.iter().map(|s| s.addr).collect();
        Target {
            addr: self
                .proxy
                .as_ref()
                .map_or_else(|| backends.first().copied(), |p| Some(p.addr))
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0))),
            rss_pid: None,
            servers: self.servers.iter().filter_map(|s| s.pid).collect(),
            proxy: self.proxy.as_ref().map(|p| p.child.id()),
            backends,
        }
    }
}

/// The relay over several sessions at once, so every process of a cluster has work.
pub struct Spread {
    pub total_mb_s: f64,
    pub lost: usize,
    pub broken: usize,
    pub server_cpu_per_gb: Option<f64>,
    pub proxy_cpu_per_gb: Option<f64>,
}

/// The same session names in every setup (each has fresh processes), so each does the same
/// work and HAProxy spreads it the same way.
pub fn relay_spread(o: &Options, target: &Target) -> Result<Spread, String> {
    let sessions: Vec<String> = (0..o.relay_sessions)
        .map(|s| format!("bench-relay-{s}"))
        .collect();
    let n = (o.chunks / o.relay_sessions).max(1);
    let run = relay_sessions(o, target, &sessions, n)?;
    let delivered = run.delivered();
    let last = run
        .received
        .iter()
        .filter_map(|r| r.last)
        .max()
        .map_or(0.0, |t| t.duration_since(run.start).as_secs_f64());
    let total_mb_s = if last > 0.0 {
        delivered as f64 / last / 1e6
    } else {
        0.0
    };
    let (lost, broken) = run.lost_and_broken(n);
    let rates: Vec<f64> = run.received.iter().map(|r| run.rate(r)).collect();
    let slowest = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let fastest = rates.iter().copied().fold(0.0, f64::max);
    for e in run.received.iter().filter_map(|r| r.error.as_ref()) {
        println!("relay receiver stopped: {e}");
    }
    let gb = delivered as f64 / 1e9;
    let per_gb = |cpu: Option<f64>| cpu.filter(|_| gb > 0.0).map(|c| c / gb);
    let cpu = |label: &str, cpu: Option<f64>| {
        cpu.map_or(String::new(), |c| {
            format!(
                "; {label} {:.3} CPU-s per GB ({:.0} % of one core)",
                c / gb.max(1e-9),
                100.0 * c / run.wall
            )
        })
    };
    println!(
        "relay over {} sessions (1→{RECEIVERS} each, 256 KiB chunks, {} in flight, {n} chunks each): \
         {total_mb_s:.0} MB/s delivered in total, per receiver {slowest:.0}–{fastest:.0} MB/s; \
         lost {lost}, reordered/duplicate/corrupt/stray {broken}{}{}",
        sessions.len(),
        o.in_flight,
        cpu("servers", run.server_cpu),
        cpu("HAProxy", run.proxy_cpu),
    );
    Ok(Spread {
        total_mb_s,
        lost,
        broken,
        server_cpu_per_gb: per_gb(run.server_cpu),
        proxy_cpu_per_gb: per_gb(run.proxy_cpu),
    })
}

/// `--haproxy N`: the latency and relay figures for one process reached directly, one process
/// behind HAProxy and N processes behind HAProxy, each on fresh processes, then a summary.
pub fn haproxy_mode(o: &Options, processes: usize) -> Result<(), String> {
    let Some(haproxy) = find_haproxy() else {
        return Err(
            "HAProxy is not installed (looked in /usr/sbin, /usr/local/sbin and PATH); \
                    on Debian: apt-get install -y haproxy"
                .into(),
        );
    };
    let version = Command::new(&haproxy)
        .arg("-v")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|v| v.lines().next().map(str::to_string))
        .unwrap_or_else(|| "version unknown".into());
    println!(
        "haproxy: {haproxy}: {version}; config derived from {}",
        o.haproxy_cfg
    );
    let dir = TempDir::new()?;
    let mut setups = vec![(1, false), (1, true)];
    if processes > 1 {
        setups.push((processes, true));
    }
    let mut rows = Vec::new();
    for (count, proxied) in setups {
        let label = match (count, proxied) {
            (_, false) => "direct, 1 process".to_string(),
            (1, true) => "HAProxy → 1 process".to_string(),
            (n, true) => format!("HAProxy → {n} processes"),
        };
        println!("--- {label} ---");
        let cluster = Cluster::start(o, &haproxy, &dir, count, proxied)?;
        let target = cluster.target();
        let latency = if o.runs(Figure::Latency) || o.runs(Figure::Clients) {
            fan_out(o, &target, &mut Record::default())
                .map_err(|e| format!("{label}: clients/latency: {e}"))?
        } else {
            None
        };
        let relay = if o.runs(Figure::Throughput) {
            Some(relay_spread(o, &target).map_err(|e| format!("{label}: relay: {e}"))?)
        } else {
            None
        };
        drop(cluster);
        rows.push((label, latency, relay));
    }
    println!(
        "--- summary: latency at {} events/s over {} sessions of {} clients; relay over {} sessions ---",
        o.rate,
        o.sessions,
        o.clients / o.sessions,
        o.relay_sessions
    );
    println!(
        "{:<24} {:>9} {:>9} {:>5} {:>13} {:>11} {:>9} {:>12} {:>11}",
        "setup",
        "p50",
        "p99",
        "lost",
        "server/proxy",
        "relay MB/s",
        "lost/bad",
        "server s/GB",
        "proxy s/GB"
    );
    let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0}%"));
    let per_gb = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
    for (label, latency, relay) in &rows {
        let (p50, p99, lost, cpu) = latency.as_ref().map_or_else(
            || ("-".into(), "-".into(), "-".into(), "-".into()),
            |l| {
                (
                    micros(l.p50),
                    micros(l.p99),
                    l.lost.to_string(),
                    format!("{}/{}", pct(l.server_cpu), pct(l.proxy_cpu)),
                )
            },
        );
        let (rate, bad, server_gb, proxy_gb) = relay.as_ref().map_or_else(
            || ("-".into(), "-".into(), "-".into(), "-".into()),
            |r| {
                (
                    format!("{:.0}", r.total_mb_s),
                    format!("{}/{}", r.lost, r.broken),
                    per_gb(r.server_cpu_per_gb),
                    per_gb(r.proxy_cpu_per_gb),
                )
            },
        );
        println!(
            "{label:<24} {p50:>9} {p99:>9} {lost:>5} {cpu:>13} {rate:>11} {bad:>9} {server_gb:>12} {proxy_gb:>11}"
        );
    }
    Ok(())
}
