//! The `tcp` figure: the ceiling the relay is compared with.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use crate::process::spawn;
use crate::procfs::{clock_ticks_per_second, cpu_ticks};
use crate::relay::{chunk_ok, fill_chunk, Received, Relay, CHUNK, RECEIVERS};

/// The same 1→3 work with no protocol: one thread reads 256 KiB blocks from the sender's
/// socket and writes each to three sockets. Sender and receivers do what the bench clients
/// do (fill a pattern, verify it), so only the relay in the middle differs.
pub fn tcp_ceiling(n: usize) -> Result<Relay, String> {
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
