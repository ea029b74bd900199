//! The inbox in the ShareThings events: turned on by a session's creator, told in every join
//! ack, fed by what is relayed to everyone (the relay enters here before and after it sends),
//! read by `inbox-list` and `inbox-fetch`, emptied by `inbox-delete` and `clear-all-content`,
//! and expired by its [`AppTimer::InboxExpiry`].
//!
//! What the inbox keeps is what was relayed (the documented envelope, its sealed metadata
//! and the chunk packets, with `from`), so a late joiner gets the same ciphertext the others
//! got and the server learns nothing it did not see already.
//!
//! Every answer is bounded before it is queued: a listing or a fetch stops at its page size,
//! and earlier when the asker's send queue would pass its high-water mark or the process its
//! memory budget; the ack then says where to go on from (`next`).

use miniserde::json;

use super::super::*;
use super::{kept, ChunkKept, NewItem, OfferedChunk, Refusal};
use crate::app::authority::Action;
use crate::app::room_record::{Admission, RoomRecord};

/// Chunks one `inbox-fetch` is answered with at most: a late joiner asks for more as these
/// arrive, so its send queue holds a few chunks, never a whole large item.
pub(in crate::app) const FETCH_CHUNKS: usize = 8;
/// Items one `inbox-list` is answered with at most.
pub(in crate::app) const LIST_ITEMS: usize = 32;

/// The inbox events a member may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::app) enum InboxEvent {
    List,
    Fetch,
    Delete,
}

impl InboxEvent {
    pub(in crate::app) fn from_name(name: &str) -> Option<InboxEvent> {
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
pub(super) enum Removal {
    Deleted,
    Expired,
    Full,
    Unreadable,
}

impl Removal {
    fn as_str(self) -> &'static str {
        match self {
            Removal::Deleted => "deleted",
            Removal::Expired => "expired",
            Removal::Full => "full",
            Removal::Unreadable => "unreadable",
        }
    }
}

impl ShareThings {
    /// The creating join asked for an inbox.
    pub(in crate::app) fn open_inbox(&mut self, room: Handle) {
        let key = self
            .rooms
            .room(room)
            .map(|r| RoomKey(self.keys.room_file_key(&r.name)));
        self.inboxes.open(room, key);
        if self.inboxes.is_open(room) {
            if let Some(r) = self.rooms.room(room) {
                log::info!("session {} keeps an inbox", r.route);
            }
        }
    }

    /// `inbox` of a join ack: how long items wait, how much one session keeps and, in a v3
    /// session, whether any member may clear it; present only when the session keeps an inbox.
    pub(in crate::app) fn inbox_terms(&self, room: Handle) -> Option<Value> {
        if !self.inboxes.is_open(room) {
            return None;
        }
        let limits = self.inboxes.limits();
        let mut terms = Object::new();
        terms.insert("ttlMs".into(), millis(limits.ttl));
        terms.insert("maxBytes".into(), number(limits.session_bytes as u64));
        if let Some(owner) = self.rooms.room(room).and_then(|r| r.owner) {
            terms.insert("anyoneMayClear".into(), Value::Bool(owner.anyone_may_clear));
        }
        Some(Value::Object(terms))
    }

    /// The inbox's part in a relay, before the payload is sent: an item (a `content` to
    /// everyone) is kept, and marked `inbox: true` in what is relayed when it is. Returns what
    /// is left to do once the payload is sent, for [`Self::inbox_after_relay`].
    pub(in crate::app) fn inbox_before_relay(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        room: Handle,
        relayed: Relayed,
        to_everyone: bool,
        object: &mut Object,
        attachments: &[Bytes],
    ) -> InboxStep {
        if !to_everyone || !self.inboxes.is_open(room) {
            return InboxStep::Done(None);
        }
        match relayed {
            Relayed::Content => InboxStep::Done(self.keep_content(io, room, object, attachments)),
            Relayed::Chunk => match chunk_position(object) {
                Some((content_id, index)) => {
                    let envelope = self
                        .inboxes
                        .is_on_disk()
                        .then(|| kept::chunk(object, attachments));
                    InboxStep::KeepChunk(content_id, index, envelope)
                }
                None => InboxStep::Done(None),
            },
            Relayed::ClearAll => InboxStep::Clear,
            Relayed::RemoveContent => InboxStep::Done(None),
        }
    }

    /// The inbox's part in a relay, once the payload was sent as `packet`: a chunk of a kept
    /// item is kept (the very packet, shared), and a clear empties the inbox. After the send,
    /// so that a member told an item is dropped already has the chunk that did not fit.
    /// Returns the `inbox` field of the sender's ack.
    pub(in crate::app) fn inbox_after_relay(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        room: Handle,
        step: InboxStep,
        packet: &Outgoing,
    ) -> Option<Value> {
        match step {
            InboxStep::Done(ack) => ack,
            InboxStep::KeepChunk(content_id, index, envelope) => {
                let chunk = match envelope {
                    Some(envelope) => OfferedChunk::Envelope(envelope),
                    None => OfferedChunk::Packet(packet),
                };
                self.keep_chunk(io, room, content_id, index, chunk)
            }
            InboxStep::Clear => {
                if !self.inboxes.clear(room).is_empty() {
                    self.publish_inbox();
                }
                None
            }
        }
    }

    /// A `content` relayed to everyone: kept when it is an item (a control message has no
    /// chunks), marked when kept; returns the `inbox` field of the sender's ack.
    fn keep_content(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        room: Handle,
        object: &mut Object,
        attachments: &[Bytes],
    ) -> Option<Value> {
        let (content_id, total_chunks) = kept::item_of(object)?;
        let sender = match object.get("from") {
            Some(Value::String(from)) => from.clone(),
            _ => String::new(),
        };
        let envelope = kept::item(object, attachments);
        let now = io.now();
        let kept = self.ensure_room_file(room).and_then(|()| {
            self.inboxes.keep_item(
                room,
                NewItem {
                    content_id: &content_id,
                    sender: &sender,
                    total_chunks,
                },
                envelope,
                now,
                self.now_ms(now),
            )
        });
        self.arm_inbox(io, room);
        self.publish_inbox();
        match kept {
            Ok(_) => {
                object.insert("inbox".into(), Value::Bool(true));
                Some(kept_ack(None))
            }
            Err(refusal) => Some(kept_ack(Some(refusal))),
        }
    }

    /// A `chunk` relayed to everyone, as `packet`: kept when its item is. One that does not
    /// fit drops its item from the inbox (the members are told); returns the `inbox` field of
    /// the sender's ack then.
    fn keep_chunk(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        room: Handle,
        content_id: String,
        index: u64,
        chunk: OfferedChunk<'_>,
    ) -> Option<Value> {
        match self.inboxes.keep_chunk(room, &content_id, index, chunk) {
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

    /// The session expired or gave way: its inbox goes with it.
    pub(in crate::app) fn close_inbox(&mut self, io: &mut Io<'_, AppTimer>, room: Handle) {
        if let Some(timer) = self.inboxes.close(room) {
            io.cancel_timer(timer);
        }
        self.publish_inbox();
    }

    pub(in crate::app) fn inbox_event(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        kind: InboxEvent,
        object: &Object,
    ) -> Result<Value, Failure> {
        let (member, room) = self.sender(socket, object)?;
        if !self.inboxes.is_open(room) {
            return Err(Failure::invalid("this session keeps no inbox"));
        }
        match kind {
            InboxEvent::List => self.list(io, socket, room, object),
            InboxEvent::Fetch => self.fetch(io, socket, room, object),
            InboxEvent::Delete => {
                let content_id = content_id(object)?.to_string();
                let Some(sender) = self.inboxes.sender_of(room, &content_id) else {
                    return Err(not_in_inbox());
                };
                let own = self
                    .rooms
                    .member(member)
                    .is_some_and(|m| m.client_id == sender);
                if !own {
                    self.authorize(socket, room, Action::Delete(&content_id), object)?;
                }
                if !self.inboxes.remove(room, &content_id) {
                    return Err(not_in_inbox());
                }
                self.publish_inbox();
                self.tell_removed(io, room, &[content_id], Removal::Deleted);
                Ok(success())
            }
        }
    }

    /// Before the first item of an inbox on disk: its `room` file, so that the room comes
    /// back with what admits its members after a restart.
    fn ensure_room_file(&mut self, room: Handle) -> Result<(), Refusal> {
        if !self.inboxes.needs_room_file(room) {
            return Ok(());
        }
        let Some(r) = self.rooms.room(room) else {
            return Ok(());
        };
        let record = RoomRecord {
            nonce: r.nonce,
            admission: Admission::of(&r.gate),
            owner: r.owner.map(|o| o.key()),
        };
        let revoked = r.revoked.listed();
        self.inboxes.write_room_file(room, &record, &revoked)
    }

    /// The oldest item of a session's inbox is due: drop what expired, tell the members,
    /// and wait for the next. A session that had no member meanwhile and now keeps nothing
    /// expires as it would have without an inbox.
    pub(in crate::app) fn inbox_due(&mut self, io: &mut Io<'_, AppTimer>, room: Handle) {
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
        let Some(r) = self.rooms.room_mut(room) else {
            return;
        };
        let Some(empty_since) = r.empty_since.filter(|_| r.is_empty()) else {
            return;
        };
        let expires = empty_since + self.config.room_timeout;
        if expires <= now {
            if let Some(timer) = r.expiry.take() {
                io.cancel_timer(timer);
            }
            self.expire_room(io, room);
        } else if r.expiry.is_none() {
            r.expiry = io.set_timer(expires, AppTimer::RoomExpiry(room)).ok();
        }
    }

    /// A member of `room` left on purpose: its revocation goes to the room's file too. If it
    /// cannot be written, the room's files go (a revocation forgotten at the next start would
    /// let a revoked token back in), and the members are told which items went.
    pub(in crate::app) fn inbox_revoked(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        room: Handle,
        revocation: &Revocation,
    ) {
        let gone = self.inboxes.record_revocation(room, revocation);
        if !gone.is_empty() {
            self.publish_inbox();
            self.tell_removed(io, room, &gone, Removal::Full);
        }
    }

    /// The oldest item among the inboxes found on disk whose rooms nobody named since is due:
    /// drop what expired, wait for the next.
    pub(in crate::app) fn dormant_due(&mut self, io: &mut Io<'_, AppTimer>) {
        self.inboxes.dormant.timer = None;
        self.inboxes.expire_dormant(io.now());
        self.publish_inbox();
        if let Some(due) = self.inboxes.next_dormant_expiry() {
            self.inboxes.dormant.timer = io.set_timer(due, AppTimer::DormantExpiry).ok();
        }
    }

    /// Arms the inbox's deadline for its oldest item, unless one is armed.
    pub(in crate::app) fn arm_inbox(&mut self, io: &mut Io<'_, AppTimer>, room: Handle) {
        let Some(due) = self.inboxes.next_expiry(room) else {
            return;
        };
        if self.inboxes.timer_armed(room) {
            return;
        }
        let timer = io.set_timer(due, AppTimer::InboxExpiry(room)).ok();
        self.inboxes.set_timer(room, timer);
    }

    pub(super) fn tell_removed(
        &self,
        io: &mut Io<'_, AppTimer>,
        room: Handle,
        ids: &[String],
        why: Removal,
    ) {
        let Some(session) = self.rooms.room(room).map(|r| r.name.clone()) else {
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

    pub(in crate::app) fn publish_inbox(&self) {
        self.metrics
            .inbox_bytes
            .store(self.inboxes.used_bytes() as u64, Ordering::Relaxed);
        self.metrics
            .inbox_items
            .store(self.inboxes.item_count() as u64, Ordering::Relaxed);
        self.metrics
            .inbox_disk_bytes
            .store(self.inboxes.disk_bytes(), Ordering::Relaxed);
    }
}

/// What is left for the inbox to do once a relayed payload is sent.
pub(in crate::app) enum InboxStep {
    /// Nothing: here is the `inbox` field of the sender's ack, if any.
    Done(Option<Value>),
    /// Keep chunk `index` of item `contentId`: the sent packet (in memory), or this envelope
    /// (on disk).
    KeepChunk(String, u64, Option<kept::Kept>),
    /// Empty the inbox (a `clear-all-content`).
    Clear,
}

/// The `chunk.contentId` and `chunk.chunkIndex` of a chunk payload.
fn chunk_position(object: &Object) -> Option<(String, u64)> {
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

pub(super) fn content_id(object: &Object) -> Result<&str, Failure> {
    payload::check_content_id(object)?;
    match object.get("contentId") {
        Some(Value::String(id)) => Ok(id),
        _ => Err(Failure::invalid("contentId must be a non-empty string")),
    }
}

/// The `count` a request asks for, between 1 and `max` (`max` when it names none).
pub(super) fn page_size(object: &Object, max: usize) -> Result<usize, Failure> {
    Ok(optional_count(object, "count")?.map_or(max, |n| {
        usize::try_from(n).unwrap_or(usize::MAX).clamp(1, max)
    }))
}

pub(super) fn optional_count(object: &Object, key: &str) -> Result<Option<u64>, Failure> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(json::Number::U64(n))) => Ok(Some(*n)),
        Some(_) => Err(Failure::invalid(format!(
            "{key} must be a non-negative integer"
        ))),
    }
}

pub(super) fn not_in_inbox() -> Failure {
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
            Refusal::TooLarge => Failure::new(
                Code::InboxItemTooLarge,
                "this item's envelope and sealed metadata are larger than the inbox keeps: the item reached the members online but is not kept for others",
            ),
            Refusal::SessionFull => Failure::new(
                Code::InboxFull,
                "this session's inbox is full: the item reached the members online but is not kept for others",
            ),
            Refusal::ServerFull => Failure::new(
                Code::ServerInboxFull,
                "the server has no more room for inbox items: the item reached the members online but is not kept for others",
            ),
            Refusal::DiskFull => Failure::new(
                Code::InboxDiskFull,
                "the server's disk is full: the item reached the members online but is not kept for others",
            ),
            Refusal::DiskError => Failure::new(
                Code::InboxDiskError,
                "the server could not write the item to its disk: it reached the members online but is not kept for others",
            ),
        };
        object.insert("code".into(), Value::String(failure.code.as_str().into()));
        object.insert("error".into(), Value::String(failure.message));
    }
    Value::Object(object)
}

pub(super) fn success_object() -> Object {
    let mut object = Object::new();
    object.insert("success".into(), Value::Bool(true));
    object
}

pub(super) fn number(n: u64) -> Value {
    Value::Number(json::Number::U64(n))
}

pub(super) fn millis(duration: std::time::Duration) -> Value {
    number(duration.as_millis().try_into().unwrap_or(u64::MAX))
}
