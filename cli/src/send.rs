//! `send`: seals each item and delivers it to everyone in the session, eight chunks in flight
//! at most, reading each chunk from disk only when it is about to go. Like the web client it
//! resends from the first unacknowledged chunk after a reconnect, serves receivers' resend
//! requests, and gives members who join while it runs everything it has sent.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::exit::Failure;
use sharethings_protocol::format::chunks::{chunk_count, chunk_len, CHUNK_SIZE};

use crate::format::new_content_id;
use crate::item::{self, ItemMeta, Sealed};
use crate::progress;
use crate::room::{Room, RoomEvent};
use crate::window::Window;

/// How long one wait for the server may take before the loop looks around again.
const POLL: Duration = Duration::from_secs(1);

pub enum Source {
    File(PathBuf),
    Text(String),
    /// Standard input, spooled to an unnamed temporary file so it can be resent.
    Stdin {
        filename: String,
    },
}

pub struct Options {
    /// How long to wait for someone to send to.
    pub wait: Duration,
    /// How long to stay after the last ack, serving resend requests and late joiners.
    pub linger: Duration,
}

struct Outgoing {
    id: String,
    meta: ItemMeta,
    total: u64,
    body: Body,
    meta_iv: Vec<u8>,
    meta_data: Vec<u8>,
}

enum Body {
    File(File),
    Bytes(Vec<u8>),
}

impl Body {
    fn chunk(&self, index: u64, size: u64) -> io::Result<Vec<u8>> {
        let start = index * CHUNK_SIZE;
        let len = chunk_len(index, size) as usize;
        match self {
            Body::Bytes(b) => Ok(b[start as usize..start as usize + len].to_vec()),
            Body::File(f) => {
                let mut buf = vec![0; len];
                f.read_exact_at(&mut buf, start)?;
                Ok(buf)
            }
        }
    }
}

/// One delivery of an item: to everyone (`main`), or to one member from a chunk on.
struct Job {
    item: usize,
    to: Option<String>,
    from: u64,
    main: bool,
}

enum MetaState {
    Unsent,
    Waiting(u64),
    Acked,
}

pub fn run(room: &mut Room, sources: Vec<Source>, opts: &Options) -> Result<(), Failure> {
    let mut items = Vec::new();
    for source in sources {
        items.push(prepare(room, source)?);
    }
    wait_for_receiver(room, opts.wait)?;
    let mut sender = Sender {
        room,
        items,
        queue: VecDeque::new(),
        begun: 0,
    };
    for item in 0..sender.items.len() {
        sender.queue.push_back(Job {
            item,
            to: None,
            from: 0,
            main: true,
        });
    }
    let mut linger_until = None;
    loop {
        while let Some(job) = sender.queue.pop_front() {
            sender.deliver(job)?;
        }
        let until = *linger_until.get_or_insert_with(|| Instant::now() + opts.linger);
        let Some(left) = until.checked_duration_since(Instant::now()) else {
            return Ok(());
        };
        if let Some(event) = sender.room.poll(left.min(POLL))? {
            sender.on_event(event);
        }
    }
}

fn wait_for_receiver(room: &mut Room, wait: Duration) -> Result<(), Failure> {
    let deadline = Instant::now() + wait;
    if room.others().next().is_none() {
        progress::note("waiting for someone to join the session");
    }
    while room.others().next().is_none() {
        let left = deadline
            .checked_duration_since(Instant::now())
            .ok_or(Failure::NoReceivers)?;
        room.poll(left.min(POLL))?;
    }
    Ok(())
}

fn prepare(room: &Room, source: Source) -> Result<Outgoing, Failure> {
    let local = |what: &str, e: io::Error| Failure::Local(format!("{what}: {e}"));
    let (kind, name, mime, body, size) = match source {
        Source::Text(text) => {
            let size = text.len() as u64;
            let body = Body::Bytes(text.into_bytes());
            (
                "text",
                "Text".to_string(),
                "text/plain;charset=utf-8",
                body,
                size,
            )
        }
        Source::File(path) => {
            let file = File::open(&path).map_err(|e| local(&path.display().to_string(), e))?;
            let meta = file
                .metadata()
                .map_err(|e| local(&path.display().to_string(), e))?;
            if !meta.is_file() {
                return Err(Failure::Local(format!(
                    "{}: not a regular file",
                    path.display()
                )));
            }
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "file".into());
            let (kind, mime) = item::mime_for(&name);
            (kind, name, mime, Body::File(file), meta.len())
        }
        Source::Stdin { filename } => {
            let mut spool = tempfile::tempfile().map_err(|e| local("temporary file", e))?;
            let size = io::copy(&mut io::stdin().lock(), &mut spool)
                .map_err(|e| local("standard input", e))?;
            let (kind, mime) = item::mime_for(&filename);
            (kind, filename, mime, Body::File(spool), size)
        }
    };
    let meta = ItemMeta {
        kind: kind.into(),
        name,
        mime: mime.into(),
        size,
        width: None,
        height: None,
        sender_name: room.client_name().into(),
        created_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        offered: false,
    };
    let id = new_content_id();
    let (meta_iv, meta_data) = item::seal_meta(room.keys(), &id, &meta);
    Ok(Outgoing {
        id,
        total: chunk_count(size),
        meta,
        body,
        meta_iv,
        meta_data,
    })
}

struct Sender<'a> {
    room: &'a mut Room,
    items: Vec<Outgoing>,
    queue: VecDeque<Job>,
    /// Items whose delivery to everyone has started; a member who joins now needs these
    /// from chunk 0, and gets the others with everyone.
    begun: usize,
}

/// What a refused ack means for the delivery.
enum Refusal {
    /// `not_joined`: the server lost our membership; rejoin and resend.
    Rejoin,
    Refused(String),
}

fn check_ack(payload: &Value) -> Result<(), Refusal> {
    if payload["success"] != false {
        return Ok(());
    }
    if payload["code"] == "not_joined" {
        return Err(Refusal::Rejoin);
    }
    let why = payload["error"].as_str().or(payload["code"].as_str());
    Err(Refusal::Refused(why.unwrap_or("refused").to_string()))
}

impl Sender<'_> {
    fn deliver(&mut self, job: Job) -> Result<(), Failure> {
        if job.main {
            self.begun = self.begun.max(job.item + 1);
        }
        let out = &self.items[job.item];
        let (id, total, size) = (out.id.clone(), out.total, out.meta.size);
        let mut window = Window::new(total, job.from);
        let mut meta = MetaState::Unsent;
        let mut chunks: HashMap<u64, u64> = HashMap::new();
        let bar = if job.main {
            progress::bar(size, &out.meta.name)
        } else {
            indicatif::ProgressBar::hidden()
        };
        let started = Instant::now();
        let label = out.meta.name.clone();
        let fail = |why: String| {
            if job.main {
                Err(Failure::TransferFailed(format!("{label}: {why}")))
            } else {
                Ok(())
            }
        };
        loop {
            if matches!(meta, MetaState::Acked) && window.done() {
                break;
            }
            if job.to.as_deref().is_some_and(|to| !self.room.is_member(to)) {
                return Ok(());
            }
            let out = &self.items[job.item];
            if matches!(meta, MetaState::Unsent) {
                let p = item::content_payload(&id, total, &out.meta_iv, job.to.as_deref());
                if let Some(ack) = self.room.emit("content", p, &[&out.meta_data]) {
                    meta = MetaState::Waiting(ack);
                }
            }
            if matches!(meta, MetaState::Acked) {
                while let Some(index) = window.take() {
                    let plain = out
                        .body
                        .chunk(index, size)
                        .map_err(|e| Failure::Local(format!("{}: {e}", out.meta.name)))?;
                    let keys = self.room.keys();
                    let (p, data) =
                        item::chunk_payload(keys, &id, index, total, &plain, job.to.as_deref());
                    match self.room.emit("chunk", p, &[&data]) {
                        Some(ack) => chunks.insert(ack, index),
                        None => break,
                    };
                }
            }
            match self.room.poll(POLL)? {
                Some(RoomEvent::Ack { id: ack, payload }) => {
                    let result = check_ack(&payload);
                    if matches!(meta, MetaState::Waiting(m) if m == ack) {
                        meta = MetaState::Acked;
                    } else if let Some(index) = chunks.remove(&ack) {
                        if result.is_ok() && window.ack(index) {
                            bar.inc(chunk_len(index, size));
                        }
                    } else {
                        continue;
                    }
                    match result {
                        Ok(()) => {}
                        Err(Refusal::Rejoin) => self.room.drop_connection(),
                        Err(Refusal::Refused(why)) => return fail(why),
                    }
                }
                Some(RoomEvent::Rejoined) => {
                    window.restart();
                    chunks.clear();
                    meta = MetaState::Unsent;
                }
                Some(event) => self.on_event(event),
                None => {}
            }
        }
        bar.finish_and_clear();
        if job.main {
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            progress::note(&format!(
                "sent {} ({} bytes) in {secs:.1} s, {:.1} MB/s",
                self.items[job.item].meta.name,
                size,
                size as f64 / secs / 1e6
            ));
        }
        Ok(())
    }

    /// Events that are not acks of the running delivery: resend requests, members coming
    /// and going.
    fn on_event(&mut self, event: RoomEvent) {
        match event {
            RoomEvent::Relayed {
                event,
                payload,
                binaries,
            } if event == "content" => {
                let Some(content) = item::open_content(self.room.keys(), &payload, &binaries)
                else {
                    return;
                };
                let (Sealed::Resend(r), from) = (content.sealed, content.from) else {
                    return;
                };
                if let Some(item) = self.items.iter().position(|o| o.id == r.content_id) {
                    let last = self.items[item].total - 1;
                    self.queue.push_back(Job {
                        item,
                        to: Some(from),
                        from: r.from_chunk.min(last),
                        main: false,
                    });
                }
            }
            RoomEvent::MemberJoined(m) => {
                // A late joiner gets what it missed, as the web client's recent items.
                for item in 0..self.begun {
                    self.queue.push_back(Job {
                        item,
                        to: Some(m.id.clone()),
                        from: 0,
                        main: false,
                    });
                }
            }
            RoomEvent::MemberLeft(m) => self.queue.retain(|j| j.to.as_deref() != Some(&m.id)),
            _ => {}
        }
    }
}
