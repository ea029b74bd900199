//! The soak's members: one `mio` thread per session drives its members, each of which joins,
//! sends texts and files, reads everything the others send (checking every chunk), drops its
//! connection and rejoins with its token, or leaves and later joins as a new member, at
//! random times. Non-blocking, so that no member's write waits on another member's read.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use sharethings_protocol::eio;
use sharethings_protocol::format::chunks::{CHUNK_SIZE, MAX_UNACKED_CHUNKS};
use sharethings_protocol::sio::{placeholder_json, Header, PacketKind};

use crate::client::{number_after, read_text, Client, Text, JOIN_ACK};
use crate::ws::{
    client_header, closed, push_frame, FrameReader, Rng, OP_BINARY, OP_CLOSE, OP_TEXT,
};

/// Smallest and largest file a member sends (sizes are log-uniform between them).
pub const FILE_MIN: u64 = 1_000;
pub const FILE_MAX: u64 = 20_000_000;
/// Bytes a member keeps written ahead of the socket at most.
const WRITE_AHEAD: usize = 1 << 20;

/// What the members tell the sampler, and the stop signal.
#[derive(Default)]
pub struct Shared {
    pub stop: AtomicBool,
    /// Text delivery latencies (sender's write to a receiver's read) in µs since the last
    /// sample.
    pub latencies_us: Mutex<Vec<u64>>,
    pub joins: AtomicU64,
    pub rejoins: AtomicU64,
    pub leaves: AtomicU64,
    pub drops: AtomicU64,
    pub texts_sent: AtomicU64,
    pub texts_received: AtomicU64,
    pub files_sent: AtomicU64,
    pub chunks_received: AtomicU64,
    pub bytes_received: AtomicU64,
    /// Chunks whose bytes were not the ones sent.
    pub corrupt: AtomicU64,
    /// Refused acks, acks that never came, connections the server closed, failed joins.
    pub failures: AtomicU64,
    /// The first few failures, for the report.
    pub failure_notes: Mutex<Vec<String>>,
}

impl Shared {
    fn fail(&self, note: String) {
        self.failures.fetch_add(1, Relaxed);
        let mut notes = self.failure_notes.lock().unwrap_or_else(|p| p.into_inner());
        if notes.len() < 20 {
            notes.push(note);
        }
    }
}

/// Where every member's clock starts: the texts carry their send time from it.
pub struct Clock(pub Instant);

impl Clock {
    fn now_us(&self) -> u64 {
        self.0.elapsed().as_micros() as u64
    }
}

/// What an ack answers.
enum Awaited {
    Text,
    Offer,
    Chunk,
}

/// A file being sent: its chunks go out as acks come back.
struct Sending {
    id: String,
    size: u64,
    chunks: u64,
    next: u64,
    in_flight: usize,
}

struct Conn {
    stream: mio::net::TcpStream,
    reader: FrameReader,
    rng: Rng,
    out: Vec<u8>,
    /// Chunk announced by the last `chunk` text, whose binary frame comes next.
    announced: Option<u64>,
}

struct Member {
    name: String,
    conn: Option<Conn>,
    /// While away: when to come back.
    back_at: Instant,
    /// Kept across a dropped connection, forgotten on leave.
    token: Option<String>,
    client_id: String,
    next_action: Instant,
    sending: Option<Sending>,
    next_ack: u64,
    awaited: HashMap<u64, (Awaited, Instant)>,
    files: u64,
}

/// Runs `members` members of session `session` until `shared.stop`, then lets each leave.
pub fn run_session(
    addr: SocketAddr,
    session: String,
    inbox: bool,
    members: usize,
    seed: u64,
    clock: Arc<Clock>,
    shared: Arc<Shared>,
) {
    let mut rng = Rng::new(seed);
    let mut poll = match Poll::new() {
        Ok(p) => p,
        Err(e) => return shared.fail(format!("{session}: poll: {e}")),
    };
    let start = Instant::now();
    let mut team: Vec<Member> = (0..members)
        .map(|i| Member {
            name: format!("m{i}"),
            conn: None,
            // Staggered, so that the sessions do not all join in one burst.
            back_at: start + Duration::from_millis(200 * i as u64 + rng.below(500)),
            token: None,
            client_id: String::new(),
            next_action: start,
            sending: None,
            next_ack: 1,
            awaited: HashMap::new(),
            files: 0,
        })
        .collect();
    let mut events = Events::with_capacity(64);
    while !shared.stop.load(Relaxed) {
        let _ = poll.poll(&mut events, Some(Duration::from_millis(20)));
        let now = Instant::now();
        for (i, m) in team.iter_mut().enumerate() {
            if m.conn.is_none() {
                if now >= m.back_at {
                    m.join(&poll, i, addr, &session, inbox, &mut rng, &shared);
                }
                continue;
            }
            if let Err(e) = m.turn(&session, now, &mut rng, &clock, &shared) {
                shared.fail(format!("{session}/{}: {e}", m.name));
                m.away(&poll, now + Duration::from_secs(1));
            }
        }
    }
    for m in &mut team {
        if let Some(c) = &mut m.conn {
            let _ = leave(c, &session);
        }
        m.away(&poll, Instant::now());
    }
}

impl Member {
    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        poll: &Poll,
        i: usize,
        addr: SocketAddr,
        session: &str,
        inbox: bool,
        rng: &mut Rng,
        shared: &Shared,
    ) {
        let rejoin = self.token.is_some();
        match join(
            addr,
            session,
            &self.name,
            inbox,
            self.token.as_deref(),
            rng.next(),
        ) {
            Ok((client, token, id)) => {
                if rejoin && id != self.client_id {
                    shared.fail(format!(
                        "{session}/{}: rejoined as {id}, was {}",
                        self.name, self.client_id
                    ));
                }
                let counter = if rejoin {
                    &shared.rejoins
                } else {
                    &shared.joins
                };
                counter.fetch_add(1, Relaxed);
                self.token = Some(token);
                self.client_id = id;
                let Client {
                    stream,
                    reader,
                    rng: crng,
                    ..
                } = client;
                let mut stream = mio::net::TcpStream::from_std(stream);
                if stream.set_nodelay(true).is_err()
                    || poll
                        .registry()
                        .register(
                            &mut stream,
                            Token(i),
                            Interest::READABLE | Interest::WRITABLE,
                        )
                        .is_err()
                {
                    shared.fail(format!("{session}/{}: cannot register", self.name));
                    self.back_at = Instant::now() + Duration::from_secs(1);
                    return;
                }
                self.conn = Some(Conn {
                    stream,
                    reader,
                    rng: crng,
                    out: Vec::new(),
                    announced: None,
                });
                self.next_action = Instant::now() + Duration::from_millis(500 + rng.below(2000));
            }
            Err(e) => {
                shared.fail(format!("{session}/{}: join: {e}", self.name));
                self.token = None;
                self.back_at = Instant::now() + Duration::from_secs(2);
            }
        }
    }

    /// Drops the connection (without a goodbye) and stays away until `back_at`.
    fn away(&mut self, poll: &Poll, back_at: Instant) {
        if let Some(mut c) = self.conn.take() {
            let _ = poll.registry().deregister(&mut c.stream);
        }
        self.sending = None;
        self.awaited.clear();
        self.back_at = back_at;
    }

    /// One turn: read everything there is, act when it is time, feed the file being sent,
    /// write what is queued.
    fn turn(
        &mut self,
        session: &str,
        now: Instant,
        rng: &mut Rng,
        clock: &Clock,
        shared: &Shared,
    ) -> io::Result<()> {
        self.read_all(clock, shared)?;
        if let Some((_, sent)) = self.awaited.values().min_by_key(|(_, at)| *at) {
            if now.duration_since(*sent) > Duration::from_secs(30) {
                return Err(io::Error::other("an ack took more than 30 s"));
            }
        }
        if now >= self.next_action && self.sending.is_none() {
            self.next_action = now + Duration::from_millis(1000 + rng.below(5000));
            match rng.below(100) {
                0..=49 => self.send_text(session, clock, shared)?,
                50..=74 => self.offer_file(session, rng, shared)?,
                75..=84 => {
                    // Gone without a word, as a phone whose Wi-Fi dropped: back within the
                    // rejoin grace, with its token.
                    shared.drops.fetch_add(1, Relaxed);
                    if let Some(c) = &self.conn {
                        let _ = socket2::SockRef::from(&c.stream).set_linger(Some(Duration::ZERO));
                    }
                    self.conn = None;
                    self.sending = None;
                    self.awaited.clear();
                    self.back_at = now + Duration::from_millis(500 + rng.below(5000));
                    return Ok(());
                }
                85..=94 => {
                    shared.leaves.fetch_add(1, Relaxed);
                    if let Some(c) = &mut self.conn {
                        leave(c, session)?;
                    }
                    self.conn = None;
                    self.token = None;
                    self.sending = None;
                    self.awaited.clear();
                    self.back_at = now + Duration::from_millis(2000 + rng.below(20_000));
                    return Ok(());
                }
                _ => {}
            }
        }
        self.feed_file(session)?;
        self.flush()
    }

    fn conn(&mut self) -> io::Result<&mut Conn> {
        self.conn
            .as_mut()
            .ok_or_else(|| io::Error::other("not connected"))
    }

    fn ack_id(&mut self, what: Awaited) -> u64 {
        let id = self.next_ack;
        self.next_ack += 1;
        self.awaited.insert(id, (what, Instant::now()));
        id
    }

    fn send_text(&mut self, session: &str, clock: &Clock, shared: &Shared) -> io::Result<()> {
        let id = self.ack_id(Awaited::Text);
        let text = Header::event(0, Some(id)).message(&format!(
            r#"["content",{{"sessionId":"{session}","content":{{"kind":"text","t":{}}}}}]"#,
            clock.now_us()
        ));
        shared.texts_sent.fetch_add(1, Relaxed);
        self.conn()?.text(&text);
        Ok(())
    }

    fn offer_file(&mut self, session: &str, rng: &mut Rng, shared: &Shared) -> io::Result<()> {
        // Log-uniform between FILE_MIN and FILE_MAX, a whole number of 8-byte words.
        let spread = (FILE_MAX as f64 / FILE_MIN as f64).ln();
        let size = ((FILE_MIN as f64 * (spread * rng.unit()).exp()) as u64 / 8).max(1) * 8;
        let chunks = size.div_ceil(CHUNK_SIZE);
        self.files += 1;
        let file = format!("{}-{}-{}", self.name, self.client_id, self.files);
        let id = self.ack_id(Awaited::Offer);
        let text = Header::event(0, Some(id)).message(&format!(
            r#"["content",{{"sessionId":"{session}","content":{{"contentId":"{file}","totalChunks":{chunks},"size":{size}}}}}]"#
        ));
        self.conn()?.text(&text);
        shared.files_sent.fetch_add(1, Relaxed);
        self.sending = Some(Sending {
            id: file,
            size,
            chunks,
            next: 0,
            in_flight: 0,
        });
        Ok(())
    }

    /// Queues chunks while fewer than the web client's window are unacknowledged.
    fn feed_file(&mut self, session: &str) -> io::Result<()> {
        loop {
            let Some(s) = &self.sending else {
                return Ok(());
            };
            let queued = self.conn.as_ref().map_or(0, |c| c.out.len());
            if s.next == s.chunks || s.in_flight >= MAX_UNACKED_CHUNKS || queued > WRITE_AHEAD {
                return Ok(());
            }
            let (index, chunks, size, file) = (s.next, s.chunks, s.size, s.id.clone());
            let len = (size - index * CHUNK_SIZE).min(CHUNK_SIZE) as usize;
            let ack = self.ack_id(Awaited::Chunk);
            let text = Header::event(1, Some(ack)).message(&format!(
                r#"["chunk",{{"sessionId":"{session}","chunk":{{"contentId":"{file}","chunkIndex":{index},"totalChunks":{chunks},"encryptedData":{}}}}}]"#,
                placeholder_json(0)
            ));
            let c = self.conn()?;
            c.text(&text);
            c.binary_chunk(index, len);
            if let Some(s) = &mut self.sending {
                s.next += 1;
                s.in_flight += 1;
            }
        }
    }

    fn read_all(&mut self, clock: &Clock, shared: &Shared) -> io::Result<()> {
        loop {
            let c = self.conn()?;
            let Some(frame) = c.reader.next(&mut c.stream)? else {
                return Ok(());
            };
            let bytes = c.reader.bytes(frame);
            match frame.opcode {
                OP_CLOSE => return Err(closed(bytes)),
                OP_BINARY => {
                    let Some(index) = c.announced.take() else {
                        return Err(io::Error::other("a binary frame without its chunk"));
                    };
                    if !pattern_ok(bytes, index) {
                        shared.corrupt.fetch_add(1, Relaxed);
                    }
                    shared.chunks_received.fetch_add(1, Relaxed);
                    shared.bytes_received.fetch_add(bytes.len() as u64, Relaxed);
                }
                OP_TEXT => match read_text(bytes) {
                    Text::Ping => c.text(eio::PONG),
                    Text::Packet(h, json) if h.kind == PacketKind::Ack => {
                        let ok = json.contains(r#""success":true"#);
                        let note = (!ok).then(|| json.to_string());
                        let id = h.id.unwrap_or(u64::MAX);
                        self.acked(id, note, shared);
                    }
                    text => {
                        if let Some(json) = text.event("content") {
                            if let Some(t) = number_after(json.as_bytes(), br#""t":"#) {
                                shared.texts_received.fetch_add(1, Relaxed);
                                let latency = clock.now_us().saturating_sub(t);
                                shared
                                    .latencies_us
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .push(latency);
                            }
                        } else if let Some(json) = text.event("chunk") {
                            c.announced = number_after(json.as_bytes(), br#""chunkIndex":"#);
                        }
                    }
                },
                _ => {}
            }
        }
    }

    fn acked(&mut self, id: u64, refused: Option<String>, shared: &Shared) {
        let Some((what, _)) = self.awaited.remove(&id) else {
            return shared.fail(format!("{}: an ack nobody asked for ({id})", self.name));
        };
        if let Some(why) = refused {
            shared.fail(format!("{}: refused: {why}", self.name));
        }
        if let Awaited::Chunk = what {
            if let Some(s) = &mut self.sending {
                s.in_flight = s.in_flight.saturating_sub(1);
                if s.next == s.chunks && s.in_flight == 0 {
                    self.sending = None;
                }
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let c = self.conn()?;
        while !c.out.is_empty() {
            match c.stream.write(&c.out) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    c.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Conn {
    fn text(&mut self, text: &str) {
        push_frame(&mut self.out, OP_TEXT, text.as_bytes(), &mut self.rng);
    }

    /// Chunk `index` of `len` bytes, filled with its pattern and masked.
    fn binary_chunk(&mut self, index: u64, len: usize) {
        let mask = self.rng.mask();
        let (head, n) = client_header(OP_BINARY, len, mask);
        self.out.extend_from_slice(&head[..n]);
        let seed = pattern_seed(index);
        let m = u64::from_le_bytes([
            mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
        ]);
        self.out.reserve(len);
        for k in 0..(len / 8) as u64 {
            self.out
                .extend_from_slice(&(seed.wrapping_add(k) ^ m).to_le_bytes());
        }
    }
}

fn pattern_seed(index: u64) -> u64 {
    (index + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Whether `bytes` are chunk `index`'s pattern (any whole number of words).
fn pattern_ok(bytes: &[u8], index: u64) -> bool {
    let seed = pattern_seed(index);
    bytes.len().is_multiple_of(8)
        && bytes.chunks_exact(8).enumerate().all(|(k, w)| {
            let mut word = [0u8; 8];
            word.copy_from_slice(w);
            u64::from_le_bytes(word) == seed.wrapping_add(k as u64)
        })
}

fn leave(c: &mut Conn, session: &str) -> io::Result<()> {
    let text = Header::event(0, None).message(&format!(r#"["leave",{{"sessionId":"{session}"}}]"#));
    c.text(&text);
    c.stream.set_nodelay(true)?;
    // A best effort, as a closing page's: what does not fit now is not sent.
    let _ = c.stream.write(&c.out);
    Ok(())
}

/// Connects and joins (blocking), with the token when rejoining; the client, its new token
/// and its client id.
fn join(
    addr: SocketAddr,
    session: &str,
    name: &str,
    inbox: bool,
    token: Option<&str>,
    salt: u64,
) -> io::Result<(Client, String, String)> {
    let mut c = Client::connect(addr, session, salt)?;
    c.wait_for("open packet", |t| matches!(t, Text::Open))?;
    c.send_text(sharethings_protocol::sio::CONNECT)?;
    c.wait_for("CONNECT answer", |t| t.is(PacketKind::Connect))?;
    let mac = data_encoding::BASE64.encode(format!("soak verifier for {session}").as_bytes());
    let token = token.map_or(String::new(), |t| format!(r#","token":"{t}""#));
    c.send_text(&Header::event(0, Some(JOIN_ACK)).message(&format!(
        r#"["join",{{"sessionId":"{session}","clientName":"{name}","inbox":{inbox},"fingerprint":{{"v":2,"mac":"{mac}"}}{token}}}]"#
    )))?;
    let ack = c.wait_for("join ack", |t| t.ack(JOIN_ACK).is_some())?;
    if !ack.contains(r#""success":true"#) {
        return Err(io::Error::other(format!("join refused: {ack}")));
    }
    let field = |key: &str| {
        let start = ack.find(&format!(r#""{key}":""#))? + key.len() + 4;
        let len = ack[start..].find('"')?;
        Some(ack[start..start + len].to_string())
    };
    let (Some(token), Some(id)) = (field("token"), field("clientId")) else {
        return Err(io::Error::other(format!(
            "join ack without token or id: {ack}"
        )));
    };
    c.stream.set_nonblocking(true)?;
    Ok((c, token, id))
}
