//! Being admitted: the applicant's side of a CPace run (docs/protocol.md, "Admission by a
//! member"), sans I/O. The caller joins with `apply: true`, hands in the members online, their
//! comings and goings, `admit` messages and the time, and sends what comes out.
//!
//! One member at a time is asked: step 1, then step 2 within [`ANSWER_WAIT`] (longer when the
//! member says with step 0 that it must wait), step 3, and step 4 with the room secret. A
//! member that does not answer (it cannot admit, or it left) is skipped for the next one;
//! the first member whose `Tb` does not verify means the passphrase is wrong.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aes_gcm::aead::KeyInit;
use aes_gcm::Aes256Gcm;
use data_encoding::BASE64;
use serde::Deserialize;
use serde_json::{json, Value};
use sharethings_protocol::format::v3::{self, MAX_BUNDLE_CARDS};

use super::cpace::Initiator;
use super::keys::{open_with, random, seal_with, Device, Key, RoomSecret};
use super::roster::{Card, Record};

/// How long a member has to answer step 1 before another is asked.
pub const ANSWER_WAIT: Duration = Duration::from_secs(15);
/// How long step 4 may take after step 3.
const BUNDLE_WAIT: Duration = Duration::from_secs(15);

#[derive(Debug)]
pub enum Outcome {
    Send {
        to: String,
        step: u64,
        data: Value,
    },
    Note(String),
    /// The member's `Tb` did not verify: the passphrase is not the session's.
    WrongPassphrase,
    Admitted(Box<Admitted>),
}

/// What step 4 brought.
#[derive(Debug)]
pub struct Admitted {
    pub secret: RoomSecret,
    /// The key pair the applicant named in step 3: its device from now on.
    pub device: Device,
    pub cards: Vec<Card>,
    pub record: Record,
}

enum Stage {
    /// Nobody asked yet (no member online, or all tried).
    Idle,
    Asked {
        member: String,
        run: Initiator,
        deadline: Instant,
    },
    Confirmed {
        member: String,
        sid: [u8; v3::SID_BYTES],
        admit_key: Key,
        deadline: Instant,
    },
}

pub struct Applicant {
    prs: Key,
    session_id: String,
    me: String,
    device: Device,
    name: String,
    online: Vec<String>,
    tried: HashSet<String>,
    stage: Stage,
    /// [`NOBODY`] was said, and nobody has come since: it is not said again at every tick.
    said_nobody: bool,
}

#[derive(Deserialize)]
struct Bundle {
    #[serde(rename = "roomKey")]
    room_key: String,
    #[serde(rename = "creatorPk")]
    creator_pk: String,
    prs: Option<String>,
    cards: Vec<Card>,
    admitted: Record,
}

fn key<const N: usize>(text: &str) -> Option<[u8; N]> {
    BASE64.decode(text.as_bytes()).ok()?.try_into().ok()
}

fn b64(v: &Value) -> Option<Vec<u8>> {
    BASE64.decode(v.as_str()?.as_bytes()).ok()
}

impl Applicant {
    /// `me` is this connection's clientId, `online` the members the join ack listed;
    /// `device` is the key pair this device will be a member with, under `name`.
    pub fn new(
        prs: Key,
        session_id: &str,
        me: &str,
        online: Vec<String>,
        device: Device,
        name: &str,
    ) -> Applicant {
        Applicant {
            prs,
            session_id: session_id.into(),
            me: me.into(),
            device,
            name: name.into(),
            online,
            tried: HashSet::new(),
            stage: Stage::Idle,
            said_nobody: false,
        }
    }

    /// Asks the next member online not asked yet, if nobody is being asked.
    pub fn next(&mut self, now: Instant) -> Vec<Outcome> {
        if !matches!(self.stage, Stage::Idle) {
            return Vec::new();
        }
        let Some(member) = self
            .online
            .iter()
            .find(|m| !self.tried.contains(*m))
            .cloned()
        else {
            if self.online.is_empty() {
                if std::mem::replace(&mut self.said_nobody, true) {
                    return Vec::new();
                }
                return vec![Outcome::Note(NOBODY.into())];
            }
            // Everyone was asked and none answered: ask them all again.
            self.tried.clear();
            return vec![Outcome::Note(
                "no member online answered; asking again".into(),
            )];
        };
        self.tried.insert(member.clone());
        let run = Initiator::start(&self.prs, &self.session_id, &self.me);
        let data = json!({ "sid": BASE64.encode(run.sid()), "Ya": BASE64.encode(run.ya()) });
        self.stage = Stage::Asked {
            member: member.clone(),
            run,
            deadline: now + ANSWER_WAIT,
        };
        vec![Outcome::Send {
            to: member,
            step: 1,
            data,
        }]
    }

    pub fn member_joined(&mut self, id: &str, now: Instant) -> Vec<Outcome> {
        if !self.online.iter().any(|m| m == id) {
            self.online.push(id.into());
            self.tried.remove(id);
        }
        self.said_nobody = false;
        self.next(now)
    }

    pub fn member_left(&mut self, id: &str, now: Instant) -> Vec<Outcome> {
        self.online.retain(|m| m != id);
        if self.asking() == Some(id) {
            self.stage = Stage::Idle;
        }
        self.next(now)
    }

    fn asking(&self) -> Option<&str> {
        match &self.stage {
            Stage::Asked { member, .. } | Stage::Confirmed { member, .. } => Some(member),
            Stage::Idle => None,
        }
    }

    /// The next instant [`tick`](Self::tick) must run at.
    pub fn deadline(&self) -> Option<Instant> {
        match &self.stage {
            Stage::Asked { deadline, .. } | Stage::Confirmed { deadline, .. } => Some(*deadline),
            Stage::Idle => None,
        }
    }

    /// A member that did not answer in time is skipped.
    pub fn tick(&mut self, now: Instant) -> Vec<Outcome> {
        if self.deadline().is_some_and(|d| now >= d) {
            self.stage = Stage::Idle;
        }
        self.next(now)
    }

    /// An `admit` message relayed from `from`.
    pub fn on_admit(&mut self, from: &str, step: u64, data: &Value, now: Instant) -> Vec<Outcome> {
        if self.asking() != Some(from) {
            return Vec::new();
        }
        match (std::mem::replace(&mut self.stage, Stage::Idle), step) {
            (Stage::Asked { member, run, .. }, 0) => {
                let wait = data["waitMs"]
                    .as_u64()
                    .unwrap_or(0)
                    .min(v3::MAX_THROTTLE_SECS * 1000);
                let note = format!(
                    "the member asks to wait {} s (recent wrong passphrases)",
                    wait / 1000
                );
                let deadline = now + Duration::from_millis(wait) + ANSWER_WAIT;
                self.stage = Stage::Asked {
                    member,
                    run,
                    deadline,
                };
                vec![Outcome::Note(note)]
            }
            (Stage::Asked { member, run, .. }, 2) => self.on_step2(member, run, data, now),
            (Stage::Confirmed { sid, admit_key, .. }, 4) => {
                self.on_step4(&sid, &admit_key, data, now)
            }
            // A step out of order ends the run with this member.
            _ => self.next(now),
        }
    }

    fn on_step2(
        &mut self,
        member: String,
        run: Initiator,
        data: &Value,
        now: Instant,
    ) -> Vec<Outcome> {
        let sid = *run.sid();
        let (Some(yb), Some(tb)) = (b64(&data["Yb"]), b64(&data["Tb"])) else {
            return self.next(now);
        };
        let Ok(done) = run.finish(&yb, &tb, &member) else {
            return self.next(now);
        };
        let cipher = Aes256Gcm::new(&done.admit_key.into());
        let pk = self.device.public_key();
        let claim = v3::applicant_message(&self.session_id, &sid, &pk, &self.name);
        let plain = serde_json::to_vec(&json!({
            "device": self.device.id(), "name": self.name,
            "sig": BASE64.encode(&self.device.sign(&claim)),
        }))
        .expect("JSON serialises");
        let iv = random();
        let sealed = seal_with(
            &cipher,
            &iv,
            &plain,
            &v3::applicant_aad(&self.session_id, &sid),
        );
        let data = json!({ "Ta": BASE64.encode(&done.ta), "iv": BASE64.encode(&iv), "sealed": BASE64.encode(&sealed) });
        let send = Outcome::Send {
            to: member.clone(),
            step: 3,
            data,
        };
        if !done.member_knows_passphrase {
            return vec![send, Outcome::WrongPassphrase];
        }
        self.stage = Stage::Confirmed {
            member,
            sid,
            admit_key: done.admit_key,
            deadline: now + BUNDLE_WAIT,
        };
        vec![send]
    }

    fn on_step4(
        &mut self,
        sid: &[u8],
        admit_key: &Key,
        data: &Value,
        now: Instant,
    ) -> Vec<Outcome> {
        let cipher = Aes256Gcm::new(&(*admit_key).into());
        let aad = v3::bundle_aad(&self.session_id, sid);
        let bundle = b64(&data["iv"])
            .zip(b64(&data["sealed"]))
            .and_then(|(iv, sealed)| open_with(&cipher, &iv, &sealed, &aad).ok())
            .and_then(|plain| serde_json::from_slice::<Bundle>(&plain).ok());
        let admitted = bundle.and_then(|b| {
            let secret = RoomSecret {
                session_id: self.session_id.clone(),
                room_key: key(&b.room_key)?,
                creator_pk: key(&b.creator_pk)?,
                prs: match &b.prs {
                    Some(p) => Some(key(p)?),
                    None => Some(self.prs),
                },
            };
            let epoch = super::keys::RoomKeys::derive(&secret).epoch;
            let record = b.admitted;
            let mine = record.device == self.device.id() && record.name == self.name;
            (mine && record.verify(&epoch)).then(|| Admitted {
                secret,
                device: Device::from_seed(&self.device.seed()),
                cards: b.cards.into_iter().take(MAX_BUNDLE_CARDS).collect(),
                record,
            })
        });
        match admitted {
            Some(a) => vec![Outcome::Admitted(Box::new(a))],
            None => self.next(now),
        }
    }
}

/// What an applicant with no member online is told (docs/protocol.md: the web client says
/// the same).
pub const NOBODY: &str = "no member of this session is online: open ShareThings on a device that is already in this session; waiting";

#[cfg(test)]
mod tests;
