//! This device as a member of a v3 session: its stored membership and the keys derived from
//! it. Seals what it sends (a fresh `seq` for every `content`), and opens and sorts what the
//! others send: the roster's business (hello, roster, admitted, policy) is settled here, and
//! what the sender and receiver act on is handed back as a [`Sealed`].

use std::io;

use serde_json::{json, Value};

use super::envelope::{self, EnvelopeError, Message, Opened};
use super::keys::{device_id, PublicKey, RoomKeys};
use super::roster::{Card, Record};
use super::store::Membership;
use crate::item::{Control, Sealed};

pub struct Member {
    pub stored: Membership,
    pub keys: RoomKeys,
}

/// What an opened v3 `content` means to this device.
#[derive(Debug)]
pub enum Received {
    /// For the sender or receiver: an item, a resend request, a cancel, a clear.
    Content { opened: Box<Opened>, sealed: Sealed },
    /// A newcomer said hello (without `to`): answer it.
    Newcomer { client_id: String },
    /// Roster business settled here; `note` is worth telling the person.
    Settled { note: Option<String> },
    /// A failed admission another member announced.
    AdmissionFailed,
    /// Dropped: why, for `--verbose`-style notes (never shown as content).
    Dropped(&'static str),
}

/// Why a `content` whose sender and counter were seen before is dropped.
pub const REPLAYED: &str = "replayed";

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Member {
    pub fn new(stored: Membership) -> Member {
        let keys = RoomKeys::derive(&stored.secret);
        Member { stored, keys }
    }

    pub fn session_id(&self) -> &str {
        &self.stored.secret.session_id
    }

    pub fn is_creator(&self, pk: &PublicKey) -> bool {
        pk == &self.stored.secret.creator_pk
    }

    /// This device's current card: the stored one while the name is the same, else a new
    /// one (kept in the roster, so it is made once).
    pub fn card(&mut self) -> Card {
        let stored = &mut self.stored;
        let id = stored.device.id();
        let current = stored
            .roster
            .cards()
            .find(|c| c.device == id && c.name == stored.name);
        if let Some(card) = current {
            return card.clone();
        }
        let card = Card::sign(&stored.device, &self.keys.epoch, &stored.name, now_ms());
        stored.roster.add_card(&card, &self.keys.epoch);
        card
    }

    /// Seals `json` under a fresh id as a `content` payload (the caller adds `sessionId`)
    /// and its attachment.
    pub fn seal(
        &mut self,
        id: &str,
        total: u64,
        json: &Value,
        to: Option<&str>,
    ) -> io::Result<(Value, Vec<u8>)> {
        let seq = self.stored.next_seq()?;
        let (envelope, data) =
            envelope::seal_content(&self.keys, &self.stored.device, id, seq, total, json);
        let mut payload = json!({ "content": envelope, "data": crate::socketio::placeholder(0) });
        if let Some(to) = to {
            payload["to"] = json!(to);
        }
        Ok((payload, data))
    }

    /// `hello`: this device's card and its clientId on this connection.
    pub fn hello(&mut self, client_id: &str) -> Value {
        json!({ "kind": "hello", "clientId": client_id, "card": self.card() })
    }

    /// `roster` for a newcomer: the cards and records this device knows (64 at most).
    pub fn roster_message(&self) -> Value {
        let cards: Vec<Card> = self.stored.roster.cards().take(48).cloned().collect();
        let records: Vec<&Record> = self
            .stored
            .roster
            .records()
            .iter()
            .rev()
            .take(64 - cards.len())
            .collect();
        json!({ "kind": "roster", "cards": cards, "admitted": records })
    }

    /// Opens a relayed `content` (`from` is the server's claim, used only to check a hello).
    pub fn receive(
        &mut self,
        envelope: &Value,
        data: &[u8],
        from: &str,
        to_me: bool,
    ) -> io::Result<Received> {
        let opened = match envelope::open_content(&self.keys, envelope, data) {
            Ok(opened) => opened,
            Err(EnvelopeError::Shape(why)) => return Ok(Received::Dropped(why)),
            Err(EnvelopeError::Signature) => {
                return Ok(Received::Dropped("signature does not verify"))
            }
            Err(EnvelopeError::Auth) => {
                return Ok(Received::Dropped("does not open with this room's key"))
            }
            Err(EnvelopeError::Padding) => return Ok(Received::Dropped("bad padding")),
        };
        if !self.stored.replay.accept(&opened.by_id, opened.seq) {
            return Ok(Received::Dropped(REPLAYED));
        }
        let Some(message) = envelope::parse(opened.json.clone()) else {
            self.stored.save()?;
            return Ok(Received::Dropped("not a message this version knows"));
        };
        let received = self.settle(opened, message, from, to_me);
        self.stored.save()?;
        Ok(received)
    }

    fn settle(&mut self, opened: Opened, message: Message, from: &str, to_me: bool) -> Received {
        let epoch = self.keys.epoch;
        let roster = &mut self.stored.roster;
        let sealed = match message {
            Message::Hello { client_id, card } => {
                if client_id != from || card.device != opened.by_id {
                    return Received::Dropped("a hello for another connection or device");
                }
                if !roster.bind(&client_id, &card, &epoch) {
                    return Received::Dropped("a hello whose card does not verify");
                }
                return if to_me {
                    Received::Settled { note: None }
                } else {
                    Received::Newcomer { client_id }
                };
            }
            Message::Roster { cards, admitted } => {
                for card in &cards {
                    roster.add_card(card, &epoch);
                }
                for record in &admitted {
                    roster.add_record(record, &epoch);
                }
                return Received::Settled { note: None };
            }
            Message::Admitted(record) => {
                if record.by != opened.by_id || !record.verify(&epoch) {
                    return Received::Dropped("an admission record not signed by its sender");
                }
                // Known already: the device it admitted had it in its bundle, others in a roster.
                if !roster.add_record(&record, &epoch) {
                    return Received::Settled { note: None };
                }
                let by = roster.display_name(&record.by);
                return Received::Settled {
                    note: Some(format!("{by} admitted a new device: {}", record.name)),
                };
            }
            Message::AdmissionFailed => {
                self.stored.count_failure(now_ms());
                return Received::AdmissionFailed;
            }
            Message::Policy { anyone_may_clear } => {
                if !self.is_creator(&opened.by) {
                    return Received::Dropped("a clear policy not from the creator");
                }
                // Members forward the creator's newest policy to newcomers: an older one changes nothing.
                if opened.seq > self.stored.policy_seq {
                    self.stored.anyone_may_clear = anyone_may_clear;
                    self.stored.policy_seq = opened.seq;
                }
                return Received::Settled { note: None };
            }
            Message::Clear => {
                if !(self.is_creator(&opened.by) || self.stored.anyone_may_clear) {
                    return Received::Dropped("a clear from a member the creator did not allow");
                }
                Sealed::Control(Control::Clear)
            }
            Message::Item(meta) => Sealed::Item(meta),
            Message::Resend(r) => Sealed::Resend(r),
            Message::Cancel { content_id } => Sealed::Cancel(content_id),
            Message::Progress => Sealed::Control(Control::Progress),
        };
        Received::Content {
            opened: Box::new(opened),
            sealed,
        }
    }

    /// The name the roster gives a sender device.
    pub fn name_of(&self, pk: &PublicKey) -> String {
        self.stored.roster.display_name(&device_id(pk))
    }
}
