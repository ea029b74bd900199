//! Admitting applicants, as a member that holds `prs` (docs/protocol.md, "Admission by a
//! member"): knowing the passphrase is the admission rule, so it is automatic. Sans I/O: the
//! caller hands in `admit` messages, `applicant-left` and the time, and sends what comes out.
//!
//! Per applicant one run at a time. Step 1 is answered with step 2, or, after 3 failed runs
//! in the last hour (this member's and those announced to it), first with step 0 and the
//! wait `throttle_secs` gives. A step 3 whose `Ta` verifies gets step 4 (the room secret,
//! cards, and a signed admission record) and the room an `admitted` control; one that does
//! not, or a run answered and not finished within 60 s, counts as failed and the room gets
//! `admission-failed`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use data_encoding::BASE64;
use serde::Deserialize;
use serde_json::{json, Value};
use sharethings_protocol::format::v3::{self, ADMISSION_RUN_MS, MAX_BUNDLE_CARDS};

use super::cpace::Responder;
use super::keys::{open_with, parse_device_id, seal_with, verify, Key, RoomSecret};
use super::member::{now_ms, Member};
use super::roster::{valid_name, Card, Record};
use aes_gcm::aead::KeyInit;
use aes_gcm::Aes256Gcm;

/// Runs this member keeps at once (one per applicant; the server allows 8 applicants).
const MAX_RUNS: usize = 16;
/// Step-1 `sid`s remembered, to refuse a repeated one.
const MAX_SIDS: usize = 4096;

/// What the caller does next.
#[derive(Debug, PartialEq)]
pub enum Action {
    /// `admit {to, step, data}`.
    Send {
        to: String,
        step: u64,
        data: Value,
    },
    /// A sealed control to the whole room.
    Announce(Value),
    Note(String),
}

enum Run {
    /// Throttled: step 2 is due at `due`.
    Waiting {
        due: Instant,
        sid: Vec<u8>,
        ya: Vec<u8>,
    },
    /// Step 2 sent; step 3 expected.
    Answered {
        responder: Responder,
        sid: Vec<u8>,
        started: Instant,
    },
}

#[derive(Default)]
pub struct Admissions {
    runs: HashMap<String, Run>,
    sids: HashSet<Vec<u8>>,
}

#[derive(Deserialize)]
struct Step1 {
    sid: String,
    #[serde(rename = "Ya")]
    ya: String,
}

/// Step 3's sealed claim: the applicant's device, name, and proof that it holds the key.
#[derive(Deserialize)]
struct Claim {
    device: String,
    name: String,
    sig: String,
}

#[derive(Deserialize)]
struct Step3 {
    #[serde(rename = "Ta")]
    ta: String,
    iv: String,
    sealed: String,
}

fn b64(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text.as_bytes()).ok()
}

impl Admissions {
    /// The next instant at which [`tick`](Self::tick) has something to do.
    pub fn next_due(&self) -> Option<Instant> {
        self.runs
            .values()
            .map(|r| match r {
                Run::Waiting { due, .. } => *due,
                Run::Answered { started, .. } => *started + Duration::from_millis(ADMISSION_RUN_MS),
            })
            .min()
    }

    /// An `admit` message from `from` (an applicant, as the server says).
    pub fn on_admit(
        &mut self,
        member: &mut Member,
        me: &str,
        from: &str,
        step: u64,
        data: &Value,
        now: Instant,
    ) -> Vec<Action> {
        let Some(prs) = member.stored.secret.prs else {
            return vec![Action::Note("a device asks to join, but this device cannot admit it (it joined by an invite without the passphrase)".into())];
        };
        match step {
            1 => self.on_step1(member, prs, me, from, data, now),
            3 => self.on_step3(member, from, data),
            _ => self.abort(member, from),
        }
    }

    fn on_step1(
        &mut self,
        member: &mut Member,
        prs: Key,
        me: &str,
        from: &str,
        data: &Value,
        now: Instant,
    ) -> Vec<Action> {
        let mut actions = self.abort(member, from);
        let Some((sid, ya)) = Step1::deserialize(data)
            .ok()
            .and_then(|s| Some((b64(&s.sid)?, b64(&s.ya)?)))
        else {
            return actions;
        };
        if sid.len() != v3::SID_BYTES || self.sids.contains(&sid) || self.runs.len() >= MAX_RUNS {
            return actions;
        }
        if self.sids.len() >= MAX_SIDS {
            self.sids.clear();
        }
        self.sids.insert(sid.clone());
        let wait = v3::throttle_secs(member.stored.recent_failures(now_ms()));
        if wait > 0 {
            let due = now + Duration::from_secs(wait);
            actions.push(Action::Send {
                to: from.into(),
                step: 0,
                data: json!({ "waitMs": wait * 1000 }),
            });
            actions.push(Action::Note(format!(
                "a device asks to join; recent wrong passphrases make it wait {wait} s"
            )));
            self.runs.insert(from.into(), Run::Waiting { due, sid, ya });
            return actions;
        }
        actions.extend(self.answer(member, prs, me, from, sid, ya, now));
        actions
    }

    #[allow(clippy::too_many_arguments)]
    fn answer(
        &mut self,
        member: &Member,
        prs: Key,
        me: &str,
        from: &str,
        sid: Vec<u8>,
        ya: Vec<u8>,
        now: Instant,
    ) -> Vec<Action> {
        let Ok(responder) = Responder::respond(&prs, member.session_id(), &sid, &ya, from, me)
        else {
            return Vec::new();
        };
        let data =
            json!({ "Yb": BASE64.encode(&responder.yb), "Tb": BASE64.encode(&responder.tb) });
        self.runs.insert(
            from.into(),
            Run::Answered {
                responder,
                sid,
                started: now,
            },
        );
        vec![Action::Send {
            to: from.into(),
            step: 2,
            data,
        }]
    }

    fn on_step3(&mut self, member: &mut Member, from: &str, data: &Value) -> Vec<Action> {
        let Some(Run::Answered { responder, sid, .. }) = self.runs.remove(from) else {
            return Vec::new();
        };
        let step = Step3::deserialize(data).ok();
        let ta = step.as_ref().and_then(|s| b64(&s.ta)).unwrap_or_default();
        if !responder.applicant_knows_passphrase(&ta) {
            return failed(member);
        }
        let cipher = Aes256Gcm::new(&responder.admit_key.into());
        let aad = v3::applicant_aad(member.session_id(), &sid);
        let claim = step
            .and_then(|s| open_with(&cipher, &b64(&s.iv)?, &b64(&s.sealed)?, &aad).ok())
            .and_then(|plain| serde_json::from_slice::<Claim>(&plain).ok())
            .and_then(|c| {
                let pk = parse_device_id(&c.device)?;
                let sig = b64(&c.sig)?;
                let message = v3::applicant_message(member.session_id(), &sid, &pk, &c.name);
                let genuine = valid_name(&c.name) && verify(&pk, &message, &sig).is_ok();
                genuine.then_some((c.name, pk))
            });
        let Some((name, pk)) = claim else {
            // The passphrase was right but the claim is not: a broken client, not a guess.
            return vec![Action::Note(
                "a device knew the passphrase but sent an invalid claim".into(),
            )];
        };
        let epoch = member.keys.epoch;
        let record = Record::sign(&member.stored.device, &epoch, &pk, &name, now_ms());
        member.stored.roster.add_record(&record, &epoch);
        let own = member.card();
        let cards: Vec<Card> = std::iter::once(own.clone())
            .chain(
                member
                    .stored
                    .roster
                    .cards()
                    .filter(|c| c.device != own.device)
                    .cloned(),
            )
            .take(MAX_BUNDLE_CARDS)
            .collect();
        let secret: &RoomSecret = &member.stored.secret;
        let mut bundle = json!({
            "roomKey": BASE64.encode(&secret.room_key),
            "creatorPk": BASE64.encode(&secret.creator_pk),
            "cards": cards,
            "admitted": record,
        });
        if let Some(prs) = secret.prs {
            bundle["prs"] = json!(BASE64.encode(&prs));
        }
        let iv = super::keys::random();
        let plain = serde_json::to_vec(&bundle).expect("the bundle serialises");
        let sealed = seal_with(
            &cipher,
            &iv,
            &plain,
            &v3::bundle_aad(member.session_id(), &sid),
        );
        vec![
            Action::Send {
                to: from.into(),
                step: 4,
                data: json!({ "iv": BASE64.encode(&iv), "sealed": BASE64.encode(&sealed) }),
            },
            Action::Announce(json!({ "kind": "admitted", "record": record })),
            Action::Note(format!("admitted a new device: {name}")),
        ]
    }

    /// Ends `from`'s run, if any: one that was answered counts as failed (a guess was made).
    fn abort(&mut self, member: &mut Member, from: &str) -> Vec<Action> {
        match self.runs.remove(from) {
            Some(Run::Answered { .. }) => failed(member),
            _ => Vec::new(),
        }
    }

    /// The applicant went away.
    pub fn on_left(&mut self, member: &mut Member, applicant: &str) -> Vec<Action> {
        self.abort(member, applicant)
    }

    /// Throttled runs whose wait is over get step 2; answered runs past 60 s fail.
    pub fn tick(&mut self, member: &mut Member, me: &str, now: Instant) -> Vec<Action> {
        let due: Vec<String> = self
            .runs
            .iter()
            .filter(|(_, r)| match r {
                Run::Waiting { due, .. } => *due <= now,
                Run::Answered { started, .. } => {
                    now >= *started + Duration::from_millis(ADMISSION_RUN_MS)
                }
            })
            .map(|(id, _)| id.clone())
            .collect();
        let mut actions = Vec::new();
        for id in due {
            match self.runs.remove(&id) {
                Some(Run::Waiting { sid, ya, .. }) => {
                    if let Some(prs) = member.stored.secret.prs {
                        actions.extend(self.answer(member, prs, me, &id, sid, ya, now));
                    }
                }
                Some(Run::Answered { .. }) => actions.extend(failed(member)),
                None => {}
            }
        }
        actions
    }
}

/// A failed run: counted here, announced to the room.
fn failed(member: &mut Member) -> Vec<Action> {
    let at = now_ms();
    member.stored.count_failure(at);
    vec![
        Action::Announce(json!({ "kind": "admission-failed", "at": at })),
        Action::Note("a device tried to join with a wrong passphrase".into()),
    ]
}

#[cfg(test)]
mod tests;
