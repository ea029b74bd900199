//! The `throughput` figure: 256 KiB binary `chunk` events with acks from one sender to three
//! receivers, each checking order and content, as the web client sends files.

use std::io::{self, IoSlice};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use sharethings_protocol::eio;
use sharethings_protocol::format::chunks::{CHUNK_SIZE, MAX_UNACKED_CHUNKS};
use sharethings_protocol::sio::{placeholder_json, Header, PacketKind};

use crate::cli::Options;
use crate::client::{contains, number_after, read_text, Client, Text};
use crate::process::spawn;
use crate::procfs::{cpu_seconds, cpu_ticks};
use crate::record::Record;
use crate::target::{counts, spread, Target};
use crate::ws::{
    client_header, closed, invalid, push_frame, write_all_vectored, OP_BINARY, OP_CLOSE, OP_TEXT,
};

/// Plaintext chunk size of the item format.
pub const CHUNK: usize = CHUNK_SIZE as usize;
/// Unacknowledged chunks per sender at most, as the item format has it; `--in-flight`
/// changes it.
pub const IN_FLIGHT: usize = MAX_UNACKED_CHUNKS;
pub const RECEIVERS: usize = 3;

/// One relay run: mean MB/s per receiver, and CPU seconds per GB delivered of the relaying
/// party (the server process, or the ceiling's relay thread).
pub struct Relay {
    pub mb_s: f64,
    pub cpu_per_gb: Option<f64>,
}

/// One throughput run and the ceiling run right after it.
pub struct Round {
    pub relayed: Option<Relay>,
    pub ceiling: Option<Relay>,
}

pub fn summarize(rounds: &[Round]) {
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
/// The words of chunk `index` are `seed + k` (little-endian), so every chunk differs and a
/// receiver can check it against a closed form.
pub fn chunk_seed(index: u64) -> u64 {
    (index + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Writes chunk `index` into `buf` already masked with `mask`: one pass for both.
pub fn fill_chunk(buf: &mut [u8], index: u64, mask: [u8; 4]) {
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
pub fn chunk_ok(buf: &[u8], index: u64) -> bool {
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
pub struct Received {
    pub chunks: usize,
    pub reordered: usize,
    pub duplicates: usize,
    pub corrupt: usize,
    /// A binary frame without a `chunk` text before it.
    pub stray: usize,
    pub last: Option<Instant>,
    pub error: Option<String>,
}

/// Waits (at most 5 s) until the server processes and the proxy have used no CPU for 100 ms,
/// so that work left from an earlier figure (closing 1000 connections) is not billed to the
/// next one.
pub fn wait_until_quiet(target: &Target) {
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
pub struct RelayRun {
    /// Every receiver, session by session.
    pub received: Vec<Received>,
    pub start: Instant,
    pub wall: f64,
    /// CPU seconds during the run: all server processes, HAProxy, and this bench.
    pub server_cpu: Option<f64>,
    pub proxy_cpu: Option<f64>,
    pub own_cpu: Option<f64>,
}

impl RelayRun {
    /// Bytes delivered to all receivers.
    pub fn delivered(&self) -> usize {
        self.received.iter().map(|r| r.chunks * CHUNK).sum()
    }

    /// Chunks of the `n` each receiver should have that never came, and chunks that came
    /// out of order, twice, corrupt or unasked for, over all receivers.
    pub fn lost_and_broken(&self, n: usize) -> (usize, usize) {
        let lost = self
            .received
            .iter()
            .map(|r| n.saturating_sub(r.chunks))
            .sum();
        let broken = self
            .received
            .iter()
            .map(|r| r.reordered + r.duplicates + r.corrupt + r.stray)
            .sum();
        (lost, broken)
    }

    /// MB/s of one receiver, from the start to its last chunk.
    pub fn rate(&self, r: &Received) -> f64 {
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
pub fn relay_sessions(
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
pub fn throughput(
    o: &Options,
    server: &Target,
    round: usize,
    record: &mut Record,
) -> Result<Relay, String> {
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
    let cpu_per_gb = run.server_cpu.filter(|_| gb > 0.0).map(|cpu| cpu / gb);
    let (lost, broken) = run.lost_and_broken(n);
    record.higher("relay 1→3 per receiver", mean, "MB/s");
    if let Some(c) = cpu_per_gb {
        record.lower("relay server CPU per GB", c, "CPU-s/GB");
    }
    record.lower(
        "relay lost + reordered/corrupt",
        (lost + broken) as f64,
        "chunks",
    );
    Ok(Relay {
        mb_s: mean,
        cpu_per_gb,
    })
}

/// The `chunk` event of chunk `index` with ack id `ack`; its one attachment follows.
pub fn chunk_text(session: &str, index: usize, total: usize, ack: usize) -> String {
    let data = placeholder_json(0);
    Header::event(1, Some(ack as u64)).message(&format!(
        r#"["chunk",{{"sessionId":"{session}","chunk":{{"contentId":"x","chunkIndex":{index},"totalChunks":{total},"encryptedData":{data}}}}}]"#
    ))
}

/// Sends `n` chunks as binary events with acks, keeping at most `window` unacknowledged.
pub fn send_chunks(c: &mut Client, session: &str, n: usize, window: usize) -> io::Result<()> {
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
        match read_text(text) {
            t if t.is(PacketKind::Ack) => {
                if !contains(text, br#""success":true"#) {
                    let text = String::from_utf8_lossy(text).into_owned();
                    return Err(invalid(&format!("chunk refused: {text}")));
                }
                acked += 1;
                in_flight = in_flight.saturating_sub(1);
            }
            Text::Ping => c.send_text(eio::PONG)?,
            _ => {}
        }
    }
    Ok(())
}

pub fn receive_chunks(c: &mut Client, n: usize) -> Received {
    let mut r = Received::default();
    if let Err(e) = receive_loop(c, n, &mut r) {
        r.error = Some(e.to_string());
    }
    r
}

pub fn receive_loop(c: &mut Client, n: usize, r: &mut Received) -> io::Result<()> {
    let mut seen = vec![false; n];
    let mut announced: Option<u64> = None;
    let mut highest: Option<u64> = None;
    while r.chunks + r.duplicates < n {
        let Some(frame) = c.reader.next(&mut c.stream)? else {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "nothing for 10 s"));
        };
        match frame.opcode {
            OP_TEXT => match read_text(c.reader.bytes(frame)) {
                Text::Ping => c.send_text(eio::PONG)?,
                text => {
                    if let Some(json) = text.event("chunk") {
                        announced = number_after(json.as_bytes(), br#""chunkIndex":"#);
                    }
                }
            },
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
