//! The `connect` figure: many clients connect and join, first one after another (the time of
//! each step tells where a join's time goes), then many at once (the server's capacity).

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use crate::cli::Options;
use sharethings_protocol::sio::{self, PacketKind};

use crate::client::{
    contains, join_text, read_text, upgrade_accepted, upgrade_request, websocket_key, Client,
    Steps, Text, JOIN_ACK,
};
use crate::procfs::{cpu_seconds, cpu_ticks};
use crate::record::Record;
use crate::relay::wait_until_quiet;
use crate::target::Target;
use crate::ws::{closed, invalid, push_frame, FrameReader, Rng, OP_CLOSE, OP_TEXT};
use crate::STEP_TIMEOUT;

/// Joins in progress at once in the concurrent half, so that the listen backlog is never
/// what is measured (a dropped SYN is retried after a second).
const AT_ONCE: usize = 100;
/// CPU time below this (five clock ticks of `/proc/<pid>/stat` at 100 Hz) is too coarse to
/// set side by side.
const MEASURABLE_CPU: f64 = 0.05;

pub fn connect(o: &Options, target: &Target, record: &mut Record) -> Result<(), String> {
    wait_until_quiet(target);
    let session = |c: usize| format!("bench-join-{}", c % o.sessions);
    let cpu_before = (target.server_ticks(), own_ticks());
    let start = Instant::now();
    let mut clients = Vec::with_capacity(o.clients);
    let mut steps = Vec::with_capacity(o.clients);
    for c in 0..o.clients {
        let (client, s) = Client::join_steps(target.addr, &session(c), &format!("j-{c}"), c as u64)
            .map_err(|e| format!("client {c} could not join: {e}"))?;
        clients.push(client);
        steps.push(s);
    }
    let one_by_one = start.elapsed();
    let cpu = (
        cpu_seconds(cpu_before.0, target.server_ticks()),
        cpu_seconds(cpu_before.1, own_ticks()),
    );
    drop(clients);
    let median = |pick: fn(&Steps) -> Duration| {
        let mut v: Vec<Duration> = steps.iter().map(pick).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let (upgraded, opened, connected, joined) = (
        median(|s| s.upgraded),
        median(|s| s.opened),
        median(|s| s.connected),
        median(|s| s.joined),
    );
    println!(
        "connect and join, {} clients one after another in {} sessions: {:.0} ms ({:.0} µs each; \
         median steps: TCP + upgrade {:.0} µs, open +{:.0}, CONNECT +{:.0}, join +{:.0}; server {})",
        o.clients,
        o.sessions,
        one_by_one.as_secs_f64() * 1e3,
        one_by_one.as_secs_f64() * 1e6 / o.clients as f64,
        us(upgraded),
        us(opened.saturating_sub(upgraded)),
        us(connected.saturating_sub(opened)),
        us(joined.saturating_sub(connected)),
        cpu_text(cpu, o.clients),
    );
    record.lower(
        format!("connect+join {} one by one", o.clients),
        one_by_one.as_secs_f64() * 1e3,
        "ms",
    );
    if let Some(c) = cpu.0.filter(|c| *c >= MEASURABLE_CPU) {
        record.lower(
            "  server CPU per join, one by one",
            c * 1e6 / o.clients as f64,
            "µs",
        );
    }
    record.lower("  one join: upgrade (median)", us(upgraded), "µs");
    record.lower("  one join: CONNECT (median)", us(connected - opened), "µs");
    record.lower(
        "  one join: join ack (median)",
        us(joined - connected),
        "µs",
    );
    wait_until_quiet(target);
    let cpu_before = (target.server_ticks(), own_ticks());
    let at_once = AT_ONCE.min(o.clients);
    let time = concurrent(target.addr, o.clients, o.sessions)
        .map_err(|e| format!("{at_once} at a time: {e}"))?;
    let cpu = (
        cpu_seconds(cpu_before.0, target.server_ticks()),
        cpu_seconds(cpu_before.1, own_ticks()),
    );
    println!(
        "connect and join, {} clients {at_once} at a time on one client thread: {:.0} ms (server {})",
        o.clients,
        time.as_secs_f64() * 1e3,
        cpu_text(cpu, o.clients),
    );
    record.lower(
        format!("connect+join {}, {at_once} at a time", o.clients),
        time.as_secs_f64() * 1e3,
        "ms",
    );
    if let Some(c) = cpu.0.filter(|c| *c >= MEASURABLE_CPU) {
        record.lower(
            "  server CPU per join, at once",
            c * 1e6 / o.clients as f64,
            "µs",
        );
    }
    Ok(())
}

/// The bench's own CPU time (all its threads; during this figure only the clients work).
fn own_ticks() -> Option<u64> {
    cpu_ticks("/proc/self/stat")
}

/// The server's and the clients' CPU time for `joins` joins, in all and per join.
fn cpu_text((server, clients): (Option<f64>, Option<f64>), joins: usize) -> String {
    let per_join = |c: Option<f64>| {
        c.map_or("?".into(), |c| {
            format!(
                "{:.0} CPU-ms, {:.0} µs per join",
                c * 1e3,
                c * 1e6 / joins as f64
            )
        })
    };
    format!("{}; bench clients {}", per_join(server), per_join(clients))
}

/// Where one join of the concurrent half is.
enum Step {
    /// TCP connect in progress.
    Connecting,
    /// Upgrade request written; reading the response head.
    Upgrading(Vec<u8>),
    /// Waiting for the Engine.IO open packet, then the CONNECT answer, then the join ack.
    Open,
    Connect,
    Join,
    Done,
}

struct Joiner {
    stream: mio::net::TcpStream,
    key: String,
    rng: Rng,
    reader: Option<FrameReader>,
    session: String,
    name: String,
    step: Step,
}

/// `clients` joins with at most [`AT_ONCE`] in progress, on one non-blocking thread; the
/// time until the last join was acknowledged.
fn concurrent(addr: SocketAddr, clients: usize, sessions: usize) -> io::Result<Duration> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut joiners: Vec<Joiner> = Vec::with_capacity(clients);
    let start = Instant::now();
    let deadline = start + STEP_TIMEOUT * 3;
    let (mut started, mut done) = (0usize, 0usize);
    while done < clients {
        while started < clients && started - done < AT_ONCE {
            let mut stream = mio::net::TcpStream::connect(addr)?;
            stream.set_nodelay(true)?;
            poll.registry().register(
                &mut stream,
                Token(started),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            let mut rng = Rng::new(started as u64 + (1 << 50));
            joiners.push(Joiner {
                stream,
                key: websocket_key(&mut rng),
                rng,
                reader: None,
                session: format!("bench-join-all-{}", started % sessions),
                name: format!("a-{started}"),
                step: Step::Connecting,
            });
            started += 1;
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{done}/{clients} joined"),
            ));
        }
        poll.poll(&mut events, Some(Duration::from_millis(100)))?;
        for event in events.iter() {
            let Some(j) = joiners.get_mut(event.token().0) else {
                continue;
            };
            if event.is_writable()
                && matches!(j.step, Step::Connecting)
                && j.stream.peer_addr().is_ok()
            {
                let request = upgrade_request(addr, &j.session, &j.key);
                write_small(&mut j.stream, request.as_bytes())?;
                j.step = Step::Upgrading(Vec::with_capacity(256));
            }
            if let Some(e) = j.stream.take_error()? {
                return Err(e);
            }
            if event.is_readable() && advance(j)? {
                done += 1;
            }
        }
    }
    Ok(start.elapsed())
}

/// Moves a join on with what its socket has; whether it just finished.
fn advance(j: &mut Joiner) -> io::Result<bool> {
    if let Step::Upgrading(head) = &mut j.step {
        let mut buf = [0u8; 1024];
        loop {
            match j.stream.read(&mut buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => head.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Ok(false);
        };
        upgrade_accepted(&head[..end + 4], &j.key).map_err(|e| invalid(&e))?;
        j.reader = Some(FrameReader::new(&head[end + 4..]));
        j.step = Step::Open;
    }
    let Some(reader) = j.reader.as_mut() else {
        return Ok(false);
    };
    while let Some(frame) = reader.next(&mut j.stream)? {
        if frame.opcode == OP_CLOSE {
            return Err(closed(reader.bytes(frame)));
        }
        let text = reader.bytes(frame);
        let reply = match (&j.step, read_text(text)) {
            (Step::Open, Text::Open) => {
                j.step = Step::Connect;
                sio::CONNECT.to_string()
            }
            (Step::Connect, t) if t.is(PacketKind::Connect) => {
                j.step = Step::Join;
                join_text(&j.session, &j.name)
            }
            (Step::Join, t) if t.ack(JOIN_ACK).is_some() => {
                if !contains(text, br#""success":true"#) {
                    return Err(invalid(&format!(
                        "join refused: {}",
                        String::from_utf8_lossy(text)
                    )));
                }
                j.step = Step::Done;
                return Ok(true);
            }
            _ => continue,
        };
        let mut out = Vec::with_capacity(reply.len() + 8);
        push_frame(&mut out, OP_TEXT, reply.as_bytes(), &mut j.rng);
        write_small(&mut j.stream, &out)?;
    }
    Ok(false)
}

/// Writes a few hundred bytes to a socket that has room for them (a fresh loopback socket
/// always has); a short write is an error, not a wait.
fn write_small(stream: &mut mio::net::TcpStream, bytes: &[u8]) -> io::Result<()> {
    match stream.write(bytes) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(io::ErrorKind::WriteZero.into()),
        Err(e) => Err(e),
    }
}
