//! `--soak MINUTES`: a release server under churn for a long time. Members in several
//! sessions (an inbox in every other one) join, send texts and files of 1 KB–20 MB, drop
//! their connections and rejoin with their tokens, leave and come back as new members, at
//! random. Every 10 s the server's RSS, open file descriptors, connection and session
//! arenas, queued and inbox bytes (its `/metrics`) and the p99 text delivery latency are
//! sampled and printed as a table row; at the end a PNG plot is written, every member leaves,
//! and the bench waits for the server to return to its idle values.
//!
//! It fails (exit code 1) when a member saw a refusal, a missing ack, a closed connection, a
//! failed join or a corrupt chunk; when a window's p99 passed [`P99_LIMIT`]; when memory
//! kept growing (the last third's peak above the middle third's, plus a margin); or when the
//! server did not return to idle (no connections, sessions, members, queued or inbox bytes,
//! the idle count of file descriptors, RSS within [`RSS_SETTLED_MARGIN_KIB`] of idle).

mod member;

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::{server_args, Options};
use crate::plot::{self, Line, Panel, BLUE, ORANGE};
use crate::process::{spawn, Server};
use crate::procfs::vm_rss_kib;
use crate::target::{http_get, metric};
use member::{Clock, Shared};

pub const SESSIONS: usize = 10;
pub const MEMBERS: usize = 5;
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// A window whose p99 text latency is above this fails the soak.
const P99_LIMIT: Duration = Duration::from_secs(2);
/// How far the last third's peak RSS may lie above the middle third's.
const RSS_GROWTH_MARGIN_KIB: u64 = 8 * 1024;
/// How far the settled RSS may lie above the idle RSS: allocator caches and arena pages
/// touched once stay resident.
const RSS_SETTLED_MARGIN_KIB: u64 = 16 * 1024;
/// Empty sessions and inbox items expire this soon, so that the server can return to idle
/// within the bench (the defaults keep them 10 minutes and 1 hour).
const SESSION_TIMEOUT_MS: u64 = 20_000;
const INBOX_TTL_MS: u64 = 60_000;

/// One sample.
#[derive(Clone, Copy, Default)]
struct Sample {
    minutes: f64,
    rss_kib: u64,
    fds: u64,
    connections: f64,
    sessions: f64,
    members: f64,
    queued: f64,
    inbox: f64,
    p99_ms: f64,
    texts: u64,
    mb: f64,
}

pub fn soak_mode(o: &Options, minutes: f64) -> Result<(), String> {
    let mut args = server_args(o);
    for (flag, value) in [
        ("--session-timeout", SESSION_TIMEOUT_MS.to_string()),
        ("--inbox-ttl", INBOX_TTL_MS.to_string()),
    ] {
        args.push(flag.into());
        args.push(value);
    }
    let server = Server::start(&o.server, &args)?;
    let pid = server.pid.ok_or("the soak needs the server's pid")?;
    println!(
        "soak: {SESSIONS} sessions of {MEMBERS} members (an inbox in every other one) for \
         {minutes} min, server pid {pid} at http://{}/, SESSION_TIMEOUT {SESSION_TIMEOUT_MS} ms, \
         INBOX_TTL {INBOX_TTL_MS} ms",
        server.addr
    );
    thread::sleep(Duration::from_secs(1));
    let idle = sample(&server, pid, 0.0, &mut Vec::new(), 0, 0.0)?;
    println!("idle: RSS {} KiB, {} open fds", idle.rss_kib, idle.fds);
    println!("{}", header());

    let clock = Arc::new(Clock(Instant::now()));
    let shared = Arc::new(Shared::default());
    let mut threads = Vec::new();
    for s in 0..SESSIONS {
        let (clock, shared, addr) = (clock.clone(), shared.clone(), server.addr);
        threads.push(spawn(&format!("soak-{s}"), move || {
            member::run_session(
                addr,
                format!("soak-{s}"),
                s % 2 == 0,
                MEMBERS,
                s as u64 + 1,
                clock,
                shared,
            )
        })?);
    }
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(minutes * 60.0);
    let mut samples = Vec::new();
    let mut next = start + SAMPLE_EVERY;
    while next <= end {
        thread::sleep(next.saturating_duration_since(Instant::now()));
        next += SAMPLE_EVERY;
        let mut latencies = std::mem::take(
            &mut *shared
                .latencies_us
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        let s = sample(
            &server,
            pid,
            start.elapsed().as_secs_f64() / 60.0,
            &mut latencies,
            shared.texts_received.load(Relaxed),
            shared.bytes_received.load(Relaxed) as f64 / 1e6,
        )?;
        println!("{}", row(&s));
        samples.push(s);
    }
    shared.stop.store(true, Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let png = png_path(o);
    plot::write_png(
        &png,
        &format!(
            "SHARETHINGS SOAK: {minutes} MIN, {} MEMBERS IN {SESSIONS} SESSIONS",
            SESSIONS * MEMBERS
        ),
        &panels(&samples),
    )?;
    println!("plot: {}", png.display());
    report(&shared);

    let settled = settle(&server, pid, &idle)?;
    println!(
        "after: RSS {} KiB (idle {} KiB), {} open fds (idle {}), {} connections, {} sessions, \
         {} members, {} queued bytes, {} inbox bytes",
        settled.rss_kib,
        idle.rss_kib,
        settled.fds,
        idle.fds,
        settled.connections,
        settled.sessions,
        settled.members,
        settled.queued,
        settled.inbox
    );
    let verdicts = verdicts(&shared, &samples, &idle, &settled);
    for v in &verdicts {
        println!("FAILED: {v}");
    }
    if verdicts.is_empty() {
        println!("soak: every check passed");
        Ok(())
    } else {
        Err(format!("{} soak checks failed", verdicts.len()))
    }
}

fn png_path(o: &Options) -> PathBuf {
    o.soak_png.clone().map_or_else(
        || PathBuf::from(format!("{}/target/soak.png", env!("CARGO_MANIFEST_DIR"))),
        PathBuf::from,
    )
}

fn sample(
    server: &Server,
    pid: u32,
    minutes: f64,
    latencies: &mut [u64],
    texts: u64,
    mb: f64,
) -> Result<Sample, String> {
    let body = http_get(server.addr, "/metrics").map_err(|e| format!("/metrics: {e}"))?;
    let m = |name: &str| metric(&body, name).unwrap_or(f64::NAN);
    latencies.sort_unstable();
    let p99 = latencies
        .get((latencies.len() * 99).div_ceil(100).saturating_sub(1))
        .map_or(0.0, |us| *us as f64 / 1000.0);
    Ok(Sample {
        minutes,
        rss_kib: vm_rss_kib(pid).unwrap_or(0),
        fds: fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64),
        // The connection that asks for /metrics is one of them.
        connections: m("sharethings_connection_slots_used") - 1.0,
        sessions: m("sharethings_sessions"),
        members: m("sharethings_members"),
        queued: m("sharethings_queued_bytes"),
        inbox: m("sharethings_inbox_bytes"),
        p99_ms: p99,
        texts,
        mb,
    })
}

fn header() -> String {
    format!(
        "{:>6} {:>9} {:>5} {:>5} {:>8} {:>7} {:>9} {:>9} {:>8} {:>8} {:>9}",
        "min",
        "RSS KiB",
        "fds",
        "conns",
        "sessions",
        "members",
        "queued",
        "inbox",
        "p99 ms",
        "texts",
        "MB recv"
    )
}

fn row(s: &Sample) -> String {
    format!(
        "{:>6.2} {:>9} {:>5} {:>5} {:>8} {:>7} {:>9} {:>9} {:>8.1} {:>8} {:>9.0}",
        s.minutes,
        s.rss_kib,
        s.fds,
        s.connections,
        s.sessions,
        s.members,
        s.queued,
        s.inbox,
        s.p99_ms,
        s.texts,
        s.mb
    )
}

fn panels(samples: &[Sample]) -> Vec<Panel> {
    let series = |f: fn(&Sample) -> f64| samples.iter().map(|s| (s.minutes, f(s))).collect();
    let panel = |title: &str, lines: Vec<Line>| Panel {
        title: title.into(),
        lines,
    };
    vec![
        panel(
            "RSS MIB",
            vec![(BLUE, series(|s| s.rss_kib as f64 / 1024.0))],
        ),
        panel("OPEN FDS", vec![(BLUE, series(|s| s.fds as f64))]),
        panel(
            "CONNECTIONS (BLUE), MEMBERS (ORANGE)",
            vec![
                (BLUE, series(|s| s.connections)),
                (ORANGE, series(|s| s.members)),
            ],
        ),
        panel("SESSIONS", vec![(BLUE, series(|s| s.sessions))]),
        panel(
            "QUEUED MIB (BLUE), INBOX MIB (ORANGE)",
            vec![
                (BLUE, series(|s| s.queued / 1048576.0)),
                (ORANGE, series(|s| s.inbox / 1048576.0)),
            ],
        ),
        panel("P99 TEXT LATENCY MS", vec![(BLUE, series(|s| s.p99_ms))]),
    ]
}

fn report(shared: &Shared) {
    let n = |a: &std::sync::atomic::AtomicU64| a.load(Relaxed);
    println!(
        "members: {} joins, {} rejoins with a token, {} dropped connections, {} leaves; \
         {} texts sent, {} delivered; {} files offered, {} chunks ({:.0} MB) received, {} corrupt; \
         {} failures",
        n(&shared.joins),
        n(&shared.rejoins),
        n(&shared.drops),
        n(&shared.leaves),
        n(&shared.texts_sent),
        n(&shared.texts_received),
        n(&shared.files_sent),
        n(&shared.chunks_received),
        n(&shared.bytes_received) as f64 / 1e6,
        n(&shared.corrupt),
        n(&shared.failures),
    );
    for note in shared
        .failure_notes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        println!("  failure: {note}");
    }
}

/// Waits until the server has no connection, session, member, queued or inbox byte left and
/// its file descriptors are back to the idle count (at most the session and inbox expiry
/// plus a minute); the last sample.
fn settle(server: &Server, pid: u32, idle: &Sample) -> Result<Sample, String> {
    let deadline =
        Instant::now() + Duration::from_millis(SESSION_TIMEOUT_MS + INBOX_TTL_MS + 60_000);
    let started = Instant::now();
    loop {
        let s = sample(server, pid, 0.0, &mut Vec::new(), 0, 0.0)?;
        let quiet = s.connections == 0.0
            && s.sessions == 0.0
            && s.members == 0.0
            && s.queued == 0.0
            && s.inbox == 0.0
            && s.fds == idle.fds;
        if quiet || Instant::now() > deadline {
            println!(
                "settled after {:.0} s: {}",
                started.elapsed().as_secs_f64(),
                if quiet { "idle" } else { "NOT idle" }
            );
            return Ok(s);
        }
        thread::sleep(Duration::from_secs(1));
    }
}

fn verdicts(shared: &Shared, samples: &[Sample], idle: &Sample, after: &Sample) -> Vec<String> {
    let mut v = Vec::new();
    let failures = shared.failures.load(Relaxed);
    if failures > 0 {
        v.push(format!("{failures} member failures (listed above)"));
    }
    let corrupt = shared.corrupt.load(Relaxed);
    if corrupt > 0 {
        v.push(format!("{corrupt} corrupt chunks"));
    }
    if shared.chunks_received.load(Relaxed) == 0 || shared.texts_received.load(Relaxed) == 0 {
        v.push("nothing was delivered".into());
    }
    for s in samples
        .iter()
        .filter(|s| s.p99_ms > P99_LIMIT.as_secs_f64() * 1000.0)
    {
        v.push(format!("p99 {:.0} ms at {:.1} min", s.p99_ms, s.minutes));
    }
    // The first third fills the inboxes; from then on memory must level off.
    let third = samples.len() / 3;
    if third > 0 {
        let peak = |part: &[Sample]| part.iter().map(|s| s.rss_kib).max().unwrap_or(0);
        let middle = peak(&samples[third..samples.len() - third]);
        let last = peak(&samples[samples.len() - third..]);
        if last > middle + RSS_GROWTH_MARGIN_KIB {
            v.push(format!(
                "RSS kept growing: peak {middle} KiB in the middle third, {last} KiB in the last"
            ));
        }
    }
    let busy = [
        after.connections,
        after.sessions,
        after.members,
        after.queued,
        after.inbox,
    ];
    if busy.iter().any(|x| *x != 0.0) || after.fds != idle.fds {
        v.push("the server did not return to idle".into());
    }
    if after.rss_kib > idle.rss_kib + RSS_SETTLED_MARGIN_KIB {
        v.push(format!(
            "RSS {} KiB after, {} KiB idle",
            after.rss_kib, idle.rss_kib
        ));
    }
    v
}
