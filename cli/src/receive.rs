//! `receive`: stays in the session and takes whatever arrives: files go to `--dir` (streamed
//! to disk), text to stdout. After a reconnect it asks each sender for what it still misses,
//! as the web client does; an item whose sender left for good fails.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use indicatif::ProgressBar;
use serde_json::Value;

use crate::codec::ChunkItem;
use crate::exit::Failure;
use crate::format::new_content_id;
use crate::incoming::{ChunkError, Finished, Incoming, Origin};
use crate::item::{Content, Control, Resend, Sealed};
use crate::progress;
use crate::room::{Room, RoomEvent};

/// Items received at the same time at most; more are ignored until one ends.
const MAX_CONCURRENT_ITEMS: usize = 16;

pub struct Options {
    pub dir: PathBuf,
    pub force: bool,
    pub once: bool,
}

struct Receiving {
    item: Incoming,
    /// The sender's name when the item began: v3's from the signed roster.
    sender: String,
    bar: ProgressBar,
}

pub fn run(room: &mut Room, opts: &Options) -> Result<(), Failure> {
    let mut receiving: HashMap<String, Receiving> = HashMap::new();
    // Items finished or failed here: their metadata sent again (to late joiners, after a
    // reconnect) must not start them over.
    let mut seen: HashSet<String> = HashSet::new();
    progress::note(&format!("receiving in session {}", room.session_id()));
    loop {
        let event = match room.poll(Duration::from_secs(1)) {
            Ok(Some(event)) => event,
            Ok(None) => continue,
            Err(Failure::Interrupted) => {
                for (_, r) in receiving.drain() {
                    r.bar.finish_and_clear();
                    r.item.discard();
                }
                progress::note("stopped");
                return Ok(());
            }
            Err(other) => return Err(other),
        };
        let outcomes: Vec<Outcome> = match event {
            RoomEvent::Content(content) => on_content(room, &mut receiving, &seen, opts, content)?
                .into_iter()
                .collect(),
            RoomEvent::Chunk { payload, binaries } => {
                on_chunk(room, &mut receiving, &payload["chunk"], &binaries)
                    .into_iter()
                    .collect()
            }
            RoomEvent::Rejoined => {
                request_missing(room, &receiving)?;
                // A sender missing from the new member list (the session was forgotten, or
                // it left meanwhile) will never finish its items.
                receiving
                    .iter()
                    .filter(|(_, r)| !room.is_member(&r.item.from))
                    .map(|(id, _)| (id.clone(), Err("the sender is gone".to_string())))
                    .collect()
            }
            RoomEvent::MemberLeft(m) => receiving
                .iter()
                .filter(|(_, r)| r.item.from == m.id)
                .map(|(id, r)| {
                    (
                        id.clone(),
                        Err(format!("{} left before it was complete", r.sender)),
                    )
                })
                .collect(),
            _ => continue,
        };
        for (id, result) in outcomes {
            seen.insert(id.clone());
            let Some(r) = receiving.remove(&id) else {
                continue;
            };
            match finish(r, result, opts.force)? {
                Some(f) if opts.once => return Err(f),
                Some(f) => progress::note(&f.to_string()),
                None if opts.once => return Ok(()),
                None => {}
            }
        }
    }
}

/// Ends an item: prints or saves it, or removes what there was. `Some` for a failed
/// transfer; a local error (disk full, stdout closed) ends the command.
fn finish(
    r: Receiving,
    result: Result<(), String>,
    force: bool,
) -> Result<Option<Failure>, Failure> {
    r.bar.finish_and_clear();
    let name = r.item.meta.name.clone();
    let sender = r.sender;
    if let Err(why) = result {
        r.item.discard();
        return Ok(Some(Failure::TransferFailed(format!("{name}: {why}"))));
    }
    match r.item.finish(force) {
        Ok(Finished::Text(text)) => {
            print_text(&text)?;
            progress::note(&format!("text from {sender}"));
        }
        Ok(Finished::File(path)) => {
            progress::note(&format!("saved {} from {sender}", path.display()))
        }
        Err(e) => return Err(Failure::Local(format!("saving {name}: {e}"))),
    }
    Ok(None)
}

fn print_text(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    write!(out, "{text}{newline}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Local(format!("standard output: {e}")))
}

/// An opened `content`: an item starts; a cancel from the item's own sender ends it (v3; a
/// cancel from anyone else is only noted); resend requests are the sender's business.
fn on_content(
    room: &Room,
    receiving: &mut HashMap<String, Receiving>,
    seen: &HashSet<String>,
    opts: &Options,
    content: Content,
) -> Result<Option<Outcome>, Failure> {
    let sender = room.sender_name(&content);
    let meta = match content.sealed {
        Sealed::Item(meta) => meta,
        Sealed::Cancel(id) => {
            let Some(r) = receiving.get(&id) else {
                return Ok(None);
            };
            if r.item.sender.is_some() && r.item.sender == content.sender {
                return Ok(Some((id, Err(format!("{sender} cancelled it")))));
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
    // An offered item was sent before this receiver joined; it saves what is sent while it is
    // in the session, so it does not ask for the body.
    if meta.offered
        || seen.contains(&content.id)
        || receiving.contains_key(&content.id)
        || receiving.len() >= MAX_CONCURRENT_ITEMS
    {
        return Ok(None);
    }
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
        &opts.dir,
        room.layout(),
    ) {
        Ok(item) => {
            let bar = progress::bar(item.meta.size, &label);
            receiving.insert(content.id, Receiving { item, sender, bar });
            Ok(None)
        }
        Err(ChunkError::Io(e)) => Err(Failure::Local(format!("{}: {e}", opts.dir.display()))),
        Err(e) => {
            progress::note(&format!("ignored {label}: {e:?}"));
            Ok(None)
        }
    }
}

type Outcome = (String, Result<(), String>);

/// A chunk: `Some` when it completed or broke its item.
fn on_chunk(
    room: &Room,
    receiving: &mut HashMap<String, Receiving>,
    chunk: &Value,
    binaries: &[Vec<u8>],
) -> Option<Outcome> {
    let id = chunk["contentId"].as_str()?;
    let r = receiving.get_mut(id)?;
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
    match result {
        Ok(added) => {
            r.bar.inc(added);
            r.item.complete().then(|| (id.to_string(), Ok(())))
        }
        Err(ChunkError::Integrity) => Some((id.to_string(), Err("integrity check failed".into()))),
        Err(ChunkError::Corrupt(why)) => Some((id.to_string(), Err(why.into()))),
        Err(ChunkError::Io(e)) => Some((id.to_string(), Err(e.to_string()))),
    }
}

/// After a rejoin: one sealed resend request per unfinished item, to its sender only.
fn request_missing(room: &mut Room, receiving: &HashMap<String, Receiving>) -> Result<(), Failure> {
    let wanted: Vec<(String, Resend)> = receiving
        .iter()
        .filter(|(_, r)| room.is_member(&r.item.from))
        .map(|(id, r)| (r.item.from.clone(), Resend::new(id, r.item.first_missing())))
        .collect();
    for (to, request) in wanted {
        let request = serde_json::to_value(&request).expect("a resend request serialises");
        room.emit_content(&new_content_id(), 0, &request, Some(&to))?;
    }
    Ok(())
}
