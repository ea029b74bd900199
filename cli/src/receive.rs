//! `receive`: stays in the session and takes whatever arrives: files go to `--dir` (streamed
//! to disk), text to stdout. After a reconnect it asks each sender for what it still misses,
//! as the web client does; an item whose sender left for good fails.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use indicatif::ProgressBar;
use serde_json::Value;
use sharethings_protocol::format::v2;

use crate::exit::Failure;
use crate::format::new_content_id;
use crate::incoming::{ChunkError, Finished, Incoming};
use crate::item::{self, Resend, Sealed};
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
            RoomEvent::Relayed {
                event,
                payload,
                binaries,
            } if event == "content" => {
                on_content(room, &mut receiving, &seen, opts, &payload, &binaries)?;
                continue;
            }
            RoomEvent::Relayed {
                payload, binaries, ..
            } => on_chunk(room, &mut receiving, &payload["chunk"], &binaries)
                .into_iter()
                .collect(),
            RoomEvent::Rejoined => {
                request_missing(room, &receiving);
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
                .map(|(id, _)| {
                    (
                        id.clone(),
                        Err(format!("{} left before it was complete", m.name)),
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
    let sender = r.item.meta.sender_name.clone();
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

fn on_content(
    room: &Room,
    receiving: &mut HashMap<String, Receiving>,
    seen: &HashSet<String>,
    opts: &Options,
    payload: &Value,
    binaries: &[Vec<u8>],
) -> Result<(), Failure> {
    let Some(content) = item::open_content(room.keys(), payload, binaries) else {
        return Ok(());
    };
    let Sealed::Item(meta) = content.sealed else {
        return Ok(()); // a resend request: we have nothing to resend
    };
    // An offered item was sent before this receiver joined; it saves what is sent while it is
    // in the session, so it does not ask for the body.
    if meta.offered
        || seen.contains(&content.id)
        || receiving.contains_key(&content.id)
        || receiving.len() >= MAX_CONCURRENT_ITEMS
    {
        return Ok(());
    }
    let label = meta.name.clone();
    match Incoming::new(
        &content.id,
        content.total_chunks,
        &content.from,
        meta,
        &opts.dir,
    ) {
        Ok(item) => {
            let bar = progress::bar(item.meta.size, &label);
            receiving.insert(content.id, Receiving { item, bar });
            Ok(())
        }
        Err(ChunkError::Io(e)) => Err(Failure::Local(format!("{}: {e}", opts.dir.display()))),
        Err(e) => {
            progress::note(&format!("ignored {label}: {e:?}"));
            Ok(())
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
    match r.item.accept(room.keys(), chunk, binaries) {
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
fn request_missing(room: &mut Room, receiving: &HashMap<String, Receiving>) {
    let wanted: Vec<(String, Resend)> = receiving
        .iter()
        .filter(|(_, r)| room.is_member(&r.item.from))
        .map(|(id, r)| (r.item.from.clone(), Resend::new(id, r.item.first_missing())))
        .collect();
    for (to, request) in wanted {
        let id = new_content_id();
        let (iv, data) = item::seal_meta(room.keys(), &id, &request);
        let payload = item::content_payload(&id, v2::CONTROL_CHUNKS, &iv, Some(&to));
        room.emit("content", payload, &[&data]);
    }
}
