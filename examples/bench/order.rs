//! The `order` figure: every member of a few small sessions sends numbered `content` events as
//! fast as the server takes them, with no acks and no pacing; each receiver checks that each
//! sender's events arrive complete and in order. A server that applies backpressure slows
//! the senders; one that drops or reorders under load shows it here.

use std::io;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use crate::cli::Options;
use crate::client::number_after;
use crate::fan_out::{flush, join_members, Joined, Member};
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
/// The run ends when nothing has arrived for this long after the last event was sent.
const QUIET: Duration = Duration::from_secs(2);

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
    let workers = threads
        .into_iter()
        .enumerate()
        .map(|(i, members)| spawn(&format!("order-{i}"), move || run(members, events)))
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

/// Sends every member's events and reads everything that arrives, until all expected events
/// are in or nothing has come for [`QUIET`] after the last was sent.
fn run(mut members: Vec<Member>, events: usize) -> io::Result<Seen> {
    let mut poll = Poll::new()?;
    let mut ready = Events::with_capacity(1024);
    let mut peers: Vec<Peer> = Vec::with_capacity(members.len());
    let mut seen = Seen::default();
    for (i, m) in members.iter_mut().enumerate() {
        poll.registry().register(
            &mut m.stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        peers.push(Peer {
            sent: 0,
            writable: true,
            highest: vec![None; m.peers + 1],
        });
        seen.expected += m.peers * events;
    }
    let mut quiet_since = Instant::now();
    loop {
        let mut more = false;
        for (m, p) in members.iter_mut().zip(peers.iter_mut()) {
            if p.writable && p.sent < events {
                while m.out.len() < QUEUE && p.sent < events {
                    let text = format!(
                        r#"42["content",{{"sessionId":"{}","content":{{"s":{},"n":{}}}}}]"#,
                        m.session_name, m.rank, p.sent
                    );
                    push_frame(&mut m.out, OP_TEXT, text.as_bytes(), &mut m.rng);
                    p.sent += 1;
                }
                flush(m)?;
                p.writable = m.out.is_empty();
            }
            more |= p.writable && p.sent < events;
        }
        let all_sent = peers.iter().all(|p| p.sent == events);
        if all_sent && (seen.delivered >= seen.expected || quiet_since.elapsed() > QUIET) {
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
            if event.is_writable() {
                p.writable = true;
                flush(m)?;
                p.writable = m.out.is_empty();
            }
            if event.is_readable() {
                let before = seen.delivered;
                receive(m, p, &mut seen)?;
                flush(m)?;
                p.writable = m.out.is_empty();
                if seen.delivered > before {
                    quiet_since = Instant::now();
                }
            }
        }
        if !all_sent {
            quiet_since = Instant::now();
        }
    }
}

fn receive(m: &mut Member, p: &mut Peer, seen: &mut Seen) -> io::Result<()> {
    while let Some(frame) = m.reader.next(&mut m.stream)? {
        if frame.opcode == OP_CLOSE {
            return Err(closed(m.reader.bytes(frame)));
        }
        let text = m.reader.bytes(frame);
        if text == b"2" {
            push_frame(&mut m.out, OP_TEXT, b"3", &mut m.rng);
            continue;
        }
        if !text.starts_with(br#"42["content""#) {
            continue;
        }
        let (Some(rank), Some(n)) = (
            number_after(text, br#""s":"#),
            number_after(text, br#""n":"#),
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
