//! Admission by a member (docs/protocol.md, "Admission by a member"): a connection that knows
//! a v3 session's name applies, waits, and runs CPace with a member through `admit`
//! messages that the server relays without reading; once it holds the room secret it joins
//! as a member on the same connection.
//!
//! What the server enforces, since it cannot read the run: an applicant is no member (it gets
//! no content, no names, no inbox, and sends nothing but `admit`); it talks only to members
//! online, and members only to their room's applicants; each message is one step of a run in
//! its sender's direction (applicants 1 and 3, members 0, 2 and 4), at most `ADMIT_BYTES`;
//! every `step: 1` is a passphrase guess, counted by the join rate limits before it is
//! relayed; an applicant never holds a member back (a member's messages to it are queued
//! without backpressure on the member); and an applicant lives `APPLICANT_TIMEOUT` at most.
//! `data` is never logged.

use super::*;

impl ShareThings {
    /// `join {sessionId, v: 3, apply: true}` for a session that exists and is v3.
    pub(super) fn apply(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        session: &str,
        existing: Option<Handle>,
    ) -> Result<Value, Failure> {
        let Some(room) = existing else {
            return Err(Failure::new(
                Code::NoSuchSession,
                "no session by this name: create it, or open an invite link",
            ));
        };
        // A repeated apply answers as the first did.
        if let Some(a) = self.applicants.get(socket).filter(|a| a.room == room) {
            let client_id = a.client_id.clone();
            return Ok(self.applicant_ack(room, client_id));
        }
        // One session per connection, in one role.
        if let Some(member) = self.rooms.member_on(socket) {
            self.remove_member(io, member, "left");
            self.arm_join_deadline(io, socket);
        }
        if self.applicants.get(socket).is_some() {
            self.drop_applicant(io, socket);
            self.arm_join_deadline(io, socket);
        }
        let address = io.remote(socket);
        if let Some(wait) = address.and_then(|a| self.limits.address_blocked(a, io.now())) {
            return Err(rate_limited(wait));
        }
        let Some(client_id) = io.socket_id(socket).map(str::to_string) else {
            return Err(Failure::new(Code::NotJoined, "connection closed"));
        };
        if self
            .applicants
            .add(socket, room, client_id.clone(), address)
            .is_err()
        {
            return Err(Failure::new(
                Code::TooManyApplicants,
                "too many devices are waiting to join this session; try again later",
            ));
        }
        // From now on the applicant's deadline applies, not the join deadline.
        let timeout = self.config.applicant_timeout;
        self.arm_deadline(io, socket, timeout, AppTimer::ApplicantDeadline(socket));
        let arrived = Outgoing::event(
            "/",
            "applicant",
            vec![member_event(session, &client_id, None)],
            Vec::new(),
        );
        for member in self.rooms.sockets(room) {
            io.send(member, &arrived);
        }
        if let Some(r) = self.rooms.room(room) {
            log::debug!("a device applies to session {}", r.route);
        }
        self.publish();
        Ok(self.applicant_ack(room, client_id))
    }

    /// `{success, applicant: true, clientId, members}`: the ids of the members online, who
    /// can admit it.
    fn applicant_ack(&self, room: Handle, client_id: String) -> Value {
        let members = self
            .rooms
            .members_of(room)
            .filter(|m| m.socket().is_some())
            .map(|m| Value::String(m.client_id.clone()))
            .collect();
        let mut ack = Object::new();
        ack.insert("success".into(), Value::Bool(true));
        ack.insert("applicant".into(), Value::Bool(true));
        ack.insert("clientId".into(), Value::String(client_id));
        ack.insert("members".into(), Value::Array(members));
        Value::Object(ack)
    }

    /// Whether `socket` is an applicant of the session the payload names.
    pub(super) fn applies_to(&self, socket: SocketId, object: &Object) -> bool {
        let Some(Value::String(session)) = object.get("sessionId") else {
            return false;
        };
        self.applicants
            .get(socket)
            .and_then(|a| self.rooms.room(a.room))
            .is_some_and(|r| &r.name == session)
    }

    /// The socket stops applying (it left, joined elsewhere, became a member, timed out or
    /// went away): the members are told. Its deadline is the caller's business.
    pub(super) fn drop_applicant(&mut self, io: &mut Io<'_, AppTimer>, socket: SocketId) {
        let Some(applicant) = self.applicants.remove(socket) else {
            return;
        };
        if let Some(r) = self.rooms.room(applicant.room) {
            let left = Outgoing::event(
                "/",
                "applicant-left",
                vec![member_event(&r.name, &applicant.client_id, None)],
                Vec::new(),
            );
            for member in self.rooms.sockets(applicant.room) {
                io.send(member, &left);
            }
        }
        self.publish();
    }

    /// An applicant's `APPLICANT_TIMEOUT` passed: it goes, and so does its connection.
    pub(super) fn applicant_deadline_passed(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
    ) {
        self.deadlines.remove(&socket);
        if self.applicants.get(socket).is_some() {
            log::debug!("closing an applicant that was not admitted in time");
            self.drop_applicant(io, socket);
            io.close_client(socket);
        }
    }

    /// `admit {sessionId, to, step, data}`, relayed to `to` as `admit {sessionId, from, step,
    /// data}`: from an applicant to a member online, or from a member to an applicant.
    pub(super) fn admit(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        mut object: Object,
        attachments: &[Bytes],
    ) -> Result<Value, Failure> {
        let session = payload::session_id(&object)?;
        let (to, step) = payload::check_admit(&object, self.config.admit_bytes)?;
        let to = to.to_string();
        if !attachments.is_empty() {
            return Err(Failure::invalid("admit messages carry no binary data"));
        }
        let (room, from, receiver) = if self.applies_to(socket, &object) {
            self.check_applicants_admit(io, socket, &to, step)?
        } else {
            let (member, room) = self.sender(socket, &object)?;
            let from = self
                .rooms
                .member(member)
                .map(|m| m.client_id.clone())
                .unwrap_or_default();
            if !matches!(step, 0 | 2 | 4) {
                return Err(Failure::invalid("a member sends steps 0, 2 and 4"));
            }
            let Some(receiver) = self.applicants.find(room, &to) else {
                return Err(Failure::invalid(
                    "`to` does not name an applicant of this session",
                ));
            };
            (room, from, receiver)
        };
        let mut relayed = Object::new();
        relayed.insert("sessionId".into(), Value::String(session));
        relayed.insert("from".into(), Value::String(from));
        relayed.insert(
            "step".into(),
            Value::Number(miniserde::json::Number::U64(step)),
        );
        if let Some(data) = object.remove("data") {
            relayed.insert("data".into(), data);
        }
        let packet = Outgoing::event("/", "admit", vec![Value::Object(relayed)], Vec::new());
        if self.applicants.get(socket).is_some() {
            // An applicant feeding a slow member waits for it, as a member would.
            io.relay(socket, [receiver], &packet);
        } else {
            // A stranger that stops reading must not pause a member: its queue is capped and
            // stalls out like anyone's, and the member carries on.
            io.send(receiver, &packet);
        }
        self.metrics.admit_messages.fetch_add(1, Ordering::Relaxed);
        if let Some(r) = self.rooms.room(room) {
            log::trace!("admit step {step} relayed in session {}", r.route);
        }
        Ok(success())
    }

    /// Checks an applicant's `admit` to member `to`; returns the room, the applicant's id and
    /// the member's socket. A `step: 1` is a guess at the passphrase: refused past the join
    /// limits, counted against them otherwise.
    fn check_applicants_admit(
        &mut self,
        io: &mut Io<'_, AppTimer>,
        socket: SocketId,
        to: &str,
        step: u64,
    ) -> Result<(Handle, String, SocketId), Failure> {
        let Some((room, from)) = self
            .applicants
            .get(socket)
            .map(|a| (a.room, a.client_id.clone()))
        else {
            return Err(Failure::new(Code::NotJoined, "apply to this session first"));
        };
        if !matches!(step, 1 | 3) {
            return Err(Failure::invalid("an applicant sends steps 1 and 3"));
        }
        let receiver = self
            .rooms
            .find(room, to)
            .and_then(|m| self.rooms.member(m))
            .and_then(Member::socket);
        let Some(receiver) = receiver else {
            return Err(Failure::invalid(
                "`to` does not name a member of this session online",
            ));
        };
        if step == 1 {
            let (now, address) = (io.now(), io.remote(socket));
            if let Some(wait) = address.and_then(|a| self.limits.address_blocked(a, now)) {
                return Err(rate_limited(wait));
            }
            if let Some(wait) = self.limits.room_blocked(room, address, now) {
                return Err(rate_limited(wait));
            }
            self.limits.record_failure(io, address, room, now);
            self.applicants.begin_run(socket, to, now);
        } else if !self.applicants.finish_run(socket, to) {
            return Err(Failure::invalid(
                "step 3 answers a run this applicant began with that member",
            ));
        }
        Ok((room, from, receiver))
    }
}
