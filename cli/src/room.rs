//! Membership of one ShareThings session: the first join (with the fingerprint), token
//! rejoins on a new connection after one is lost (same `clientId`, as the web client does),
//! the member list, and the session's events handed to the caller one at a time.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::connection::{Connection, Lost};
use crate::exit::Failure;
use sharethings_protocol::route_key;

use crate::format::SessionKeys;
use crate::socketio::Message;
use crate::transport::{ConnectError, Endpoint};

const JOIN_TIMEOUT: Duration = Duration::from_secs(15);
/// Pauses between reconnection attempts grow to this (socket.io-client's reconnectionDelayMax
/// as the web client sets it).
const MAX_BACKOFF: Duration = Duration::from_secs(4);

pub struct Settings {
    pub endpoint: Endpoint,
    pub session_id: String,
    pub client_name: String,
    /// How long to keep trying to get back after a lost connection before giving up.
    pub reconnect_for: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub name: String,
}

/// What happened in the session, for the sender or the receiver to act on.
#[derive(Debug)]
pub enum RoomEvent {
    /// A relayed `content` or `chunk`, payload and attachments as they came.
    Relayed {
        event: String,
        payload: Value,
        binaries: Vec<Vec<u8>>,
    },
    Ack {
        id: u64,
        payload: Value,
    },
    MemberJoined(Member),
    MemberLeft(Member),
    /// Back in the session on a new connection: acks of the old one will never come.
    Rejoined,
}

pub struct Room {
    settings: Settings,
    keys: SessionKeys,
    route: String,
    conn: Option<Connection>,
    token: String,
    pub self_id: String,
    pub members: Vec<Member>,
    next_ack: u64,
}

impl Room {
    /// Connects and joins; creates the session if it does not exist yet.
    pub fn join(settings: Settings, keys: SessionKeys) -> Result<Room, Failure> {
        let route = route_key(&settings.session_id);
        let mut conn = Connection::open(&settings.endpoint, &route).map_err(connect_failure)?;
        let mut room = Room {
            settings,
            keys,
            route,
            conn: None,
            token: String::new(),
            self_id: String::new(),
            members: Vec::new(),
            next_ack: 0,
        };
        let ack = room.join_on(&mut conn, false)?;
        room.accept_join(conn, &ack);
        Ok(room)
    }

    pub fn keys(&self) -> &SessionKeys {
        &self.keys
    }

    pub fn session_id(&self) -> &str {
        &self.settings.session_id
    }

    pub fn client_name(&self) -> &str {
        &self.settings.client_name
    }

    pub fn others(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(move |m| m.id != self.self_id)
    }

    pub fn is_member(&self, id: &str) -> bool {
        self.members.iter().any(|m| m.id == id)
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
    /// backoff, rejoin with the token, then [`RoomEvent::Rejoined`].
    pub fn poll(&mut self, timeout: Duration) -> Result<Option<RoomEvent>, Failure> {
        if crate::exit::stop_requested() {
            return Err(Failure::Interrupted);
        }
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
            "content" | "chunk" => Some(RoomEvent::Relayed {
                event: name,
                payload,
                binaries,
            }),
            "client-joined" => {
                let m = member();
                self.members.retain(|x| x.id != m.id);
                self.members.push(m.clone());
                Some(RoomEvent::MemberJoined(m))
            }
            "client-left" => {
                let m = member();
                self.members.retain(|x| x.id != m.id);
                Some(RoomEvent::MemberLeft(m))
            }
            "error" if payload["code"] == "replaced" => return Err(Failure::Replaced),
            // content-removed, all-content-cleared, and whatever later versions add.
            _ => None,
        })
    }

    fn reconnect(&mut self) -> Result<(), Failure> {
        let give_up = Instant::now() + self.settings.reconnect_for;
        let mut backoff = Backoff::default();
        loop {
            let attempt = Connection::open(&self.settings.endpoint, &self.route)
                .map_err(connect_failure)
                .and_then(|mut conn| self.join_on(&mut conn, true).map(|ack| (conn, ack)));
            let pause = match attempt {
                Ok((conn, ack)) => {
                    self.accept_join(conn, &ack);
                    crate::progress::note("back in the session");
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

    /// Sends `join` and waits for its ack. A rejoin presents the token and the fingerprint:
    /// the token keeps our clientId; the fingerprint decides if the session was forgotten.
    fn join_on(&mut self, conn: &mut Connection, rejoin: bool) -> Result<Value, Failure> {
        let id = self.next_ack;
        self.next_ack += 1;
        let mut request = json!({
            "sessionId": self.settings.session_id,
            "clientName": self.settings.client_name,
            "fingerprint": self.keys.fingerprint,
        });
        if rejoin {
            request["token"] = json!(self.token);
        }
        let lost = |e: Lost| Failure::Unreachable(e.0);
        conn.emit("join", &request, &[], Some(id)).map_err(lost)?;
        let deadline = Instant::now() + JOIN_TIMEOUT;
        while let Some(wait) = deadline.checked_duration_since(Instant::now()) {
            if let Some(Message::Ack {
                id: got, payload, ..
            }) = conn.poll(wait).map_err(lost)?
            {
                if got == id {
                    return join_result(payload);
                }
            }
        }
        Err(Failure::Unreachable(
            "the server did not answer the join".into(),
        ))
    }

    fn accept_join(&mut self, conn: Connection, ack: &Value) {
        self.token = text(&ack["token"]);
        self.self_id = text(&ack["clientId"]);
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

/// Pauses between reconnection attempts: 200 ms, doubling up to [`MAX_BACKOFF`].
struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff(Duration::from_millis(200))
    }
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let pause = self.0;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
        pause
    }
}

fn join_result(ack: Value) -> Result<Value, Failure> {
    if ack["success"] == true {
        return Ok(ack);
    }
    let code = text(&ack["code"]);
    let message = text(&ack["error"]);
    Err(match code.as_str() {
        "invalid_passphrase" => Failure::WrongPassphrase,
        "rate_limited" => Failure::RateLimited {
            retry_after: Duration::from_millis(ack["retryAfterMs"].as_u64().unwrap_or(60_000)),
        },
        _ => Failure::Refused { code, message },
    })
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
    fn reconnection_pauses_double_up_to_four_seconds() {
        let mut b = Backoff::default();
        let pauses: Vec<u128> = (0..7).map(|_| b.next().as_millis()).collect();
        assert_eq!(pauses, [200, 400, 800, 1600, 3200, 4000, 4000]);
    }

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
    }
}
