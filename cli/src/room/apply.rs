//! Applying to a v3 session with the passphrase (docs/cli.md, "Joining"): `join` with
//! `apply: true`, then a CPace run with a member online (`v3::apply` decides, this shell
//! moves the messages), then, with the room secret stored, a member join on the same
//! connection. A session created by a v2 client answers `legacy_session`: the caller then
//! joins it with format v2.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sharethings_protocol::route_key;

use super::{connect_failure, join_result, refusal, request, text, Room, Settings};
use crate::codec::{Codec, V3};
use crate::connection::{Connection, Lost};
use crate::exit::Failure;
use crate::progress;
use crate::socketio::Message;
use crate::v3::admit::Admissions;
use crate::v3::apply::{Applicant, Outcome};
use crate::v3::keys::{Device, Key};
use crate::v3::member::Member;
use crate::v3::store::Membership;

pub enum Applied {
    Member(Box<Room>),
    /// The session is a v2 one: join it with the passphrase's v2 key.
    Legacy,
}

/// Where the membership is kept once admitted.
pub struct Keep<'a> {
    pub dir: &'a Path,
    pub origin: &'a str,
}

/// Applies and waits, at most `wait`, to be admitted by a member online.
pub fn apply(settings: Settings, prs: Key, keep: Keep, wait: Duration) -> Result<Applied, Failure> {
    let route = route_key(&settings.session_id);
    let mut conn = Connection::open(&settings.endpoint, &route).map_err(connect_failure)?;
    let mut next_ack = 0;
    let session = settings.session_id.clone();
    let payload = json!({ "sessionId": session, "v": 3, "apply": true });
    let ack = request(&mut conn, &mut next_ack, "join", payload)?;
    match ack["code"].as_str() {
        Some("legacy_session") => return Ok(Applied::Legacy),
        Some("no_such_session") => {
            return Err(Failure::Refused {
                code: "no_such_session".into(),
                message: format!("there is no session {session} on this server: create it with --create, or join with an invite link"),
            })
        }
        _ => {}
    }
    let ack = join_result(ack)?;
    let me = text(&ack["clientId"]);
    let online: Vec<String> = ack["members"]
        .as_array()
        .map(|m| m.iter().map(text).collect())
        .unwrap_or_default();
    let mut applicant = Applicant::new(
        prs,
        &session,
        &me,
        online,
        Device::generate(),
        &settings.client_name,
    );
    let give_up = Instant::now() + wait;
    let mut outcomes = applicant.next(Instant::now());
    loop {
        for outcome in std::mem::take(&mut outcomes) {
            match outcome {
                Outcome::Send { to, step, data } => {
                    let payload =
                        json!({ "sessionId": session, "to": to, "step": step, "data": data });
                    conn.emit("admit", &payload, &[], None)
                        .map_err(|e| Failure::Unreachable(e.0))?;
                }
                Outcome::Note(note) => progress::note(&note),
                Outcome::WrongPassphrase => return Err(Failure::WrongPassphrase),
                Outcome::Admitted(admitted) => {
                    let a = *admitted;
                    let stored = Membership::new(
                        keep.dir,
                        keep.origin,
                        a.secret,
                        a.device,
                        &settings.client_name,
                    )
                    .claim()
                    .map_err(|e| Failure::Local(format!("the key store: {e}")))?;
                    let mut member = Member::new(stored);
                    let epoch = member.keys.epoch;
                    for card in &a.cards {
                        member.stored.roster.add_card(card, &epoch);
                    }
                    member.stored.roster.add_record(&a.record, &epoch);
                    member
                        .stored
                        .save()
                        .map_err(|e| Failure::Local(format!("the key store: {e}")))?;
                    progress::note(
                        "admitted by a member; the room secret is stored on this machine",
                    );
                    let codec = Codec::V3(Box::new(V3 {
                        member,
                        admissions: Admissions::default(),
                    }));
                    return Room::join_on_open(settings, codec, route, conn)
                        .map(|r| Applied::Member(Box::new(r)));
                }
            }
        }
        if crate::exit::stop_requested() {
            return Err(Failure::Interrupted);
        }
        let now = Instant::now();
        if now >= give_up {
            return Err(Failure::NotAdmitted);
        }
        let until = applicant.deadline().map_or(give_up, |d| d.min(give_up));
        let timeout = until
            .saturating_duration_since(now)
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        outcomes = match conn.poll(timeout) {
            Ok(Some(Message::Event { name, payload, .. })) => {
                on_event(&mut applicant, &name, &payload)?
            }
            Ok(_) => applicant.tick(Instant::now()),
            Err(Lost(why)) => {
                return Err(Failure::Unreachable(format!(
                    "lost while waiting to be admitted: {why}"
                )))
            }
        };
    }
}

fn on_event(
    applicant: &mut Applicant,
    name: &str,
    payload: &Value,
) -> Result<Vec<Outcome>, Failure> {
    let now = Instant::now();
    Ok(match name {
        "client-joined" => applicant.member_joined(&text(&payload["clientId"]), now),
        "client-left" => applicant.member_left(&text(&payload["clientId"]), now),
        "admit" => {
            let step = payload["step"].as_u64().unwrap_or(u64::MAX);
            applicant.on_admit(&text(&payload["from"]), step, &payload["data"], now)
        }
        // A refused admit: past the join limits (rate_limited), most likely.
        "error" => return Err(refusal(payload, &payload["message"])),
        _ => applicant.tick(now),
    })
}
