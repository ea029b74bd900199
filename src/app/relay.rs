//! Relaying content between members: the membership check, `to`, the added `from`, and
//! fan-out through [`Io::relay`], which applies backpressure. What goes to everyone passes by
//! the session's inbox, once before it is sent and once after (`inbox/events.rs`). A clear
//! needs the creator's say in a v3 session (`authority.rs`).

use super::authority::Action;
use super::*;

impl ShareThings {
    /// Checks membership of the payload's `sessionId`; returns the member and its room.
    pub(super) fn sender(
        &self,
        socket: SocketId,
        object: &Object,
    ) -> Result<(Handle, Handle), Failure> {
        let name = payload::session_id(object)?;
        let member = self.rooms.member_on(socket);
        let found = member.and_then(|h| self.rooms.member(h).map(|m| (h, m.room)));
        match found {
            Some((member, room)) if self.rooms.room(room).is_some_and(|r| r.name == name) => {
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
        if relayed == Relayed::ClearAll {
            self.authorize(socket, room, Action::Clear, &object)?;
            // The creator's signature is for the server: members are told only of the clear.
            object.remove("auth");
        }
        let target = match payload::optional_string(&object, "to")? {
            None => None,
            Some(to) => match self.rooms.find(room, to) {
                Some(h) => Some(h),
                None => {
                    return Err(Failure::invalid(
                        "`to` does not name a member of this session",
                    ))
                }
            },
        };
        let from = self
            .rooms
            .member(member)
            .map(|m| m.client_id.clone())
            .unwrap_or_default();
        object.insert("from".into(), Value::String(from));
        // Only the server says what its inbox keeps.
        object.remove("inbox");
        let to_everyone = target.is_none();
        let inbox =
            self.inbox_before_relay(io, room, relayed, to_everyone, &mut object, &attachments);
        let packet = Outgoing::event("/", out_event, vec![Value::Object(object)], attachments);
        let receivers: Vec<SocketId> = match (target, to_whom) {
            (Some(h), _) => self
                .rooms
                .member(h)
                .and_then(Member::socket)
                .into_iter()
                .collect(),
            (None, Relay::Everyone) => self.rooms.sockets(room).collect(),
            (None, Relay::Others) => self.rooms.sockets(room).filter(|s| *s != socket).collect(),
        };
        let sent = io.relay(socket, receivers, &packet);
        self.metrics
            .bytes_relayed
            .fetch_add((packet.len() * sent) as u64, Ordering::Relaxed);
        self.metrics.events_relayed.fetch_add(1, Ordering::Relaxed);
        log::trace!("relayed {out_event}");
        let kept = self.inbox_after_relay(io, room, inbox, &packet);
        let mut ack = Object::new();
        ack.insert("success".into(), Value::Bool(true));
        if let Some(kept) = kept {
            ack.insert("inbox".into(), kept);
        }
        Ok(Value::Object(ack))
    }
}
