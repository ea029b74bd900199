//! What a `join` asks for, checked and typed before anything else happens (docs/protocol.md,
//! "Client → server" and "Format v3"): a v2 member with a name and a fingerprint, a v3 member
//! with the room's access key or a proof of it, or a v3 applicant. Nothing here knows any room.

use miniserde::json::{Number, Object, Value};
use sharethings_protocol::format::v3;

use super::payload::{self, Failure};
use super::rooms::Format;

/// A checked `join` payload.
pub struct JoinRequest {
    pub session: String,
    pub token: Option<String>,
    /// Whether a join that creates the session asks for an inbox.
    pub inbox: bool,
    pub kind: JoinKind,
}

pub enum JoinKind {
    /// `{sessionId, clientName, fingerprint?, token?, invite?, inbox?}`.
    V2 {
        client_name: String,
        /// Canonical JSON.
        fingerprint: Option<String>,
        invite: Option<String>,
    },
    /// `{sessionId, v: 3, access?, owner?, proof?, token?, inbox?}`.
    V3 {
        /// The room's access key: used only by a join that creates the session.
        access: Option<[u8; v3::ACCESS_KEY_BYTES]>,
        /// The creator's device key (`creatorPk`): used only by a join that creates the
        /// session, which then lets it alone clear the inbox.
        owner: Option<[u8; v3::PUBLIC_KEY_BYTES]>,
        proof: Option<[u8; v3::ACCESS_KEY_BYTES]>,
    },
    /// `{sessionId, v: 3, apply: true}`.
    Apply,
}

impl JoinKind {
    pub(in crate::app) fn format(&self) -> Format {
        match self {
            JoinKind::V2 { .. } => Format::V2,
            JoinKind::V3 { .. } | JoinKind::Apply => Format::V3,
        }
    }
}

impl JoinRequest {
    pub fn parse(object: &Object) -> Result<JoinRequest, Failure> {
        let session = payload::session_id(object)?;
        let token = payload::optional_string(object, "token")?.map(str::to_string);
        let inbox = matches!(object.get("inbox"), Some(Value::Bool(true)));
        let kind = match version(object)? {
            Format::V2 => JoinKind::V2 {
                client_name: payload::client_name(object)?,
                fingerprint: payload::fingerprint(object)?,
                invite: payload::optional_string(object, "invite")?.map(str::to_string),
            },
            Format::V3 => {
                // Names travel sealed in v3: the server takes none, so it can show none.
                if object.contains_key("clientName") {
                    return Err(Failure::invalid("a v3 join carries no clientName"));
                }
                match object.get("apply") {
                    Some(Value::Bool(true)) => JoinKind::Apply,
                    None | Some(Value::Null | Value::Bool(false)) => JoinKind::V3 {
                        access: key(object, "access")?,
                        owner: key(object, "owner")?,
                        proof: key(object, "proof")?,
                    },
                    Some(_) => return Err(Failure::invalid("apply must be a boolean")),
                }
            }
        };
        Ok(JoinRequest {
            session,
            token,
            inbox,
            kind,
        })
    }
}

/// The format a join asks for: `v: 3`, or v2 without `v` (the first release's clients and
/// format-2 clients send none).
fn version(object: &Object) -> Result<Format, Failure> {
    match object.get("v") {
        None | Some(Value::Null) => Ok(Format::V2),
        Some(Value::Number(Number::U64(2))) => Ok(Format::V2),
        Some(Value::Number(Number::U64(v3::VERSION))) => Ok(Format::V3),
        Some(_) => Err(Failure::invalid("v must be 3 (or absent, for format 2)")),
    }
}

/// An optional base64 field holding exactly 32 bytes (`access`, `owner`, `proof`).
fn key(object: &Object, field: &str) -> Result<Option<[u8; v3::ACCESS_KEY_BYTES]>, Failure> {
    let Some(text) = payload::optional_string(object, field)? else {
        return Ok(None);
    };
    // 32 bytes are 44 characters of base64; a longer text is not decoded at all.
    let bytes = (text.len() == 44)
        .then(|| data_encoding::BASE64.decode(text.as_bytes()).ok())
        .flatten();
    match bytes.and_then(|b| <[u8; v3::ACCESS_KEY_BYTES]>::try_from(b).ok()) {
        Some(key) => Ok(Some(key)),
        None => Err(Failure::invalid(format!(
            "{field} must be base64 of 32 bytes"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniserde::json;

    fn parse(text: &str) -> Result<JoinRequest, Failure> {
        match json::from_str::<Value>(text).unwrap() {
            Value::Object(o) => JoinRequest::parse(&o),
            _ => panic!("not an object"),
        }
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn the_version_picks_the_kind() {
        let v2 = parse(r#"{"sessionId":"s","clientName":"A","fingerprint":{"v":2}}"#).unwrap();
        assert!(matches!(v2.kind, JoinKind::V2 { .. }));
        let v3 = parse(&format!(
            r#"{{"sessionId":"s","v":3,"access":"{KEY}","owner":"{KEY}","proof":"{KEY}","inbox":true}}"#
        ))
        .unwrap();
        assert!(v3.inbox);
        let JoinKind::V3 {
            access,
            owner,
            proof,
        } = v3.kind
        else {
            panic!("a v3 member join");
        };
        assert_eq!(access.unwrap()[31], 31);
        assert_eq!(owner.unwrap()[1], 1);
        assert!(proof.is_some());
        let apply = parse(r#"{"sessionId":"s","v":3,"apply":true}"#).unwrap();
        assert!(matches!(apply.kind, JoinKind::Apply));
        assert_eq!(apply.kind.format(), Format::V3);
    }

    #[test]
    fn v3_joins_take_no_name_and_only_32_byte_keys() {
        let failed = |text: &str| parse(text).err().map(|f| f.message);
        assert!(failed(r#"{"sessionId":"s","v":3,"clientName":"A"}"#)
            .unwrap()
            .contains("clientName"));
        assert!(failed(r#"{"sessionId":"s","v":3,"apply":true,"clientName":"A"}"#).is_some());
        assert!(failed(r#"{"sessionId":"s","v":3,"proof":"AAAA"}"#).is_some());
        let long = format!(r#"{{"sessionId":"s","v":3,"access":"{KEY}AAAA"}}"#);
        assert!(failed(&long).is_some());
        let not_base64 = format!(r#"{{"sessionId":"s","v":3,"access":"{}"}}"#, "!".repeat(44));
        assert!(failed(&not_base64).is_some());
        assert!(failed(r#"{"sessionId":"s","v":3,"owner":"AAAA"}"#).is_some());
        assert!(failed(r#"{"sessionId":"s","v":4}"#).is_some());
        assert!(failed(r#"{"sessionId":"s","v":"3"}"#).is_some());
        assert!(failed(r#"{"sessionId":"s","v":3,"apply":1}"#).is_some());
        // A v2 join still needs its name.
        assert!(failed(r#"{"sessionId":"s","fingerprint":1}"#).is_some());
    }
}
