//! The review's attacks (docs/security.md's table; every row of the security review's table
//! is a test here, named after its row), each against the release binary with default limits,
//! bounded in time and bytes, on loopback only. Each asserts that the server's resident memory
//! stays under a stated bound during the attack and after it, that a fresh session of two
//! members joins and relays during the attack, and that the process is alive afterwards.
//!
//! Ignored in the plain `cargo test` (long): `tests/attack/run.sh` runs them with `--ignored`
//! against the release build, which it names in `SHARETHINGS_BIN` (common/process.rs).
//! Attackers connect from 127.0.0.2, the legitimate members from 127.0.0.1, as two hosts of a
//! LAN would.
//!
//! - [`memory`]: floods, unread answers, parked input, stuck receivers, amplification.
//! - [`slots`]: connection and session slots, brute force, lockouts and revoked tokens.
//! - [`malformed`]: malformed heads, frames and packets, races, hijacks, random bytes.
//! - [`proxy`]: foreign `Host` names (DNS rebinding) and the real `haproxy.cfg` in front.
//! - [`inbox`]: what the inbox keeps and answers (the second review's B1 and B2).
//! - [`admission`]: format 3's applicants: floods from one address and many, guesses,
//!   malformed admission messages, and applicants reaching for what members get.

mod admission;
mod inbox;
mod malformed;
mod memory;
mod proxy;
mod slots;

pub use std::io::{ErrorKind, Read, Write};
pub use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
pub use std::thread;
pub use std::time::{Duration, Instant};

pub use crate::common::*;

/// The systemd unit's MemoryMax is 256 MiB. Every attack must stay far below it: this bound
/// leaves the default MEMORY_BUDGET (128 MiB) unreached by any single attack here, so what is
/// measured is each fix, not the budget.
pub const RSS_BOUND_KB: u64 = 64 * 1024;

pub const ATTACKER: [u8; 4] = [127, 0, 0, 2];

/// A TCP connection from the attacker's address.
pub fn attacker_stream(server: SocketAddr) -> std::io::Result<TcpStream> {
    stream_from(server, ATTACKER)
}

/// VmRSS of the server in KiB.
pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Samples the server's RSS every 20 ms until told to stop; returns the peak. It samples at
/// its start and its stop as well, so that a short attack on a busy machine, where the
/// sampling thread may not get a turn, still has a peak that is a measurement.
pub struct RssWatch {
    pid: u32,
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl RssWatch {
    fn start(pid: u32) -> RssWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kb(pid)));
        let (s, p) = (Arc::clone(&stop), Arc::clone(&peak));
        let thread = thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kb(pid), Ordering::Relaxed);
                thread::sleep(Duration::from_millis(20));
            }
        });
        RssWatch {
            pid,
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn peak(&mut self) -> u64 {
        self.peak.fetch_max(rss_kb(self.pid), Ordering::Relaxed);
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// A fresh session of two members joins and relays one item.
pub fn legit_session(server: &Server, name: &str) {
    let join = |c: &mut SioClient, who: &str| {
        let ack = c.emit_ack(
            "join",
            &format!(
                r#"{{"sessionId":{},"clientName":{},"fingerprint":{{"v":2,"mac":"pw"}}}}"#,
                quote(name),
                quote(who)
            ),
        );
        assert!(bool_of(get(&ack, "success")), "{}", to_json(&ack));
    };
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    join(&mut a, "A");
    join(&mut b, "B");
    let ack = a.emit_ack(
        "content",
        &format!(
            r#"{{"sessionId":{},"content":"during the attack"}}"#,
            quote(name)
        ),
    );
    assert!(bool_of(get(&ack, "success")), "{}", to_json(&ack));
    assert_eq!(str_of(get(&b.expect_event("content"), "from")), a.id);
}

/// What an attack running on its own thread calls once it is in effect (connections held,
/// a flood under way, the first of a series sent), so that the legitimate session runs
/// during it, however slow the machine: no guess at how long an attack takes to start.
pub struct InEffect(std::sync::mpsc::Sender<()>);

impl InEffect {
    pub fn now(&self) {
        let _ = self.0.send(());
    }
}

/// Runs `attack` on its own thread while a legitimate session joins and relays (once the
/// attack says it is in effect), and checks the peak RSS during the attack and the RSS after
/// it (once the attack's connections closed).
pub fn under_attack(
    server: &mut Server,
    attack: impl FnOnce(SocketAddr, &InEffect) + Send + 'static,
) {
    under_attack_within(server, RSS_BOUND_KB, attack);
}

/// [`under_attack`] with another RSS bound, for the attacks that are meant to reach the
/// memory budget.
pub fn under_attack_within(
    server: &mut Server,
    bound_kb: u64,
    attack: impl FnOnce(SocketAddr, &InEffect) + Send + 'static,
) {
    server.assert_healthy();
    let pid = server.pid();
    let before = rss_kb(pid);
    let mut watch = RssWatch::start(pid);
    let addr = server.addr();
    let (tx, rx) = std::sync::mpsc::channel();
    let attacker = thread::spawn(move || attack(addr, &InEffect(tx)));
    if rx.recv_timeout(Duration::from_secs(120)).is_err() {
        // The attack thread's own failure, if it had one, says more.
        attacker.join().expect("attack thread");
        panic!("the attack never said it took effect");
    }
    legit_session(server, "legit-during");
    attacker.join().expect("attack thread");
    let during = watch.peak();
    assert!(server.is_running(), "the server died during the attack");
    after_the_attack(server, bound_kb, before, during);
}

/// Like [`under_attack_within`], for an attack that returns once it is in effect, handing back
/// what it holds (connections, members, kept items): the legitimate session runs while that is
/// held, so it is certain to run during the attack, however slow the machine; then it is let go.
pub fn under_held_attack<T>(
    server: &mut Server,
    bound_kb: u64,
    attack: impl FnOnce(SocketAddr) -> T,
) {
    server.assert_healthy();
    let pid = server.pid();
    let before = rss_kb(pid);
    let mut watch = RssWatch::start(pid);
    let held = attack(server.addr());
    legit_session(server, "legit-during");
    let during = watch.peak();
    assert!(server.is_running(), "the server died during the attack");
    drop(held);
    after_the_attack(server, bound_kb, before, during);
}

/// Once the attack's connections are gone: the RSS after it (when the loop has handled their
/// closing), a fresh session that joins and relays, and both RSS figures within `bound_kb`.
fn after_the_attack(server: &mut Server, bound_kb: u64, before: u64, during: u64) {
    loop_barrier(server.addr());
    let after = rss_kb(server.pid());
    legit_session(server, "legit-after");
    server.assert_healthy();
    eprintln!("RSS kB before {before}, peak during {during}, after {after}");
    assert!(before > 0 && during > 0, "RSS was not measured");
    assert!(during < bound_kb, "RSS {during} kB during the attack");
    assert!(after < bound_kb, "RSS {after} kB after the attack");
}

/// A sample of `/metrics` without labels, read while the server holds an attack.
pub fn gauge(addr: SocketAddr, name: &str) -> u64 {
    get_path(addr, "/metrics")
        .text()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

/// A TCP connection from `ip`, any local address (127.0.0.0/8 is all this machine's).
pub fn stream_from(server: SocketAddr, ip: [u8; 4]) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((ip, 0)).into())?;
    socket.connect_timeout(&server.into(), STEP)?;
    let stream: TcpStream = socket.into();
    stream.set_write_timeout(Some(Duration::from_millis(200)))?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    Ok(stream)
}

/// A Socket.IO member connected from `ip`, joined to `/` (not yet to a session).
pub fn member_from(server: SocketAddr, ip: [u8; 4]) -> SioClient {
    let stream = stream_from(server, ip).expect("connects");
    let mut ws = try_ws_handshake(stream, "", &[])
        .unwrap_or_else(|(status, body)| panic!("websocket refused: {status} {body:?}"));
    let open = ws.expect_text();
    assert!(open.starts_with('0'), "{open}");
    SioClient::over(ws)
}

/// A raw WebSocket handshake at the Engine.IO path; returns the stream after the 101.
pub fn raw_websocket(stream: &mut TcpStream) -> bool {
    let request = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut seen = Vec::new();
    let until = deadline(STEP);
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") && Instant::now() < until {
        match stream.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return false,
        }
    }
    seen.starts_with(b"HTTP/1.1 101")
}

/// A masked client frame.
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    use tungstenite::protocol::frame::{coding::OpCode, Frame, FrameHeader};
    let header = FrameHeader {
        opcode: OpCode::from(opcode),
        mask: Some([0x11, 0x22, 0x33, 0x44]),
        ..FrameHeader::default()
    };
    let mut out = Vec::new();
    Frame::from_payload(header, payload.to_vec().into())
        .format(&mut out)
        .expect("a frame formats into a Vec");
    out
}

/// Writes `chunk` repeatedly for at most `bytes` in total or `time`, whichever comes first;
/// writes that block (the server stopped reading) are retried until the time is up.
pub fn push(stream: &mut TcpStream, chunk: &[u8], bytes: usize, time: Duration) -> usize {
    let until = deadline(time);
    let mut sent = 0;
    while sent < bytes && Instant::now() < until {
        // A short write goes on where it stopped, so the stream stays whole frames.
        match stream.write(&chunk[sent % chunk.len()..]) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    sent
}

/// Whether a read error only means "nothing yet".
pub fn would_block(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Reads until the server closes the stream or `time` passes; returns what came and whether
/// the stream was closed.
pub fn read_to_close(stream: &mut TcpStream, time: Duration) -> (Vec<u8>, bool) {
    let until = deadline(time);
    let (mut seen, mut buf) = (Vec::new(), [0u8; 16384]);
    while Instant::now() < until {
        match stream.read(&mut buf) {
            Ok(0) => return (seen, true),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if would_block(&e) => {}
            Err(_) => return (seen, true),
        }
    }
    (seen, false)
}

/// The close code in the server's (unmasked) frames after a WebSocket's 101 head, if any.
pub fn close_code(bytes: &[u8]) -> Option<u16> {
    let mut rest = match bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) if bytes.starts_with(b"HTTP/") => &bytes[at + 4..],
        _ => bytes,
    };
    while rest.len() >= 2 {
        let (opcode, len7) = (rest[0] & 0x0f, usize::from(rest[1] & 0x7f));
        let (len, head) = match len7 {
            126 if rest.len() >= 4 => (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
            127 if rest.len() >= 10 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&rest[2..10]);
                (u64::from_be_bytes(n) as usize, 10)
            }
            126 | 127 => return None,
            n => (n, 2),
        };
        let payload = rest.get(head..head + len)?;
        if opcode == 0x8 {
            return payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
        }
        rest = &rest[head + len..];
    }
    None
}

/// A Socket.IO member connected from the attacker's address, joined to `/`.
pub fn attacker_member(server: SocketAddr) -> SioClient {
    let stream = attacker_stream(server).expect("attacker connects");
    let mut ws = try_ws_handshake(stream, "", &[])
        .unwrap_or_else(|(status, body)| panic!("websocket refused: {status} {body:?}"));
    let open = ws.expect_text();
    assert!(open.starts_with('0'), "{open}");
    SioClient::over(ws)
}

/// The `join` payload for session `name` with passphrase stand-in `mac`.
pub fn join_payload(name: &str, who: &str, mac: &str) -> String {
    format!(
        r#"{{"sessionId":{},"clientName":{},"fingerprint":{{"v":2,"mac":{}}}}}"#,
        quote(name),
        quote(who),
        quote(mac)
    )
}

/// The `code` of a failed ack, or `"ok"`.
pub fn ack_code(ack: &miniserde::json::Value) -> String {
    if bool_of(get(ack, "success")) {
        "ok".to_string()
    } else {
        str_of(get(ack, "code")).to_string()
    }
}

/// An attacker's WebSocket that connected to the namespace and joined session `name`.
pub fn attacker_joined(addr: SocketAddr, name: &str) -> TcpStream {
    let mut ws = attacker_stream(addr).expect("attacker connects");
    assert!(raw_websocket(&mut ws));
    let join = format!(r#"420["join",{}]"#, join_payload(name, "X", "pw"));
    assert!(ws.write_all(&client_frame(0x1, b"40")).is_ok());
    assert!(ws.write_all(&client_frame(0x1, join.as_bytes())).is_ok());
    ws
}
