//! `bench`: measures the release server from the outside, the way its clients see it.
//!
//! Run `cargo build --release --bins --examples`, then
//! `cargo run --release --example bench -- [options]` (`--help` lists them). It starts
//! `target/release/sharethings` on a free loopback port (or uses `--target host:port`, an
//! already running server or a proxy in front of several) and prints one line per figure:
//!
//! - `idle`: the server's resident memory (VmRSS) after start;
//! - `clients`: its RSS with many joined WebSocket clients (default 1000 in 100 sessions);
//! - `latency`: fan-out latency p50/p99 of small `content` events at a fixed event rate;
//! - `order`: every member of small sessions sends numbered `content` events as fast as the
//!   server takes them; deliveries per second, and how many were lost or arrived out of order;
//! - `connect`: 1000 clients connect and join one after another, then all at once, with the
//!   time of each step (TCP, WebSocket upgrade, Engine.IO open, Socket.IO CONNECT, `join`);
//! - `http`: plain-HTTP requests per second and MB/s (`index.html`, the JavaScript bundle with
//!   and without gzip, `/health`) with 1 and 16 keep-alive clients;
//! - `throughput`: relay of 256 KiB binary `chunk` events from 1 sender to 3 receivers, with
//!   acks (at most 8 in flight, as the web client does): MB/s per receiver, lost, reordered and
//!   corrupt chunks, and the server's CPU seconds per GB delivered;
//! - `tcp`: the ceiling for comparison — the same 1→3 work as a plain TCP relay on one thread
//!   of this process, with the same client-side work (pattern fill, checksum).
//!
//! `--peer CMD` and `--baseline-bin PATH` run the same figures on another server (a peer
//! implementation of the same events, or another build of this one), interleaved round by
//! round on fresh processes, and print both side by side with their ratio.
//!
//! `--haproxy N` runs the latency figure and a relay spread over several sessions three
//! times, each on fresh processes: one server reached directly, one behind HAProxy, and N
//! behind HAProxy with a configuration derived from `haproxy/haproxy.cfg` (its HTTPS frontend
//! served as plain HTTP), then prints a summary. Every client puts its session's routing key
//! on its URL, as the web client does, so HAProxy spreads the sessions over the processes;
//! each process's `/metrics` shows how.
//!
//! `--inbox-disk MIB` measures the inbox on disk on a loop device throttled like an SD card
//! (root only; see `disk.rs`).
//!
//! It never builds anything, never talks to anything but the target (127.0.0.1 unless told),
//! is bounded in count and time, and kills every process it started when it ends, also when
//! a figure fails or the bench panics.
//!
//! The clients speak RFC 6455 by hand instead of through tungstenite's `WebSocket`, which
//! copies each frame through its own buffers: on two shared cores the clients must cost less
//! than the server or they would measure themselves. A sender fills each chunk with a pattern
//! derived from its index and masks it in the same pass; a receiver reads a large payload
//! straight into one reused buffer and checks it with one summing pass.

mod ceiling;
mod cli;
mod client;
mod cluster;
mod compare;
mod connect;
mod disk;
mod fan_out;
mod haproxy;
mod http;
mod order;
mod process;
mod procfs;
mod record;
mod relay;
mod target;
mod ws;

use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use cli::{Figure, Options};
use process::Server;
use record::Record;
use target::Target;

/// How long any blocking step may wait for the server before the figure is given up.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("bench: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    process::kill_children_on_panic();
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(o: &Options) -> Result<(), String> {
    println!("machine: {}; {}", procfs::machine(), procfs::load());
    if let Some(processes) = o.haproxy {
        return cluster::haproxy_mode(o, processes);
    }
    if let Some(mib) = o.inbox_disk {
        return disk::inbox_disk_mode(o, mib);
    }
    if let Some(other) = &o.compare_with {
        return compare::run(o, other);
    }
    let needs_server = [
        Figure::Idle,
        Figure::Clients,
        Figure::Latency,
        Figure::Order,
        Figure::Connect,
        Figure::Http,
        Figure::Throughput,
    ]
    .iter()
    .any(|f| o.runs(*f));
    let server = match (needs_server, o.target) {
        (false, _) => None,
        (true, Some(addr)) => Some(Server {
            addr,
            pid: o.pid,
            _child: None,
        }),
        (true, None) => Some(Server::start(&o.server, &cli::server_args(o))?),
    };
    let mut record = Record::default();
    if let Some(server) = &server {
        match server.pid {
            Some(pid) => println!("server: pid {pid}, http://{}/", server.addr),
            None => println!(
                "server: http://{}/ (no pid: RSS and CPU not measured)",
                server.addr
            ),
        }
        one_pass(o, server, &mut record)?;
    }
    // Throughput and ceiling alternate, so that on a shared machine each pair saw about the
    // same load and their ratio means something even when the absolute figures wander.
    let mut rounds = Vec::new();
    for round in 0..o.repeat {
        let relayed = match &server {
            Some(server) if o.runs(Figure::Throughput) => Some(
                relay::throughput(o, &Target::direct(server), round, &mut record)
                    .map_err(|e| format!("throughput: {e}"))?,
            ),
            _ => None,
        };
        let ceiling = if o.runs(Figure::Tcp) {
            Some(ceiling::tcp_ceiling(o.chunks).map_err(|e| format!("tcp: {e}"))?)
        } else {
            None
        };
        if let (Some(r), Some(c)) = (&relayed, &ceiling) {
            println!(
                "server relay at {:.0} % of the plain TCP ceiling",
                100.0 * r.mb_s / c.mb_s.max(1e-9)
            );
        }
        rounds.push(relay::Round { relayed, ceiling });
    }
    if o.repeat > 1 {
        relay::summarize(&rounds);
    }
    Ok(())
}

/// Every figure but the relay and its ceiling, on one server, in the order that leaves each
/// figure the least of the one before: idle memory first, the many clients next.
pub fn one_pass(o: &Options, server: &Server, record: &mut Record) -> Result<(), String> {
    let target = Target::direct(server);
    if o.runs(Figure::Idle) {
        // Let start-up finish (worker threads, first loop turn) before calling it idle.
        thread::sleep(Duration::from_millis(500));
        println!("idle RSS: {}", procfs::rss_text(server.pid));
        if let Some(kib) = server.pid.and_then(procfs::vm_rss_kib) {
            record.lower("idle RSS", kib as f64 / 1024.0, "MiB");
        }
    }
    if o.runs(Figure::Clients) || o.runs(Figure::Latency) {
        fan_out::fan_out(o, &target, record).map_err(|e| format!("clients/latency: {e}"))?;
    }
    if o.runs(Figure::Order) {
        order::order(o, &target, record).map_err(|e| format!("order: {e}"))?;
    }
    if o.runs(Figure::Connect) {
        connect::connect(o, &target, record).map_err(|e| format!("connect: {e}"))?;
    }
    if o.runs(Figure::Http) {
        http::http(o, &target, record).map_err(|e| format!("http: {e}"))?;
    }
    Ok(())
}
