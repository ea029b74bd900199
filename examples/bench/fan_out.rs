//! The `clients` and `latency` figures: many joined clients on a few `mio` threads, their
//! memory in the server, and the fan-out latency of small `content` events.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use crate::cli::{Figure, Options};
use sharethings_protocol::eio;
use sharethings_protocol::sio::Header;

use crate::client::{number_after, read_text, Client, Text};
use crate::process::spawn;
use crate::procfs::{cpu_seconds, rss_text, vm_rss_kib};
use crate::record::Record;
use crate::target::{counts, spread, Target};
use crate::ws::{closed, push_frame, FrameReader, Rng, OP_CLOSE, OP_TEXT};
use crate::STEP_TIMEOUT;

/// A joined client handed to a client thread.
pub struct Member {
    pub stream: mio::net::TcpStream,
    pub reader: FrameReader,
    pub rng: Rng,
    pub out: Vec<u8>,
    pub session: usize,
    /// Its place among its session's members, in join order.
    pub rank: usize,
    pub session_name: String,
    /// Other members of its session: receivers of each of its events.
    pub peers: usize,
}

/// Registers every member's stream with `poll`, its token its index.
pub fn register(poll: &Poll, members: &mut [Member]) -> io::Result<()> {
    for (i, m) in members.iter_mut().enumerate() {
        poll.registry().register(
            &mut m.stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
    }
    Ok(())
}

/// What the fan-out threads share with the main thread.
pub struct FanOutShared {
    pub base: Instant,
    pub joined_notices: AtomicUsize,
    pub go: AtomicBool,
    pub stop: AtomicBool,
}

#[derive(Default)]
pub struct FanOutReport {
    pub latencies_ns: Vec<u64>,
    pub sent: usize,
    pub expected: usize,
}

/// The latency figure, for the HAProxy summary.
pub struct Latency {
    pub p50: Option<u64>,
    pub p99: Option<u64>,
    pub lost: usize,
    /// Percent of one core: all server processes, and HAProxy.
    pub server_cpu: Option<f64>,
    pub proxy_cpu: Option<f64>,
}

/// Members joined one after another, dealt out to client threads.
pub struct Joined {
    pub threads: Vec<Vec<Member>>,
    /// Members of each session.
    pub sizes: Vec<usize>,
    pub time: Duration,
}

/// Joins `clients` clients to `sessions` sessions named `{prefix}-{index}`, client `c` to
/// session `c % sessions`, one after another, and deals them out to `threads` threads.
pub fn join_members(
    addr: std::net::SocketAddr,
    clients: usize,
    sessions: usize,
    threads: usize,
    prefix: &str,
) -> Result<Joined, String> {
    let started = Instant::now();
    let mut sizes = vec![0usize; sessions];
    let mut members: Vec<Vec<Member>> = (0..threads).map(|_| Vec::new()).collect();
    for c in 0..clients {
        let session = c % sessions;
        let session_name = format!("{prefix}-{session}");
        let client = Client::join(addr, &session_name, &format!("c-{c}"), c as u64)
            .map_err(|e| format!("client {c} could not join: {e}"))?;
        client
            .stream
            .set_nonblocking(true)
            .map_err(|e| e.to_string())?;
        members[c % threads].push(Member {
            stream: mio::net::TcpStream::from_std(client.stream),
            reader: client.reader,
            rng: client.rng,
            out: Vec::new(),
            session,
            rank: sizes[session],
            session_name,
            peers: 0,
        });
        sizes[session] += 1;
    }
    let time = started.elapsed();
    for m in members.iter_mut().flatten() {
        m.peers = sizes[m.session] - 1;
    }
    Ok(Joined {
        threads: members,
        sizes,
        time,
    })
}

/// The clients and latency figures; returns the latency figure when it ran.
pub fn fan_out(
    o: &Options,
    server: &Target,
    record: &mut Record,
) -> Result<Option<Latency>, String> {
    let rss_before = server.rss_pid.and_then(vm_rss_kib);
    let counts_before = counts(&server.backends);
    let Joined {
        threads: members,
        sizes,
        time: join_time,
    } = join_members(server.addr, o.clients, o.sessions, o.threads, "bench")?;
    record.lower(
        format!("clients: {} joined one by one", o.clients),
        join_time.as_secs_f64() * 1e3,
        "ms",
    );
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
        if let Some(kib) = server.rss_pid.and_then(vm_rss_kib) {
            record.lower(
                format!("RSS, {} joined clients", o.clients),
                kib as f64 / 1024.0,
                "MiB",
            );
        }
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
    let lost = total.expected.saturating_sub(received);
    if let (Some(p50), Some(p99)) = (percentile(&lat, 0.50), percentile(&lat, 0.99)) {
        record.lower("fan-out latency p50", p50 as f64 / 1e3, "µs");
        record.lower("fan-out latency p99", p99 as f64 / 1e3, "µs");
    }
    record.lower("fan-out lost", lost as f64, "events");
    if let Some(cpu) = server_cpu {
        record.lower("fan-out server CPU", cpu, "%");
    }
    Ok(Some(Latency {
        p50: percentile(&lat, 0.50),
        p99: percentile(&lat, 0.99),
        lost,
        server_cpu,
        proxy_cpu,
    }))
}

pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    let last = sorted.len().checked_sub(1)?;
    sorted.get(((last as f64) * p).round() as usize).copied()
}

pub fn micros(ns: Option<u64>) -> String {
    match ns {
        Some(ns) if ns >= 10_000_000 => format!("{:.1} ms", ns as f64 / 1e6),
        Some(ns) => format!("{} µs", ns / 1000),
        None => "-".into(),
    }
}

#[derive(Clone, Copy)]
pub struct SendPlan {
    /// Time between two events of one thread.
    pub period: Duration,
    pub threads: usize,
    pub length: Duration,
}

/// Owns some members: answers pings, counts join notices, then sends `content` events on
/// schedule from its members in turn and timestamps every one that arrives.
pub fn fan_out_worker(
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

pub fn fan_out_loop(
    members: &mut [Member],
    shared: &FanOutShared,
    plan: SendPlan,
    index: usize,
) -> io::Result<FanOutReport> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    register(&poll, members)?;
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
            let text = Header::event(0, None).message(&format!(
                r#"["content",{{"sessionId":"{}","content":{{"t":{t}}}}}]"#,
                m.session_name
            ));
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
pub fn service(m: &mut Member, shared: &FanOutShared, latencies: &mut Vec<u64>) -> io::Result<()> {
    while let Some(frame) = m.reader.next(&mut m.stream)? {
        if frame.opcode == OP_CLOSE {
            return Err(closed(m.reader.bytes(frame)));
        }
        let text = read_text(m.reader.bytes(frame));
        if let Some(json) = text.event("content") {
            let arrived = shared.base.elapsed().as_nanos() as u64;
            if let Some(t) = number_after(json.as_bytes(), br#""t":"#) {
                latencies.push(arrived.saturating_sub(t));
            }
        } else if text.event("client-joined").is_some() {
            shared.joined_notices.fetch_add(1, Ordering::Relaxed);
        } else if matches!(text, Text::Ping) {
            push_frame(&mut m.out, OP_TEXT, eio::PONG.as_bytes(), &mut m.rng);
        }
    }
    flush(m)
}

pub fn flush(m: &mut Member) -> io::Result<()> {
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
