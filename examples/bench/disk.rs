//! `--inbox-disk MIB`: the inbox on disk (`INBOX_DIR`) on a disk as slow as an SD card. Needs
//! root: it makes an ext4 file system on a loop device and throttles the server's reads from
//! it with the blkio cgroup (v1) to what a good card gives a Raspberry Pi (20 MB/s, 1500
//! reads a second); it undoes all of it when it ends. It prints:
//!
//! - `written`: bytes the loop device wrote (data, metadata and journal, after `sync`) per
//!   byte of ciphertext kept, for large items (16 MiB) and for small ones (4 KiB);
//! - `turns`: while a late joiner fetches everything from the cold, throttled disk, the ack
//!   round trip of a tiny event on another connection, every 2 ms (p50, p99, max: how long
//!   one turn of the loop keeps everyone else waiting), with `INBOX_DISK_READ_BYTES` at its
//!   default and unbounded, side by side;
//! - `memory`: the server's RSS with MIB kept on disk and with the same kept in memory.

use std::fs;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use sharethings_protocol::sio::{Header, PacketKind};

use crate::cli::Options;
use crate::client::{read_text, Client, Text};
use crate::fan_out::{micros, percentile};
use crate::process::{Server, TempDir};
use crate::procfs;
use crate::ws::{push_frame, OP_BINARY, OP_TEXT};
use crate::STEP_TIMEOUT;

const CHUNK: usize = 256 * 1024;
const SESSION: &str = "bench-inbox";
/// Reads a second and bytes a second of the throttled disk: a Raspberry Pi's SD card.
const READ_IOPS: u64 = 1500;
const READ_BPS: u64 = 20_000_000;

pub fn inbox_disk_mode(o: &Options, mib: usize) -> Result<(), String> {
    let disk = SlowDisk::new(mib)?;
    let dir = disk.mount.join("inbox");
    let bytes = (mib + 64) << 20;
    let on_disk = |read_bytes: usize| {
        let mut args = crate::cli::server_args(o);
        for (flag, value) in [
            ("--inbox-dir", dir.display().to_string()),
            ("--inbox-bytes", bytes.to_string()),
            ("--inbox-disk-bytes", bytes.to_string()),
            ("--inbox-disk-read-bytes", read_bytes.to_string()),
        ] {
            args.extend([flag.to_string(), value]);
        }
        args
    };

    // What a kept byte costs the card.
    let server = Server::start(&o.server, &on_disk(512 * 1024))?;
    let pid = server.pid.ok_or("no pid")?;
    for (label, item_bytes) in [("16 MiB items", 16 << 20), ("4 KiB items", 4 << 10)] {
        let share = if item_bytes >= CHUNK {
            mib << 20
        } else {
            4 << 20
        };
        let before = disk.sectors_written()?;
        let kept = keep(server.addr, item_bytes, share).map_err(|e| format!("keep: {e}"))?;
        run("sync", &[])?;
        let written = (disk.sectors_written()? - before) * 512;
        println!(
            "written, {label}: {kept} bytes kept, {written} written: {:.4} bytes written per byte kept",
            written as f64 / kept as f64
        );
    }
    let rss_disk = procfs::vm_rss_kib(pid).unwrap_or(0);
    drop(server);

    // A late joiner fetches everything from the cold disk; another connection's tiny events
    // say how long the loop keeps it waiting.
    for (label, read_bytes) in [
        ("512 KiB a turn (default)", 512 * 1024),
        ("unbounded", 1 << 30),
    ] {
        disk.remount()?;
        let server = Server::start(&o.server, &on_disk(read_bytes))?;
        disk.confine(server.pid.ok_or("no pid")?)?;
        let done = Arc::new(AtomicBool::new(false));
        let probe = {
            let (addr, done) = (server.addr, Arc::clone(&done));
            thread::spawn(move || probe(addr, &done))
        };
        let started = Instant::now();
        let fetched = fetch_all(server.addr).map_err(|e| format!("fetch: {e}"));
        done.store(true, Ordering::Relaxed);
        let mut rtts = probe.join().map_err(|_| "probe panicked")??;
        let fetched = fetched?;
        rtts.sort_unstable();
        println!(
            "turns, {label}: fetched {} MiB from the throttled disk at {:.1} MB/s; a tiny event's round trip meanwhile p50 {} p99 {} max {} ({} probes)",
            fetched >> 20,
            fetched as f64 / started.elapsed().as_secs_f64() / 1e6,
            micros(percentile(&rtts, 0.5)),
            micros(percentile(&rtts, 0.99)),
            micros(rtts.last().copied()),
            rtts.len()
        );
    }

    // The same kept in memory, for its RSS.
    let mut args = crate::cli::server_args(o);
    for (flag, value) in [
        ("--inbox-bytes", bytes),
        ("--inbox-total-bytes", bytes),
        ("--memory-budget", 2 * bytes + (64 << 20)),
    ] {
        args.extend([flag.to_string(), value.to_string()]);
    }
    let server = Server::start(&o.server, &args)?;
    keep(server.addr, 16 << 20, mib << 20).map_err(|e| format!("keep in memory: {e}"))?;
    let rss_memory = procfs::vm_rss_kib(server.pid.ok_or("no pid")?).unwrap_or(0);
    println!(
        "memory: RSS with {mib} MiB kept: on disk {} MiB, in memory {} MiB ({:.3} of it)",
        rss_disk / 1024,
        rss_memory / 1024,
        rss_disk as f64 / rss_memory.max(1) as f64
    );
    Ok(())
}

/// An ext4 file system on a loop device, mounted on a temporary directory, and a blkio cgroup
/// that throttles reads from it; all undone on drop.
struct SlowDisk {
    /// Holds the image file; removed (after the unmount in `drop`) when the disk goes.
    _image: TempDir,
    mount: PathBuf,
    device: String,
    cgroup: PathBuf,
}

impl SlowDisk {
    fn new(mib: usize) -> Result<SlowDisk, String> {
        let image = TempDir::new()?;
        let file = image.0.join("card.img");
        let size = format!("{}M", mib * 2 + 512);
        run("truncate", &["-s", &size, &file.display().to_string()])?;
        let device = run(
            "losetup",
            &["--find", "--show", &file.display().to_string()],
        )?;
        let mount = image.0.join("mnt");
        let cgroup = PathBuf::from(format!(
            "/sys/fs/cgroup/blkio/sharethings-bench-{}",
            std::process::id()
        ));
        let disk = SlowDisk {
            _image: image,
            mount,
            device: device.trim().to_string(),
            cgroup,
        };
        run("mkfs.ext4", &["-q", "-F", &disk.device])?;
        fs::create_dir(&disk.mount).map_err(|e| e.to_string())?;
        disk.remount()?;
        fs::create_dir(&disk.cgroup).map_err(|e| format!("blkio cgroup (root, cgroup v1): {e}"))?;
        let id = disk.major_minor()?;
        write(
            &disk.cgroup.join("blkio.throttle.read_bps_device"),
            &format!("{id} {READ_BPS}"),
        )?;
        write(
            &disk.cgroup.join("blkio.throttle.read_iops_device"),
            &format!("{id} {READ_IOPS}"),
        )?;
        Ok(disk)
    }

    /// Unmounts and mounts again: nothing of it is left in the page cache.
    fn remount(&self) -> Result<(), String> {
        let _ = Command::new("umount").arg(&self.mount).status();
        run("mount", &[&self.device, &self.mount.display().to_string()])?;
        Ok(())
    }

    fn confine(&self, pid: u32) -> Result<(), String> {
        write(&self.cgroup.join("cgroup.procs"), &pid.to_string())
    }

    fn name(&self) -> &str {
        self.device.trim_start_matches("/dev/")
    }

    fn major_minor(&self) -> Result<String, String> {
        fs::read_to_string(format!("/sys/block/{}/dev", self.name()))
            .map(|s| s.trim().to_string())
            .map_err(|e| e.to_string())
    }

    /// Sectors the device wrote so far (field 7 of its `stat`).
    fn sectors_written(&self) -> Result<u64, String> {
        let stat = fs::read_to_string(format!("/sys/block/{}/stat", self.name()))
            .map_err(|e| e.to_string())?;
        stat.split_whitespace()
            .nth(6)
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("no sectors written in {stat}"))
    }
}

impl Drop for SlowDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount).status();
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
        let _ = fs::remove_dir(&self.cgroup);
    }
}

fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Joins the bench's session (creating it with an inbox) and keeps items of `item_bytes`
/// until `total` bytes of ciphertext are kept; returns the bytes kept.
fn keep(addr: SocketAddr, item_bytes: usize, total: usize) -> io::Result<usize> {
    let mut c = member(addr, "Sender")?;
    let chunk = vec![0x5a; item_bytes.min(CHUNK)];
    let chunks = item_bytes.div_ceil(CHUNK);
    let (mut kept, mut n, mut ack) = (0, 0u64, 10u64);
    while kept < total {
        n += 1;
        let id = format!("item{n}-{item_bytes}");
        let json = format!(
            r#"["content",{{"sessionId":"{SESSION}","content":{{"contentId":"{id}","format":2,"totalChunks":{chunks},"iv":"aXY="}},"data":{{"_placeholder":true,"num":0}}}}]"#
        );
        ack += 1;
        binary(&mut c, ack, &json, &[1; 256])?;
        for index in 0..chunks {
            let json = format!(
                r#"["chunk",{{"sessionId":"{SESSION}","chunk":{{"contentId":"{id}","chunkIndex":{index},"totalChunks":{chunks},"iv":"aXY=","encryptedData":{{"_placeholder":true,"num":0}}}}}}]"#
            );
            ack += 1;
            let reply = binary(&mut c, ack, &json, &chunk)?;
            if reply.contains(r#""kept":false"#) {
                return Err(io::Error::other(format!("not kept: {reply}")));
            }
            kept += chunk.len();
        }
    }
    Ok(kept)
}

/// A member of the bench's session, with its inbox on (when it creates it).
fn member(addr: SocketAddr, name: &str) -> io::Result<Client> {
    let mut c = Client::connect(addr, SESSION, 7)?;
    c.wait_for("open packet", |t| matches!(t, Text::Open))?;
    c.send_text("40")?;
    c.wait_for("CONNECT answer", |t| t.is(PacketKind::Connect))?;
    c.send_text(&Header::event(0, Some(1)).message(&format!(
        r#"["join",{{"sessionId":"{SESSION}","clientName":"{name}","fingerprint":{{"v":2,"mac":"bench"}},"inbox":true}}]"#
    )))?;
    let ack = c.wait_for("join ack", |t| t.ack(1).is_some())?;
    if !ack.contains(r#""success":true"#) {
        return Err(io::Error::other(format!("join refused: {ack}")));
    }
    Ok(c)
}

/// Emits a binary event with ack `id` and one attachment; returns the ack.
fn binary(c: &mut Client, id: u64, json: &str, data: &[u8]) -> io::Result<String> {
    c.scratch.clear();
    let text = Header::event(1, Some(id)).message(json);
    push_frame(&mut c.scratch, OP_TEXT, text.as_bytes(), &mut c.rng);
    push_frame(&mut c.scratch, OP_BINARY, data, &mut c.rng);
    c.stream.write_all(&c.scratch)?;
    c.wait_for("ack", |t| t.ack(id).is_some())
}

/// Lists every kept item and fetches all their chunks, as the web client does (8 at a time,
/// going on from `next`); returns the bytes of ciphertext received.
fn fetch_all(addr: SocketAddr) -> io::Result<usize> {
    let mut c = member(addr, "Late")?;
    let mut ids = Vec::new();
    let (mut from, mut ack) = (0u64, 10u64);
    loop {
        ack += 1;
        c.send_text(&Header::event(0, Some(ack)).message(&format!(
            r#"["inbox-list",{{"sessionId":"{SESSION}","from":{from}}}]"#
        )))?;
        let (reply, _) = until_ack(&mut c, ack)?;
        ids.extend(strings_after(&reply, r#""contentId":""#));
        match number_after(&reply, r#""next":"#) {
            Some(next) => from = next,
            None => break,
        }
    }
    let mut received = 0;
    for id in ids {
        let mut from = 0;
        loop {
            ack += 1;
            c.send_text(&Header::event(0, Some(ack)).message(&format!(
                r#"["inbox-fetch",{{"sessionId":"{SESSION}","contentId":"{id}","fromChunk":{from},"count":8}}]"#
            )))?;
            let (reply, bytes) = until_ack(&mut c, ack)?;
            received += bytes;
            match number_after(&reply, r#""next":"#) {
                Some(next) => from = next,
                None => break,
            }
        }
    }
    Ok(received)
}

/// Reads until ack `id`; returns its text and the bytes of binary frames before it.
fn until_ack(c: &mut Client, id: u64) -> io::Result<(String, usize)> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    let mut bytes = 0;
    while Instant::now() < deadline {
        let Some(frame) = c.reader.next(&mut c.stream)? else {
            continue;
        };
        let payload = c.reader.bytes(frame);
        if frame.opcode == OP_BINARY {
            bytes += payload.len();
            continue;
        }
        let (ping, ack) = match read_text(payload) {
            Text::Ping => (true, None),
            text if text.ack(id).is_some() => (false, Some(String::from_utf8_lossy(payload))),
            _ => (false, None),
        };
        if let Some(ack) = ack {
            return Ok((ack.into_owned(), bytes));
        }
        if ping {
            c.send_text("3")?;
        }
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no ack {id}"),
    ))
}

/// Every 2 ms until `done`: a tiny `content` with an ack, alone in its own session; returns
/// the round trips in nanoseconds.
fn probe(addr: SocketAddr, done: &AtomicBool) -> Result<Vec<u64>, String> {
    let probe_session = "bench-probe";
    let mut c = Client::join(addr, probe_session, "Probe", 9).map_err(|e| e.to_string())?;
    let mut rtts = Vec::new();
    let mut ack = 10u64;
    while !done.load(Ordering::Relaxed) {
        ack += 1;
        let sent = Instant::now();
        c.send_text(&Header::event(0, Some(ack)).message(&format!(
            r#"["content",{{"sessionId":"{probe_session}","content":{{"contentId":"p","totalChunks":0}}}}]"#
        )))
        .map_err(|e| e.to_string())?;
        c.wait_for("probe ack", |t| t.ack(ack).is_some())
            .map_err(|e| e.to_string())?;
        rtts.push(sent.elapsed().as_nanos() as u64);
        thread::sleep(Duration::from_millis(2));
    }
    Ok(rtts)
}

fn number_after(text: &str, key: &str) -> Option<u64> {
    crate::client::number_after(text.as_bytes(), key.as_bytes())
}

/// Every string value after `key` (which ends in its opening quote).
fn strings_after(text: &str, key: &str) -> Vec<String> {
    text.split(key)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}
