//! `clip`: keeps the desktop clipboard in step with the session, both ways. A text or an
//! image the user copies goes to the session as an item; a text or an image that arrives
//! goes onto the clipboard. What `clip` put there itself never goes back out (see
//! [`guard`]), so two `clip` members never send one copy back and forth.

mod board;
mod guard;

use std::time::{Duration, Instant};

use crate::exit::Failure;
use crate::incoming::Finished;
use crate::item::ItemMeta;
use crate::progress;
use crate::receive::{self, Outcome, Receiver};
use crate::room::{Room, RoomEvent};
use crate::send::{self, Source};

pub use board::Board;
use board::Clip;
use guard::EchoGuard;

/// How long one wait for the session may take before the clipboard is looked at again.
const POLL: Duration = Duration::from_millis(100);

pub struct Options {
    /// Copies and items above this many bytes are skipped.
    pub max_bytes: u64,
    pub send: bool,
    pub receive: bool,
    /// How often the clipboard is looked at.
    pub interval: Duration,
}

/// What `clip` touches while it runs: the clipboard and what it knows of it.
struct Desk {
    board: Board,
    guard: EchoGuard,
    max_bytes: u64,
}

pub fn run(room: &mut Room, board: Board, opts: &Options) -> Result<(), Failure> {
    let spool =
        tempfile::tempdir().map_err(|e| Failure::Local(format!("temporary folder: {e}")))?;
    let (max, take) = (opts.max_bytes, opts.receive);
    let recv_opts = receive::Options {
        dir: spool.path().to_path_buf(),
        force: false,
        once: false,
        accept: Box::new(move |m: &ItemMeta| {
            if !take || !matches!(m.kind.as_str(), "text" | "image") {
                return false;
            }
            if m.size > max {
                progress::note(&format!(
                    "{} from {}: {} bytes, above --max-bytes; not put on the clipboard",
                    m.name, m.sender_name, m.size
                ));
                return false;
            }
            true
        }),
        // A clipboard is about now: what was shared while this was off stays in the inbox.
        inbox: false,
    };
    let mut receiver = Receiver::new(room, &recv_opts);
    let mut desk = Desk {
        board,
        guard: EchoGuard::default(),
        max_bytes: opts.max_bytes,
    };
    let mode = match (opts.send, opts.receive) {
        (true, false) => " (send only)",
        (false, true) => " (receive only)",
        _ => "",
    };
    // The first look only notes what the clipboard holds (it stays local): it comes before
    // the line that says `clip` is ready, so that a copy made after that line is news.
    if opts.send {
        desk.look(room, &mut receiver)?;
    }
    progress::note(&format!(
        "clipboard in step with session {}{mode}",
        room.session_id()
    ));
    let mut next_look = Instant::now() + opts.interval;
    let result = loop {
        let event = match room.poll(POLL) {
            Ok(event) => event,
            Err(e) => break Err(e),
        };
        if let Some(event) = event {
            if let Err(e) = desk.on_event(room, &mut receiver, event) {
                break Err(e);
            }
        }
        if opts.send && Instant::now() >= next_look {
            next_look = Instant::now() + opts.interval;
            if let Err(e) = desk.look(room, &mut receiver) {
                break Err(e);
            }
        }
    };
    receiver.discard_all();
    match result {
        Err(Failure::Interrupted) => {
            progress::note("stopped");
            Ok(())
        }
        other => other,
    }
}

impl Desk {
    fn on_event(
        &mut self,
        room: &mut Room,
        receiver: &mut Receiver,
        event: RoomEvent,
    ) -> Result<(), Failure> {
        for outcome in receiver.on_event(room, event)? {
            match outcome {
                Outcome::Done(finished, meta) => self.place(finished, &meta),
                Outcome::Failed(f) => progress::note(&f.to_string()),
            }
        }
        Ok(())
    }

    /// An item from the session onto the clipboard.
    fn place(&mut self, finished: Finished, meta: &ItemMeta) {
        let clip = match finished {
            Finished::Text(text) => Some(Clip::Text(text)),
            Finished::File(path) => {
                let bytes = std::fs::read(&path).ok();
                let _ = std::fs::remove_file(&path);
                bytes.and_then(|b| match meta.kind.as_str() {
                    "image" => board::decode(&b, self.max_bytes),
                    _ => Some(Clip::Text(String::from_utf8_lossy(&b).into_owned())),
                })
            }
            Finished::Folder(..) => None,
        };
        let Some(clip) = clip else {
            progress::note(&format!(
                "{}: not an image this can put on the clipboard",
                meta.name
            ));
            return;
        };
        match self.board.write(&clip) {
            Ok(()) => {
                self.guard.placed(clip.seen());
                let what = if matches!(clip, Clip::Text(_)) {
                    "text"
                } else {
                    "an image"
                };
                progress::note(&format!("clipboard: {what} from {}", meta.sender_name));
            }
            Err(why) => progress::note(&why),
        }
    }

    /// Looks at the clipboard; a new copy of the user's goes to the session.
    fn look(&mut self, room: &mut Room, receiver: &mut Receiver) -> Result<(), Failure> {
        let Some(clip) = self.board.read() else {
            self.guard.saw_nothing();
            return Ok(());
        };
        if !self.guard.user_copied(clip.seen()) {
            return Ok(());
        }
        let source = match clip {
            Clip::Text(text) => (text.len() as u64 <= self.max_bytes).then_some(Source::Text(text)),
            Clip::Image {
                width,
                height,
                rgba,
            } => board::encode_png(width, height, &rgba)
                .filter(|png| png.len() as u64 <= self.max_bytes)
                .map(|bytes| Source::Image {
                    name: "clipboard.png".into(),
                    mime: "image/png",
                    bytes,
                    width: width as u64,
                    height: height as u64,
                }),
        };
        let Some(source) = source else {
            progress::note("a copy above --max-bytes stays local");
            return Ok(());
        };
        if room.others().next().is_none() && !room.has_inbox() {
            return Ok(());
        }
        let mut forward = |room: &mut Room, event: RoomEvent| self.on_event(room, receiver, event);
        match send::deliver_one(room, source, &mut forward) {
            Ok(_) => Ok(()),
            Err(Failure::TransferFailed(why)) => {
                progress::note(&format!("copy not shared: {why}"));
                Ok(())
            }
            Err(other) => Err(other),
        }
    }
}
