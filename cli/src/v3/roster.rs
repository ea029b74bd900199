//! Devices, cards and the roster (docs/protocol.md, "Devices, cards and the roster"): who is
//! in the room as the members say it, never as the server does. A name is shown only from a
//! card whose signature verifies; a `clientId` is tied to a device only by that device's
//! signed `hello`.

use std::collections::HashMap;

use data_encoding::BASE64;
use serde::{Deserialize, Serialize};
use sharethings_protocol::format::v3::{self, MAX_NAME_CHARS, MAX_TRACKED_SENDERS};

use super::keys::{device_id, parse_device_id, verify, Device, PublicKey};

/// A device's signed name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub device: String,
    pub name: String,
    pub at: u64,
    pub sig: String,
}

/// "Member `by` admitted `device` under `name`", signed by `by`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub device: String,
    pub name: String,
    pub by: String,
    pub at: u64,
    pub sig: String,
}

/// A display name as a card may carry it: 1 to 32 characters, no control characters.
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_CHARS).contains(&name.chars().count()) && !name.chars().any(char::is_control)
}

impl Card {
    pub fn sign(device: &Device, epoch: &[u8], name: &str, at: u64) -> Card {
        let message = v3::card_message(epoch, &device.public_key(), name, at);
        Card {
            device: device.id(),
            name: name.to_string(),
            at,
            sig: BASE64.encode(&device.sign(&message)),
        }
    }

    /// The card's device key, if the card is well formed and its signature verifies.
    pub fn verify(&self, epoch: &[u8]) -> Option<PublicKey> {
        let pk = parse_device_id(&self.device)?;
        let sig = BASE64.decode(self.sig.as_bytes()).ok()?;
        let message = v3::card_message(epoch, &pk, &self.name, self.at);
        (valid_name(&self.name) && verify(&pk, &message, &sig).is_ok()).then_some(pk)
    }
}

impl Record {
    pub fn sign(by: &Device, epoch: &[u8], device: &PublicKey, name: &str, at: u64) -> Record {
        let message = v3::record_message(epoch, device, name, &by.public_key(), at);
        Record {
            device: device_id(device),
            name: name.to_string(),
            by: by.id(),
            at,
            sig: BASE64.encode(&by.sign(&message)),
        }
    }

    pub fn verify(&self, epoch: &[u8]) -> bool {
        let (Some(pk), Some(by)) = (parse_device_id(&self.device), parse_device_id(&self.by))
        else {
            return false;
        };
        let Ok(sig) = BASE64.decode(self.sig.as_bytes()) else {
            return false;
        };
        let message = v3::record_message(epoch, &pk, &self.name, &by, self.at);
        valid_name(&self.name) && verify(&by, &message, &sig).is_ok()
    }
}

/// The roster as this device knows it: the newest verified card of each device, the
/// admission records it has seen, and which `clientId` each device's `hello` announced.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Roster {
    cards: HashMap<String, Card>,
    records: Vec<Record>,
    /// clientId → device id, from verified `hello`s of this connection's lifetime.
    #[serde(skip)]
    online: HashMap<String, String>,
}

impl Roster {
    /// Keeps `card` if it verifies and is newer than the one known. Returns whether it did.
    pub fn add_card(&mut self, card: &Card, epoch: &[u8]) -> bool {
        if card.verify(epoch).is_none() {
            return false;
        }
        if let Some(known) = self.cards.get(&card.device) {
            if known.at >= card.at {
                return false;
            }
        } else if self.cards.len() >= MAX_TRACKED_SENDERS {
            return false;
        }
        self.cards.insert(card.device.clone(), card.clone());
        true
    }

    pub fn add_record(&mut self, record: &Record, epoch: &[u8]) -> bool {
        if !record.verify(epoch) || self.records.contains(record) {
            return false;
        }
        if self.records.len() >= MAX_TRACKED_SENDERS {
            self.records.remove(0);
        }
        self.records.push(record.clone());
        true
    }

    /// A verified `hello`: `client_id` is now `card`'s device.
    pub fn bind(&mut self, client_id: &str, card: &Card, epoch: &[u8]) -> bool {
        if card.verify(epoch).is_none() {
            return false;
        }
        self.add_card(card, epoch);
        self.online.retain(|_, d| d != &card.device);
        self.online
            .insert(client_id.to_string(), card.device.clone());
        true
    }

    pub fn unbind(&mut self, client_id: &str) {
        self.online.remove(client_id);
    }

    /// Forgets who is online (a new connection: everyone says hello again).
    pub fn clear_online(&mut self) {
        self.online.clear();
    }

    pub fn device_of(&self, client_id: &str) -> Option<&str> {
        self.online.get(client_id).map(String::as_str)
    }

    /// The name a device's newest card gives; `None` for a device with no card.
    pub fn name_of(&self, device: &str) -> Option<&str> {
        self.cards.get(device).map(|c| c.name.as_str())
    }

    /// The name to show for a sender: from its card, or "an unknown device".
    pub fn display_name(&self, device: &str) -> String {
        self.name_of(device)
            .map_or_else(|| "an unknown device".to_string(), str::to_string)
    }

    pub fn cards(&self) -> impl Iterator<Item = &Card> {
        self.cards.values()
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::keys::RoomKeys;
    use crate::v3::test_vectors::{all, devices, room};

    #[test]
    fn the_vectors_cards_and_records_verify_and_forgeries_do_not() {
        let v = all();
        let epoch = RoomKeys::derive(&room(&v)).epoch;
        let mut roster = Roster::default();
        for c in v["cards"].as_array().unwrap() {
            let card: Card = serde_json::from_value(c["json"].clone()).unwrap();
            assert!(roster.add_card(&card, &epoch));
            assert!(!roster.add_card(&card, &epoch), "not newer");
            let mut forged = card.clone();
            forged.name = "Mallory".into();
            assert_eq!(forged.verify(&epoch), None);
            assert_eq!(card.verify(&[0; 16]), None, "another session's epoch");
        }
        for r in v["records"].as_array().unwrap() {
            let record: Record = serde_json::from_value(r["json"].clone()).unwrap();
            assert!(roster.add_record(&record, &epoch));
            let mut forged = record.clone();
            forged.by = record.device.clone();
            assert!(!forged.verify(&epoch));
        }
        let [creator, member, applicant] = &devices(&v)[..] else {
            panic!()
        };
        assert_eq!(roster.name_of(&creator.id()), Some("Laptop"));
        assert_eq!(roster.display_name("nobody"), "an unknown device");
        // Signing here gives the vectors' bytes (Ed25519 is deterministic).
        let again = Card::sign(member, &epoch, "Phone ☎", 1767225600001);
        assert_eq!(serde_json::to_value(&again).unwrap(), v["cards"][1]["json"]);
        let record = Record::sign(
            member,
            &epoch,
            &applicant.public_key(),
            "nas",
            1767225600004,
        );
        assert_eq!(
            serde_json::to_value(&record).unwrap(),
            v["records"][0]["json"]
        );
    }

    #[test]
    fn hello_binds_client_ids_and_newer_cards_rename() {
        let epoch = [3u8; 16];
        let d = Device::generate();
        let mut roster = Roster::default();
        assert!(roster.bind("c1", &Card::sign(&d, &epoch, "old", 1), &epoch));
        assert!(roster.bind("c2", &Card::sign(&d, &epoch, "new", 2), &epoch));
        assert_eq!(roster.device_of("c1"), None, "a device is online once");
        assert_eq!(roster.device_of("c2"), Some(d.id().as_str()));
        assert_eq!(roster.name_of(&d.id()), Some("new"));
        assert!(!roster.add_card(&Card::sign(&d, &epoch, "older", 1), &epoch));
        assert!(
            !roster.bind("c3", &Card::sign(&d, &epoch, "", 3), &epoch),
            "empty name"
        );
        let long = "x".repeat(33);
        assert!(!roster.bind("c3", &Card::sign(&d, &epoch, &long, 3), &epoch));
        roster.unbind("c2");
        assert_eq!(roster.device_of("c2"), None);
    }
}
