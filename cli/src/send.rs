//! `send`: seals each item and delivers it to everyone in the session, eight chunks in flight
//! at most, reading each chunk from disk only when it is about to go. Like the web client it
//! resends from the first unacknowledged chunk after a reconnect, serves receivers' resend
//! requests, and gives members who join while it runs everything it has sent.

mod plan;

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::codec::Layout;
use crate::exit::Failure;
use sharethings_protocol::format::chunks::{chunk_len, CHUNK_SIZE};

use crate::folder::pack::FolderSource;
use crate::format::new_content_id;
use crate::inbox::SeenLog;
use crate::item::{self, Content, ItemMeta, Sealed};
use crate::progress;
use crate::recipient::{self, Lookup};
use crate::room::{Room, RoomEvent};
use crate::window::Window;
use plan::{Job, Plan, Why};

/// How long one wait for the server may take before the loop looks around again.
const POLL: Duration = Duration::from_secs(1);
/// How long a member that comes back after a drop (`RoomEvent::MemberReturned`) has to ask
/// for what it misses: it asks as soon as it is in.
const ANSWER_WINDOW: Duration = Duration::from_secs(5);

pub enum Source {
    File(PathBuf),
    Text(String),
    /// Standard input, spooled to an unnamed temporary file so it can be resent.
    Stdin {
        filename: String,
    },
    /// An image held in memory (`clip`), with its dimensions.
    Image {
        name: String,
        mime: &'static str,
        bytes: Vec<u8>,
        width: u64,
        height: u64,
    },
}

/// Where `clip` wants the session's other events while an item of its own goes out.
pub type Forward<'f> = dyn FnMut(&mut Room, RoomEvent) -> Result<(), Failure> + 'f;

pub struct Options {
    /// How long to wait for someone to send to.
    pub wait: Duration,
    /// How long to stay after the last ack, serving resend requests and late joiners.
    pub linger: Duration,
    /// `--to NAME`: send to this member alone; nobody else receives anything of it.
    pub to: Option<String>,
}

struct Outgoing {
    id: String,
    meta: ItemMeta,
    /// The metadata as sealed JSON; sealed afresh for every `content` (v3 counts each).
    meta_json: Value,
    total: u64,
    body: Body,
}

enum Body {
    File(File),
    Bytes(Vec<u8>),
    Folder(FolderSource),
}

impl Body {
    /// Chunk `index` as the layout cuts it: the item's bytes, then (v3) zeros to its padded
    /// length.
    fn chunk(&self, index: u64, size: u64, layout: Layout) -> io::Result<Vec<u8>> {
        let start = index * CHUNK_SIZE;
        let content = size.saturating_sub(start).min(CHUNK_SIZE) as usize;
        let mut buf = vec![0; layout.chunk_len(index, size) as usize];
        if content == 0 {
            return Ok(buf); // a chunk of padding alone
        }
        match self {
            Body::Bytes(b) => buf[..content].copy_from_slice(&b[start as usize..][..content]),
            Body::File(f) => f.read_exact_at(&mut buf[..content], start)?,
            Body::Folder(folder) => folder.read_at(&mut buf[..content], start)?,
        }
        Ok(buf)
    }
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
    if room.has_inbox() {
        // A `receive` on this machine does not fetch these back from the inbox.
        let mut log = SeenLog::open(room.route());
        items.iter().for_each(|o| log.record(&o.id));
    }
    let addressee = wait_for_receiver(room, opts.wait, opts.to.as_deref())?;
    let totals = items.iter().map(|o| o.total).collect();
    let late_joiners = addressee.is_none();
    let mut sender = Sender {
        room,
        items,
        plan: Plan::new(totals, addressee, late_joiners),
        forward: None,
        answer_until: Instant::now(),
    };
    let mut linger_until = None;
    loop {
        while let Some(job) = sender.plan.next() {
            sender.deliver(job)?;
        }
        // Members missing since a drop (a restarted server) may come back for what they miss.
        let until = *linger_until.get_or_insert_with(|| Instant::now() + opts.linger);
        let until = until.max(sender.answer_until);
        let left = until.checked_duration_since(Instant::now());
        if left.is_none() && !sender.room.expecting_returns() {
            return Ok(());
        }
        if let Some(event) = sender.room.poll(left.unwrap_or(POLL).min(POLL))? {
            sender.on_event(event)?;
        }
    }
}

/// Sends one item to everyone in the session now, for `clip`: no waiting for a receiver, no
/// lingering, nothing for late joiners (a clipboard goes stale); the session's other events
/// go to `forward` meanwhile. Returns the item's id.
pub fn deliver_one(
    room: &mut Room,
    source: Source,
    forward: &mut Forward,
) -> Result<String, Failure> {
    let item = prepare(room, source)?;
    let id = item.id.clone();
    let mut sender = Sender {
        room,
        plan: Plan::new(vec![item.total], None, false),
        items: vec![item],
        forward: Some(forward),
        answer_until: Instant::now(),
    };
    if let Some(job) = sender.plan.next() {
        sender.deliver(job)?;
    }
    Ok(id)
}

/// Checks before joining that `path` can be sent: a file that opens for reading or a folder
/// that can be listed. A typo fails here at once (a usage error), not after the key
/// derivation and the join (where a wrong passphrase would hide it).
pub fn check_readable(path: &std::path::Path) -> Result<(), Failure> {
    let shown = path.display().to_string();
    let local = |what: &str, e: io::Error| Failure::Local(format!("{what}: {e}"));
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Failure::Usage(format!("{shown}: the file does not exist")),
        _ => local(&shown, e),
    })?;
    if meta.is_dir() {
        std::fs::read_dir(path).map_err(|e| local(&shown, e))?;
    } else if meta.is_file() {
        File::open(path).map_err(|e| local(&shown, e))?;
    } else {
        return Err(Failure::Local(format!("{shown}: not a file or a folder")));
    }
    Ok(())
}

/// Waits for someone to send to: anyone, or with `--to` the one member of that name (whose
/// `clientId` it returns). A session with an inbox needs nobody online: the server keeps the
/// items for whoever joins later (an item for one member is not kept, so `--to` still waits).
/// A name that several members share fails at once; one that nobody has fails after `wait`.
/// Either way before anything is sent.
fn wait_for_receiver(
    room: &mut Room,
    wait: Duration,
    to: Option<&str>,
) -> Result<Option<String>, Failure> {
    let deadline = Instant::now() + wait;
    let mut noted = false;
    loop {
        match to {
            None if room.has_inbox() || room.others().next().is_some() => return Ok(None),
            None => {}
            Some(name) => match recipient::find(room.named_others().iter(), name) {
                Lookup::Found(id) => return Ok(Some(id)),
                Lookup::Ambiguous(n) => return Err(recipient::ambiguous(name, n)),
                Lookup::Missing => {}
            },
        }
        if !noted {
            noted = true;
            progress::note(&match to {
                None => "waiting for someone to join the session".to_string(),
                Some(name) => format!("waiting for \"{name}\" to join the session"),
            });
        }
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return Err(match to {
                None => Failure::NoReceivers,
                Some(name) => recipient::missing(name, room.named_others().iter()),
            });
        };
        room.poll(left.min(POLL))?;
    }
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
        Source::File(path) if path.is_dir() => return prepare_folder(room, &path),
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
        Source::Image {
            name,
            mime,
            bytes,
            width,
            height,
        } => {
            let mut meta = item_meta(room, "image", name, mime, bytes.len() as u64);
            (meta.width, meta.height) = (Some(width), Some(height));
            return Ok(seal(room, meta, Body::Bytes(bytes)));
        }
        Source::Stdin { filename } => {
            let mut spool = tempfile::tempfile().map_err(|e| local("temporary file", e))?;
            let size = io::copy(&mut io::stdin().lock(), &mut spool)
                .map_err(|e| local("standard input", e))?;
            let (kind, mime) = item::mime_for(&filename);
            (kind, filename, mime, Body::File(spool), size)
        }
    };
    Ok(seal(room, item_meta(room, kind, name, mime, size), body))
}

fn item_meta(room: &Room, kind: &str, name: String, mime: &str, size: u64) -> ItemMeta {
    ItemMeta {
        kind: kind.into(),
        name,
        mime: mime.into(),
        size,
        width: None,
        height: None,
        sender_name: room.codec().name_in_metadata().unwrap_or_default().into(),
        created_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        offered: false,
        files: None,
    }
}

/// A folder: one item whose body is its manifest and its files' bytes. What the walk leaves
/// out (links above all) is said, one line each.
fn prepare_folder(room: &Room, path: &std::path::Path) -> Result<Outgoing, Failure> {
    let (source, skipped) = FolderSource::scan(path)?;
    for why in &skipped {
        progress::note(&format!("skipped {why}"));
    }
    let name = path
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "folder".into());
    let mut meta = item_meta(room, "folder", name, "inode/directory", source.size());
    meta.files = Some(source.entries());
    Ok(seal(room, meta, Body::Folder(source)))
}

fn seal(room: &Room, meta: ItemMeta, body: Body) -> Outgoing {
    Outgoing {
        id: new_content_id(),
        total: room.layout().chunk_count(meta.size),
        meta_json: serde_json::to_value(&meta).expect("metadata serialises"),
        meta,
        body,
    }
}

struct Sender<'a, 'f> {
    room: &'a mut Room,
    items: Vec<Outgoing>,
    /// What is still to send, and to whom.
    plan: Plan,
    /// Events that are not the sender's: dropped by `send`, handed to `clip`'s receiver.
    forward: Option<&'f mut Forward<'f>>,
    /// Until when a member that just joined may still ask for what it misses.
    answer_until: Instant,
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

impl Sender<'_, '_> {
    /// Runs `job`, which the plan handed out, to its end.
    fn deliver(&mut self, job: Job) -> Result<(), Failure> {
        let main = job.why == Why::Main;
        let out = &self.items[job.item];
        let (id, total, size) = (out.id.clone(), out.total, out.meta.size);
        let mut window = Window::new(total, job.from, job.until);
        let mut meta = MetaState::Unsent;
        let mut chunks: HashMap<u64, u64> = HashMap::new();
        let bar = if main {
            progress::bar(size, &out.meta.name)
        } else {
            indicatif::ProgressBar::hidden()
        };
        let started = Instant::now();
        let label = out.meta.name.clone();
        let fail = |why: String| {
            if main {
                Err(Failure::TransferFailed(format!("{label}: {why}")))
            } else {
                Ok(())
            }
        };
        loop {
            let done = matches!(meta, MetaState::Acked) && window.done();
            // Or no longer wanted: a member given whole items turned out to be back.
            if done || self.plan.dropped() {
                break;
            }
            let to = self.plan.to().map(str::to_owned);
            // A member missing since our rejoin may still come back (under a new id the plan's
            // job follows it): `--to`'s delivery waits for it, emitting nothing the server
            // would refuse for an id it does not know. Anything else for a member away ends.
            let away = to.as_deref().filter(|to| !self.room.is_member(to));
            if away.is_some_and(|to| !(main && self.room.is_expected_back(to))) {
                return fail("the member it was sent to left".into());
            }
            let out = &self.items[job.item];
            // Its chunks wait too: the metadata, sent again on every new connection, goes first.
            if away.is_none() && matches!(meta, MetaState::Unsent) {
                let meta_json = out.meta_json.clone();
                if let Some(ack) = self
                    .room
                    .emit_content(&id, total, &meta_json, to.as_deref())?
                {
                    meta = MetaState::Waiting(ack);
                }
            }
            if matches!(meta, MetaState::Acked) {
                let layout = self.room.layout();
                while let Some(index) = window.take() {
                    let out = &self.items[job.item];
                    let plain = out
                        .body
                        .chunk(index, size, layout)
                        .map_err(|e| Failure::Local(format!("{}: {e}", out.meta.name)))?;
                    match self
                        .room
                        .emit_chunk(&id, index, total, &plain, to.as_deref())
                    {
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
                        self.pass_on(RoomEvent::Ack { id: ack, payload })?;
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
                    self.plan.at(window.still_to_send());
                    self.on_event(RoomEvent::Rejoined)?;
                }
                Some(event) => {
                    self.plan.at(window.still_to_send());
                    self.on_event(event)?;
                }
                None => {}
            }
        }
        self.plan.finished();
        bar.finish_and_clear();
        if main {
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

    fn pass_on(&mut self, event: RoomEvent) -> Result<(), Failure> {
        match self.forward.as_mut() {
            Some(forward) => forward(self.room, event),
            None => Ok(()),
        }
    }

    /// Events that are not acks of the running delivery: resend requests and members coming
    /// and going are the sender's; everything else is passed on.
    fn on_event(&mut self, event: RoomEvent) -> Result<(), Failure> {
        match event {
            RoomEvent::Content(Content {
                sealed: Sealed::Resend(r),
                from,
                ..
            }) => {
                self.resend(r, from);
                return Ok(());
            }
            RoomEvent::MemberJoined(ref m) => self.plan.joined(&m.id),
            RoomEvent::Rejoined => self.plan.rejoined(),
            // Back after a drop (perhaps under a new id): it asks for what it misses as soon
            // as it is in.
            RoomEvent::MemberReturned {
                ref member,
                ref was,
            } => {
                self.plan.returned(&member.id, was);
                self.answer_until = Instant::now() + ANSWER_WINDOW;
            }
            RoomEvent::MemberLeft(ref m) => self.plan.left(&m.id),
            _ => {}
        }
        self.pass_on(event)
    }

    /// A member asks for an item again: the plan says what it gets.
    fn resend(&mut self, r: item::Resend, from: String) {
        if let Some(item) = self.items.iter().position(|o| o.id == r.content_id) {
            self.plan.asked(item, &from, r.from_chunk);
        }
    }
}
