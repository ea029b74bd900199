//! The inbox in the ShareThings events: turned on by a session's creator, told in every join
//! ack, fed by what is relayed to everyone, read by `inbox-list` and `inbox-fetch`, emptied by
//! `inbox-delete` and `clear-all-content`, and expired by its [`AppTimer::InboxExpiry`].
//!
//! What the inbox keeps is exactly what was relayed (sealed metadata and chunk envelopes, with
//! `from`), so a late joiner gets the same ciphertext the others got and the server learns
//! nothing it did not see already.

use miniserde::json;

use super::inbox::{ChunkKept, Refusal};
use super::*;

/// Chunks one `inbox-fetch` is answered with at most: a late joiner asks for more as these
/// arrive, so its send queue holds a few chunks, never a whole large item.
pub(super) const FETCH_CHUNKS: usize = 8;

/// The inbox events a member may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InboxEvent {
    List,
    Fetch,
    Delete,
}

impl InboxEvent {
    pub(super) fn from_name(name: &str) -> Option<InboxEvent> {
        Some(match name {
            "inbox-list" => InboxEvent::List,
            "inbox-fetch" => InboxEvent::Fetch,
            "inbox-delete" => InboxEvent::Delete,
            _ => return None,
        })
    }
}

/// Why items left an inbox, as `inbox-removed` tells the members.
#[derive(Debug, Clone, Copy)]
enum Removal {
    Deleted,
    Expired,
    Full,
}

impl Removal {
    fn as_str(self) -> &'static str {
        match self {
            Removal::Deleted => "deleted",
            Removal::Expired => "expired",
            Removal::Full => "full",
        }
    }
}

impl ShareThings {
    /// The creating join asked for an inbox.
    pub(super) fn open_inbox(&mut self, room: Handle) {
        self.inboxes.open(room);
        if self.inboxes.is_open(room) {
            if let Some(r) = self.rooms.get(room) {
                log::info!("session {} keeps an inbox", r.route);
            }
        }
    }

    /// `inbox` of a join ack: how long items wait and how much one session keeps, present
    /// only when the session keeps an inbox.
    pub(super) fn inbox_terms(&self, room: Handle) -> Option<Value> {
        if !self.inboxes.is_open(room) {
            return None;
        }
        let limits = self.inboxes.limits();
        let mut terms = Object::new();
        terms.insert(
            "ttlMs".into(),
            number(limits.ttl.as_millis().try_into().unwrap_or(u64::MAX)),
        );
        terms.insert("maxBytes".into(), number(limits.session_bytes as u64));
        Some(Value::Object(terms))
    }

    /// A `content` relayed to everyone: kept when the session has an inbox and it is an item
    /// (a control message has no chunks). Marks the relayed payload `inbox: true` when kept;
    /// returns the `inbox` field of the sender's ack.
    pub(super) fn keep_content(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        room: Handle,
        object: &mut Object,
        attachments: &[Bytes],
    ) -> Option<Value> {
        if !self.inboxes.is_open(room) {
            return None;
        }
        let (content_id, total_chunks) = item_envelope(object)?;
        let kept = self.inboxes.keep_item(
            room,
            &content_id,
            total_chunks,
            object.clone(),
            attachments.to_vec(),
            io.now(),
        );
        self.arm_inbox(io, room);
        self.publish_inbox();
        match kept {
            Ok(()) => {
                object.insert("inbox".into(), Value::Bool(true));
                Some(kept_ack(None))
            }
            Err(refusal) => Some(kept_ack(Some(refusal))),
        }
    }

    /// A `chunk` relayed to everyone, as `packet`: kept when its item is. One that does not
    /// fit drops its item from the inbox (the members are told); returns the `inbox` field of
    /// the sender's ack then.
    pub(super) fn keep_chunk(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        room: Handle,
        position: Option<(String, u64)>,
        packet: &Outgoing,
    ) -> Option<Value> {
        let (content_id, index) = position?;
        match self.inboxes.keep_chunk(room, &content_id, index, packet) {
            ChunkKept::Kept => {
                self.publish_inbox();
                None
            }
            ChunkKept::Ignored => None,
            ChunkKept::Refused(refusal) => {
                self.publish_inbox();
                self.tell_removed(io, room, &[content_id], Removal::Full);
                Some(kept_ack(Some(refusal)))
            }
        }
    }

    /// `clear-all-content`: the session's inbox empties too.
    pub(super) fn clear_inbox(&mut self, room: Handle) {
        if self.inboxes.clear(room) > 0 {
            self.publish_inbox();
        }
    }

    /// The session expired or gave way: its inbox goes with it.
    pub(super) fn close_inbox(&mut self, io: &mut Io<'_, AppTimer>, room: Handle) {
        if let Some(timer) = self.inboxes.close(room) {
            io.cancel_timer(timer);
        }
        self.publish_inbox();
    }

    pub(super) fn inbox_event(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        kind: InboxEvent,
        object: &Object,
    ) -> Result<Value, Failure> {
        let (_, room) = self.sender(socket, object)?;
        if !self.inboxes.is_open(room) {
            return Err(Failure::invalid("this session keeps no inbox"));
        }
        match kind {
            InboxEvent::List => {
                let listed = self.inboxes.listing(room, io.now());
                let count = listed.len();
                for item in listed {
                    let mut payload = item.payload;
                    let ms = item.expires_in.as_millis().try_into().unwrap_or(u64::MAX);
                    payload.insert("expiresInMs".into(), number(ms));
                    io.emit(
                        socket,
                        "inbox-item",
                        vec![Value::Object(payload)],
                        item.data,
                    );
                }
                let mut ack = success_object();
                ack.insert("items".into(), number(count as u64));
                Ok(Value::Object(ack))
            }
            InboxEvent::Fetch => {
                let content_id = content_id(object)?;
                let from = optional_count(object, "fromChunk")?.unwrap_or(0);
                let count = optional_count(object, "count")?
                    .map_or(FETCH_CHUNKS, |n| n.clamp(1, FETCH_CHUNKS as u64) as usize);
                let Some(chunks) = self.inboxes.chunks(room, content_id, from, count) else {
                    return Err(not_in_inbox());
                };
                for packet in &chunks {
                    io.send(socket, packet);
                }
                let mut ack = success_object();
                ack.insert("sent".into(), number(chunks.len() as u64));
                Ok(Value::Object(ack))
            }
            InboxEvent::Delete => {
                let content_id = content_id(object)?.to_string();
                if !self.inboxes.remove(room, &content_id) {
                    return Err(not_in_inbox());
                }
                self.publish_inbox();
                self.tell_removed(io, room, &[content_id], Removal::Deleted);
                Ok(success())
            }
        }
    }

    /// The oldest item of a session's inbox is due: drop what expired, tell the members,
    /// and wait for the next. A session that had no member meanwhile and now keeps nothing
    /// expires as it would have without an inbox.
    pub(super) fn inbox_due(&mut self, io: &mut Io<'_, AppTimer>, room: Handle) {
        self.inboxes.set_timer(room, None);
        let now = io.now();
        let gone = self.inboxes.expire(room, now);
        if !gone.is_empty() {
            self.publish_inbox();
            self.tell_removed(io, room, &gone, Removal::Expired);
        }
        self.arm_inbox(io, room);
        if self.inboxes.holds_items(room) {
            return;
        }
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let Some(empty_since) = r.empty_since.filter(|_| r.members.is_empty()) else {
            return;
        };
        let expires = empty_since + self.config.session_timeout;
        if expires <= now {
            if let Some(timer) = r.expiry.take() {
                io.cancel_timer(timer);
            }
            self.expire_room(io, room);
        } else if r.expiry.is_none() {
            r.expiry = io.set_timer(expires, AppTimer::RoomExpiry(room)).ok();
        }
    }

    /// Arms the inbox's deadline for its oldest item, unless one is armed.
    fn arm_inbox(&mut self, io: &mut Io<'_, AppTimer>, room: Handle) {
        let Some(due) = self.inboxes.next_expiry(room) else {
            return;
        };
        if self.inboxes.timer_armed(room) {
            return;
        }
        let timer = io.set_timer(due, AppTimer::InboxExpiry(room)).ok();
        self.inboxes.set_timer(room, timer);
    }

    fn tell_removed(&self, io: &mut Io<'_, AppTimer>, room: Handle, ids: &[String], why: Removal) {
        let Some(session) = self.rooms.get(room).map(|r| r.name.clone()) else {
            return;
        };
        for id in ids {
            let mut event = Object::new();
            event.insert("sessionId".into(), Value::String(session.clone()));
            event.insert("contentId".into(), Value::String(id.clone()));
            event.insert("reason".into(), Value::String(why.as_str().into()));
            let packet =
                Outgoing::event("/", "inbox-removed", vec![Value::Object(event)], Vec::new());
            self.announce(io, room, &packet, None);
        }
    }

    pub(super) fn publish_inbox(&self) {
        self.metrics
            .inbox_bytes
            .store(self.inboxes.used_bytes() as u64, Ordering::Relaxed);
        self.metrics
            .inbox_items
            .store(self.inboxes.item_count() as u64, Ordering::Relaxed);
    }
}

/// The `chunk.contentId` and `chunk.chunkIndex` of a chunk payload.
pub(super) fn chunk_position(object: &Object) -> Option<(String, u64)> {
    let Some(Value::Object(chunk)) = object.get("chunk") else {
        return None;
    };
    match (chunk.get("contentId"), chunk.get("chunkIndex")) {
        (Some(Value::String(id)), Some(Value::Number(json::Number::U64(index)))) => {
            Some((id.clone(), *index))
        }
        _ => None,
    }
}

/// The `content.contentId` and `content.totalChunks` of an item; `None` for a control
/// message (no chunks) or a payload the web client and CLI never send.
fn item_envelope(object: &Object) -> Option<(String, u64)> {
    let Some(Value::Object(content)) = object.get("content") else {
        return None;
    };
    match (content.get("contentId"), content.get("totalChunks")) {
        (Some(Value::String(id)), Some(Value::Number(json::Number::U64(total))))
            if !id.is_empty() && *total > 0 =>
        {
            Some((id.clone(), *total))
        }
        _ => None,
    }
}

fn content_id(object: &Object) -> Result<&str, Failure> {
    payload::check_content_id(object)?;
    match object.get("contentId") {
        Some(Value::String(id)) => Ok(id),
        _ => Err(Failure::invalid("contentId must be a non-empty string")),
    }
}

fn optional_count(object: &Object, key: &str) -> Result<Option<u64>, Failure> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(json::Number::U64(n))) => Ok(Some(*n)),
        Some(_) => Err(Failure::invalid(format!(
            "{key} must be a non-negative integer"
        ))),
    }
}

fn not_in_inbox() -> Failure {
    Failure::new(
        Code::NotInInbox,
        "the inbox keeps no such item (it expired, was deleted or was never kept)",
    )
}

/// `{kept:true}`, or `{kept:false, code, error}` when the inbox refused the item.
fn kept_ack(refusal: Option<Refusal>) -> Value {
    let mut object = Object::new();
    object.insert("kept".into(), Value::Bool(refusal.is_none()));
    if let Some(refusal) = refusal {
        let failure = match refusal {
            Refusal::SessionFull => Failure::new(
                Code::InboxFull,
                "this session's inbox is full: the item reached the members online but is not kept for others",
            ),
            Refusal::ServerFull => Failure::new(
                Code::ServerInboxFull,
                "the server has no more room for inbox items: the item reached the members online but is not kept for others",
            ),
        };
        object.insert("code".into(), Value::String(failure.code.as_str().into()));
        object.insert("error".into(), Value::String(failure.message));
    }
    Value::Object(object)
}

fn success_object() -> Object {
    let mut object = Object::new();
    object.insert("success".into(), Value::Bool(true));
    object
}

fn number(n: u64) -> Value {
    Value::Number(json::Number::U64(n))
}
