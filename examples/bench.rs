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
//! - `throughput`: relay of 256 KiB binary `chunk` events from 1 sender to 3 receivers, with
//!   acks (at most 8 in flight, as the web client does): MB/s per receiver, lost, reordered and
//!   corrupt chunks, and the server's CPU seconds per GB delivered;
//! - `tcp`: the ceiling for comparison — the same 1→3 work as a plain TCP relay on one thread
//!   of this process, with the same client-side work (pattern fill, checksum).
//!
//! `--haproxy N` runs the latency figure and a relay spread over several sessions three
//! times, each on fresh processes: one server reached directly, one behind HAProxy, and N
//! behind HAProxy with a configuration derived from `haproxy/haproxy.cfg` (its HTTPS frontend
//! served as plain HTTP), then prints a summary. Every client puts its session's routing key
//! on its URL, as the web client does, so HAProxy spreads the sessions over the processes;
//! each process's `/metrics` shows how.
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

use std::fs;
use std::io::{self, BufRead, BufReader, IoSlice, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use sha2::{Digest, Sha256};

/// Plaintext chunk size of the web client (PROTOCOL.md, format v2).
const CHUNK: usize = 256 * 1024;
/// Unacknowledged chunks per sender at most (PROTOCOL.md); `--in-flight` changes it.
const IN_FLIGHT: usize = 8;
const RECEIVERS: usize = 3;
/// How long any blocking step may wait for the server before the figure is given up.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// Reads of small frames go through a buffer this big; large payloads bypass it.
const SMALL_READ: usize = 4 * 1024;
/// Largest server frame a client accepts.
const MAX_FRAME: usize = 4 << 20;

const USAGE: &str = "\
usage: cargo run --release --example bench -- [options]

  --only NAMES       run only these figures (comma-separated): idle, clients, latency,
                     throughput, tcp
  --server PATH      server binary (default: target/release/sharethings of this crate)
  --server-arg ARG   pass ARG to the server too (repeat for more)
  --target HOST:PORT use a running server (or proxy) instead of starting one
  --pid PID          with --target: the server process, for RSS and CPU figures
  --clients N        clients joined for the clients and latency figures (default 1000)
  --sessions N       sessions they are spread over (default 100)
  --threads N        client threads for those figures (default 2)
  --rate N           content events per second in the latency figure (default 1000)
  --seconds S        length of the latency run in seconds (default 5)
  --chunks N         256 KiB chunks per throughput run (default 8192, 2 GiB per receiver)
  --in-flight N      unacknowledged chunks per sender at most (default 8, as the web
                     client; more tests the server's backpressure)
  --repeat N         alternate the throughput and tcp runs N times, then print the best
                     and the median ratio (default 1)
  --haproxy N        instead: run the latency figure and a relay spread over several
                     sessions for 1 process direct, 1 process behind HAProxy and N
                     processes behind HAProxy (config derived from haproxy/haproxy.cfg)
  --haproxy-cfg PATH with --haproxy: derive from this file instead of haproxy/haproxy.cfg
                     (to measure a modified copy)
  --relay-sessions N sessions of 1 sender and 3 receivers relaying at once in --haproxy
                     mode, each sending --chunks / N chunks (default 12)
";

// ----- options -----------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Figure {
    Idle,
    Clients,
    Latency,
    Throughput,
    Tcp,
}

impl Figure {
    fn parse(name: &str) -> Option<Figure> {
        Some(match name {
            "idle" => Figure::Idle,
            "clients" => Figure::Clients,
            "latency" => Figure::Latency,
            "throughput" => Figure::Throughput,
            "tcp" => Figure::Tcp,
            _ => return None,
        })
    }
}

struct Options {
    server: String,
    target: Option<SocketAddr>,
    pid: Option<u32>,
    /// Figures to run; empty runs all.
    only: Vec<Figure>,
    clients: usize,
    sessions: usize,
    threads: usize,
    rate: u32,
    seconds: f64,
    chunks: usize,
    repeat: usize,
    in_flight: usize,
    server_args: Vec<String>,
    /// `--haproxy N`: server processes behind HAProxy.
    haproxy: Option<usize>,
    haproxy_cfg: String,
    relay_sessions: usize,
}

impl Options {
    fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut o = Options {
            server: format!("{}/target/release/sharethings", env!("CARGO_MANIFEST_DIR")),
            target: None,
            pid: None,
            only: Vec::new(),
            clients: 1000,
            sessions: 100,
            threads: 2,
            rate: 1000,
            seconds: 5.0,
            chunks: 8192,
            repeat: 1,
            in_flight: IN_FLIGHT,
            server_args: Vec::new(),
            haproxy: None,
            haproxy_cfg: format!("{}/haproxy/haproxy.cfg", env!("CARGO_MANIFEST_DIR")),
            relay_sessions: 12,
        };
        let mut args = args;
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                return Err(String::new());
            }
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let bad = |what: &str| format!("{flag} {value:?}: {what}");
            match flag.as_str() {
                "--only" => {
                    for name in value.split(',') {
                        o.only
                            .push(Figure::parse(name).ok_or_else(|| bad("unknown figure"))?);
                    }
                }
                "--server" => o.server = value,
                "--server-arg" => o.server_args.push(value),
                "--target" => {
                    let addr = value
                        .to_socket_addrs()
                        .ok()
                        .and_then(|mut a| a.next())
                        .ok_or_else(|| bad("not a host:port"))?;
                    o.target = Some(addr);
                }
                "--pid" => o.pid = Some(value.parse().map_err(|_| bad("not a pid"))?),
                "--clients" => o.clients = positive(&value).ok_or_else(|| bad("not a count"))?,
                "--sessions" => o.sessions = positive(&value).ok_or_else(|| bad("not a count"))?,
                "--threads" => o.threads = positive(&value).ok_or_else(|| bad("not a count"))?,
                "--rate" => {
                    o.rate = value
                        .parse()
                        .ok()
                        .filter(|r| *r > 0)
                        .ok_or_else(|| bad("not a rate"))?
                }
                "--seconds" => {
                    o.seconds = value
                        .parse()
                        .ok()
                        .filter(|s: &f64| *s > 0.0 && *s <= 3600.0)
                        .ok_or_else(|| bad("not a duration (0 < s <= 3600)"))?
                }
                "--chunks" => o.chunks = positive(&value).ok_or_else(|| bad("not a count"))?,
                "--repeat" => o.repeat = positive(&value).ok_or_else(|| bad("not a count"))?,
                "--in-flight" => {
                    o.in_flight = positive(&value).ok_or_else(|| bad("not a count"))?
                }
                "--haproxy" => {
                    o.haproxy = Some(
                        positive(&value)
                            .filter(|n| *n <= 16)
                            .ok_or_else(|| bad("not a process count (1 to 16)"))?,
                    )
                }
                "--haproxy-cfg" => o.haproxy_cfg = value,
                "--relay-sessions" => {
                    o.relay_sessions = positive(&value)
                        .filter(|n| *n <= 64)
                        .ok_or_else(|| bad("not a count (1 to 64)"))?
                }
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        if o.sessions > o.clients {
            return Err("--sessions must not exceed --clients".into());
        }
        if o.haproxy.is_some() && o.target.is_some() {
            return Err("--haproxy starts its own processes; it cannot use --target".into());
        }
        Ok(o)
    }

    fn runs(&self, figure: Figure) -> bool {
        self.only.is_empty() || self.only.contains(&figure)
    }
}

fn positive(value: &str) -> Option<usize> {
    value.parse().ok().filter(|n| *n > 0)
}

// ----- main --------------------------------------------------------------------------------

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    kill_children_on_panic();
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(o: &Options) -> Result<(), String> {
    println!("machine: {}", machine());
    if let Some(processes) = o.haproxy {
        return haproxy_mode(o, processes);
    }
    let needs_server = [
        Figure::Idle,
        Figure::Clients,
        Figure::Latency,
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
        (true, None) => Some(Server::start(&o.server, &server_args(o))?),
    };
    if let Some(server) = &server {
        match server.pid {
            Some(pid) => println!("server: pid {pid}, http://{}/", server.addr),
            None => println!(
                "server: http://{}/ (no pid: RSS and CPU not measured)",
                server.addr
            ),
        }
        if o.runs(Figure::Idle) {
            // Let start-up finish (worker threads, first loop turn) before calling it idle.
            thread::sleep(Duration::from_millis(500));
            println!("idle RSS: {}", rss_text(server.pid));
        }
        if o.runs(Figure::Clients) || o.runs(Figure::Latency) {
            fan_out(o, &Target::direct(server)).map_err(|e| format!("clients/latency: {e}"))?;
        }
    }
    // Throughput and ceiling alternate, so that on a shared machine each pair saw about the
    // same load and their ratio means something even when the absolute figures wander.
    let mut rounds = Vec::new();
    for round in 0..o.repeat {
        let relayed = match &server {
            Some(server) if o.runs(Figure::Throughput) => Some(
                throughput(o, &Target::direct(server), round)
                    .map_err(|e| format!("throughput: {e}"))?,
            ),
            _ => None,
        };
        let ceiling = if o.runs(Figure::Tcp) {
            Some(tcp_ceiling(o.chunks).map_err(|e| format!("tcp: {e}"))?)
        } else {
            None
        };
        if let (Some(r), Some(c)) = (&relayed, &ceiling) {
            println!(
                "server relay at {:.0} % of the plain TCP ceiling",
                100.0 * r.mb_s / c.mb_s.max(1e-9)
            );
        }
        rounds.push(Round { relayed, ceiling });
    }
    if o.repeat > 1 {
        summarize(&rounds);
    }
    Ok(())
}

/// One relay run: mean MB/s per receiver, and CPU seconds per GB delivered of the relaying
/// party (the server process, or the ceiling's relay thread).
struct Relay {
    mb_s: f64,
    cpu_per_gb: Option<f64>,
}

/// One throughput run and the ceiling run right after it.
struct Round {
    relayed: Option<Relay>,
    ceiling: Option<Relay>,
}

fn summarize(rounds: &[Round]) {
    let best = |pick: fn(&Round) -> Option<&Relay>| {
        let runs: Vec<&Relay> = rounds.iter().filter_map(pick).collect();
        let rate = runs.iter().map(|r| r.mb_s).fold(0.0, f64::max);
        let cpu = runs
            .iter()
            .filter_map(|r| r.cpu_per_gb)
            .fold(f64::INFINITY, f64::min);
        (runs.len(), rate, cpu)
    };
    let (n, rate, cpu) = best(|r| r.relayed.as_ref());
    if n > 0 {
        println!("best of {n}: server relay {rate:.0} MB/s per receiver, {cpu:.3} CPU-s per GB");
    }
    let (n, rate, cpu) = best(|r| r.ceiling.as_ref());
    if n > 0 {
        println!("best of {n}: plain TCP ceiling {rate:.0} MB/s per receiver, relay thread {cpu:.3} CPU-s per GB");
    }
    let mut ratios: Vec<f64> = rounds
        .iter()
        .filter_map(|r| Some(r.relayed.as_ref()?.mb_s / r.ceiling.as_ref()?.mb_s.max(1e-9)))
        .collect();
    ratios.sort_by(f64::total_cmp);
    if let Some(median) = ratios.get(ratios.len() / 2) {
        println!(
            "median of {} pairs: server relay at {:.0} % of the plain TCP ceiling",
            ratios.len(),
            100.0 * median
        );
    }
}

/// The server's settings: its defaults, with limits raised only as far as the run needs, so
/// the memory figures are those of the configuration people run (arenas are sized from these
/// limits at start). `--server-arg` adds more.
fn server_args(o: &Options) -> Vec<String> {
    let members = o.clients.div_ceil(o.sessions);
    let mut args: Vec<String> = [
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        // The listening line is logged at info; warnings and errors are passed on.
        "--log-level",
        "info",
        "--max-connections",
        &(o.clients + 16).max(1024).to_string(),
        "--max-sessions",
        &(o.sessions + 8).max(256).to_string(),
        "--max-members",
        &members.max(32).to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(o.server_args.iter().cloned());
    args
}

/// CPU model and count, so a figure is never read without its machine.
fn machine() -> String {
    let info = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cpus} CPUs")
}

/// A named thread, so `perf report --comm` and `top -H` can tell the clients apart.
fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<thread::JoinHandle<T>, String> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .map_err(|e| format!("cannot start thread {name}: {e}"))
}

// ----- the server process ------------------------------------------------------------------

/// Pids of the processes this bench started and has not reaped yet. The release profile
/// aborts on panic, so no destructor runs then; the panic hook kills these instead.
static STARTED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn started() -> std::sync::MutexGuard<'static, Vec<u32>> {
    STARTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Makes a panic anywhere (client threads included) kill every process the bench started.
fn kill_children_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        // try_lock: the panic may have happened while the list was held.
        let pids = match STARTED.try_lock() {
            Ok(pids) => pids.clone(),
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().clone(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        if !pids.is_empty() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .args(pids.iter().map(u32::to_string))
                .status();
        }
    }));
}

/// A child process that is killed and reaped when this is dropped (on every return path,
/// `?` included), and by the panic hook until then.
struct Owned(Child);

impl Owned {
    fn new(child: Child) -> Owned {
        started().push(child.id());
        Owned(child)
    }

    fn id(&self) -> u32 {
        self.0.id()
    }

    /// Whether it is still running (an exit is reaped here; the pid stays listed until drop,
    /// which is harmless: it is only killed by the hook while this value is alive).
    fn running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let pid = self.0.id();
        started().retain(|p| *p != pid);
    }
}

struct Server {
    addr: SocketAddr,
    pid: Option<u32>,
    /// Held only so the process dies with this value; None for a server this bench did not
    /// start (`--target`).
    _child: Option<Owned>,
}

impl Server {
    /// Starts the binary on a free loopback port and waits for its `listening on` line.
    fn start(path: &str, args: &[String]) -> Result<Server, String> {
        println!("server: {path} {}", args.join(" "));
        let mut child = Owned::new(
            Command::new(path)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| {
                    format!(
                        "cannot start {path}: {e} (run cargo build --release --bins --examples)"
                    )
                })?,
        );
        let pid = child.id();
        let Some(stdout) = child.0.stdout.take() else {
            return Err("no stdout from the server".into());
        };
        let (tx, rx) = mpsc::channel();
        // Drains the server's stdout for its whole life so logging never blocks it.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                } else if line.contains("WARN") || line.contains("ERROR") {
                    eprintln!("server: {line}");
                }
            }
        });
        let mut server = Server {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            pid: Some(pid),
            _child: Some(child),
        };
        match rx.recv_timeout(STEP_TIMEOUT) {
            Ok(addr) => {
                server.addr = addr;
                Ok(server)
            }
            Err(_) => Err(format!(
                "{path} printed no `listening on` line within {STEP_TIMEOUT:?}"
            )),
        }
    }
}

/// What the figures measure: the address clients connect to, and the processes behind it.
struct Target {
    addr: SocketAddr,
    /// The single server process whose memory is measured (not behind a proxy).
    rss_pid: Option<u32>,
    /// Server processes, whose CPU time is billed to the server.
    servers: Vec<u32>,
    /// HAProxy, whose CPU time is reported apart.
    proxy: Option<u32>,
    /// Each server process's own address, to read its `/metrics` (empty: not shown).
    backends: Vec<SocketAddr>,
}

impl Target {
    /// One server, reached directly.
    fn direct(server: &Server) -> Target {
        Target {
            addr: server.addr,
            rss_pid: server.pid,
            servers: server.pid.into_iter().collect(),
            proxy: None,
            backends: Vec::new(),
        }
    }

    /// CPU clock ticks of all server processes together.
    fn server_ticks(&self) -> Option<u64> {
        if self.servers.is_empty() {
            return None;
        }
        self.servers.iter().map(|pid| process_cpu(Some(*pid))).sum()
    }

    fn proxy_ticks(&self) -> Option<u64> {
        process_cpu(self.proxy)
    }
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on http://").nth(1)?;
    rest.trim_end().trim_end_matches('/').parse().ok()
}

// ----- /proc -------------------------------------------------------------------------------

/// A `... kB` line of `/proc/<pid>/status`.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix(key))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

fn vm_rss_kib(pid: u32) -> Option<u64> {
    status_kib(
        &fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        "VmRSS:",
    )
}

/// VmRSS, how much of it is the process's own memory (anonymous) and how much mapped files
/// (the binary with its embedded web bundle, and shared libraries such as libc, whose pages
/// count in full for every process that maps them), and PSS, which shares those out.
fn rss_text(pid: Option<u32>) -> String {
    let read =
        |file: &str| pid.and_then(|pid| fs::read_to_string(format!("/proc/{pid}/{file}")).ok());
    let Some(status) = read("status") else {
        return "not measured (no server pid)".into();
    };
    let kib = |key| status_kib(&status, key).map_or("?".into(), |k| k.to_string());
    let total = status_kib(&status, "VmRSS:").unwrap_or(0);
    let pss = read("smaps_rollup")
        .and_then(|rollup| status_kib(&rollup, "Pss:"))
        .map_or("?".into(), |k| k.to_string());
    format!(
        "{:.2} MiB (VmRSS {total} KiB = anonymous {} + file {} KiB; PSS {pss} KiB)",
        total as f64 / 1024.0,
        kib("RssAnon:"),
        kib("RssFile:")
    )
}

/// utime + stime in clock ticks of a `/proc/.../stat` file.
fn cpu_ticks(stat_path: &str) -> Option<u64> {
    let stat = fs::read_to_string(stat_path).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3, `state`.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn process_cpu(pid: Option<u32>) -> Option<u64> {
    cpu_ticks(&format!("/proc/{}/stat", pid?))
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

fn cpu_seconds(before: Option<u64>, after: Option<u64>) -> Option<f64> {
    Some(after?.checked_sub(before?)? as f64 / clock_ticks_per_second())
}

// ----- WebSocket client framing (RFC 6455) -------------------------------------------------

const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;

/// A tiny xorshift generator for masking keys; a client must vary them, not secure them.
struct Rng(u64);

impl Rng {
    fn new(salt: u64) -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Rng((nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }

    fn mask(&mut self) -> [u8; 4] {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 as u32).to_le_bytes()
    }
}

/// A client frame header (FIN set, masked) for `len` payload bytes.
fn client_header(opcode: u8, len: usize, mask: [u8; 4]) -> ([u8; 14], usize) {
    let mut h = [0u8; 14];
    h[0] = 0x80 | opcode;
    let at = match len {
        0..=125 => {
            h[1] = 0x80 | len as u8;
            2
        }
        126..=0xFFFF => {
            h[1] = 0x80 | 126;
            h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        }
        _ => {
            h[1] = 0x80 | 127;
            h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        }
    };
    h[at..at + 4].copy_from_slice(&mask);
    (h, at + 4)
}

/// Appends a complete masked frame to `out`.
fn push_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], rng: &mut Rng) {
    let mask = rng.mask();
    let (header, len) = client_header(opcode, payload.len(), mask);
    out.extend_from_slice(&header[..len]);
    out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
}

/// Parses a server frame header: `(opcode, header length, payload length)`, `None` if short.
fn parse_header(b: &[u8]) -> io::Result<Option<(u8, usize, usize)>> {
    let (Some(&b0), Some(&b1)) = (b.first(), b.get(1)) else {
        return Ok(None);
    };
    if b0 & 0x80 == 0 || b1 & 0x80 != 0 {
        // The server writes every message as one unmasked final frame.
        return Err(invalid("fragmented or masked server frame"));
    }
    let (hlen, len) = match b1 & 0x7F {
        126 => match b.get(2..4) {
            Some(l) => (4, u16::from_be_bytes([l[0], l[1]]) as usize),
            None => return Ok(None),
        },
        127 => match b.get(2..10) {
            Some(l) => {
                let mut n = [0u8; 8];
                n.copy_from_slice(l);
                (
                    10,
                    usize::try_from(u64::from_be_bytes(n)).unwrap_or(usize::MAX),
                )
            }
            None => return Ok(None),
        },
        n => (2, n as usize),
    };
    Ok(Some((b0 & 0x0F, hlen, len)))
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

/// The error for a close frame from the server, with its status code (RFC 6455 §7.4).
fn closed(payload: &[u8]) -> io::Error {
    let code = match payload {
        [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]).to_string(),
        _ => "none".into(),
    };
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        format!("server closed the WebSocket, code {code}"),
    )
}

/// One read; `None` when it would block (or, on a blocking socket, timed out).
fn read_once(stream: &mut impl Read, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        return match stream.read(buf) {
            Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        };
    }
}

/// Where [`FrameReader::next`] left a frame's payload.
#[derive(Clone, Copy)]
enum At {
    Small(usize, usize),
    Large(usize),
}

#[derive(Clone, Copy)]
struct Frame {
    opcode: u8,
    at: At,
}

/// Reads server frames: small ones through a small buffer, a frame that does not fit straight
/// into one reused payload buffer with reads that never run past it. Works on blocking and
/// non-blocking streams alike.
struct FrameReader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Grows to the largest frame seen, zero-filled once, then reused.
    payload: Vec<u8>,
    filled: usize,
    /// Opcode and length of the frame being read into `payload`.
    pending: Option<(u8, usize)>,
}

impl FrameReader {
    fn new(leftover: &[u8]) -> FrameReader {
        let mut buf = vec![0u8; SMALL_READ.max(leftover.len())];
        buf[..leftover.len()].copy_from_slice(leftover);
        FrameReader {
            buf,
            start: 0,
            end: leftover.len(),
            payload: Vec::new(),
            filled: 0,
            pending: None,
        }
    }

    /// The next complete frame; `None` when the stream has nothing more for now. The frame's
    /// bytes ([`FrameReader::bytes`]) stay valid until the next call.
    fn next(&mut self, stream: &mut impl Read) -> io::Result<Option<Frame>> {
        loop {
            if let Some((opcode, len)) = self.pending {
                if self.filled == len {
                    self.pending = None;
                    return Ok(Some(Frame {
                        opcode,
                        at: At::Large(len),
                    }));
                }
                match read_once(stream, &mut self.payload[self.filled..len])? {
                    Some(n) => self.filled += n,
                    None => return Ok(None),
                }
                continue;
            }
            if let Some((opcode, hlen, len)) = parse_header(&self.buf[self.start..self.end])? {
                let body = self.start + hlen;
                if self.end - body >= len {
                    self.start = body + len;
                    return Ok(Some(Frame {
                        opcode,
                        at: At::Small(body, body + len),
                    }));
                }
                if len > MAX_FRAME {
                    return Err(invalid("server frame above the bench's limit"));
                }
                if self.payload.len() < len {
                    self.payload.resize(len, 0);
                }
                let have = self.end - body;
                self.payload[..have].copy_from_slice(&self.buf[body..self.end]);
                self.filled = have;
                self.start = 0;
                self.end = 0;
                self.pending = Some((opcode, len));
                continue;
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            match read_once(stream, &mut self.buf[self.end..])? {
                Some(n) => self.end += n,
                None => return Ok(None),
            }
        }
    }

    fn bytes(&self, frame: Frame) -> &[u8] {
        match frame.at {
            At::Small(from, to) => &self.buf[from..to],
            At::Large(len) => &self.payload[..len],
        }
    }
}

fn write_all_vectored(stream: &mut impl Write, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match stream.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

// ----- Engine.IO / Socket.IO client --------------------------------------------------------

/// A blocking client that completed the WebSocket handshake, Socket.IO CONNECT and `join`.
struct Client {
    stream: TcpStream,
    reader: FrameReader,
    rng: Rng,
    scratch: Vec<u8>,
}

impl Client {
    /// Opens a WebSocket to Engine.IO with the routing key of `session` on its URL, as the web
    /// client does: HAProxy balances on it, and the server refuses a `join` of another session.
    fn connect(addr: SocketAddr, session: &str, salt: u64) -> io::Result<Client> {
        let mut stream = TcpStream::connect_timeout(&addr, STEP_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(STEP_TIMEOUT))?;
        let mut rng = Rng::new(salt);
        let key_bytes: Vec<u8> = (0..4).flat_map(|_| rng.mask()).collect();
        let key = data_encoding::BASE64.encode(&key_bytes);
        let route = route_key(session);
        let request = format!(
            "GET /socket.io/?EIO=4&transport=websocket&route={route} HTTP/1.1\r\nHost: {addr}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes())?;
        let mut head = Vec::new();
        let mut chunk = [0u8; 1024];
        let end = loop {
            if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if head.len() > 16 * 1024 {
                return Err(invalid("response head too large"));
            }
            let n = read_once(&mut stream, &mut chunk)?
                .ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))?;
            head.extend_from_slice(&chunk[..n]);
        };
        let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes()).to_ascii_lowercase();
        if !text.starts_with("http/1.1 101") || !text.contains(&accept) {
            let first = text.lines().next().unwrap_or_default().to_string();
            return Err(invalid(&format!("WebSocket handshake refused: {first}")));
        }
        Ok(Client {
            stream,
            reader: FrameReader::new(&head[end..]),
            rng,
            scratch: Vec::new(),
        })
    }

    fn send_text(&mut self, text: &str) -> io::Result<()> {
        self.scratch.clear();
        push_frame(&mut self.scratch, OP_TEXT, text.as_bytes(), &mut self.rng);
        self.stream.write_all(&self.scratch)
    }

    /// Reads until a text message starting with `prefix`, answering pings on the way.
    fn wait_for(&mut self, prefix: &str) -> io::Result<String> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        while Instant::now() < deadline {
            let Some(frame) = self.reader.next(&mut self.stream)? else {
                continue;
            };
            if frame.opcode == OP_CLOSE {
                return Err(closed(self.reader.bytes(frame)));
            }
            if frame.opcode != OP_TEXT {
                continue;
            }
            let text = String::from_utf8_lossy(self.reader.bytes(frame)).into_owned();
            if text == "2" {
                self.send_text("3")?;
            } else if text.starts_with(prefix) {
                return Ok(text);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no {prefix:?} from the server"),
        ))
    }

    /// Opens Engine.IO and Socket.IO and joins `session` (created with a fingerprint derived
    /// from its name, so every member presents the same one).
    fn join(addr: SocketAddr, session: &str, name: &str, salt: u64) -> io::Result<Client> {
        let mut c = Client::connect(addr, session, salt)?;
        c.wait_for("0{")?;
        c.send_text("40")?;
        c.wait_for("40")?;
        let mac = data_encoding::BASE64.encode(format!("bench verifier for {session}").as_bytes());
        c.send_text(&format!(
            r#"420["join",{{"sessionId":"{session}","clientName":"{name}","fingerprint":{{"v":2,"mac":"{mac}"}}}}]"#
        ))?;
        let ack = c.wait_for("430")?;
        if !ack.contains(r#""success":true"#) {
            return Err(invalid(&format!("join refused: {ack}")));
        }
        Ok(c)
    }
}

/// The routing key of a session (docs/deploy.md, "Several processes"): the first 16 lowercase hex
/// digits of SHA-256("sharethings/route/" + session name). Computed here, not taken from the
/// server crate, so a server that disagreed with the web client's formula would refuse joins.
fn route_key(session: &str) -> String {
    let digest = Sha256::digest(format!("sharethings/route/{session}").as_bytes());
    data_encoding::HEXLOWER.encode(&digest[..8])
}

fn contains(text: &[u8], part: &[u8]) -> bool {
    text.windows(part.len()).any(|w| w == part)
}

/// The number after `"key":` in a JSON text, without parsing all of it.
fn number_after(text: &[u8], key: &[u8]) -> Option<u64> {
    let at = text.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = text.get(at..)?;
    let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(rest.get(..len)?).ok()?.parse().ok()
}

// ----- clients and latency ----------------------------------------------------------------

/// A joined client handed to a fan-out thread.
struct Member {
    stream: mio::net::TcpStream,
    reader: FrameReader,
    rng: Rng,
    out: Vec<u8>,
    session: usize,
    /// Other members of its session: receivers of each of its events.
    peers: usize,
}

/// What the fan-out threads share with the main thread.
struct FanOutShared {
    base: Instant,
    joined_notices: AtomicUsize,
    go: AtomicBool,
    stop: AtomicBool,
}

#[derive(Default)]
struct FanOutReport {
    latencies_ns: Vec<u64>,
    sent: usize,
    expected: usize,
}

/// The latency figure, for the HAProxy summary.
struct Latency {
    p50: Option<u64>,
    p99: Option<u64>,
    lost: usize,
    /// Percent of one core: all server processes, and HAProxy.
    server_cpu: Option<f64>,
    proxy_cpu: Option<f64>,
}

/// The clients and latency figures; returns the latency figure when it ran.
fn fan_out(o: &Options, server: &Target) -> Result<Option<Latency>, String> {
    let rss_before = server.rss_pid.and_then(vm_rss_kib);
    let counts_before = counts(&server.backends);
    let started = Instant::now();
    let mut sizes = vec![0usize; o.sessions];
    let mut members: Vec<Vec<Member>> = (0..o.threads).map(|_| Vec::new()).collect();
    for c in 0..o.clients {
        let session = c % o.sessions;
        sizes[session] += 1;
        let client = Client::join(
            server.addr,
            &format!("bench-{session}"),
            &format!("c-{c}"),
            c as u64,
        )
        .map_err(|e| format!("client {c} could not join: {e}"))?;
        client
            .stream
            .set_nonblocking(true)
            .map_err(|e| e.to_string())?;
        members[c % o.threads].push(Member {
            stream: mio::net::TcpStream::from_std(client.stream),
            reader: client.reader,
            rng: client.rng,
            out: Vec::new(),
            session,
            peers: 0,
        });
    }
    let join_time = started.elapsed();
    for m in members.iter_mut().flatten() {
        m.peers = sizes[m.session] - 1;
    }
    // Each member of a session of n is told of every later joiner: n(n-1)/2 notices.
    let notices: usize = sizes.iter().map(|n| n * (n - 1) / 2).sum();
    let shared = Arc::new(FanOutShared {
        base: Instant::now(),
        joined_notices: AtomicUsize::new(0),
        go: AtomicBool::new(false),
        stop: AtomicBool::new(false),
    });
    let plan = SendPlan {
        period: Duration::from_secs_f64(o.threads as f64 / f64::from(o.rate)),
        threads: o.threads,
        length: Duration::from_secs_f64(o.seconds),
    };
    let workers: Vec<_> = members
        .into_iter()
        .enumerate()
        .map(|(index, members)| {
            let shared = Arc::clone(&shared);
            spawn(&format!("fan-out-{index}"), move || {
                fan_out_worker(members, &shared, plan, index)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // RSS once every client has also read its join notices: nothing is left queued anywhere.
    let deadline = Instant::now() + STEP_TIMEOUT;
    while shared.joined_notices.load(Ordering::Relaxed) < notices
        && Instant::now() < deadline
        && !shared.stop.load(Ordering::Relaxed)
    {
        thread::sleep(Duration::from_millis(10));
    }
    let seen = shared.joined_notices.load(Ordering::Relaxed);
    if o.runs(Figure::Clients) && server.rss_pid.is_some() {
        let per_client = match (rss_before, server.rss_pid.and_then(vm_rss_kib)) {
            (Some(before), Some(after)) => format!(
                "{:.1} KiB more per client",
                after.saturating_sub(before) as f64 / o.clients as f64
            ),
            _ => "growth not measured".into(),
        };
        println!(
            "RSS with {} joined clients in {} sessions: {} ({per_client}; joined in {:.2} s; \
             {seen}/{notices} client-joined notices read)",
            o.clients,
            o.sessions,
            rss_text(server.rss_pid),
            join_time.as_secs_f64()
        );
    } else {
        let rss = |pid: &u32| {
            vm_rss_kib(*pid).map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
        };
        let servers: Vec<String> = server.servers.iter().map(rss).collect();
        println!(
            "{} clients joined in {} sessions in {:.2} s ({seen}/{notices} client-joined notices \
             read); VmRSS per server process {} MiB{}",
            o.clients,
            o.sessions,
            join_time.as_secs_f64(),
            servers.join(" / "),
            server
                .proxy
                .as_ref()
                .map_or(String::new(), |p| format!(", HAProxy {} MiB", rss(p)))
        );
    }
    if !server.backends.is_empty() {
        println!("spread: {}", spread(&server.backends, &counts_before));
    }
    if !o.runs(Figure::Latency) {
        shared.stop.store(true, Ordering::Relaxed);
    }
    let cpu_before = (server.server_ticks(), server.proxy_ticks());
    let run_start = Instant::now();
    shared.go.store(true, Ordering::Relaxed);
    let mut total = FanOutReport::default();
    let mut errors = Vec::new();
    for worker in workers {
        match worker.join() {
            Ok(Ok(report)) => {
                total.latencies_ns.extend(report.latencies_ns);
                total.sent += report.sent;
                total.expected += report.expected;
            }
            Ok(Err(e)) => errors.push(e.to_string()),
            Err(_) => errors.push("a client thread panicked".into()),
        }
    }
    let run_time = run_start.elapsed().as_secs_f64();
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    if !o.runs(Figure::Latency) {
        return Ok(None);
    }
    let percent = |s: f64| 100.0 * s / run_time;
    let server_cpu = cpu_seconds(cpu_before.0, server.server_ticks()).map(percent);
    let proxy_cpu = cpu_seconds(cpu_before.1, server.proxy_ticks()).map(percent);
    let cpu_text = match (server_cpu, proxy_cpu) {
        (Some(s), Some(p)) => format!("server CPU {s:.0} % of one core, HAProxy {p:.0} %"),
        (Some(s), None) => format!("server CPU {s:.0} % of one core"),
        _ => "server CPU not measured".into(),
    };
    let mut lat = total.latencies_ns;
    lat.sort_unstable();
    let received = lat.len();
    println!(
        "fan-out latency at {} events/s over {} sessions ({} deliveries/s): p50 {}, p99 {}, max {} \
         ({} events, {received}/{} delivered, {} lost; {cpu_text})",
        o.rate,
        o.sessions,
        (o.rate as usize) * (o.clients / o.sessions - 1).max(1),
        micros(percentile(&lat, 0.50)),
        micros(percentile(&lat, 0.99)),
        micros(lat.last().copied()),
        total.sent,
        total.expected,
        total.expected.saturating_sub(received),
    );
    Ok(Some(Latency {
        p50: percentile(&lat, 0.50),
        p99: percentile(&lat, 0.99),
        lost: total.expected.saturating_sub(received),
        server_cpu,
        proxy_cpu,
    }))
}

fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    let last = sorted.len().checked_sub(1)?;
    sorted.get(((last as f64) * p).round() as usize).copied()
}

fn micros(ns: Option<u64>) -> String {
    match ns {
        Some(ns) if ns >= 10_000_000 => format!("{:.1} ms", ns as f64 / 1e6),
        Some(ns) => format!("{} µs", ns / 1000),
        None => "-".into(),
    }
}

#[derive(Clone, Copy)]
struct SendPlan {
    /// Time between two events of one thread.
    period: Duration,
    threads: usize,
    length: Duration,
}

/// Owns some members: answers pings, counts join notices, then sends `content` events on
/// schedule from its members in turn and timestamps every one that arrives.
fn fan_out_worker(
    mut members: Vec<Member>,
    shared: &FanOutShared,
    plan: SendPlan,
    index: usize,
) -> io::Result<FanOutReport> {
    let result = fan_out_loop(&mut members, shared, plan, index);
    if result.is_err() {
        shared.stop.store(true, Ordering::Relaxed);
    }
    result
}

fn fan_out_loop(
    members: &mut [Member],
    shared: &FanOutShared,
    plan: SendPlan,
    index: usize,
) -> io::Result<FanOutReport> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    for (i, m) in members.iter_mut().enumerate() {
        poll.registry().register(
            &mut m.stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
    }
    let mut report = FanOutReport::default();
    // Whatever arrived before registration.
    for m in members.iter_mut() {
        service(m, shared, &mut report.latencies_ns)?;
    }
    while !shared.go.load(Ordering::Relaxed) {
        poll.poll(&mut events, Some(Duration::from_millis(10)))?;
        for event in events.iter() {
            if let Some(m) = members.get_mut(event.token().0) {
                service(m, shared, &mut report.latencies_ns)?;
            }
        }
    }
    if shared.stop.load(Ordering::Relaxed) || members.is_empty() {
        return Ok(report);
    }
    let start = Instant::now();
    let send_until = start + plan.length;
    let give_up = send_until + Duration::from_secs(2);
    let mut next_send = start + plan.period.mul_f64(index as f64 / plan.threads as f64);
    let mut turn = 0usize;
    loop {
        let now = Instant::now();
        while next_send <= now && next_send < send_until {
            let m = &mut members[turn % members.len()];
            turn += 1;
            let t = shared.base.elapsed().as_nanos() as u64;
            let text = format!(
                r#"42["content",{{"sessionId":"bench-{}","content":{{"t":{t}}}}}]"#,
                m.session
            );
            push_frame(&mut m.out, OP_TEXT, text.as_bytes(), &mut m.rng);
            flush(m)?;
            report.sent += 1;
            report.expected += m.peers;
            next_send += plan.period;
        }
        if now >= send_until && (report.latencies_ns.len() >= report.expected || now >= give_up) {
            return Ok(report);
        }
        if shared.stop.load(Ordering::Relaxed) {
            return Ok(report);
        }
        let wake = if now < send_until {
            next_send.min(send_until)
        } else {
            give_up
        };
        poll.poll(&mut events, Some(wake.saturating_duration_since(now)))?;
        for event in events.iter() {
            if let Some(m) = members.get_mut(event.token().0) {
                service(m, shared, &mut report.latencies_ns)?;
            }
        }
    }
}

/// Reads everything a member has, then writes what it has queued.
fn service(m: &mut Member, shared: &FanOutShared, latencies: &mut Vec<u64>) -> io::Result<()> {
    while let Some(frame) = m.reader.next(&mut m.stream)? {
        if frame.opcode == OP_CLOSE {
            return Err(closed(m.reader.bytes(frame)));
        }
        let text = m.reader.bytes(frame);
        if text.starts_with(br#"42["content""#) {
            let arrived = shared.base.elapsed().as_nanos() as u64;
            if let Some(t) = number_after(text, br#""t":"#) {
                latencies.push(arrived.saturating_sub(t));
            }
        } else if text.starts_with(br#"42["client-joined""#) {
            shared.joined_notices.fetch_add(1, Ordering::Relaxed);
        } else if text == b"2" {
            push_frame(&mut m.out, OP_TEXT, b"3", &mut m.rng);
        }
    }
    flush(m)
}

fn flush(m: &mut Member) -> io::Result<()> {
    while !m.out.is_empty() {
        match m.stream.write(&m.out) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                m.out.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

// ----- through HAProxy ---------------------------------------------------------------------

/// Where Debian puts HAProxy (`/usr/sbin`, which a non-login PATH may lack), else PATH.
fn find_haproxy() -> Option<String> {
    let installed = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    if let Some(path) = installed {
        return Some(path.to_string());
    }
    let on_path = Command::new("haproxy")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    on_path.then(|| "haproxy".to_string())
}

/// A private directory for the derived config and the admin socket, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("sharethings-bench-{}-{nanos}", std::process::id()));
        fs::create_dir(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A loopback port that was free a moment ago (the OS picked it; HAProxy binds it next).
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// What the derived configuration changes in `haproxy/haproxy.cfg`.
struct Derive<'a> {
    /// The redirecting HTTP frontend's port (unused by the bench, but it must bind).
    http_port: u16,
    /// The HTTPS frontend's port, served in plain HTTP.
    port: u16,
    admin_socket: &'a str,
    server_ports: &'a [u16],
    /// Per-address connection limits are raised to this: every bench client comes from
    /// 127.0.0.1, where on a LAN each device has its own address.
    per_address: usize,
    /// `maxconn` lines below this are raised to it.
    maxconn: usize,
}

/// Replaces the number after each `needle` in `line`; how many were replaced.
fn raise_after(line: &mut String, needle: &str, value: usize) -> usize {
    let mut count = 0;
    let mut from = 0;
    while let Some(at) = line.get(from..).and_then(|rest| rest.find(needle)) {
        let digits_at = from + at + needle.len();
        let digits = line.get(digits_at..).map_or(0, |rest| {
            rest.bytes().take_while(u8::is_ascii_digit).count()
        });
        if digits == 0 {
            from = digits_at;
            continue;
        }
        line.replace_range(digits_at..digits_at + digits, &value.to_string());
        count += 1;
        from = digits_at;
    }
    count
}

/// The repository's `haproxy/haproxy.cfg` with, and only with: loopback ports; the HTTPS
/// frontend served as plain HTTP (the bench speaks ws://; everything else in that frontend
/// stays); the given `server` lines; the admin socket in a private directory; logs on
/// stderr; no daemon/chroot/user/group; the per-address limits and `maxconn` raised as far
/// as the run needs. Like tests/deploy/lib.mjs, it refuses a file whose lines no longer
/// have the shape it substitutes. Balancing, hashing and checks are the file's own.
fn derive_config(base: &str, d: &Derive) -> Result<String, String> {
    let mut out = String::new();
    let mut seen = [0usize; 7];
    let [http, https, dropped, stats, log, servers, limits] = &mut seen;
    for line in base.lines() {
        let text = line.trim_start();
        let indent = &line[..line.len() - text.len()];
        let uncommented = text.trim_start_matches('#').trim_start();
        let is_server = uncommented.starts_with("server s")
            && uncommented.contains(" 127.0.0.1:")
            && uncommented.ends_with(" check");
        let mut line = line.to_string();
        if text == "bind :80" {
            *http += 1;
            line = format!("{indent}bind 127.0.0.1:{}", d.http_port);
        } else if text.starts_with("bind :443 ssl crt ") {
            *https += 1;
            line = format!("{indent}bind 127.0.0.1:{}", d.port);
        } else if ["chroot ", "user ", "group "]
            .iter()
            .any(|k| text.starts_with(k))
            || text == "daemon"
        {
            *dropped += 1;
            continue;
        } else if let Some(rest) = text.strip_prefix("stats socket ") {
            *stats += 1;
            let options = rest.split_once(' ').map_or("", |(_, o)| o);
            line = format!("{indent}stats socket {} {options}", d.admin_socket);
        } else if text == "log /dev/log local0" {
            *log += 1;
            line = format!("{indent}log stderr format short local0");
        } else if is_server {
            // Every `server sNNNN 127.0.0.1:NNNN check` line, commented or not, becomes the
            // list of started processes, at the place of the first.
            *servers += 1;
            if *servers == 1 {
                for port in d.server_ports {
                    out.push_str(&format!("{indent}server s{port} 127.0.0.1:{port} check\n"));
                }
            }
            continue;
        } else {
            for needle in [
                "sc0_conn_cur(per_address) gt ",
                "sc0_conn_rate(per_address) gt ",
                "sc0_http_req_rate(per_address) gt ",
            ] {
                *limits += raise_after(&mut line, needle, d.per_address);
            }
            if let Some(n) = text.strip_prefix("maxconn ") {
                if n.trim().parse::<usize>().is_ok_and(|n| n < d.maxconn) {
                    line = format!("{indent}maxconn {}", d.maxconn);
                }
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    let expected = [
        (seen[0] == 1, "one `bind :80`"),
        (seen[1] == 1, "one `bind :443 ssl crt ...`"),
        (seen[2] == 4, "`chroot`, `user`, `group` and `daemon`"),
        (seen[3] == 1, "one `stats socket`"),
        (seen[4] == 1, "one `log /dev/log local0`"),
        (seen[5] >= 1, "`server sNNNN 127.0.0.1:NNNN check` lines"),
        (seen[6] >= 1, "per-address limits"),
    ];
    for (ok, what) in expected {
        if !ok {
            return Err(format!(
                "haproxy/haproxy.cfg changed shape: expected {what} (the bench derives its config from it)"
            ));
        }
    }
    Ok(out)
}

/// HAProxy in the foreground, killed when dropped.
struct Proxy {
    child: Owned,
    addr: SocketAddr,
}

impl Proxy {
    /// Checks `config`, starts HAProxy with it and waits until `port` accepts connections.
    fn start(haproxy: &str, config: &str, dir: &TempDir, port: u16) -> Result<Proxy, String> {
        let file = dir.0.join(format!("haproxy-{port}.cfg"));
        fs::write(&file, config).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        let check = Command::new(haproxy)
            .args(["-c", "-q", "-f"])
            .arg(&file)
            .output()
            .map_err(|e| format!("cannot run {haproxy}: {e}"))?;
        if !check.status.success() {
            return Err(format!(
                "haproxy -c refused the derived config:\n{}{}",
                String::from_utf8_lossy(&check.stdout),
                String::from_utf8_lossy(&check.stderr)
            ));
        }
        let mut child = Owned::new(
            Command::new(haproxy)
                .arg("-db")
                .arg("-f")
                .arg(&file)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start {haproxy}: {e}"))?,
        );
        // Drains HAProxy's log (one line per request with `option httplog`) so it never
        // blocks, passing on only its own warnings and alerts.
        if let Some(stderr) = child.0.stderr.take() {
            thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { return };
                    if line.contains("[ALERT]") || line.contains("[WARNING]") {
                        eprintln!("haproxy: {line}");
                    }
                }
            });
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + STEP_TIMEOUT;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if !child.running() || Instant::now() > deadline {
                return Err(format!("haproxy did not start listening on {addr}"));
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(Proxy { child, addr })
    }
}

/// HAProxy's view of the servers of backend `sharethings` (`show stat` on the admin socket):
/// how many are UP.
fn servers_up(admin_socket: &std::path::Path) -> usize {
    let read = || -> io::Result<String> {
        let mut s = std::os::unix::net::UnixStream::connect(admin_socket)?;
        s.set_read_timeout(Some(STEP_TIMEOUT))?;
        s.write_all(b"show stat\n")?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        Ok(text)
    };
    read().map_or(0, |text| {
        text.lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| f.first() == Some(&"sharethings") && f.get(17) == Some(&"UP"))
            .filter(|f| f.get(1).is_some_and(|name| name.starts_with('s')))
            .count()
    })
}

/// One GET over a fresh connection; the body.
fn http_get(addr: SocketAddr, path: &str) -> io::Result<String> {
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
fn metric(body: &str, name: &str) -> Option<f64> {
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
fn counts(backends: &[SocketAddr]) -> Vec<Option<(f64, f64)>> {
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
fn spread(backends: &[SocketAddr], before: &[Option<(f64, f64)>]) -> String {
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

/// N server processes, optionally behind HAProxy; everything is killed when dropped.
struct Cluster {
    servers: Vec<Server>,
    proxy: Option<Proxy>,
}

impl Cluster {
    fn start(
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

    fn target(&self) -> Target {
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
struct Spread {
    total_mb_s: f64,
    lost: usize,
    broken: usize,
    server_cpu_per_gb: Option<f64>,
    proxy_cpu_per_gb: Option<f64>,
}

/// The same session names in every setup (each has fresh processes), so each does the same
/// work and HAProxy spreads it the same way.
fn relay_spread(o: &Options, target: &Target) -> Result<Spread, String> {
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
    let lost: usize = run
        .received
        .iter()
        .map(|r| n.saturating_sub(r.chunks))
        .sum();
    let broken: usize = run
        .received
        .iter()
        .map(|r| r.reordered + r.duplicates + r.corrupt + r.stray)
        .sum();
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
fn haproxy_mode(o: &Options, processes: usize) -> Result<(), String> {
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
            fan_out(o, &target).map_err(|e| format!("{label}: clients/latency: {e}"))?
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

// ----- relay throughput -------------------------------------------------------------------

/// The words of chunk `index` are `seed + k` (little-endian), so every chunk differs and a
/// receiver can check it against a closed form.
fn chunk_seed(index: u64) -> u64 {
    (index + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Writes chunk `index` into `buf` already masked with `mask`: one pass for both.
fn fill_chunk(buf: &mut [u8], index: u64, mask: [u8; 4]) {
    let seed = chunk_seed(index);
    let m = u64::from_le_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    for (k, word) in buf.chunks_exact_mut(8).enumerate() {
        word.copy_from_slice(&(seed.wrapping_add(k as u64) ^ m).to_le_bytes());
    }
}

/// Whether `buf` is chunk `index`: the wrapping sum of its words and its first and last words
/// match. One read pass over data that is still in cache from the socket read.
fn chunk_ok(buf: &[u8], index: u64) -> bool {
    if buf.len() != CHUNK {
        return false;
    }
    let words = (CHUNK / 8) as u64;
    let seed = chunk_seed(index);
    let mut sum = 0u64;
    for word in buf.chunks_exact(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        sum = sum.wrapping_add(u64::from_le_bytes(w));
    }
    let expected = seed
        .wrapping_mul(words)
        .wrapping_add(words * (words - 1) / 2);
    let word_at = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&buf[at..at + 8]);
        u64::from_le_bytes(w)
    };
    sum == expected && word_at(0) == seed && word_at(CHUNK - 8) == seed.wrapping_add(words - 1)
}

/// What one receiver saw.
#[derive(Default, Debug)]
struct Received {
    chunks: usize,
    reordered: usize,
    duplicates: usize,
    corrupt: usize,
    /// A binary frame without a `chunk` text before it.
    stray: usize,
    last: Option<Instant>,
    error: Option<String>,
}

/// Waits (at most 5 s) until the server processes and the proxy have used no CPU for 100 ms,
/// so that work left from an earlier figure (closing 1000 connections) is not billed to the
/// next one.
fn wait_until_quiet(target: &Target) {
    let ticks = || Some(target.server_ticks()? + target.proxy_ticks().unwrap_or(0));
    let Some(mut last) = ticks() else {
        thread::sleep(Duration::from_secs(1));
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
        let Some(now) = ticks() else { return };
        if now == last {
            return;
        }
        last = now;
    }
}

/// What one relay run over one or more sessions saw.
struct RelayRun {
    /// Every receiver, session by session.
    received: Vec<Received>,
    start: Instant,
    wall: f64,
    /// CPU seconds during the run: all server processes, HAProxy, and this bench.
    server_cpu: Option<f64>,
    proxy_cpu: Option<f64>,
    own_cpu: Option<f64>,
}

impl RelayRun {
    /// Bytes delivered to all receivers.
    fn delivered(&self) -> usize {
        self.received.iter().map(|r| r.chunks * CHUNK).sum()
    }

    /// MB/s of one receiver, from the start to its last chunk.
    fn rate(&self, r: &Received) -> f64 {
        let secs = r
            .last
            .map_or(0.0, |t| t.duration_since(self.start).as_secs_f64());
        if secs > 0.0 {
            (r.chunks * CHUNK) as f64 / secs / 1e6
        } else {
            0.0
        }
    }
}

/// Relays `n` chunks in each of `sessions` at once: per session one sender thread and
/// `RECEIVERS` receiver threads, each with its own connection.
fn relay_sessions(
    o: &Options,
    target: &Target,
    sessions: &[String],
    n: usize,
) -> Result<RelayRun, String> {
    wait_until_quiet(target);
    let counts_before = counts(&target.backends);
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for (s, session) in sessions.iter().enumerate() {
        let salt = (s as u64) << 8;
        let join = |name: &str, salt: u64| {
            Client::join(target.addr, session, name, salt)
                .map_err(|e| format!("{name} of {session}: {e}"))
        };
        senders.push(join("sender", (1 << 40) + salt)?);
        for r in 0..RECEIVERS {
            receivers.push(join(&format!("receiver-{r}"), (1 << 41) + salt + r as u64)?);
        }
    }
    if !target.backends.is_empty() {
        println!("spread: {}", spread(&target.backends, &counts_before));
    }
    // Kept to cut a session's receivers short if its sender fails, instead of waiting out
    // timeouts.
    let mut handles: Vec<Vec<TcpStream>> = receivers
        .chunks(RECEIVERS)
        .map(|group| {
            group
                .iter()
                .filter_map(|c| c.stream.try_clone().ok())
                .collect()
        })
        .collect();
    let cpu_before = (target.server_ticks(), target.proxy_ticks());
    let own_before = cpu_ticks("/proc/self/stat");
    let start = Instant::now();
    let receiving: Vec<_> = receivers
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            let name = format!("receiver-{}.{}", i / RECEIVERS, i % RECEIVERS);
            spawn(&name, move || receive_chunks(&mut c, n))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let in_flight = o.in_flight;
    let sending: Vec<_> = senders
        .into_iter()
        .zip(sessions.iter().cloned())
        .zip(handles.drain(..))
        .enumerate()
        .map(|(s, ((mut c, session), handles))| {
            spawn(&format!("sender-{s}"), move || {
                let sent = send_chunks(&mut c, &session, n, in_flight);
                if sent.is_err() {
                    for h in &handles {
                        let _ = h.shutdown(std::net::Shutdown::Both);
                    }
                }
                sent.map_err(|e| format!("relay sender of {session} failed: {e}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for s in sending {
        match s.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => println!("{e}"),
            Err(_) => println!("a relay sender panicked"),
        }
    }
    let received = receiving
        .into_iter()
        .map(|r| {
            r.join().unwrap_or_else(|_| Received {
                error: Some("receiver panicked".into()),
                ..Received::default()
            })
        })
        .collect();
    Ok(RelayRun {
        received,
        start,
        wall: start.elapsed().as_secs_f64(),
        server_cpu: cpu_seconds(cpu_before.0, target.server_ticks()),
        proxy_cpu: cpu_seconds(cpu_before.1, target.proxy_ticks()),
        own_cpu: cpu_seconds(own_before, cpu_ticks("/proc/self/stat")),
    })
}

/// The throughput figure: one session, 1 sender → `RECEIVERS` receivers.
fn throughput(o: &Options, server: &Target, round: usize) -> Result<Relay, String> {
    // A fresh session per round: members of the last one linger in their rejoin grace.
    let session = format!("bench-relay-{round}");
    let n = o.chunks;
    let run = relay_sessions(o, server, &[session], n)?;
    let mut rates = Vec::new();
    for (i, r) in run.received.iter().enumerate() {
        let rate = run.rate(r);
        rates.push(rate);
        println!(
            "relay 1→{RECEIVERS} receiver {}: {rate:.0} MB/s, {}/{n} chunks, lost {}, reordered {}, \
             duplicates {}, corrupt {}, stray {}{}",
            i + 1,
            r.chunks,
            n.saturating_sub(r.chunks),
            r.reordered,
            r.duplicates,
            r.corrupt,
            r.stray,
            r.error.as_ref().map_or(String::new(), |e| format!(" (stopped: {e})")),
        );
    }
    let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    let gb = run.delivered() as f64 / 1e9;
    println!(
        "relay throughput 1→{RECEIVERS}, 256 KiB chunks, {} in flight: {mean:.0} MB/s per receiver \
         (mean; {gb:.2} GB delivered in {:.2} s)",
        o.in_flight, run.wall,
    );
    match run.server_cpu {
        Some(cpu) if gb > 0.0 => println!(
            "server CPU: {:.3} CPU-s per GB delivered ({cpu:.2} CPU-s, {:.0} % of one core; bench clients {})",
            cpu / gb,
            100.0 * cpu / run.wall,
            run.own_cpu.map_or("?".into(), |c| format!("{c:.2} CPU-s"))
        ),
        _ => println!("server CPU: not measured"),
    }
    Ok(Relay {
        mb_s: mean,
        cpu_per_gb: run.server_cpu.filter(|_| gb > 0.0).map(|cpu| cpu / gb),
    })
}

fn chunk_text(session: &str, index: usize, total: usize, ack: usize) -> String {
    format!(
        r#"451-{ack}["chunk",{{"sessionId":"{session}","chunk":{{"contentId":"x","chunkIndex":{index},"totalChunks":{total},"encryptedData":{{"_placeholder":true,"num":0}}}}}}]"#
    )
}

/// Sends `n` chunks as binary events with acks, keeping at most `window` unacknowledged.
fn send_chunks(c: &mut Client, session: &str, n: usize, window: usize) -> io::Result<()> {
    let mut payload = vec![0u8; CHUNK];
    let mut head = Vec::with_capacity(512);
    let (mut next, mut acked, mut in_flight) = (0usize, 0usize, 0usize);
    while acked < n {
        while in_flight < window && next < n {
            head.clear();
            push_frame(
                &mut head,
                OP_TEXT,
                chunk_text(session, next, n, next).as_bytes(),
                &mut c.rng,
            );
            let mask = c.rng.mask();
            let (binary, len) = client_header(OP_BINARY, CHUNK, mask);
            head.extend_from_slice(&binary[..len]);
            fill_chunk(&mut payload, next as u64, mask);
            write_all_vectored(
                &mut c.stream,
                &mut [IoSlice::new(&head), IoSlice::new(&payload)],
            )?;
            next += 1;
            in_flight += 1;
        }
        let Some(frame) = c.reader.next(&mut c.stream)? else {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no ack after chunk {acked}"),
            ));
        };
        let text = c.reader.bytes(frame);
        if text.starts_with(b"43") {
            if !contains(text, br#""success":true"#) {
                let text = String::from_utf8_lossy(text).into_owned();
                return Err(invalid(&format!("chunk refused: {text}")));
            }
            acked += 1;
            in_flight = in_flight.saturating_sub(1);
        } else if text == b"2" {
            c.send_text("3")?;
        }
    }
    Ok(())
}

fn receive_chunks(c: &mut Client, n: usize) -> Received {
    let mut r = Received::default();
    if let Err(e) = receive_loop(c, n, &mut r) {
        r.error = Some(e.to_string());
    }
    r
}

fn receive_loop(c: &mut Client, n: usize, r: &mut Received) -> io::Result<()> {
    let mut seen = vec![false; n];
    let mut announced: Option<u64> = None;
    let mut highest: Option<u64> = None;
    while r.chunks + r.duplicates < n {
        let Some(frame) = c.reader.next(&mut c.stream)? else {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "nothing for 10 s"));
        };
        match frame.opcode {
            OP_TEXT => {
                let text = c.reader.bytes(frame);
                if text.starts_with(br#"451-["chunk""#) {
                    announced = number_after(text, br#""chunkIndex":"#);
                } else if text == b"2" {
                    c.send_text("3")?;
                }
            }
            OP_BINARY => {
                let Some(index) = announced.take() else {
                    r.stray += 1;
                    continue;
                };
                if !chunk_ok(c.reader.bytes(frame), index) {
                    r.corrupt += 1;
                }
                if highest.is_some_and(|h| index < h) {
                    r.reordered += 1;
                }
                highest = highest.max(Some(index));
                match seen.get_mut(index as usize) {
                    Some(s) if !*s => {
                        *s = true;
                        r.chunks += 1;
                    }
                    _ => r.duplicates += 1,
                }
                r.last = Some(Instant::now());
            }
            OP_CLOSE => return Err(closed(c.reader.bytes(frame))),
            _ => {}
        }
    }
    Ok(())
}

// ----- the plain TCP ceiling ---------------------------------------------------------------

/// The same 1→3 work with no protocol: one thread reads 256 KiB blocks from the sender's
/// socket and writes each to three sockets. Sender and receivers do what the bench clients
/// do (fill a pattern, verify it), so only the relay in the middle differs.
fn tcp_ceiling(n: usize) -> Result<Relay, String> {
    let e = |e: io::Error| e.to_string();
    let listener = TcpListener::bind("127.0.0.1:0").map_err(e)?;
    let addr = listener.local_addr().map_err(e)?;
    let mut sender = TcpStream::connect(addr).map_err(e)?;
    let (mut from_sender, _) = listener.accept().map_err(e)?;
    let mut outs = Vec::new();
    let mut ins = Vec::new();
    for _ in 0..RECEIVERS {
        ins.push(TcpStream::connect(addr).map_err(e)?);
        outs.push(listener.accept().map_err(e)?.0);
    }
    for s in ins.iter().chain(outs.iter()).chain([&sender, &from_sender]) {
        s.set_nodelay(true).map_err(e)?;
    }
    let start = Instant::now();
    let receivers: Vec<_> = ins
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            spawn(&format!("receiver-{i}"), move || {
                let mut buf = vec![0u8; CHUNK];
                let mut r = Received::default();
                for index in 0..n as u64 {
                    if let Err(err) = s.read_exact(&mut buf) {
                        r.error = Some(err.to_string());
                        break;
                    }
                    if !chunk_ok(&buf, index) {
                        r.corrupt += 1;
                    }
                    r.chunks += 1;
                }
                r.last = Some(Instant::now());
                r
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let relay = spawn("relay", move || -> io::Result<Option<u64>> {
        let before = cpu_ticks("/proc/thread-self/stat");
        let mut buf = vec![0u8; CHUNK];
        for _ in 0..n {
            from_sender.read_exact(&mut buf)?;
            for out in outs.iter_mut() {
                out.write_all(&buf)?;
            }
        }
        Ok(cpu_ticks("/proc/thread-self/stat")
            .zip(before)
            .map(|(a, b)| a.saturating_sub(b)))
    })?;
    let mut block = vec![0u8; CHUNK];
    for index in 0..n as u64 {
        fill_chunk(&mut block, index, [0; 4]);
        sender.write_all(&block).map_err(e)?;
    }
    let relay_ticks = match relay.join() {
        Ok(result) => result.map_err(e)?,
        Err(_) => return Err("relay thread panicked".into()),
    };
    let mut rates = Vec::new();
    for r in receivers {
        let r = r.join().map_err(|_| "receiver panicked".to_string())?;
        if let Some(err) = r.error {
            return Err(err);
        }
        if r.corrupt > 0 {
            return Err(format!("{} corrupt blocks", r.corrupt));
        }
        let secs = r
            .last
            .map_or(0.0, |t| t.duration_since(start).as_secs_f64());
        rates.push((r.chunks * CHUNK) as f64 / secs.max(1e-9) / 1e6);
    }
    let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    let per_receiver: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
    let gb = (n * CHUNK * RECEIVERS) as f64 / 1e9;
    let cpu_per_gb = relay_ticks.map(|t| t as f64 / clock_ticks_per_second() / gb);
    println!(
        "plain TCP ceiling 1→{RECEIVERS} on one relay thread: {mean:.0} MB/s per receiver \
         ({} MB/s; relay thread {} CPU-s per GB delivered)",
        per_receiver.join(" / "),
        cpu_per_gb.map_or("?".into(), |c| format!("{c:.3}"))
    );
    Ok(Relay {
        mb_s: mean,
        cpu_per_gb,
    })
}
