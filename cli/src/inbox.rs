//! What `receive` missed, from the session's inbox (docs/protocol.md, "Inbox"): it lists the
//! kept items a page at a time and fetches their chunks a window at a time, one item after
//! another, oldest first, so neither the server's queue for us nor our memory ever holds more
//! than a page of metadata and a window of chunks. What this machine already has (received
//! or sent before, in this run or an earlier one) is remembered in a small state file, so a
//! second `receive` does not fetch it again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use serde_json::{json, Value};
use sharethings_protocol::format::chunks::MAX_UNACKED_CHUNKS;

use crate::item::Content;
use crate::room::Room;

/// Where requests go: the session, or a recording in the tests. Returns the ack id, `None`
/// while disconnected.
pub trait Emit {
    fn emit(&mut self, event: &str, payload: Value) -> Option<u64>;
    fn has_inbox(&self) -> bool;
}

impl Emit for Room {
    fn emit(&mut self, event: &str, payload: Value) -> Option<u64> {
        Room::emit(self, event, payload, &[])
    }
    fn has_inbox(&self) -> bool {
        Room::has_inbox(self)
    }
}

/// Chunks asked for at once: the server sends at most this many per `inbox-fetch`.
const FETCH_CHUNKS: u64 = MAX_UNACKED_CHUNKS as u64;
/// The next window is asked for once fewer than this many asked-for chunks are still due.
const REFILL_BELOW: u64 = 4;
/// Items asked for per `inbox-list` page (the server's most).
const PAGE_ITEMS: u64 = 32;

/// The item being fetched: chunks `[0, asked)` were asked for.
struct Fetching {
    id: String,
    total: u64,
    asked: u64,
}

#[derive(Default)]
pub struct Inbox {
    /// Ack id of the `inbox-list` in flight.
    listing: Option<u64>,
    /// Where the next page starts, asked for once the queue is empty.
    next_page: Option<u64>,
    queue: VecDeque<Content>,
    fetching: Option<Fetching>,
    /// Ack ids of `inbox-fetch` requests in flight, by item.
    fetches: HashMap<u64, String>,
}

impl Inbox {
    /// Asks for the first page, when the session keeps an inbox. Called after each join: a
    /// rejoin may have missed items while it was away.
    pub fn list(&mut self, room: &mut impl Emit) {
        if room.has_inbox() && self.listing.is_none() {
            self.ask_page(room, 0);
        }
    }

    fn ask_page(&mut self, room: &mut impl Emit, from: u64) {
        self.next_page = None;
        self.listing = room.emit("inbox-list", json!({ "from": from, "count": PAGE_ITEMS }));
    }

    /// A listed item the caller wants: fetched after those listed before it.
    pub fn enqueue(&mut self, item: Content) {
        self.queue.push_back(item);
    }

    /// Whether `id` is queued or being fetched here.
    pub fn has(&self, id: &str) -> bool {
        self.fetching.as_ref().is_some_and(|f| f.id == id) || self.queue.iter().any(|c| c.id == id)
    }

    pub fn is_fetching(&self, id: &str) -> bool {
        self.fetching.as_ref().is_some_and(|f| f.id == id)
    }

    /// The next item to receive when none is being fetched; the caller starts it and then
    /// calls [`refill`](Self::refill). Asks for the next page when the queue runs dry.
    pub fn next(&mut self, room: &mut impl Emit) -> Option<Content> {
        if self.fetching.is_some() {
            return None;
        }
        let item = self.queue.pop_front();
        if let Some(c) = &item {
            self.fetching = Some(Fetching {
                id: c.id.clone(),
                total: c.total_chunks,
                asked: 0,
            });
        } else if let (Some(from), None) = (self.next_page, self.listing) {
            self.ask_page(room, from);
        }
        item
    }

    /// Asks for the next window of the item being fetched, once `received` of the chunks
    /// asked for have arrived and fewer than [`REFILL_BELOW`] are still due.
    pub fn refill(&mut self, room: &mut impl Emit, received: u64) {
        let Some(f) = self.fetching.as_mut() else {
            return;
        };
        if f.asked >= f.total || f.asked.saturating_sub(received) >= REFILL_BELOW {
            return;
        }
        let count = FETCH_CHUNKS.min(f.total - f.asked);
        let request = json!({ "contentId": f.id, "fromChunk": f.asked, "count": count });
        f.asked += count;
        if let Some(ack) = room.emit("inbox-fetch", request) {
            self.fetches.insert(ack, f.id.clone());
        }
    }

    /// After a rejoin: the windows in flight are lost; ask again from the first chunk missing.
    pub fn restart(&mut self, room: &mut impl Emit, first_missing: u64) {
        self.fetches.clear();
        self.listing = None;
        if let Some(f) = self.fetching.as_mut() {
            f.asked = first_missing;
            self.refill(room, first_missing);
        }
    }

    /// The item being fetched ended (saved, failed or gone from the inbox).
    pub fn done(&mut self, id: &str) {
        if self.is_fetching(id) {
            self.fetching = None;
        }
        self.queue.retain(|c| c.id != id);
    }

    /// An ack; returns whether it was one of ours. A page that ends early says where the
    /// next begins; a window the server cut short (its queue for us was full) says where to
    /// go on from.
    pub fn on_ack(
        &mut self,
        room: &mut impl Emit,
        id: u64,
        payload: &Value,
        received: u64,
    ) -> bool {
        if self.listing == Some(id) {
            self.listing = None;
            self.next_page = payload["next"].as_u64();
            return true;
        }
        let Some(item) = self.fetches.remove(&id) else {
            return false;
        };
        if let (Some(f), Some(next)) = (self.fetching.as_mut(), payload["next"].as_u64()) {
            if f.id == item && next < f.asked {
                f.asked = next;
                self.refill(room, received);
            }
        }
        true
    }
}

/// Ids of the items this machine has of one session: received, or sent by it. Kept in
/// `$XDG_STATE_HOME/sharethings-cli/` (else `~/.local/state/sharethings-cli/`), one id a
/// line, the newest [`SeenLog::KEEP`]; without either variable nothing is kept.
pub struct SeenLog {
    path: Option<PathBuf>,
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl SeenLog {
    const KEEP: usize = 4096;

    /// The log of the session with routing key `route` (which does not show its name).
    pub fn open(route: &str) -> SeenLog {
        let dir = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")));
        let path = dir.map(|d| d.join("sharethings-cli").join(format!("seen-{route}")));
        Self::at(path)
    }

    fn at(path: Option<PathBuf>) -> SeenLog {
        let text = path
            .as_ref()
            .and_then(|p| fs::read_to_string(p).ok())
            .unwrap_or_default();
        let mut log = SeenLog {
            path,
            ids: HashSet::new(),
            order: VecDeque::new(),
        };
        for id in text.lines().filter(|l| is_content_id(l)) {
            log.remember(id);
        }
        log
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    fn remember(&mut self, id: &str) -> bool {
        if !self.ids.insert(id.to_string()) {
            return false;
        }
        self.order.push_back(id.to_string());
        if self.order.len() > Self::KEEP {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        true
    }

    /// Records `id`: appended to the file, which is rewritten with the newest ids once it
    /// holds twice as many as are kept. A log that cannot be written only means that a later
    /// `receive` may fetch the item again.
    pub fn record(&mut self, id: &str) {
        if !is_content_id(id) || !self.remember(id) {
            return;
        }
        let Some(path) = &self.path else { return };
        if let Some(dir) = path.parent() {
            let _ = fs::create_dir_all(dir);
        }
        let lines = fs::read_to_string(path).map_or(0, |t| t.lines().count());
        let _ = if lines >= 2 * Self::KEEP {
            let all: String = self.order.iter().map(|i| format!("{i}\n")).collect();
            fs::write(path, all)
        } else {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| writeln!(f, "{id}"))
        };
    }
}

/// A content id as clients make them (32 hex digits, docs/protocol.md), so the log never
/// holds anything else.
fn is_content_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records requests; acks are numbered from 0.
    #[derive(Default)]
    struct Wire {
        sent: Vec<(String, Value)>,
    }

    impl Emit for Wire {
        fn emit(&mut self, event: &str, payload: Value) -> Option<u64> {
            self.sent.push((event.into(), payload));
            Some(self.sent.len() as u64 - 1)
        }
        fn has_inbox(&self) -> bool {
            true
        }
    }

    fn item(id: &str, total: u64) -> Content {
        Content {
            id: id.into(),
            total_chunks: total,
            from: "s".into(),
            sender: None,
            sealed: crate::item::Sealed::Control(crate::item::Control::Clear),
        }
    }

    fn windows(w: &Wire) -> Vec<(String, u64, u64)> {
        w.sent
            .iter()
            .filter(|(e, _)| e == "inbox-fetch")
            .map(|(_, p)| {
                let id = p["contentId"].as_str().unwrap().to_string();
                (
                    id,
                    p["fromChunk"].as_u64().unwrap(),
                    p["count"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn items_are_fetched_one_after_another_a_window_at_a_time() {
        let mut w = Wire::default();
        let mut inbox = Inbox::default();
        inbox.list(&mut w);
        assert_eq!(
            w.sent[0],
            ("inbox-list".into(), json!({"from": 0, "count": 32}))
        );
        inbox.enqueue(item("a", 20));
        inbox.enqueue(item("b", 1));
        assert!(inbox.on_ack(&mut w, 0, &json!({"success": true, "items": []}), 0));
        assert_eq!(inbox.next(&mut w).unwrap().id, "a");
        assert!(inbox.next(&mut w).is_none(), "one item at a time");
        inbox.refill(&mut w, 0);
        assert_eq!(windows(&w), [("a".into(), 0, 8)]);
        for received in 1..=4 {
            inbox.refill(&mut w, received);
        }
        assert_eq!(
            windows(&w).len(),
            1,
            "four or more still due: no new window"
        );
        inbox.refill(&mut w, 5);
        assert_eq!(windows(&w)[1], ("a".into(), 8, 8));
        inbox.refill(&mut w, 13);
        assert_eq!(
            windows(&w)[2],
            ("a".into(), 16, 4),
            "the last window is short"
        );
        inbox.refill(&mut w, 20);
        assert_eq!(windows(&w).len(), 3);
        inbox.done("a");
        assert_eq!(inbox.next(&mut w).unwrap().id, "b");
        inbox.done("b");
        assert!(inbox.next(&mut w).is_none());
        assert_eq!(
            w.sent.iter().filter(|(e, _)| e == "inbox-list").count(),
            1,
            "no next page"
        );
    }

    #[test]
    fn a_short_window_and_a_page_with_more_are_continued_from_where_the_ack_says() {
        let mut w = Wire::default();
        let mut inbox = Inbox::default();
        inbox.list(&mut w);
        inbox.on_ack(
            &mut w,
            0,
            &json!({"success": true, "items": [], "next": 32}),
            0,
        );
        inbox.enqueue(item("a", 30));
        inbox.next(&mut w);
        inbox.refill(&mut w, 0);
        let fetch_ack = w.sent.len() as u64 - 1;
        // The server's queue for us was full: it sent chunks 0-2 and says go on from 3.
        assert!(inbox.on_ack(
            &mut w,
            fetch_ack,
            &json!({"success": true, "sent": 3, "next": 3}),
            3
        ));
        assert_eq!(windows(&w)[1], ("a".into(), 3, 8));
        assert!(!inbox.on_ack(&mut w, 99, &json!({}), 0), "not ours");
        inbox.done("a");
        assert!(inbox.next(&mut w).is_none());
        assert_eq!(
            w.sent.last().unwrap(),
            &("inbox-list".into(), json!({"from": 32, "count": 32}))
        );
    }

    #[test]
    fn a_rejoin_asks_again_from_the_first_missing_chunk() {
        let mut w = Wire::default();
        let mut inbox = Inbox::default();
        inbox.enqueue(item("a", 30));
        inbox.next(&mut w);
        inbox.refill(&mut w, 0);
        inbox.refill(&mut w, 6);
        inbox.restart(&mut w, 5);
        assert_eq!(windows(&w).last().unwrap(), &("a".into(), 5, 8));
        assert_eq!(w.sent.iter().filter(|(e, _)| e == "inbox-list").count(), 0);
    }

    #[test]
    fn the_seen_log_survives_a_restart_and_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/seen-x");
        let mut log = SeenLog::at(Some(path.clone()));
        log.record("ab12");
        log.record("ab12");
        log.record("not hex\nab");
        let again = SeenLog::at(Some(path.clone()));
        assert!(again.contains("ab12"));
        assert!(!again.contains("not hex"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "ab12\n");

        let mut log = SeenLog::at(Some(path.clone()));
        for i in 0..(3 * SeenLog::KEEP) {
            log.record(&format!("{i:x}"));
        }
        let lines = fs::read_to_string(&path).unwrap().lines().count();
        assert!(
            lines <= 2 * SeenLog::KEEP,
            "the file stays bounded: {lines}"
        );
        let again = SeenLog::at(Some(path));
        assert!(again.contains(&format!("{:x}", 3 * SeenLog::KEEP - 1)));
        assert!(!again.contains("0"), "the oldest are forgotten");

        let mut nowhere = SeenLog::at(None);
        nowhere.record("ab");
        assert!(nowhere.contains("ab"));
    }
}
