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
//! It never builds anything, never talks to anything but the target (127.0.0.1 unless told),
//! is bounded in count and time, and kills the server it started when it ends.
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
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

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
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        if o.sessions > o.clients {
            return Err("--sessions must not exceed --clients".into());
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
            child: None,
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
            fan_out(o, server).map_err(|e| format!("clients/latency: {e}"))?;
        }
    }
    // Throughput and ceiling alternate, so that on a shared machine each pair saw about the
    // same load and their ratio means something even when the absolute figures wander.
    let mut rounds = Vec::new();
    for round in 0..o.repeat {
        let relayed = match &server {
            Some(server) if o.runs(Figure::Throughput) => {
                Some(throughput(o, server, round).map_err(|e| format!("throughput: {e}"))?)
            }
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

struct Server {
    addr: SocketAddr,
    pid: Option<u32>,
    child: Option<Child>,
}

impl Server {
    /// Starts the binary on a free loopback port and waits for its `listening on` line.
    fn start(path: &str, args: &[String]) -> Result<Server, String> {
        println!("server: {path} {}", args.join(" "));
        let mut child = Command::new(path)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                format!("cannot start {path}: {e} (run cargo build --release --bins --examples)")
            })?;
        let pid = child.id();
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
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
            child: Some(child),
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

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
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
    fn connect(addr: SocketAddr, salt: u64) -> io::Result<Client> {
        let mut stream = TcpStream::connect_timeout(&addr, STEP_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(STEP_TIMEOUT))?;
        let mut rng = Rng::new(salt);
        let key_bytes: Vec<u8> = (0..4).flat_map(|_| rng.mask()).collect();
        let key = data_encoding::BASE64.encode(&key_bytes);
        let request = format!(
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\n\
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
        let mut c = Client::connect(addr, salt)?;
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

fn fan_out(o: &Options, server: &Server) -> Result<(), String> {
    let rss_before = server.pid.and_then(vm_rss_kib);
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
    if o.runs(Figure::Clients) {
        let per_client = match (rss_before, server.pid.and_then(vm_rss_kib)) {
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
            rss_text(server.pid),
            join_time.as_secs_f64()
        );
    }
    if !o.runs(Figure::Latency) {
        shared.stop.store(true, Ordering::Relaxed);
    }
    let cpu_before = process_cpu(server.pid);
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
        return Ok(());
    }
    let server_cpu = cpu_seconds(cpu_before, process_cpu(server.pid))
        .map_or("not measured".into(), |s| {
            format!("{:.0} % of one core", 100.0 * s / run_time)
        });
    let mut lat = total.latencies_ns;
    lat.sort_unstable();
    let received = lat.len();
    println!(
        "fan-out latency at {} events/s over {} sessions ({} deliveries/s): p50 {}, p99 {}, max {} \
         ({} events, {received}/{} delivered, {} lost; server CPU {server_cpu})",
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
    Ok(())
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

/// Waits (at most 5 s) until the server has used no CPU for 100 ms, so that work left from an
/// earlier figure (closing 1000 connections) is not billed to the next one.
fn wait_until_quiet(pid: Option<u32>) {
    let Some(pid) = pid else {
        thread::sleep(Duration::from_secs(1));
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = process_cpu(Some(pid));
    while Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
        let now = process_cpu(Some(pid));
        if now == last {
            return;
        }
        last = now;
    }
}

fn throughput(o: &Options, server: &Server, round: usize) -> Result<Relay, String> {
    wait_until_quiet(server.pid);
    // A fresh session per round: members of the last one linger in their rejoin grace.
    let session = &format!("bench-relay-{round}");
    let n = o.chunks;
    let mut sender =
        Client::join(server.addr, session, "sender", 1 << 40).map_err(|e| e.to_string())?;
    let mut receivers = Vec::new();
    for r in 0..RECEIVERS {
        let client = Client::join(
            server.addr,
            session,
            &format!("receiver-{r}"),
            (1 << 41) + r as u64,
        )
        .map_err(|e| e.to_string())?;
        receivers.push(client);
    }
    let cpu_before = process_cpu(server.pid);
    let own_before = cpu_ticks("/proc/self/stat");
    // Kept to cut the receivers short if the sender fails, instead of waiting out timeouts.
    let handles: Vec<TcpStream> = receivers
        .iter()
        .filter_map(|c| c.stream.try_clone().ok())
        .collect();
    let start = Instant::now();
    let receiving: Vec<_> = receivers
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| spawn(&format!("receiver-{i}"), move || receive_chunks(&mut c, n)))
        .collect::<Result<Vec<_>, _>>()?;
    let sent = send_chunks(&mut sender, session, n, o.in_flight);
    if sent.is_err() {
        for h in &handles {
            let _ = h.shutdown(std::net::Shutdown::Both);
        }
    }
    let mut results = Vec::new();
    for r in receiving {
        results.push(r.join().unwrap_or_else(|_| Received {
            error: Some("receiver panicked".into()),
            ..Received::default()
        }));
    }
    let server_cpu = cpu_seconds(cpu_before, process_cpu(server.pid));
    let own_cpu = cpu_seconds(own_before, cpu_ticks("/proc/self/stat"));
    let wall = start.elapsed().as_secs_f64();
    if let Err(e) = sent {
        println!("relay sender failed: {e}");
    }
    let mut rates = Vec::new();
    let mut delivered = 0usize;
    for (i, r) in results.iter().enumerate() {
        let secs = r
            .last
            .map_or(0.0, |t| t.duration_since(start).as_secs_f64());
        let bytes = r.chunks * CHUNK;
        delivered += bytes;
        let rate = if secs > 0.0 {
            bytes as f64 / secs / 1e6
        } else {
            0.0
        };
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
    println!(
        "relay throughput 1→{RECEIVERS}, 256 KiB chunks, {} in flight: {mean:.0} MB/s per receiver \
         (mean; {:.2} GB delivered in {wall:.2} s)",
        o.in_flight,
        delivered as f64 / 1e9
    );
    let gb = delivered as f64 / 1e9;
    match server_cpu {
        Some(cpu) if gb > 0.0 => println!(
            "server CPU: {:.3} CPU-s per GB delivered ({cpu:.2} CPU-s, {:.0} % of one core; bench clients {})",
            cpu / gb,
            100.0 * cpu / wall,
            own_cpu.map_or("?".into(), |c| format!("{c:.2} CPU-s"))
        ),
        _ => println!("server CPU: not measured"),
    }
    Ok(Relay {
        mb_s: mean,
        cpu_per_gb: server_cpu.filter(|_| gb > 0.0).map(|cpu| cpu / gb),
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
