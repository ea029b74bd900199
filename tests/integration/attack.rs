//! The review's attacks (docs/security.md's table), each against the release binary with
//! default limits, bounded in time and bytes, on loopback only. Each asserts that the
//! server's resident memory stays under a stated bound during the attack and after it, that
//! a fresh session of two members joins and relays during the attack, and that the process
//! is alive afterwards.
//!
//! Ignored in the plain `cargo test` (debug build, and long): `tests/attack/run.sh` runs them
//! with `--release --ignored`. Attackers connect from 127.0.0.2, the legitimate members from
//! 127.0.0.1, as two hosts of a LAN would.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::*;

/// The systemd unit's MemoryMax is 256 MiB. Every attack must stay far below it: this bound
/// leaves the default MEMORY_BUDGET (128 MiB) unreached by any single attack here, so what is
/// measured is each fix, not the budget.
const RSS_BOUND_KB: u64 = 64 * 1024;

const ATTACKER: [u8; 4] = [127, 0, 0, 2];

/// A TCP connection from the attacker's address.
fn attacker_stream(server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    let local = SocketAddr::from((ATTACKER, 0));
    socket.bind(&local.into())?;
    socket.connect_timeout(&server.into(), STEP)?;
    let stream: TcpStream = socket.into();
    stream.set_write_timeout(Some(Duration::from_millis(200)))?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    Ok(stream)
}

/// VmRSS of the server in KiB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Samples the server's RSS every 20 ms until told to stop; returns the peak.
struct RssWatch {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl RssWatch {
    fn start(pid: u32) -> RssWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, p) = (Arc::clone(&stop), Arc::clone(&peak));
        let thread = thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kb(pid), Ordering::Relaxed);
                thread::sleep(Duration::from_millis(20));
            }
        });
        RssWatch {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn peak(&mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// A fresh session of two members joins and relays one item.
fn legit_session(server: &Server, name: &str) {
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

/// Runs `attack` on its own thread while a legitimate session joins and relays, and checks
/// the peak RSS during the attack and the RSS after it (once the attack's connections closed).
fn under_attack(server: &mut Server, attack: impl FnOnce(SocketAddr) + Send + 'static) {
    server.assert_healthy();
    let pid = server.pid();
    let before = rss_kb(pid);
    let mut watch = RssWatch::start(pid);
    let addr = server.addr();
    let attacker = thread::spawn(move || attack(addr));
    // Let the attack get going, then check that real members are served meanwhile.
    thread::sleep(Duration::from_millis(500));
    legit_session(server, "legit-during");
    attacker.join().expect("attack thread");
    let during = watch.peak();
    loop_barrier(server.addr());
    let after = rss_kb(pid);
    legit_session(server, "legit-after");
    server.assert_healthy();
    eprintln!("RSS kB before {before}, peak during {during}, after {after}");
    assert!(during < RSS_BOUND_KB, "RSS {during} kB during the attack");
    assert!(after < RSS_BOUND_KB, "RSS {after} kB after the attack");
}

/// A raw WebSocket handshake at the Engine.IO path; returns the stream after the 101.
fn raw_websocket(stream: &mut TcpStream) -> bool {
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

/// A masked client frame (tungstenite's encoding, final).
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
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
fn push(stream: &mut TcpStream, chunk: &[u8], bytes: usize, time: Duration) -> usize {
    let until = deadline(time);
    let mut sent = 0;
    while sent < bytes && Instant::now() < until {
        match stream.write(chunk) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    sent
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_1_websocket_ping_flood_from_a_client_that_never_reads() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr| {
        let mut ws = attacker_stream(addr).expect("attacker connects");
        assert!(raw_websocket(&mut ws));
        // 125 B pings, batched 512 per write: 200 MB at most, 6 s at most.
        let ping = client_frame(0x9, &[b'p'; 125]);
        let batch: Vec<u8> = ping
            .iter()
            .copied()
            .cycle()
            .take(ping.len() * 512)
            .collect();
        let sent = push(&mut ws, &batch, 200 << 20, Duration::from_secs(6));
        eprintln!("ping flood: {} MB sent", sent >> 20);
    });
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_2_pipelined_requests_whose_answers_are_never_read() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr| {
        let mut conn = attacker_stream(addr).expect("attacker connects");
        let one = "GET /socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: x\r\n\r\n";
        let batch = one.repeat(400);
        let sent = push(
            &mut conn,
            batch.as_bytes(),
            30 << 20,
            Duration::from_secs(4),
        );
        eprintln!("pipelined: {} kB of requests sent", sent >> 10);
    });
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_3_deep_json_parked_in_a_binary_packet_on_three_connections() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr| {
        let depth = 400_000;
        let text = format!(
            "451-[\"x\",{}{},{{\"_placeholder\":true,\"num\":0}}]",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let mut conns = Vec::new();
        for _ in 0..3 {
            let mut ws = attacker_stream(addr).expect("attacker connects");
            assert!(raw_websocket(&mut ws));
            let _ = ws.write_all(&client_frame(0x1, b"40"));
            let _ = ws.write_all(&client_frame(0x1, text.as_bytes()));
            conns.push(ws);
        }
        // Each is refused (JSON too deep) and closed; wait for the closes, bounded.
        for mut ws in conns {
            let until = deadline(STEP);
            let mut buf = [0u8; 4096];
            while Instant::now() < until {
                match ws.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(_) => break,
                }
            }
            assert!(
                Instant::now() < until,
                "the deep packet's connection was not closed"
            );
        }
    });
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_8_many_idle_sockets_from_one_address_cannot_keep_another_out() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr| {
        let mut held = Vec::new();
        let mut refused = 0;
        for _ in 0..300 {
            let Ok(mut ws) = attacker_stream(addr) else {
                refused += 1;
                continue;
            };
            if raw_websocket(&mut ws) && ws.write_all(&client_frame(0x1, b"40")).is_ok() {
                held.push(ws);
            } else {
                refused += 1;
            }
        }
        eprintln!("idle sockets: {} held, {refused} refused", held.len());
        assert!(held.len() <= 64, "one address holds at most its cap");
        // Held while the legitimate session runs (it starts 0.5 s into the attack).
        thread::sleep(Duration::from_secs(3));
    });
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_15b_a_stranger_with_a_polling_clients_sid_cannot_upgrade_or_poll() {
    let mut server = Server::start(&[]);
    let (sid, _) = eio_open_polling(server.addr());
    under_attack(&mut server, move |addr| {
        let target = polling_target(&sid);
        let mut conn = attacker_stream(addr).expect("attacker connects");
        let _ = conn.set_read_timeout(Some(STEP));
        let upgrade = format!(
            "GET /socket.io/?EIO=4&transport=websocket&sid={sid} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        assert!(conn.write_all(upgrade.as_bytes()).is_ok());
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer);
        assert!(
            answer.starts_with(b"HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
        let mut poll = attacker_stream(addr).expect("attacker connects");
        let _ = poll.set_read_timeout(Some(STEP));
        let get = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assert!(poll.write_all(get.as_bytes()).is_ok());
        let mut answer = Vec::new();
        let _ = poll.read_to_end(&mut answer);
        assert!(
            answer.starts_with(b"HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    });
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_17_one_connection_filling_the_session_arena_locks_nobody_out() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr| {
        let mut ws = attacker_stream(addr).expect("attacker connects");
        assert!(raw_websocket(&mut ws));
        let _ = ws.write_all(&client_frame(0x1, b"40"));
        for n in 0..300 {
            let join = format!(
                r#"42{n}["join",{{"sessionId":"squat-{n}","clientName":"S","fingerprint":"f"}}]"#
            );
            let _ = ws.write_all(&client_frame(0x1, join.as_bytes()));
        }
        // Read the answers (bounded): past SESSIONS_PER_ADDRESS the creations are refused.
        let (mut seen, mut buf) = (Vec::new(), [0u8; 16384]);
        let until = deadline(STEP);
        let refused = |seen: &[u8]| {
            String::from_utf8_lossy(seen)
                .matches("rate_limited")
                .count()
        };
        while Instant::now() < until && refused(&seen) < 300 - 32 {
            match ws.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
        }
        assert_eq!(
            refused(&seen),
            300 - 32,
            "creations past the per-address cap refused"
        );
    });
}
