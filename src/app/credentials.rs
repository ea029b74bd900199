//! What a device is given to join and to come back with: a challenge's nonce for a v3 proof,
//! the join ack and its token (when it expires, and the issue number the room's revocations
//! go by), and invites for other devices.

use super::*;

impl ShareThings {
    /// `challenge`: a fresh nonce for this connection's next join to prove the room key over.
    pub(super) fn challenge(&mut self, socket: SocketId) -> Value {
        let nonce = self.challenges.issue(socket);
        let mut ack = Object::new();
        ack.insert("success".into(), Value::Bool(true));
        ack.insert(
            "nonce".into(),
            Value::String(data_encoding::BASE64.encode(&nonce)),
        );
        Value::Object(ack)
    }

    /// A join with the fingerprint: the member's token lives a full lifetime from now.
    pub(super) fn renew_token(&mut self, member: Handle, now: Instant) {
        let expires = self.now_ms(now).saturating_add(token_lifetime_ms());
        if let Some(m) = self.rooms.member_mut(member) {
            m.token_expires_ms = expires;
        }
    }

    /// A token rejoin: the new token expires when the one it came with did.
    pub(super) fn keep_token_expiry(&mut self, member: Handle, claims: &TokenClaims) {
        if let Some(m) = self.rooms.member_mut(member) {
            m.token_expires_ms = claims.expires_ms;
        }
    }

    /// `invite`: an invite to the member's v2 room for another device, valid for a token's
    /// lifetime (and as long as the room lives). Joins that carry it skip the room's limit on
    /// failed joins; their failures still count against their own address. A v3 room's
    /// invites carry its key, which the server never sees: it makes none.
    pub(super) fn invite(
        &self,
        io: &Io<'_, AppTimer>,
        socket: SocketId,
        object: &Object,
    ) -> Result<Value, Failure> {
        let (_, room) = self.sender(socket, object)?;
        let r = self
            .rooms
            .room(room)
            .ok_or_else(|| Failure::new(Code::NotJoined, "session vanished"))?;
        if r.format() == Format::V3 {
            return Err(Failure::invalid(
                "a v3 session's invites carry its key: the server makes none",
            ));
        }
        let nonce = r.nonce;
        let expires_ms = self.now_ms(io.now()).saturating_add(token_lifetime_ms());
        let mut ack = Object::new();
        ack.insert("success".into(), Value::Bool(true));
        ack.insert(
            "invite".into(),
            Value::String(self.keys.sign_invite(nonce, expires_ms)),
        );
        ack.insert(
            "expiresInMs".into(),
            Value::Number(miniserde::json::Number::U64(token_lifetime_ms())),
        );
        Ok(Value::Object(ack))
    }

    /// Whether `invite` is a valid invite to this incarnation of `room`.
    pub(super) fn invited(&self, room: Handle, invite: Option<&str>, now: Instant) -> bool {
        invite
            .and_then(|i| self.keys.verify_invite(i, self.now_ms(now)))
            .is_some_and(|nonce| self.rooms.room(room).is_some_and(|r| r.nonce == nonce))
    }

    /// The ack of a successful join, with a fresh token for the member.
    pub(super) fn joined_ack(&mut self, member: Handle, created: bool) -> Result<Value, Failure> {
        let vanished = || Failure::new(Code::NotJoined, "member vanished");
        let (room, client_id, expires_ms) = self
            .rooms
            .member(member)
            .map(|m| (m.room, m.client_id.clone(), m.token_expires_ms))
            .ok_or_else(vanished)?;
        let r = self.rooms.room_mut(room).ok_or_else(vanished)?;
        let issue = r.tokens_issued;
        r.tokens_issued += 1;
        let token = self.keys.sign(&TokenClaims {
            room_nonce: r.nonce,
            client_id: client_id.clone(),
            expires_ms,
            issue,
        });
        if let Some(m) = self.rooms.member_mut(member) {
            m.token_issue = issue;
        }
        // v2 members are listed with their names; v3 members by id only, with the applicants
        // waiting to be admitted (there are none in a v2 room).
        let mut clients = Array::new();
        for other in self.rooms.members_of(room) {
            let mut c = Object::new();
            c.insert("id".into(), Value::String(other.client_id.clone()));
            if let Some(name) = &other.name {
                c.insert("name".into(), Value::String(name.clone()));
            }
            clients.push(Value::Object(c));
        }
        let mut ack = Object::new();
        ack.insert("success".into(), Value::Bool(true));
        ack.insert("token".into(), Value::String(token));
        ack.insert("clientId".into(), Value::String(client_id));
        ack.insert("clients".into(), Value::Array(clients));
        ack.insert("created".into(), Value::Bool(created));
        if self.rooms.room(room).map(Room::format) == Some(Format::V3) {
            let applicants = self
                .applicants
                .of_room(room)
                .map(|(_, a)| Value::String(a.client_id.clone()))
                .collect();
            ack.insert("applicants".into(), Value::Array(applicants));
        }
        if let Some(terms) = self.inbox_terms(room) {
            ack.insert("inbox".into(), terms);
        }
        Ok(Value::Object(ack))
    }
}

fn token_lifetime_ms() -> u64 {
    u64::try_from(TOKEN_LIFETIME.as_millis()).unwrap_or(u64::MAX)
}
