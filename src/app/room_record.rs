//! What a room whose inbox is on disk keeps there so that its members get back in after a
//! restart: the room's incarnation (its nonce, which its tokens name) and what admits them —
//! for a v2 room the keyed verifier of its fingerprint (keyed by the server key, kept beside
//! it), for a v3 room its `accessKey` and its creator's device key — and the revocations of members that left, so that a
//! revoked token stays revoked across a restart. Never the room's name: the files are named
//! by a keyed hash of it, and a room comes back when a member names it again.

use miniserde::json::{self, Number, Object, Value};

use super::rooms::Gate;

/// What admits a room's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// `HMAC(server key, "verifier:" + canonical fingerprint)`.
    Fingerprint([u8; 32]),
    /// The room's `accessKey` (format v3).
    AccessKey([u8; 32]),
}

impl Admission {
    /// What a live room admits with.
    pub(super) fn of(gate: &Gate) -> Admission {
        match gate {
            Gate::Fingerprint { verifier } => Admission::Fingerprint(*verifier),
            Gate::AccessKey(key) => Admission::AccessKey(*key),
        }
    }

    /// The live room's gate for it.
    pub(super) fn gate(&self) -> Gate {
        match self {
            Admission::Fingerprint(verifier) => Gate::Fingerprint {
                verifier: *verifier,
            },
            Admission::AccessKey(key) => Gate::AccessKey(*key),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    pub nonce: u64,
    pub admission: Admission,
    /// A v3 room's creator's device key, which governs its inbox (`authority.rs`). Not its
    /// policy: a room back from disk lets only the creator clear until the creator says
    /// otherwise again (its client does when it joins).
    pub owner: Option<[u8; 32]>,
}

/// A member's revoked tokens, as [`super::revocations::Revocations::revoke`] takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub client_id: String,
    pub last_issue: u64,
    pub expires_ms: u64,
}

impl RoomRecord {
    pub fn to_json(&self) -> String {
        let mut object = Object::new();
        let (mode, secret) = match &self.admission {
            Admission::Fingerprint(v) => ("fingerprint", v),
            Admission::AccessKey(k) => ("accessKey", k),
        };
        object.insert("v".into(), number(1));
        object.insert("nonce".into(), number(self.nonce));
        object.insert(
            mode.into(),
            Value::String(data_encoding::BASE64.encode(secret)),
        );
        if let Some(owner) = &self.owner {
            object.insert(
                "owner".into(),
                Value::String(data_encoding::BASE64.encode(owner)),
            );
        }
        json::to_string(&object)
    }

    pub fn from_json(text: &str) -> Option<RoomRecord> {
        let object: Object = json::from_str(text).ok()?;
        let nonce = u64_of(object.get("nonce")?)?;
        let admission = match (object.get("fingerprint"), object.get("accessKey")) {
            (Some(v), None) => Admission::Fingerprint(key_of(v)?),
            (None, Some(k)) => Admission::AccessKey(key_of(k)?),
            _ => return None,
        };
        let owner = match object.get("owner") {
            None => None,
            Some(owner) => Some(key_of(owner)?),
        };
        Some(RoomRecord {
            nonce,
            admission,
            owner,
        })
    }
}

impl Revocation {
    pub fn to_json(&self) -> String {
        let mut object = Object::new();
        object.insert("clientId".into(), Value::String(self.client_id.clone()));
        object.insert("issue".into(), number(self.last_issue));
        object.insert("expiresMs".into(), number(self.expires_ms));
        json::to_string(&object)
    }

    pub fn from_json(text: &str) -> Option<Revocation> {
        let object: Object = json::from_str(text).ok()?;
        let Some(Value::String(client_id)) = object.get("clientId") else {
            return None;
        };
        Some(Revocation {
            client_id: client_id.clone(),
            last_issue: u64_of(object.get("issue")?)?,
            expires_ms: u64_of(object.get("expiresMs")?)?,
        })
    }
}

fn number(n: u64) -> Value {
    Value::Number(Number::U64(n))
}

fn u64_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(Number::U64(n)) => Some(*n),
        _ => None,
    }
}

fn key_of(value: &Value) -> Option<[u8; 32]> {
    let Value::String(text) = value else {
        return None;
    };
    data_encoding::BASE64
        .decode(text.as_bytes())
        .ok()?
        .try_into()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_refuse_what_they_did_not_write() {
        for (admission, owner) in [
            (Admission::Fingerprint([3; 32]), None),
            (Admission::AccessKey([4; 32]), Some([5; 32])),
            (Admission::AccessKey([4; 32]), None),
        ] {
            let record = RoomRecord {
                nonce: u64::MAX,
                admission,
                owner,
            };
            assert_eq!(RoomRecord::from_json(&record.to_json()), Some(record));
        }
        let revocation = Revocation {
            client_id: "abc".into(),
            last_issue: 7,
            expires_ms: 1_700_000_000_000,
        };
        assert_eq!(
            Revocation::from_json(&revocation.to_json()),
            Some(revocation)
        );
        for bad in [
            "",
            "{}",
            r#"{"nonce":1}"#,
            r#"{"nonce":1,"fingerprint":"AAAA"}"#,
            r#"{"nonce":-1,"fingerprint":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#,
            r#"{"nonce":1,"accessKey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","owner":"AAAA"}"#,
        ] {
            assert_eq!(RoomRecord::from_json(bad), None, "{bad}");
        }
    }
}
