//! The switch: raw `AF_PACKET` sockets on the bridge namespace's ends of the veth pairs, MAC
//! learning, and each port's two [`Pipe`]s between reading a frame and writing it. Commands
//! on standard input change a port while it runs:
//!
//! - `dark PORT SECONDS`: the port passes nothing for that long (a station out of range),
//! - `profile PORT NAME`: the port takes another profile,
//! - `stats`: prints frames passed and dropped per port.
//!
//! Each command is answered with one line starting `ok` or `error`.

use std::collections::{BinaryHeap, HashMap};
use std::ffi::CString;
use std::io::{self, BufRead};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::pipe::{profile, Air, Pipe, Profile};

const ETH_P_ALL: u16 = 0x0003;

pub struct Port {
    name: String,
    fd: i32,
    profile: Profile,
    air: Air,
    /// Frames from the station (up) and to it (down).
    up: Pipe,
    down: Pipe,
    dark_until: Duration,
    passed: u64,
    dropped: u64,
}

/// A frame on its way: it leaves `stage` (0: the sender's up pipe, 1: the receiver's down
/// pipe) at `at`.
struct InFlight {
    at: Duration,
    seq: u64,
    from: usize,
    to: Option<usize>,
    stage: u8,
    frame: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for InFlight {
    // The earliest first from a max-heap.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

pub fn open_port(name: &str, profile_name: &str) -> Result<Port, String> {
    let profile = profile(profile_name).ok_or_else(|| format!("no profile {profile_name}"))?;
    let cname = CString::new(name).map_err(|_| "bad interface name".to_string())?;
    // SAFETY: plain libc calls with valid arguments; the results are checked.
    unsafe {
        let index = libc::if_nametoindex(cname.as_ptr());
        if index == 0 {
            return Err(format!("{name}: {}", io::Error::last_os_error()));
        }
        let fd = libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            i32::from(ETH_P_ALL.to_be()),
        );
        if fd < 0 {
            return Err(format!("packet socket: {}", io::Error::last_os_error()));
        }
        let mut addr: libc::sockaddr_ll = std::mem::zeroed();
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = ETH_P_ALL.to_be();
        addr.sll_ifindex = index as i32;
        let len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        if libc::bind(fd, (&addr as *const libc::sockaddr_ll).cast(), len) < 0 {
            return Err(format!("bind {name}: {}", io::Error::last_os_error()));
        }
        // Frames for any address: the stations' frames name each other's MACs, not ours.
        let mut mreq: libc::packet_mreq = std::mem::zeroed();
        mreq.mr_ifindex = index as i32;
        mreq.mr_type = libc::PACKET_MR_PROMISC as u16;
        let mlen = std::mem::size_of::<libc::packet_mreq>() as u32;
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_ADD_MEMBERSHIP,
            (&mreq as *const libc::packet_mreq).cast(),
            mlen,
        );
        Ok(Port {
            name: name.to_string(),
            fd,
            profile,
            air: Air::default(),
            up: Pipe::default(),
            down: Pipe::default(),
            dark_until: Duration::ZERO,
            passed: 0,
            dropped: 0,
        })
    }
}

/// One frame that arrived on `fd` (not one this process sent), or `None`.
fn receive(fd: i32, buf: &mut [u8]) -> Option<usize> {
    loop {
        // SAFETY: buf and addr are valid for the lengths given.
        let (n, kind) = unsafe {
            let mut addr: libc::sockaddr_ll = std::mem::zeroed();
            let mut alen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            let n = libc::recvfrom(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                (&mut addr as *mut libc::sockaddr_ll).cast(),
                &mut alen,
            );
            (n, addr.sll_pkttype)
        };
        if n < 0 {
            return None;
        }
        if kind != libc::PACKET_OUTGOING {
            return Some(n as usize);
        }
    }
}

fn transmit(fd: i32, frame: &[u8]) {
    // SAFETY: frame is valid for its length. A full device queue loses the frame, as air would.
    unsafe {
        libc::send(fd, frame.as_ptr().cast(), frame.len(), 0);
    }
}

/// A tiny xorshift for loss and jitter draws.
struct Draws(u64);

impl Draws {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub fn run(mut ports: Vec<Port>, seed: u64) -> Result<(), String> {
    let (commands, inbox) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines().map_while(Result::ok) {
            if commands.send(line).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let mut draws = Draws(seed | 1);
    let mut macs: HashMap<[u8; 6], usize> = HashMap::new();
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    let mut buf = vec![0u8; 65536];
    let mut polls: Vec<libc::pollfd> = ports
        .iter()
        .map(|p| libc::pollfd {
            fd: p.fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    println!("ready");
    loop {
        while let Ok(line) = inbox.try_recv() {
            println!("{}", command(&mut ports, &line, start.elapsed()));
        }
        let now = start.elapsed();
        while heap.peek().is_some_and(|f: &InFlight| f.at <= now) {
            let Some(f) = heap.pop() else { break };
            forward(&mut ports, &mut heap, &mut draws, &mut seq, f, now);
        }
        let wait = heap
            .peek()
            .map_or(Duration::from_millis(20), |f: &InFlight| {
                f.at.saturating_sub(now)
            });
        let timeout = libc::timespec {
            tv_sec: wait.as_secs() as i64,
            tv_nsec: i64::from(wait.subsec_nanos()),
        };
        // SAFETY: polls is a valid array of pollfd for its length.
        unsafe {
            libc::ppoll(
                polls.as_mut_ptr(),
                polls.len() as u64,
                &timeout,
                std::ptr::null(),
            )
        };
        for from in 0..ports.len() {
            if polls[from].revents == 0 {
                continue;
            }
            while let Some(n) = receive(ports[from].fd, &mut buf) {
                if n < 14 {
                    continue;
                }
                let frame = buf[..n].to_vec();
                let mut src = [0u8; 6];
                src.copy_from_slice(&frame[6..12]);
                macs.insert(src, from);
                let mut dst = [0u8; 6];
                dst.copy_from_slice(&frame[..6]);
                let to = if dst[0] & 1 == 1 {
                    None
                } else {
                    macs.get(&dst).copied()
                };
                let now = start.elapsed();
                seq += 1;
                let arrived = InFlight {
                    at: now,
                    seq,
                    from,
                    to,
                    stage: 0,
                    frame,
                };
                admit(&mut ports, &mut heap, &mut draws, arrived, now, true);
            }
        }
    }
}

/// Puts a frame through the pipe of its next stage, or drops it.
fn admit(
    ports: &mut [Port],
    heap: &mut BinaryHeap<InFlight>,
    draws: &mut Draws,
    mut f: InFlight,
    now: Duration,
    up: bool,
) {
    let at = if up { f.from } else { f.to.unwrap_or(f.from) };
    let port = &mut ports[at];
    if now < port.dark_until {
        port.dropped += 1;
        return;
    }
    let pipe = if up { &mut port.up } else { &mut port.down };
    let (loss, jitter) = (draws.unit(), draws.unit());
    match pipe.admit(
        &port.profile,
        &mut port.air,
        now,
        f.frame.len(),
        loss,
        jitter,
    ) {
        Some(at) => {
            f.at = at;
            heap.push(f);
        }
        None => port.dropped += 1,
    }
}

/// A frame leaving a pipe: after the sender's up pipe it enters each receiver's down pipe
/// (all other ports for a broadcast or an unknown address); after a down pipe it is written.
fn forward(
    ports: &mut [Port],
    heap: &mut BinaryHeap<InFlight>,
    draws: &mut Draws,
    seq: &mut u64,
    f: InFlight,
    now: Duration,
) {
    if f.stage == 1 {
        if let Some(to) = f.to {
            if now < ports[to].dark_until {
                ports[to].dropped += 1;
                return;
            }
            transmit(ports[to].fd, &f.frame);
            ports[to].passed += 1;
        }
        return;
    }
    let targets: Vec<usize> = match f.to {
        Some(to) if to != f.from => vec![to],
        Some(_) => Vec::new(),
        None => (0..ports.len()).filter(|p| *p != f.from).collect(),
    };
    for to in targets {
        *seq += 1;
        let next = InFlight {
            at: now,
            seq: *seq,
            from: f.from,
            to: Some(to),
            stage: 1,
            frame: f.frame.clone(),
        };
        admit(ports, heap, draws, next, now, false);
    }
}

fn command(ports: &mut [Port], line: &str, now: Duration) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let find = |ports: &mut [Port], name: &str| ports.iter().position(|p| p.name == name);
    match words.as_slice() {
        ["dark", port, seconds] => match (find(ports, port), seconds.parse::<f64>()) {
            (Some(i), Ok(s)) if s >= 0.0 => {
                ports[i].dark_until = now + Duration::from_secs_f64(s);
                format!("ok {port} dark for {s} s")
            }
            _ => format!("error: {line}"),
        },
        ["profile", port, name] => match (find(ports, port), profile(name)) {
            (Some(i), Some(p)) => {
                ports[i].profile = p;
                format!("ok {port} {name}")
            }
            _ => format!("error: {line}"),
        },
        ["stats"] => {
            let parts: Vec<String> = ports
                .iter()
                .map(|p| format!("{} {} passed {} dropped", p.name, p.passed, p.dropped))
                .collect();
            format!("ok {}", parts.join(", "))
        }
        _ => format!("error: unknown command {line:?}"),
    }
}
