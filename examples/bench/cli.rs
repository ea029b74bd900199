//! Command-line options.

use std::net::{SocketAddr, ToSocketAddrs};

use crate::order::{ORDER_MEMBERS, ORDER_SESSIONS};
use crate::process::Launch;
use crate::relay::IN_FLIGHT;

pub const USAGE: &str = "\
usage: cargo run --release --example bench -- [options]

  --only NAMES       run only these figures (comma-separated): idle, clients, latency,
                     order, connect, http, throughput, tcp
  --server PATH      server binary (default: target/release/sharethings of this crate);
                     --server-bin is the same
  --baseline-bin PATH
                     instead: compare with another build of this server, interleaved
                     (server, baseline, server, baseline... for --repeat rounds, each on
                     fresh processes), and print both side by side with their ratio
  --peer CMD         instead: compare with another server command, interleaved as
                     above; CMD is split on spaces, leading NAME=VALUE words go to its
                     environment; it gets PORT (a free port) and HOST=127.0.0.1, and
                     RELAY_ACK=1 unless CMD sets it
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
  --order-events N   content events each sender sends in the order figure (default 1000)
  --http-seconds S   length of each plain-HTTP run in seconds (default 1)
  --repeat N         alternate the throughput and tcp runs N times, then print the best
                     and the median ratio; with --peer or --baseline-bin: rounds of
                     every figure on both servers (default 1)
  --haproxy N        instead: run the latency figure and a relay spread over several
                     sessions for 1 process direct, 1 process behind HAProxy and N
                     processes behind HAProxy (config derived from haproxy/haproxy.cfg)
  --haproxy-cfg PATH with --haproxy: derive from this file instead of haproxy/haproxy.cfg
                     (to measure a modified copy)
  --relay-sessions N sessions of 1 sender and 3 receivers relaying at once in --haproxy
                     mode, each sending --chunks / N chunks (default 12)
  --inbox-disk MIB   instead: the inbox on disk (INBOX_DIR) on an ext4 loop device whose
                     reads are throttled like an SD card's (root only): bytes written per
                     byte kept, how long the loop keeps others waiting while a late
                     joiner fetches MIB from the cold disk (per-turn read budget on and
                     off), and RSS with MIB kept on disk against in memory
";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Figure {
    Idle,
    Clients,
    Latency,
    Order,
    Connect,
    Http,
    Throughput,
    Tcp,
}

impl Figure {
    pub fn parse(name: &str) -> Option<Figure> {
        Some(match name {
            "idle" => Figure::Idle,
            "clients" => Figure::Clients,
            "latency" => Figure::Latency,
            "order" => Figure::Order,
            "connect" => Figure::Connect,
            "http" => Figure::Http,
            "throughput" => Figure::Throughput,
            "tcp" => Figure::Tcp,
            _ => return None,
        })
    }
}

pub struct Options {
    /// The server under test.
    pub server: Launch,
    /// `--baseline-bin` or `--peer`: the server it is compared with.
    pub compare_with: Option<Launch>,
    pub target: Option<SocketAddr>,
    pub pid: Option<u32>,
    /// Figures to run; empty runs all.
    pub only: Vec<Figure>,
    pub clients: usize,
    pub sessions: usize,
    pub threads: usize,
    pub rate: u32,
    pub seconds: f64,
    pub chunks: usize,
    pub repeat: usize,
    pub in_flight: usize,
    pub server_args: Vec<String>,
    /// `--haproxy N`: server processes behind HAProxy.
    pub haproxy: Option<usize>,
    pub haproxy_cfg: String,
    pub relay_sessions: usize,
    /// `--inbox-disk MIB`: the inbox on a slow disk, with this much kept.
    pub inbox_disk: Option<usize>,
    pub order_events: usize,
    pub http_seconds: f64,
}

impl Options {
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut o = Options {
            server: Launch::Ours(format!(
                "{}/target/release/sharethings",
                env!("CARGO_MANIFEST_DIR")
            )),
            compare_with: None,
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
            inbox_disk: None,
            order_events: 1000,
            http_seconds: 1.0,
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
                "--server" | "--server-bin" => o.server = Launch::Ours(value),
                "--baseline-bin" => o.compare_with = Some(Launch::Ours(value)),
                "--peer" => o.compare_with = Some(Launch::command(&value).map_err(|e| bad(&e))?),
                "--order-events" => {
                    o.order_events = positive(&value).ok_or_else(|| bad("not a count"))?
                }
                "--http-seconds" => {
                    o.http_seconds =
                        seconds(&value).ok_or_else(|| bad("not a duration (0 < s <= 3600)"))?
                }
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
                    o.seconds =
                        seconds(&value).ok_or_else(|| bad("not a duration (0 < s <= 3600)"))?
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
                "--inbox-disk" => {
                    o.inbox_disk = Some(
                        positive(&value)
                            .filter(|n| *n <= 4096)
                            .ok_or_else(|| bad("not a size in MiB (1 to 4096)"))?,
                    )
                }
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        if o.sessions > o.clients {
            return Err("--sessions must not exceed --clients".into());
        }
        if o.compare_with.is_some() && (o.target.is_some() || o.haproxy.is_some()) {
            return Err("--peer and --baseline-bin start their own servers; they cannot use --target or --haproxy".into());
        }
        if o.haproxy.is_some() && o.target.is_some() {
            return Err("--haproxy starts its own processes; it cannot use --target".into());
        }
        Ok(o)
    }

    pub fn runs(&self, figure: Figure) -> bool {
        self.only.is_empty() || self.only.contains(&figure)
    }
}

pub fn positive(value: &str) -> Option<usize> {
    value.parse().ok().filter(|n| *n > 0)
}

fn seconds(value: &str) -> Option<f64> {
    value
        .parse()
        .ok()
        .filter(|s: &f64| *s > 0.0 && *s <= 3600.0)
}

/// The server's settings: its defaults, with limits raised only as far as the run needs, so
/// the memory figures are those of the configuration people run (arenas are sized from these
/// limits at start). `--server-arg` adds more.
pub fn server_args(o: &Options) -> Vec<String> {
    let members = o.clients.div_ceil(o.sessions).max(ORDER_MEMBERS);
    // Every bench client connects from 127.0.0.1: the per-address limits are the totals.
    let connections = (o.clients + 16).max(1024);
    let sessions = (3 * o.sessions + ORDER_SESSIONS + o.repeat.max(o.relay_sessions) + 8).max(256);
    let mut args: Vec<String> = [
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        // The listening line is logged at info; warnings and errors are passed on.
        "--log-level",
        "info",
        "--max-connections",
        &connections.to_string(),
        "--max-connections-per-address",
        &connections.to_string(),
        // The clients figure and both halves of the connect figure each fill `sessions`;
        // sessions stay after their members left (SESSION_TIMEOUT), so one server sees them
        // all.
        "--max-sessions",
        &sessions.to_string(),
        "--sessions-per-address",
        &sessions.to_string(),
        "--max-members",
        &members.max(32).to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(o.server_args.iter().cloned());
    args
}
