//! The room's v3 business, settled between the caller's calls: saying hello after each
//! join (and answering a newcomer's with a hello and the roster, to it), opening `content`
//! through the member's checks, and admitting applicants while this device is a member that
//! holds `prs`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{text, Member, Room, RoomEvent};
use crate::codec::Codec;
use crate::exit::Failure;
use crate::format::new_content_id;
use crate::item::Content;
use crate::progress;
use crate::socketio::Message;
use crate::v3::admit::Action;
use crate::v3::member::Received;
use crate::v3::member::REPLAYED;

fn local(e: std::io::Error) -> Failure {
    Failure::Local(format!("the key store: {e}"))
}

impl Room {
    /// After every join: a v3 member says hello to everyone (its card and clientId).
    pub(super) fn after_join(&mut self, _ack: &Value) -> Result<(), Failure> {
        let me = self.self_id.clone();
        let Some(v3) = self.codec.v3() else {
            return Ok(());
        };
        v3.member.stored.roster.clear_online();
        let hello = v3.member.hello(&me);
        self.emit_content(&new_content_id(), 0, &hello, None)?;
        Ok(())
    }

    /// A member expected back after our rejoin (`returning.rs`) whose device is now bound to
    /// `client_id`, another connection than before: it is back.
    fn back_on_new_connection(&mut self, client_id: &str) -> Option<RoomEvent> {
        let device = self.device_of_client(client_id)?;
        let before = self.returning.back_on(&device)?;
        progress::note(&format!("{} is back", before.name));
        Some(RoomEvent::MemberReturned {
            member: Member {
                id: client_id.to_string(),
                name: before.name,
            },
            was: before.id,
        })
    }

    /// A newcomer said hello: our hello and the roster, to it alone.
    fn greet(&mut self, client_id: &str) -> Result<(), Failure> {
        let me = self.self_id.clone();
        let Some(v3) = self.codec.v3() else {
            return Ok(());
        };
        let hello = v3.member.hello(&me);
        let roster = v3.member.roster_message();
        self.emit_content(&new_content_id(), 0, &hello, Some(client_id))?;
        self.emit_content(&new_content_id(), 0, &roster, Some(client_id))?;
        Ok(())
    }

    /// A v3 `content`, or an `inbox-item` (`kept`).
    pub(super) fn on_v3_content(
        &mut self,
        payload: &Value,
        binaries: &[Vec<u8>],
        kept: bool,
    ) -> Result<Option<RoomEvent>, Failure> {
        let Some(data) = Message::binary(binaries, &payload["data"]) else {
            return Ok(None);
        };
        let from = text(&payload["from"]);
        let to_me = payload["to"].is_string();
        let Some(v3) = self.codec.v3() else {
            return Ok(None);
        };
        let received = v3
            .member
            .receive(&payload["content"], data, &from, to_me)
            .map_err(local)?;
        match received {
            Received::Content { opened, sealed } => {
                return Ok(Some(RoomEvent::Content(Content {
                    id: opened.id,
                    total_chunks: opened.total_chunks,
                    from,
                    sender: Some(opened.by),
                    sealed,
                })));
            }
            Received::Newcomer { client_id } => {
                self.greet(&client_id)?;
                return Ok(self.back_on_new_connection(&client_id));
            }
            Received::Settled { note: Some(note) } => progress::note(&note),
            // Also the hello a member answers ours with.
            Received::Settled { note: None } => return Ok(self.back_on_new_connection(&from)),
            Received::AdmissionFailed => {
                progress::note("a device tried to join with a wrong passphrase")
            }
            // The inbox lists what it keeps to every device that asks, what this one already
            // has too: its counter is no longer new here, and that is no news.
            Received::Dropped(why) if kept && why == REPLAYED => {}
            Received::Dropped(why) => progress::note(&format!("ignored a message: {why}")),
        }
        Ok(None)
    }

    /// `applicant`, `applicant-left` and `admit`: a device applying to the session.
    pub(super) fn on_admission_event(
        &mut self,
        name: &str,
        payload: &Value,
    ) -> Result<(), Failure> {
        let me = self.self_id.clone();
        let from = text(&payload[if name == "admit" { "from" } else { "clientId" }]);
        let Some(v3) = self.codec.v3() else {
            return Ok(());
        };
        let actions = match name {
            "applicant" => vec![Action::Note("a device asks to join this session".into())],
            "applicant-left" => v3.admissions.on_left(&mut v3.member, &from),
            _ => {
                let step = payload["step"].as_u64().unwrap_or(u64::MAX);
                v3.admissions.on_admit(
                    &mut v3.member,
                    &me,
                    &from,
                    step,
                    &payload["data"],
                    Instant::now(),
                )
            }
        };
        self.perform(actions)
    }

    /// Throttled admissions whose wait is over, and runs past their time.
    pub(super) fn tick(&mut self) -> Result<(), Failure> {
        let me = self.self_id.clone();
        let now = Instant::now();
        let Some(v3) = self.codec.v3() else {
            return Ok(());
        };
        if v3.admissions.next_due().is_none_or(|due| due > now) {
            return Ok(());
        }
        let actions = v3.admissions.tick(&mut v3.member, &me, now);
        self.perform(actions)
    }

    /// `timeout`, or less when an admission is due sooner.
    pub(super) fn due_within(&self, timeout: Duration) -> Duration {
        match &self.codec {
            Codec::V3(v3) => v3.admissions.next_due().map_or(timeout, |due| {
                timeout.min(due.saturating_duration_since(Instant::now()))
            }),
            Codec::V2 { .. } => timeout,
        }
    }

    fn perform(&mut self, actions: Vec<Action>) -> Result<(), Failure> {
        for action in actions {
            match action {
                Action::Send { to, step, data } => {
                    self.emit(
                        "admit",
                        json!({ "to": to, "step": step, "data": data }),
                        &[],
                    );
                }
                Action::Announce(control) => {
                    self.emit_content(&new_content_id(), 0, &control, None)?;
                }
                Action::Note(note) => progress::note(&note),
            }
        }
        Ok(())
    }
}
