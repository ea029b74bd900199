//! `receive`: stays in the session and takes whatever arrives: files and folders go to
//! `--dir` (streamed to disk), text to stdout. When the session keeps an inbox it first gets
//! what it missed from there, oldest first. After a reconnect it asks each sender for what it
//! still misses, as the web client does, and a sender missing then (a restarted server drops
//! everyone at once) when it comes back; an item whose sender left for good fails.
//! [`Receiver`] is the part that `clip` shares: items in, finished items out.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use indicatif::ProgressBar;
use serde_json::Value;

use crate::codec::ChunkItem;
use crate::exit::Failure;
use crate::format::new_content_id;
use crate::inbox::{Inbox, SeenLog};
use crate::incoming::{ChunkError, Finished, Incoming, Origin};
use crate::item::{Content, Control, ItemMeta, Resend, Sealed};
use crate::progress;
use crate::room::{Room, RoomEvent};

/// Items received at the same time at most; more are ignored until one ends.
const MAX_CONCURRENT_ITEMS: usize = 16;

pub struct Options {
    pub dir: PathBuf,
    pub force: bool,
    pub once: bool,
    /// Which items to take; the others are let by.
    pub accept: Box<dyn Fn(&ItemMeta) -> bool>,
    /// Fetch what was missed from the session's inbox, if it keeps one.
    pub inbox: bool,
}

struct Receiving {
    item: Incoming,
    /// The sender's name when the item began: v3's from the signed roster.
    sender: String,
    bar: ProgressBar,
    /// Its chunks come from the inbox (asked for), not from its sender.
    from_inbox: bool,
}

/// How an item ended (a finished item's metadata names its sender as this member shows it).
pub enum Outcome {
    Done(Finished, ItemMeta),
    Failed(Failure),
}

pub fn run(room: &mut Room, opts: &Options) -> Result<(), Failure> {
    let mut receiver = Receiver::new(room, opts);
    progress::note(&format!("receiving in session {}", room.session_id()));
    let result = receive_until_done(room, opts, &mut receiver);
    // --once, a failure or a signal: what else was arriving is removed, not left half-written.
    receiver.discard_all();
    match result {
        Err(Failure::Interrupted) => {
            progress::note("stopped");
            Ok(())
        }
        other => other,
    }
}

fn receive_until_done(
    room: &mut Room,
    opts: &Options,
    receiver: &mut Receiver,
) -> Result<(), Failure> {
    loop {
        let Some(event) = room.poll(Duration::from_secs(1))? else {
            continue;
        };
        for outcome in receiver.on_event(room, event)? {
            match outcome {
                Outcome::Failed(f) if opts.once => return Err(f),
                Outcome::Failed(f) => progress::note(&f.to_string()),
                Outcome::Done(finished, meta) => {
                    report(finished, &meta)?;
                    if opts.once {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// Prints a text, says where a file or folder went.
fn report(finished: Finished, meta: &ItemMeta) -> Result<(), Failure> {
    let sender = &meta.sender_name;
    match finished {
        Finished::Text(text) => {
            print_text(&text)?;
            progress::note(&format!("text from {sender}"));
        }
        Finished::File(path) => progress::note(&format!("saved {} from {sender}", path.display())),
        Finished::Folder(path, files) => progress::note(&format!(
            "saved folder {} ({files} files) from {sender}",
            path.display()
        )),
    }
    Ok(())
}

fn print_text(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    write!(out, "{text}{newline}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Local(format!("standard output: {e}")))
}

pub struct Receiver<'o> {
    opts: &'o Options,
    receiving: HashMap<String, Receiving>,
    /// Items finished or failed here: their metadata sent again (to late joiners, after a
    /// reconnect) must not start them over.
    seen: HashSet<String>,
    /// What this machine has of the session, across runs (for the inbox).
    log: SeenLog,
    inbox: Inbox,
}

type Ended = (String, Result<(), String>);

impl<'o> Receiver<'o> {
    pub fn new(room: &mut Room, opts: &'o Options) -> Receiver<'o> {
        let mut inbox = Inbox::default();
        if opts.inbox {
            inbox.list(room);
        }
        Receiver {
            opts,
            receiving: HashMap::new(),
            seen: HashSet::new(),
            log: SeenLog::open(room.route()),
            inbox,
        }
    }

    /// Removes what there is of unfinished items (on SIGINT or SIGTERM).
    pub fn discard_all(&mut self) {
        for (_, r) in self.receiving.drain() {
            r.bar.finish_and_clear();
            r.item.discard();
        }
    }

    /// One event of the session; returns the items it ended. A local error (a full disk,
    /// a closed stdout) ends the command.
    pub fn on_event(&mut self, room: &mut Room, event: RoomEvent) -> Result<Vec<Outcome>, Failure> {
        let ended: Vec<Ended> = match event {
            RoomEvent::Content(content) => {
                self.on_content(room, content, false)?.into_iter().collect()
            }
            RoomEvent::Kept(content) => self.on_content(room, content, true)?.into_iter().collect(),
            RoomEvent::InboxRemoved(payload) => self.gone_from_inbox(&payload),
            RoomEvent::Chunk { payload, binaries } => self
                .on_chunk(room, &payload["chunk"], &binaries)
                .into_iter()
                .collect(),
            RoomEvent::Ack { id, payload } => {
                let received = self.fetching_received();
                self.inbox.on_ack(room, id, &payload, received);
                Vec::new()
            }
            RoomEvent::Rejoined => {
                self.request_missing(room)?;
                // A sender missing from the new member list that was not in the session before
                // the drop either (the session was forgotten, or it left meanwhile) will never
                // finish its items; the inbox's items still may.
                self.receiving
                    .iter()
                    .filter(|(_, r)| !r.from_inbox && !room.is_member(&r.item.from))
                    .filter(|(_, r)| !room.is_expected_back(&r.item.from))
                    .map(|(id, _)| (id.clone(), Err("the sender is gone".to_string())))
                    .collect()
            }
            RoomEvent::MemberLeft(m) => self
                .receiving
                .iter()
                .filter(|(_, r)| !r.from_inbox && r.item.from == m.id)
                .map(|(id, r)| {
                    (
                        id.clone(),
                        Err(format!("{} left before it was complete", r.sender)),
                    )
                })
                .collect(),
            RoomEvent::MemberReturned { member, was } => {
                // Asked for what it sent us before the drop; an item whose metadata came again
                // from the new connection was asked for then, and only once.
                let back: Vec<String> = self
                    .receiving
                    .iter_mut()
                    .filter(|(_, r)| r.item.from == was)
                    .map(|(id, r)| {
                        r.item.from.clone_from(&member.id);
                        id.clone()
                    })
                    .collect();
                self.ask_senders(room, Some(&back))?;
                Vec::new()
            }
            RoomEvent::MemberJoined(_) => Vec::new(),
        };
        let mut outcomes = Vec::new();
        for (id, result) in ended {
            if let Some(outcome) = self.end(&id, result)? {
                outcomes.push(outcome);
            }
        }
        self.start_from_inbox(room)?;
        Ok(outcomes)
    }

    fn fetching_received(&self) -> u64 {
        self.receiving
            .iter()
            .find(|(id, _)| self.inbox.is_fetching(id))
            .map_or(0, |(_, r)| r.item.received())
    }

    /// Ends an item: saves it, or removes what there was. `None` for an item not received.
    fn end(&mut self, id: &str, result: Result<(), String>) -> Result<Option<Outcome>, Failure> {
        self.seen.insert(id.to_string());
        self.inbox.done(id);
        let Some(r) = self.receiving.remove(id) else {
            return Ok(None);
        };
        r.bar.finish_and_clear();
        let name = r.item.meta.name.clone();
        if let Err(why) = result {
            r.item.discard();
            return Ok(Some(Outcome::Failed(Failure::TransferFailed(format!(
                "{name}: {why}"
            )))));
        }
        let meta = ItemMeta {
            sender_name: r.sender,
            ..r.item.meta.clone()
        };
        match r.item.finish(self.opts.force) {
            Ok(finished) => {
                self.log.record(id);
                Ok(Some(Outcome::Done(finished, meta)))
            }
            Err(e) => Err(Failure::Local(format!("saving {name}: {e}"))),
        }
    }

    /// An opened `content` (or an item the inbox kept): an item starts (or waits its turn
    /// in the inbox); a cancel from the item's own sender ends it (v3; a cancel from anyone
    /// else is only noted); resend requests are the sender's business.
    fn on_content(
        &mut self,
        room: &mut Room,
        content: Content,
        kept: bool,
    ) -> Result<Option<Ended>, Failure> {
        let sender = room.sender_name(&content);
        let meta = match &content.sealed {
            Sealed::Item(meta) => meta,
            Sealed::Cancel(id) => {
                let Some(r) = self.receiving.get(id) else {
                    return Ok(None);
                };
                if r.item.sender.is_some() && r.item.sender == content.sender {
                    return Ok(Some((id.clone(), Err(format!("{sender} cancelled it")))));
                }
                progress::note(&format!(
                    "ignored a cancel of {} from {sender}: not its sender",
                    r.item.meta.name
                ));
                return Ok(None);
            }
            Sealed::Control(Control::Clear) => {
                progress::note(&format!(
                    "{sender} cleared the session; what was saved here stays"
                ));
                return Ok(None);
            }
            _ => return Ok(None),
        };
        let id = content.id.as_str();
        if let Some(r) = self.receiving.get_mut(id) {
            // Its v3 sender again, on a new connection (a restarted server that kept nothing
            // of the session gives everyone new ids): asked there for what we miss.
            if !kept
                && !r.from_inbox
                && r.item.sender.is_some()
                && r.item.sender == content.sender
                && r.item.from != content.from
            {
                r.item.from.clone_from(&content.from);
                self.ask_senders(room, Some(&[content.id]))?;
            }
            return Ok(None);
        }
        if self.seen.contains(id) || self.inbox.has(id) {
            return Ok(None);
        }
        // Asked with the sender's name as this room knows it: format 3 metadata carries none
        // (the signed roster names members).
        let named = ItemMeta {
            sender_name: sender,
            ..meta.clone()
        };
        if !(self.opts.accept)(&named) {
            self.seen.insert(id.to_string());
            return Ok(None);
        }
        if kept {
            // From the inbox: unless this machine has it already, it is fetched in turn.
            if !self.log.contains(id) {
                self.inbox.enqueue(content);
            }
            return Ok(None);
        }
        // An offered item was sent before this receiver joined; it saves what is sent while
        // it is in the session (and what the inbox kept), so it does not ask for the body.
        if meta.offered || self.receiving.len() >= MAX_CONCURRENT_ITEMS {
            return Ok(None);
        }
        self.start(room, content, false)?;
        Ok(None)
    }

    /// Starts the next item the inbox kept for us, when none is being fetched.
    fn start_from_inbox(&mut self, room: &mut Room) -> Result<(), Failure> {
        while let Some(content) = self.inbox.next(room) {
            let id = content.id.clone();
            if self.receiving.contains_key(&id) || self.seen.contains(&id) {
                self.inbox.done(&id);
                continue;
            }
            self.start(room, content, true)?;
            if self.receiving.contains_key(&id) {
                self.inbox.refill(room, 0);
                return Ok(());
            }
            self.inbox.done(&id);
        }
        Ok(())
    }

    fn start(&mut self, room: &Room, content: Content, from_inbox: bool) -> Result<(), Failure> {
        let sender = room.sender_name(&content);
        let Sealed::Item(meta) = content.sealed else {
            return Ok(());
        };
        let label = meta.name.clone();
        let origin = Origin {
            from: content.from,
            sender: content.sender,
        };
        match Incoming::new(
            &content.id,
            content.total_chunks,
            origin,
            meta,
            &self.opts.dir,
            room.layout(),
        ) {
            Ok(item) => {
                let bar = progress::bar(item.meta.size, &label);
                let r = Receiving {
                    item,
                    sender,
                    bar,
                    from_inbox,
                };
                self.receiving.insert(content.id, r);
                Ok(())
            }
            Err(ChunkError::Io(e)) => {
                Err(Failure::Local(format!("{}: {e}", self.opts.dir.display())))
            }
            Err(e) => {
                self.seen.insert(content.id);
                progress::note(&format!("ignored {label}: {e:?}"));
                Ok(())
            }
        }
    }

    /// A chunk: `Some` when it completed or broke its item.
    fn on_chunk(&mut self, room: &mut Room, chunk: &Value, binaries: &[Vec<u8>]) -> Option<Ended> {
        let id = chunk["contentId"].as_str()?;
        let r = self.receiving.get_mut(id)?;
        if chunk["chunkIndex"]
            .as_u64()
            .is_some_and(|i| !r.item.wants(i))
        {
            return None; // a duplicate: not even opened
        }
        let item = ChunkItem {
            id,
            total: r.item.total(),
            size: r.item.meta.size,
            sender: r.item.sender.as_ref(),
        };
        let result = room
            .codec()
            .open_chunk(&item, chunk, binaries)
            .and_then(|(index, plain)| r.item.accept(index, &plain));
        let ended = match result {
            Ok(added) => {
                r.bar.inc(added);
                r.item.complete().then(|| (id.to_string(), Ok(())))
            }
            Err(ChunkError::Integrity) => {
                Some((id.to_string(), Err("integrity check failed".into())))
            }
            Err(ChunkError::Corrupt(why)) => Some((id.to_string(), Err(why.into()))),
            Err(ChunkError::Refused(why)) => Some((id.to_string(), Err(format!("refused: {why}")))),
            Err(ChunkError::Io(e)) => Some((id.to_string(), Err(e.to_string()))),
        };
        if ended.is_none() && r.from_inbox {
            let received = r.item.received();
            self.inbox.refill(room, received);
        }
        ended
    }

    /// An item gone from the inbox (deleted, expired, dropped) will not finish from there.
    fn gone_from_inbox(&mut self, payload: &Value) -> Vec<Ended> {
        let Some(id) = payload["contentId"].as_str() else {
            return Vec::new();
        };
        self.inbox.done(id);
        match self.receiving.get(id) {
            Some(r) if r.from_inbox => {
                let reason = payload["reason"].as_str().unwrap_or("removed");
                vec![(id.to_string(), Err(format!("it left the inbox ({reason})")))]
            }
            _ => Vec::new(),
        }
    }

    /// After a rejoin: the inbox is asked again (what arrived while we were away, and the
    /// item it was sending), and the senders of unfinished items are asked for what we miss.
    fn request_missing(&mut self, room: &mut Room) -> Result<(), Failure> {
        let first_missing = self
            .receiving
            .iter()
            .find(|(id, _)| self.inbox.is_fetching(id))
            .map_or(0, |(_, r)| r.item.first_missing());
        self.inbox.restart(room, first_missing);
        if self.opts.inbox {
            self.inbox.list(room);
        }
        self.ask_senders(room, None)
    }

    /// Each sender of an unfinished item (or of the items `only`) that is in the session gets
    /// one sealed resend request per item, to it only.
    fn ask_senders(&mut self, room: &mut Room, only: Option<&[String]>) -> Result<(), Failure> {
        let wanted: Vec<(String, Resend)> = self
            .receiving
            .iter()
            .filter(|(_, r)| !r.from_inbox && room.is_member(&r.item.from))
            .filter(|(id, _)| only.is_none_or(|ids| ids.contains(id)))
            .map(|(id, r)| (r.item.from.clone(), Resend::new(id, r.item.first_missing())))
            .collect();
        for (to, request) in wanted {
            let request = serde_json::to_value(&request).expect("a resend request serialises");
            room.emit_content(&new_content_id(), 0, &request, Some(&to))?;
        }
        Ok(())
    }
}
