//! The answers to `inbox-list` and `inbox-fetch`: a page at a time, each event built from
//! what the inbox keeps (read from disk within the turn's budget), stopping before the asker's
//! queue passes its mark; and who fetched what.

use super::super::*;
use super::events::{
    content_id, millis, not_in_inbox, number, optional_count, page_size, success_object, Removal,
    FETCH_CHUNKS, LIST_ITEMS,
};
use super::reads::Answer;

impl ShareThings {
    /// `inbox-list`: a page of kept items, each as its `inbox-item` event.
    pub(super) fn list(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        room: Handle,
        object: &Object,
    ) -> Result<Value, Failure> {
        let from = optional_count(object, "from")?.unwrap_or(0);
        let count = page_size(object, LIST_ITEMS)?;
        let session = self.session_name(room)?;
        let mut room_left = io.queue_room(socket, self.held_bytes());
        let mut listed = Array::new();
        let mut lost = Vec::new();
        let mut next = None;
        for position in self.inboxes.positions(room, from, count.saturating_add(1)) {
            if listed.len() == count {
                next = Some(position);
                break;
            }
            let Some(item) = self.inboxes.listed(room, position, &session, io.now()) else {
                continue;
            };
            let packet = match item.answer {
                Answer::Packet(packet) => packet,
                Answer::Lost => {
                    lost.push(item.content_id);
                    continue;
                }
                Answer::Later => {
                    next = Some(position);
                    break;
                }
            };
            if packet.len() > room_left {
                next = Some(position);
                break;
            }
            room_left -= packet.len();
            io.send(socket, &packet);
            let mut entry = Object::new();
            entry.insert("contentId".into(), Value::String(item.content_id));
            let left = item.expires.saturating_duration_since(io.now());
            entry.insert("expiresInMs".into(), millis(left));
            listed.push(Value::Object(entry));
        }
        self.lost(io, room, &lost);
        let mut ack = success_object();
        ack.insert("items".into(), Value::Array(listed));
        if let Some(next) = next {
            ack.insert("next".into(), number(next));
        }
        Ok(Value::Object(ack))
    }

    /// `inbox-fetch`: a page of a kept item's chunks. The member that gets its last chunk is
    /// recorded as having fetched it, and the other members are told.
    pub(super) fn fetch(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        room: Handle,
        object: &Object,
    ) -> Result<Value, Failure> {
        let content_id = content_id(object)?.to_string();
        let from = optional_count(object, "fromChunk")?.unwrap_or(0);
        let count = page_size(object, FETCH_CHUNKS)?;
        let session = self.session_name(room)?;
        let mut room_left = io.queue_room(socket, self.held_bytes());
        let (Some(indices), Some(total)) = (
            self.inboxes
                .chunk_indices(room, &content_id, from, count.saturating_add(1)),
            self.inboxes.total_chunks(room, &content_id),
        ) else {
            return Err(not_in_inbox());
        };
        let (mut sent, mut next, mut last_sent) = (0u64, None, false);
        for index in indices {
            if sent == count as u64 {
                next = Some(index);
                break;
            }
            let packet = match self
                .inboxes
                .chunk(room, &content_id, index, &session, io.now())
            {
                Some(Answer::Packet(packet)) => packet,
                Some(Answer::Later) => {
                    next = Some(index);
                    break;
                }
                Some(Answer::Lost) | None => {
                    self.lost(io, room, std::slice::from_ref(&content_id));
                    return Err(not_in_inbox());
                }
            };
            if packet.len() > room_left {
                next = Some(index);
                break;
            }
            room_left -= packet.len();
            io.send(socket, &packet);
            sent += 1;
            last_sent |= index + 1 == total;
        }
        if last_sent {
            self.fetched(io, socket, room, &content_id);
        }
        let mut ack = success_object();
        ack.insert("sent".into(), number(sent));
        if let Some(next) = next {
            ack.insert("next".into(), number(next));
        }
        Ok(Value::Object(ack))
    }

    /// The member on `socket` got the last chunk of `content_id`: recorded, and told to every
    /// other member as `inbox-fetched` the first time.
    fn fetched(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        room: Handle,
        content_id: &str,
    ) {
        let Some(client_id) = self
            .rooms
            .member_on(socket)
            .and_then(|m| self.rooms.member(m))
            .map(|m| m.client_id.clone())
        else {
            return;
        };
        if !self.inboxes.record_fetch(room, content_id, &client_id) {
            return;
        }
        self.publish_inbox();
        let Some(session) = self.rooms.room(room).map(|r| r.name.clone()) else {
            return;
        };
        let mut event = Object::new();
        event.insert("sessionId".into(), Value::String(session));
        event.insert("contentId".into(), Value::String(content_id.into()));
        event.insert("clientId".into(), Value::String(client_id));
        let packet = Outgoing::event("/", "inbox-fetched", vec![Value::Object(event)], Vec::new());
        // The fetcher has the last chunk in hand; the others learn it has the item.
        self.announce(io, room, &packet, Some(socket));
    }

    /// Items whose bytes could not be read back were dropped: the members are told.
    fn lost(&mut self, io: &mut Io<'_, AppTimer>, room: Handle, ids: &[String]) {
        if !ids.is_empty() {
            self.publish_inbox();
            self.tell_removed(io, room, ids, Removal::Unreadable);
        }
    }

    fn session_name(&self, room: Handle) -> Result<String, Failure> {
        self.rooms
            .room(room)
            .map(|r| r.name.clone())
            .ok_or_else(|| Failure::new(Code::NotJoined, "session vanished"))
    }
}
