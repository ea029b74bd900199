//! Membership of one ShareThings session: the first join (v2: the fingerprint; v3: a proof
//! from the room key for the server's challenge), token rejoins on a new connection after one
//! is lost (same `clientId`, as the web client does), the member list, and the session's
//! events handed to the caller one at a time. In v3 the roster's business (hellos, admissions
//! of applicants) is settled here, between the caller's calls, so that sending and receiving
//! never see it (`room/v3.rs`).

mod apply;
mod backoff;
mod returning;
mod v3;

use std::time::{Duration, Instant};

use data_encoding::BASE64;
use serde_json::{json, Value};

use crate::codec::{Codec, Layout};
use crate::connection::{Connection, Lost};
use crate::exit::Failure;
use crate::item::Content;
use crate::socketio::Message;
use crate::transport::{ConnectError, Endpoint};
use sharethings_protocol::route_key;

pub use apply::{apply, Applied, Keep};
use backoff::Backoff;
use returning::Returning;

const JOIN_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct Settings {
    pub endpoint: Endpoint,
    pub session_id: String,
    pub client_name: String,
    /// How long to keep trying to get back after a lost connection before giving up.
    pub reconnect_for: Duration,
    /// Ask for an inbox when this join creates the session (`--inbox`).
    pub inbox: bool,
}

/// Another connection in the session, as the server lists it (v2 names it; v3 does not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub name: String,
}

/// What happened in the session, for the sender or the receiver to act on.
#[derive(Debug)]
pub enum RoomEvent {
    /// A relayed `content`, opened: an item, or a control the caller acts on.
    Content(Content),
    /// An item the session's inbox kept (`inbox-item`), opened as a `content` is.
    Kept(Content),
    /// The inbox dropped an item (`inbox-removed`): its payload as it came.
    InboxRemoved(Value),
    /// A relayed `chunk`, payload and attachments as they came (opened by its item).
    Chunk {
        payload: Value,
        binaries: Vec<Vec<u8>>,
    },
    Ack {
        id: u64,
        payload: Value,
    },
    MemberJoined(Member),
    /// A member missing after our rejoin is back (`room/returning.rs`): under its old id
    /// (`was`), or under a new one: in format 3 its device's hello vouches for it, in format 2
    /// its name, if no one else's.
    MemberReturned {
        member: Member,
        was: String,
    },
    MemberLeft(Member),
    /// Back in the session on a new connection: acks of the old one will never come.
    Rejoined,
}

pub struct Room {
    settings: Settings,
    codec: Codec,
    route: String,
    conn: Option<Connection>,
    token: String,
    pub self_id: String,
    pub members: Vec<Member>,
    next_ack: u64,
    /// The join ack's `inbox` ({ttlMs, maxBytes}) when the session keeps one.
    inbox: Option<Value>,
    /// Members missing after our last rejoin, and how long they have to come back.
    returning: Returning,
}

impl Room {
    /// Connects and joins; creates the session if it does not exist yet.
    pub fn join(settings: Settings, codec: Codec) -> Result<Room, Failure> {
        let route = route_key(&settings.session_id);
        let conn = Connection::open(&settings.endpoint, &route).map_err(connect_failure)?;
        Room::join_on_open(settings, codec, route, conn)
    }

    /// Joins on a connection already open (an applicant's, once admitted).
    fn join_on_open(
        settings: Settings,
        codec: Codec,
        route: String,
        mut conn: Connection,
    ) -> Result<Room, Failure> {
        let mut room = Room {
            settings,
            codec,
            route,
            conn: None,
            token: String::new(),
            self_id: String::new(),
            members: Vec::new(),
            next_ack: 0,
            inbox: None,
            returning: Returning::default(),
        };
        let ack = room.join_on(&mut conn, false)?;
        room.accept_join(conn, &ack)?;
        Ok(room)
    }

    pub fn codec(&self) -> &Codec {
        &self.codec
    }

    pub fn layout(&self) -> Layout {
        self.codec.layout()
    }

    /// The session's routing key: names it in local state without showing its name.
    pub fn route(&self) -> &str {
        &self.route
    }

    pub fn session_id(&self) -> &str {
        &self.settings.session_id
    }

    /// The display name this device shows the others.
    pub fn client_name(&self) -> &str {
        &self.settings.client_name
    }

    pub fn others(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(move |m| m.id != self.self_id)
    }

    /// The other members online that have a name here, with it: v2's from the server, v3's
    /// from the signed roster (the server names nobody in v3; a member whose hello has not
    /// come yet has no name).
    pub fn named_others(&self) -> Vec<Member> {
        self.others()
            .filter_map(|m| {
                let name = match &self.codec {
                    Codec::V2 { .. } => m.name.clone(),
                    Codec::V3(v3) => {
                        let roster = &v3.member.stored.roster;
                        roster.name_of(roster.device_of(&m.id)?)?.to_string()
                    }
                };
                Some(Member {
                    id: m.id.clone(),
                    name,
                })
            })
            .collect()
    }

    /// Whether the session keeps an inbox (docs/protocol.md, "Inbox").
    pub fn has_inbox(&self) -> bool {
        self.inbox.is_some()
    }

    pub fn is_member(&self, id: &str) -> bool {
        self.members.iter().any(|m| m.id == id)
    }

    /// Whether `id` was in the session before our connection dropped and may still come back
    /// (`room/returning.rs`).
    pub fn is_expected_back(&self, id: &str) -> bool {
        self.returning.is_expected(id)
    }

    /// Whether anyone missing since our last rejoin may still come back.
    pub fn expecting_returns(&self) -> bool {
        self.returning.any()
    }

    /// The v3 device of the member on connection `id`, once its hello bound it.
    fn device_of_client(&self, id: &str) -> Option<String> {
        match &self.codec {
            Codec::V2 { .. } => None,
            Codec::V3(v3) => v3.member.stored.roster.device_of(id).map(String::from),
        }
    }

    /// The name to show for a member's connection: v2's from the server, v3's from the
    /// signed roster (the device whose hello came from it), never from the server.
    pub fn name_of_client(&self, id: &str) -> String {
        match &self.codec {
            Codec::V2 { .. } => self
                .members
                .iter()
                .find(|m| m.id == id)
                .map_or_else(String::new, |m| m.name.clone()),
            Codec::V3(v3) => {
                let roster = &v3.member.stored.roster;
                roster
                    .device_of(id)
                    .map_or_else(|| "an unknown device".into(), |d| roster.display_name(d))
            }
        }
    }

    /// The name to show for an item's or control's sender.
    pub fn sender_name(&self, content: &Content) -> String {
        self.codec.sender_name(content)
    }

    /// Seals and emits a `content` (an item's metadata or a control message): the ack id,
    /// or `None` while disconnected.
    pub fn emit_content(
        &mut self,
        id: &str,
        total: u64,
        json: &Value,
        to: Option<&str>,
    ) -> Result<Option<u64>, Failure> {
        let (payload, data) = self.codec.seal_content(id, total, json, to)?;
        Ok(self.emit("content", payload, &[&data]))
    }

    /// Seals and emits chunk `index` of item `id` (its exact plaintext).
    pub fn emit_chunk(
        &mut self,
        id: &str,
        index: u64,
        total: u64,
        plain: &[u8],
        to: Option<&str>,
    ) -> Option<u64> {
        let (payload, data) = self.codec.seal_chunk(id, index, total, plain, to);
        self.emit("chunk", payload, &[&data])
    }

    /// Emits on the current connection and returns the ack id, or `None` while disconnected
    /// (the next [`poll`](Self::poll) reconnects and reports [`RoomEvent::Rejoined`]).
    pub fn emit(&mut self, event: &str, payload: Value, attachments: &[&[u8]]) -> Option<u64> {
        let id = self.next_ack;
        self.next_ack += 1;
        let conn = self.conn.as_mut()?;
        let mut payload = payload;
        payload["sessionId"] = json!(self.settings.session_id);
        match conn.emit(event, &payload, attachments, Some(id)) {
            Ok(()) => Some(id),
            Err(Lost(_)) => {
                self.conn = None;
                None
            }
        }
    }

    /// The next event within `timeout`. A lost connection is repaired here: reconnect with
    /// backoff, rejoin with the token, then [`RoomEvent::Rejoined`]. A member missing after the
    /// rejoin that does not come back in time is reported as [`RoomEvent::MemberLeft`].
    pub fn poll(&mut self, timeout: Duration) -> Result<Option<RoomEvent>, Failure> {
        if crate::exit::stop_requested() {
            return Err(Failure::Interrupted);
        }
        self.tick()?;
        if let Some(back) = self.back_under_its_name() {
            return Ok(Some(back));
        }
        if let Some(m) = self.returning.overdue(Instant::now()) {
            crate::progress::note(&format!("{} did not come back", m.name));
            return Ok(Some(self.member_left(m)));
        }
        let timeout = self.due_within(timeout);
        let timeout = self.returning.next_due().map_or(timeout, |due| {
            timeout.min(due.saturating_duration_since(Instant::now()))
        });
        let Some(conn) = self.conn.as_mut() else {
            self.reconnect()?;
            return Ok(Some(RoomEvent::Rejoined));
        };
        match conn.poll(timeout) {
            Ok(Some(message)) => self.handle(message),
            Ok(None) => Ok(None),
            Err(Lost(why)) => {
                crate::progress::note(&format!("connection lost ({why}); reconnecting"));
                self.conn = None;
                self.reconnect()?;
                Ok(Some(RoomEvent::Rejoined))
            }
        }
    }

    /// A format 2 member missing after our rejoin, online again under a new id and its name
    /// (`room/returning.rs`; format 3's are known by their devices' hellos).
    fn back_under_its_name(&mut self) -> Option<RoomEvent> {
        if !matches!(self.codec, Codec::V2 { .. }) || !self.returning.any() {
            return None;
        }
        let online: Vec<Member> = self.others().cloned().collect();
        let (before, member) = self.returning.back_by_name(&online)?;
        crate::progress::note(&format!("{} is back", before.name));
        Some(RoomEvent::MemberReturned {
            member,
            was: before.id,
        })
    }

    /// Treats the connection as lost (the server said we are not joined any more).
    pub fn drop_connection(&mut self) {
        self.conn = None;
    }

    fn handle(&mut self, message: Message) -> Result<Option<RoomEvent>, Failure> {
        let (name, payload, binaries) = match message {
            Message::Ack { id, payload, .. } => return Ok(Some(RoomEvent::Ack { id, payload })),
            Message::Event {
                name,
                payload,
                binaries,
            } => (name, payload, binaries),
            _ => return Ok(None),
        };
        let member = || Member {
            id: text(&payload["clientId"]),
            name: text(&payload["clientName"]),
        };
        Ok(match name.as_str() {
            "content" => self.open_content(&payload, &binaries, false)?,
            "inbox-item" => self.open_content(&payload, &binaries, true)?,
            "inbox-removed" => Some(RoomEvent::InboxRemoved(payload)),
            "chunk" => Some(RoomEvent::Chunk { payload, binaries }),
            "client-joined" => {
                let m = member();
                let returned = self.returning.settled(&m.id);
                self.members.retain(|x| x.id != m.id);
                self.members.push(m.clone());
                Some(match returned {
                    Some(before) => {
                        crate::progress::note(&format!("{} is back", before.name));
                        RoomEvent::MemberReturned {
                            was: m.id.clone(),
                            member: m,
                        }
                    }
                    None => RoomEvent::MemberJoined(m),
                })
            }
            "client-left" => {
                let m = Member {
                    name: self.name_of_client(&text(&payload["clientId"])),
                    ..member()
                };
                Some(self.member_left(m))
            }
            "applicant" | "applicant-left" | "admit" => {
                self.on_admission_event(&name, &payload)?;
                None
            }
            "error" if payload["code"] == "replaced" => return Err(Failure::Replaced),
            // content-removed, all-content-cleared, and whatever later versions add.
            _ => None,
        })
    }

    /// `m` left the session (or did not come back after our rejoin).
    fn member_left(&mut self, m: Member) -> RoomEvent {
        self.returning.settled(&m.id);
        self.members.retain(|x| x.id != m.id);
        if let Some(v3) = self.codec.v3() {
            v3.member.stored.roster.unbind(&m.id);
        }
        RoomEvent::MemberLeft(m)
    }

    fn reconnect(&mut self) -> Result<(), Failure> {
        let give_up = Instant::now() + self.settings.reconnect_for;
        let mut backoff = Backoff::default();
        // Named now, with their v3 devices: both come from the roster's binding of the
        // member's connection, which a new connection does not have.
        let before: Vec<(Member, Option<String>)> = self
            .others()
            .map(|m| {
                let named = Member {
                    name: self.name_of_client(&m.id),
                    ..m.clone()
                };
                (named, self.device_of_client(&m.id))
            })
            .collect();
        loop {
            let attempt = Connection::open(&self.settings.endpoint, &self.route)
                .map_err(connect_failure)
                .and_then(|mut conn| self.join_on(&mut conn, true).map(|ack| (conn, ack)));
            let pause = match attempt {
                Ok((conn, ack)) => {
                    self.accept_join(conn, &ack)?;
                    let missing = self
                        .returning
                        .rejoined(before, &self.members, Instant::now());
                    crate::progress::note(&returning::back_note(&missing));
                    return Ok(());
                }
                Err(Failure::RateLimited { retry_after }) => retry_after.max(backoff.next()),
                Err(Failure::Unreachable(_)) => backoff.next(),
                Err(other) => return Err(other),
            };
            if Instant::now() + pause > give_up {
                return Err(Failure::Unreachable(
                    "could not get back into the session".into(),
                ));
            }
            if crate::exit::stop_requested() {
                return Err(Failure::Interrupted);
            }
            std::thread::sleep(pause);
        }
    }

    /// A `content` or an `inbox-item` payload (`kept`) opened with the session's codec: its
    /// [`RoomEvent::Content`] or [`RoomEvent::Kept`]; or, in v3, the roster's business settled
    /// here, which is `None` unless a hello brought back a member missing under a new id
    /// ([`RoomEvent::MemberReturned`]).
    fn open_content(
        &mut self,
        payload: &Value,
        binaries: &[Vec<u8>],
        kept: bool,
    ) -> Result<Option<RoomEvent>, Failure> {
        let event = match &self.codec {
            Codec::V2 { .. } => self
                .codec
                .open_v2(payload, binaries)
                .map(RoomEvent::Content),
            Codec::V3(_) => self.on_v3_content(payload, binaries, kept)?,
        };
        Ok(match event {
            Some(RoomEvent::Content(content)) if kept => Some(RoomEvent::Kept(content)),
            other => other,
        })
    }

    /// Sends `join` and waits for its ack. A rejoin presents the token and the credential
    /// (v2's fingerprint, v3's proof): the token keeps our clientId; the credential decides
    /// if the session was forgotten, and brings it back.
    fn join_on(&mut self, conn: &mut Connection, rejoin: bool) -> Result<Value, Failure> {
        let mut join = match &self.codec {
            Codec::V2 { keys, .. } => json!({
                "sessionId": self.settings.session_id,
                "clientName": self.settings.client_name,
                "fingerprint": keys.fingerprint,
            }),
            Codec::V3(v3) => {
                let nonce = request(
                    conn,
                    &mut self.next_ack,
                    "challenge",
                    json!({ "sessionId": self.settings.session_id }),
                )?;
                let nonce = join_result(nonce)?;
                let nonce = nonce["nonce"]
                    .as_str()
                    .and_then(|n| BASE64.decode(n.as_bytes()).ok())
                    .ok_or_else(|| {
                        Failure::Unreachable("the server's challenge has no nonce".into())
                    })?;
                let keys = &v3.member.keys;
                json!({
                    "sessionId": self.settings.session_id,
                    "v": sharethings_protocol::format::v3::VERSION,
                    "access": BASE64.encode(keys.access_key()),
                    // A join that brings the session back names its creator as the first did,
                    // so that the server's inbox answers to the same device.
                    "owner": BASE64.encode(&v3.member.stored.secret.creator_pk),
                    "proof": BASE64.encode(&keys.join_proof(&self.settings.session_id, &nonce)),
                })
            }
        };
        if rejoin {
            join["token"] = json!(self.token);
        }
        if self.settings.inbox {
            join["inbox"] = json!(true);
        }
        join_result(request(conn, &mut self.next_ack, "join", join)?)
    }

    fn accept_join(&mut self, conn: Connection, ack: &Value) -> Result<(), Failure> {
        self.token = text(&ack["token"]);
        self.self_id = text(&ack["clientId"]);
        self.inbox = ack.get("inbox").filter(|i| i.is_object()).cloned();
        self.members = ack["clients"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|m| Member {
                        id: text(&m["id"]),
                        name: text(&m["name"]),
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.conn = Some(conn);
        self.after_join(ack)
    }

    /// Leaves the session and closes the connection cleanly.
    pub fn leave(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let payload = json!({ "sessionId": self.settings.session_id });
            let _ = conn.emit("leave", &payload, &[], None);
            conn.close();
        }
    }
}

/// Emits `event` and waits for its ack (within [`JOIN_TIMEOUT`]); other messages meanwhile
/// are dropped (nothing is joined yet).
fn request(
    conn: &mut Connection,
    next_ack: &mut u64,
    event: &str,
    payload: Value,
) -> Result<Value, Failure> {
    let id = *next_ack;
    *next_ack += 1;
    let lost = |e: Lost| Failure::Unreachable(e.0);
    conn.emit(event, &payload, &[], Some(id)).map_err(lost)?;
    let deadline = Instant::now() + JOIN_TIMEOUT;
    while let Some(wait) = deadline.checked_duration_since(Instant::now()) {
        if let Some(Message::Ack {
            id: got, payload, ..
        }) = conn.poll(wait).map_err(lost)?
        {
            if got == id {
                return Ok(payload);
            }
        }
    }
    Err(Failure::Unreachable(format!(
        "the server did not answer the {event}"
    )))
}

fn join_result(ack: Value) -> Result<Value, Failure> {
    if ack["success"] == true {
        return Ok(ack);
    }
    Err(refusal(&ack, &ack["error"]))
}

/// The failure a refusal's code names: `payload` is a join's ack or an `error` event, which
/// carry their text in different fields (`message`).
fn refusal(payload: &Value, message: &Value) -> Failure {
    let code = text(&payload["code"]);
    match code.as_str() {
        "invalid_passphrase" => Failure::WrongPassphrase,
        "rate_limited" => Failure::RateLimited {
            retry_after: Duration::from_millis(payload["retryAfterMs"].as_u64().unwrap_or(60_000)),
        },
        _ => Failure::Refused {
            code,
            message: text(message),
        },
    }
}

fn connect_failure(e: ConnectError) -> Failure {
    match e {
        ConnectError::Unreachable(why) => Failure::Unreachable(why),
        ConnectError::RateLimited => Failure::RateLimited {
            retry_after: Duration::from_secs(10),
        },
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_refusals_map_to_their_failures() {
        let ok = json!({"success": true, "token": "t"});
        assert_eq!(join_result(ok.clone()).unwrap(), ok);
        let wrong = json!({"success": false, "code": "invalid_passphrase", "error": "no"});
        assert!(matches!(join_result(wrong), Err(Failure::WrongPassphrase)));
        let limited =
            json!({"success": false, "code": "rate_limited", "error": "x", "retryAfterMs": 1500});
        assert!(
            matches!(join_result(limited), Err(Failure::RateLimited { retry_after }) if retry_after == Duration::from_millis(1500))
        );
        let full = json!({"success": false, "code": "session_full", "error": "full"});
        assert!(
            matches!(join_result(full), Err(Failure::Refused { code, .. }) if code == "session_full")
        );
        assert!(matches!(
            join_result(json!("nonsense")),
            Err(Failure::Refused { .. })
        ));
        // An `error` event (a refused admit) names its failure the same way.
        let event = json!({"code": "rate_limited", "message": "x", "retryAfterMs": 2000});
        assert!(
            matches!(refusal(&event, &event["message"]), Failure::RateLimited { retry_after } if retry_after == Duration::from_secs(2))
        );
    }
}
