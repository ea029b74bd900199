//! Measuring a link from its two ends, as `ping` and `iperf` would: a UDP echo and TCP sink
//! on one port (`echo`), round trips and loss of UDP probes (`ping`), and TCP goodput
//! (`tcp`). The sink times the bytes it received, from the first to the last, and tells the
//! sender; so the figure is what arrived, not what left.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub fn echo(addr: SocketAddr) -> Result<(), String> {
    let udp = UdpSocket::bind(addr).map_err(|e| format!("udp {addr}: {e}"))?;
    let tcp = TcpListener::bind(addr).map_err(|e| format!("tcp {addr}: {e}"))?;
    println!("echo on {addr}");
    thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(&buf[..n], from);
        }
    });
    for stream in tcp.incoming().flatten() {
        thread::spawn(move || sink(stream));
    }
    Ok(())
}

/// Reads until the sender shuts its side, then answers "<bytes> <seconds>".
fn sink(mut s: TcpStream) {
    let mut buf = vec![0u8; 1 << 16];
    let (mut bytes, mut first, mut last) = (0u64, None, Instant::now());
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        first.get_or_insert_with(Instant::now);
        bytes += n as u64;
        last = Instant::now();
    }
    let secs = first.map_or(0.0, |f| last.duration_since(f).as_secs_f64());
    let _ = s.write_all(format!("{bytes} {secs}\n").as_bytes());
}

pub fn ping(to: SocketAddr, count: usize, interval: Duration) -> Result<(), String> {
    let sock = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    sock.connect(to).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let rtts = Arc::new(Mutex::new(vec![None::<f64>; count]));
    let reader = {
        let (sock, rtts) = (sock.try_clone().map_err(|e| e.to_string())?, rtts.clone());
        sock.set_read_timeout(Some(Duration::from_secs(3)))
            .map_err(|e| e.to_string())?;
        thread::spawn(move || {
            let mut buf = [0u8; 64];
            while let Ok(n) = sock.recv(&mut buf) {
                if n < 16 {
                    continue;
                }
                let seq = u64::from_le_bytes(buf[..8].try_into().unwrap_or_default()) as usize;
                let sent = u64::from_le_bytes(buf[8..16].try_into().unwrap_or_default());
                let rtt = start.elapsed().as_nanos() as u64 - sent;
                if let Some(slot) = rtts.lock().unwrap_or_else(|p| p.into_inner()).get_mut(seq) {
                    *slot = Some(rtt as f64 / 1e6);
                }
            }
        })
    };
    for seq in 0..count {
        let mut probe = [0u8; 64];
        probe[..8].copy_from_slice(&(seq as u64).to_le_bytes());
        probe[8..16].copy_from_slice(&(start.elapsed().as_nanos() as u64).to_le_bytes());
        let _ = sock.send(&probe);
        thread::sleep(interval);
    }
    let _ = reader.join();
    let rtts = rtts.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut back: Vec<f64> = rtts.iter().flatten().copied().collect();
    back.sort_by(f64::total_cmp);
    if back.is_empty() {
        return Err("no probe came back".into());
    }
    let at = |q: f64| back[((back.len() - 1) as f64 * q).round() as usize];
    let mean = back.iter().sum::<f64>() / back.len() as f64;
    let sd = (back.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / back.len() as f64).sqrt();
    println!(
        "ping: {count} sent, {} back, loss {:.2} %; rtt ms min {:.1} p10 {:.1} p50 {:.1} p90 {:.1} p99 {:.1} max {:.1} mean {:.1} sd {:.1}",
        back.len(),
        100.0 * (count - back.len()) as f64 / count as f64,
        at(0.0), at(0.1), at(0.5), at(0.9), at(0.99), at(1.0), mean, sd
    );
    Ok(())
}

pub fn tcp(to: SocketAddr, seconds: f64) -> Result<(), String> {
    let mut s =
        TcpStream::connect_timeout(&to, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    let block = vec![0x5au8; 1 << 16];
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut sent = 0u64;
    while Instant::now() < end {
        s.write_all(&block).map_err(|e| e.to_string())?;
        sent += block.len() as u64;
    }
    s.shutdown(std::net::Shutdown::Write)
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    let mut words = answer.split_whitespace();
    let bytes: f64 = words
        .next()
        .and_then(|w| w.parse().ok())
        .ok_or("no answer from the sink")?;
    let secs: f64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0.0);
    println!(
        "tcp: {sent} bytes sent, {bytes:.0} received in {secs:.2} s: {:.1} Mbit/s",
        bytes * 8.0 / secs.max(1e-9) / 1e6
    );
    Ok(())
}
