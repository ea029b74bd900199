//! Relaying content between members: the membership check, `to`, the added `from`, and
//! fan-out through [`Io::relay`], which applies backpressure.

use super::*;

impl ShareThings {
    /// Checks membership of the payload's `sessionId`; returns the member and its room.
    pub(super) fn sender(
        &self,
        socket: SocketId,
        object: &Object,
    ) -> Result<(Handle, Handle), Failure> {
        let name = payload::session_id(object)?;
        let member = self.member_of.get(&socket).copied();
        let found = member.and_then(|h| self.members.get(h).map(|m| (h, m.room)));
        match found {
            Some((member, room)) if self.rooms.get(room).is_some_and(|r| r.name == name) => {
                Ok((member, room))
            }
            _ => Err(Failure::new(Code::NotJoined, "join this session first")),
        }
    }

    /// Relays one checked payload; returns the sender's ack. What goes to everyone is also
    /// offered to the session's inbox, whose answer the ack carries as `inbox`.
    pub(super) fn relay(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        relayed: Relayed,
        mut object: Object,
        attachments: Vec<Bytes>,
    ) -> Result<Value, Failure> {
        let (out_event, to_whom) = relayed.check(&object)?;
        let (member, room) = self.sender(socket, &object)?;
        let target = match payload::optional_string(&object, "to")? {
            None => None,
            Some(to) => {
                let found = self.rooms.get(room).and_then(|r| {
                    r.members
                        .iter()
                        .copied()
                        .find(|h| self.members.get(*h).is_some_and(|m| m.client_id == to))
                });
                match found {
                    Some(h) => Some(h),
                    None => {
                        return Err(Failure::invalid(
                            "`to` does not name a member of this session",
                        ))
                    }
                }
            }
        };
        let from = self
            .members
            .get(member)
            .map(|m| m.client_id.clone())
            .unwrap_or_default();
        object.insert("from".into(), Value::String(from));
        // Only the server says what its inbox keeps.
        object.remove("inbox");
        let to_everyone = target.is_none();
        let mut kept = match relayed {
            Relayed::Content if to_everyone => {
                self.keep_content(io, room, &mut object, &attachments)
            }
            _ => None,
        };
        let position = match relayed {
            Relayed::Chunk if to_everyone => inbox::events::chunk_position(&object),
            _ => None,
        };
        let packet = Outgoing::event("/", out_event, vec![Value::Object(object)], attachments);
        let receivers: Vec<SocketId> = match (target, to_whom) {
            (Some(h), _) => self
                .members
                .get(h)
                .and_then(|m| m.socket)
                .into_iter()
                .collect(),
            (None, Relay::Everyone) => self.room_sockets(room).collect(),
            (None, Relay::Others) => self.room_sockets(room).filter(|s| *s != socket).collect(),
        };
        let sent = io.relay(socket, receivers, &packet);
        self.metrics
            .bytes_relayed
            .fetch_add((packet.len() * sent) as u64, Ordering::Relaxed);
        self.metrics.events_relayed.fetch_add(1, Ordering::Relaxed);
        log::trace!("relayed {out_event}");
        // After the relay, so that a member told the item is dropped already has this chunk.
        if position.is_some() {
            kept = self.keep_chunk(io, room, position, &packet);
        }
        if relayed == Relayed::ClearAll {
            self.clear_inbox(room);
        }
        let mut ack = Object::new();
        ack.insert("success".into(), Value::Bool(true));
        if let Some(kept) = kept {
            ack.insert("inbox".into(), kept);
        }
        Ok(Value::Object(ack))
    }

    pub(super) fn room_sockets(&self, room: Handle) -> impl Iterator<Item = SocketId> + '_ {
        self.rooms
            .get(room)
            .into_iter()
            .flat_map(|r| r.members.iter())
            .filter_map(|h| self.members.get(*h).and_then(|m| m.socket))
    }
}
