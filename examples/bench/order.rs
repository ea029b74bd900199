//! The `order` figure: every member of a few small sessions sends numbered `content` events as
//! fast as the server takes them, with no acks and no pacing; each receiver checks that each
//! sender's events arrive complete and in order. A server that applies backpressure slows
//! the senders; one that drops or reorders under load shows it here.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll};

use crate::cli::Options;
use sharethings_protocol::eio;
use sharethings_protocol::sio::Header;

use crate::client::{number_after, read_text, Text};
use crate::fan_out::{flush, join_members, register, Joined, Member};
use crate::process::spawn;
use crate::procfs::cpu_seconds;
use crate::record::Record;
use crate::relay::wait_until_quiet;
use crate::target::Target;
use crate::ws::{closed, push_frame, OP_CLOSE, OP_TEXT};

pub const ORDER_SESSIONS: usize = 10;
pub const ORDER_MEMBERS: usize = 10;
/// A sender queues at most this much before it waits for its socket to drain.
const QUEUE: usize = 64 * 1024;
/// The run ends when no client thread has seen progress for this long (a server that drops
/// events never delivers them all).
const QUIET: Duration = Duration::from_secs(3);

/// What the receivers of one client thread saw.
#[derive(Default)]
struct Seen {
    delivered: usize,
    expected: usize,
    /// Events that came after a later one of the same sender.
    reordered: usize,
    last: Option<Instant>,
}

/// One member's progress.
struct Peer {
    sent: usize,
    /// Whether the socket took everything so far (edge-triggered: until it says WouldBlock).
    writable: bool,
    /// Highest event number seen from each other member, by rank.
    highest: Vec<Option<u64>>,
}

pub fn order(o: &Options, target: &Target, record: &mut Record) -> Result<(), String> {
    wait_until_quiet(target);
    let Joined { threads, .. } = join_members(
        target.addr,
        ORDER_SESSIONS * ORDER_MEMBERS,
        ORDER_SESSIONS,
        o.threads,
        "bench-order",
    )?;
    let events = o.order_events;
    let cpu_before = target.server_ticks();
    let start = Instant::now();
    let shared = Arc::new(Shared {
        base: start,
        progress_ns: AtomicU64::new(0),
        finished: AtomicUsize::new(0),
        threads: threads.len(),
        failed: AtomicBool::new(false),
    });
    let workers = threads
        .into_iter()
        .enumerate()
        .map(|(i, members)| {
            let shared = Arc::clone(&shared);
            spawn(&format!("order-{i}"), move || {
                let result = run(members, events, &shared);
                if result.is_err() {
                    shared.failed.store(true, Ordering::Relaxed);
                }
                result
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut total = Seen::default();
    for w in workers {
        let seen = w
            .join()
            .map_err(|_| "a client thread panicked".to_string())?
            .map_err(|e| e.to_string())?;
        total.delivered += seen.delivered;
        total.expected += seen.expected;
        total.reordered += seen.reordered;
        total.last = total.last.max(seen.last);
    }
    let cpu = cpu_seconds(cpu_before, target.server_ticks());
    let secs = total
        .last
        .map_or(0.0, |t| t.duration_since(start).as_secs_f64());
    let rate = total.delivered as f64 / secs.max(1e-9);
    let lost = total.expected.saturating_sub(total.delivered);
    println!(
        "order at full speed, {ORDER_SESSIONS} sessions of {ORDER_MEMBERS}, {events} events per \
         sender: {:.0} k deliveries/s ({}/{} delivered in {secs:.2} s), lost {lost}, out of order \
         {}; server {}",
        rate / 1e3,
        total.delivered,
        total.expected,
        total.reordered,
        cpu.map_or("CPU not measured".into(), |c| format!("{c:.2} CPU-s")),
    );
    record.higher("order: deliveries/s", rate / 1e3, "k/s");
    record.lower("order: lost", lost as f64, "events");
    record.lower("order: out of order", total.reordered as f64, "events");
    Ok(())
}

/// What the client threads share: when any of them last saw progress (a delivery, or bytes
/// of its senders taken by the server), and how many have finished.
struct Shared {
    base: Instant,
    progress_ns: AtomicU64,
    finished: AtomicUsize,
    threads: usize,
    /// A thread failed (its error is the figure's); the others stop.
    failed: AtomicBool,
}

impl Shared {
    fn progressed(&self) {
        let now = self.base.elapsed().as_nanos() as u64;
        self.progress_ns.fetch_max(now, Ordering::Relaxed);
    }

    fn quiet(&self) -> bool {
        let last = Duration::from_nanos(self.progress_ns.load(Ordering::Relaxed));
        self.base.elapsed().saturating_sub(last) > QUIET
    }
}

/// Sends every member's events and reads everything that arrives. A thread is finished when
/// its senders' events are all written and its receivers have every event, or when no
/// thread has seen progress for [`QUIET`]; it keeps reading until every thread is finished,
/// so that no connection closes while others may still send to it.
fn run(mut members: Vec<Member>, events: usize, shared: &Shared) -> io::Result<Seen> {
    let mut poll = Poll::new()?;
    let mut ready = Events::with_capacity(1024);
    let mut peers: Vec<Peer> = Vec::with_capacity(members.len());
    let mut seen = Seen::default();
    register(&poll, &mut members)?;
    for m in &members {
        peers.push(Peer {
            sent: 0,
            writable: true,
            highest: vec![None; m.peers + 1],
        });
        seen.expected += m.peers * events;
    }
    let mut finished = false;
    loop {
        let mut more = false;
        for (m, p) in members.iter_mut().zip(peers.iter_mut()) {
            if p.writable && p.sent < events {
                while m.out.len() < QUEUE && p.sent < events {
                    let text = Header::event(0, None).message(&format!(
                        r#"["content",{{"sessionId":"{}","content":{{"s":{},"n":{}}}}}]"#,
                        m.session_name, m.rank, p.sent
                    ));
                    push_frame(&mut m.out, OP_TEXT, text.as_bytes(), &mut m.rng);
                    p.sent += 1;
                }
                write_out(m, p, shared)?;
            }
            more |= p.writable && p.sent < events;
        }
        let all_written =
            peers.iter().all(|p| p.sent == events) && members.iter().all(|m| m.out.is_empty());
        if !finished && all_written && (seen.delivered >= seen.expected || shared.quiet()) {
            finished = true;
            shared.finished.fetch_add(1, Ordering::Relaxed);
        }
        let all_finished = shared.finished.load(Ordering::Relaxed) == shared.threads;
        if (finished && all_finished) || shared.failed.load(Ordering::Relaxed) {
            return Ok(seen);
        }
        let wait = if more {
            Duration::ZERO
        } else {
            Duration::from_millis(50)
        };
        poll.poll(&mut ready, Some(wait))?;
        for event in ready.iter() {
            let i = event.token().0;
            let (Some(m), Some(p)) = (members.get_mut(i), peers.get_mut(i)) else {
                continue;
            };
            if event.is_readable() {
                let before = seen.delivered;
                receive(m, p, &mut seen)?;
                if seen.delivered > before {
                    shared.progressed();
                }
            }
            if event.is_writable() || !m.out.is_empty() {
                write_out(m, p, shared)?;
            }
        }
    }
}

/// Writes what a member has queued; a sender whose bytes the server takes is progress.
fn write_out(m: &mut Member, p: &mut Peer, shared: &Shared) -> io::Result<()> {
    let queued = m.out.len();
    flush(m)?;
    if m.out.len() < queued {
        shared.progressed();
    }
    p.writable = m.out.is_empty();
    Ok(())
}

fn receive(m: &mut Member, p: &mut Peer, seen: &mut Seen) -> io::Result<()> {
    while let Some(frame) = m.reader.next(&mut m.stream)? {
        if frame.opcode == OP_CLOSE {
            return Err(closed(m.reader.bytes(frame)));
        }
        let text = read_text(m.reader.bytes(frame));
        if matches!(text, Text::Ping) {
            push_frame(&mut m.out, OP_TEXT, eio::PONG.as_bytes(), &mut m.rng);
            continue;
        }
        let Some(json) = text.event("content") else {
            continue;
        };
        let (Some(rank), Some(n)) = (
            number_after(json.as_bytes(), br#""s":"#),
            number_after(json.as_bytes(), br#""n":"#),
        ) else {
            continue;
        };
        seen.delivered += 1;
        seen.last = Some(Instant::now());
        if let Some(highest) = p.highest.get_mut(rank as usize) {
            if highest.is_some_and(|h| n < h) {
                seen.reordered += 1;
            }
            *highest = (*highest).max(Some(n));
        }
    }
    Ok(())
}
