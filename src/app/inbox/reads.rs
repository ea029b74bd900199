//! Building the events a listing or a fetch sends, from memory or from disk, and how much one
//! turn of the event loop may read from disk.
//!
//! The loop is one thread: a read from a slow SD card stalls every connection while it lasts.
//! So reads from disk are bounded per turn ([`TurnBudget`]): past the budget an answer stops
//! early and its ack says where to go on from (`next`), as it does when the asker's queue is
//! full; the asker asks again and is served in a later turn. The first read of a turn always
//! goes ahead, so every answer makes progress.

use std::time::Instant;

use bytes::Bytes;

use super::*;

/// Bytes read from disk in the current turn of the event loop. The loop reads its clock once
/// per turn, so a new `now` is a new turn.
pub(super) struct TurnBudget {
    per_turn: usize,
    turn: Option<Instant>,
    read: usize,
}

impl TurnBudget {
    pub(super) fn new(per_turn: usize) -> TurnBudget {
        TurnBudget {
            per_turn,
            turn: None,
            read: 0,
        }
    }

    /// Whether `bytes` may be read in the turn of `now`; counts them if so.
    fn take(&mut self, now: Instant, bytes: u64) -> bool {
        if self.turn != Some(now) {
            self.turn = Some(now);
            self.read = 0;
        }
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        if self.read > 0 && self.read.saturating_add(bytes) > self.per_turn {
            return false;
        }
        self.read = self.read.saturating_add(bytes);
        true
    }
}

/// What a listing or fetch gets for one item or chunk.
pub enum Answer {
    /// The event to send.
    Packet(Outgoing),
    /// This turn's disk budget is spent: stop here and say where to go on from.
    Later,
    /// Its bytes could not be read (a damaged or vanished file): it was dropped.
    Lost,
}

/// One kept item as a listing sends it.
pub struct Listed {
    pub content_id: String,
    pub expires: Instant,
    pub answer: Answer,
}

impl Inboxes {
    /// The kept item at `position` of `room` as the `inbox-item` event for `session`.
    pub fn listed(
        &mut self,
        room: Handle,
        position: u64,
        session: &str,
        now: Instant,
    ) -> Option<Listed> {
        let item = self.rooms.get(&room)?.items.get(&position)?;
        let (content_id, expires) = (item.content_id.clone(), item.expires);
        let fetched_by = Some(item.fetched_by.as_slice());
        let answer = match &item.body {
            Body::Memory { kept, .. } => packet(
                kept::LISTING_EVENT,
                session,
                &kept.json,
                kept.data.clone(),
                fetched_by,
            ),
            Body::Disk {
                file, item: span, ..
            } => {
                let disk = self.disk.as_mut()?;
                if !disk.reads.take(now, span.len()) {
                    Answer::Later
                } else {
                    match disk.store.read(file, *span) {
                        Ok(read) => packet(
                            kept::LISTING_EVENT,
                            session,
                            &read.json,
                            bytes_of(read.data),
                            fetched_by,
                        ),
                        Err(e) => {
                            log::warn!("cannot read an inbox item back: {e}");
                            Answer::Lost
                        }
                    }
                }
            }
        };
        if matches!(answer, Answer::Lost) {
            self.remove(room, &content_id);
        }
        Some(Listed {
            content_id,
            expires,
            answer,
        })
    }

    /// Chunk `index` of kept item `content_id` as the `chunk` event for `session`.
    pub fn chunk(
        &mut self,
        room: Handle,
        content_id: &str,
        index: u64,
        session: &str,
        now: Instant,
    ) -> Option<Answer> {
        let item = self.rooms.get(&room)?.item(content_id)?;
        let answer = match &item.body {
            Body::Memory { chunks, .. } => Answer::Packet(chunks.get(&index)?.clone()),
            Body::Disk { file, chunks, .. } => {
                let span = *chunks.get(&index)?;
                let disk = self.disk.as_mut()?;
                if !disk.reads.take(now, span.len()) {
                    Answer::Later
                } else {
                    match disk.store.read(file, span) {
                        Ok(read) => packet("chunk", session, &read.json, bytes_of(read.data), None),
                        Err(e) => {
                            log::warn!("cannot read an inbox chunk back: {e}");
                            Answer::Lost
                        }
                    }
                }
            }
        };
        if matches!(answer, Answer::Lost) {
            self.remove(room, content_id);
        }
        Some(answer)
    }
}

fn packet(
    name: &str,
    session: &str,
    json: &[u8],
    data: Option<Bytes>,
    fetched_by: Option<&[String]>,
) -> Answer {
    match kept::packet(name, session, json, data, fetched_by) {
        Some(packet) => Answer::Packet(packet),
        None => {
            log::warn!("an inbox record's envelope is damaged");
            Answer::Lost
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_reads_its_budget_and_always_its_first_record() {
        let t0 = Instant::now();
        let mut budget = TurnBudget::new(1000);
        assert!(budget.take(t0, 5000), "the first read of a turn goes ahead");
        assert!(!budget.take(t0, 1), "then the turn's budget is spent");
        let t1 = t0 + std::time::Duration::from_millis(1);
        assert!(budget.take(t1, 600));
        assert!(budget.take(t1, 400));
        assert!(!budget.take(t1, 1));
    }
}
