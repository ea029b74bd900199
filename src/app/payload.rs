//! Shapes of the ShareThings event payloads, and the error codes of `docs/protocol.md`.
//!
//! Checks run first (before membership and before the operation), and everything here
//! counts Unicode characters, not bytes. Nothing recurses over client JSON: the only walk
//! over a whole value is miniserde's own non-recursive serializer.

use miniserde::json::{self, Object, Value};

use super::limits::FailedJoins;

/// Every error code the server sends (the table in `docs/protocol.md`, kept in step by a
/// test); the human message travels next to it in each [`Failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    InvalidRequest,
    InvalidPassphrase,
    AccessDenied,
    LegacySession,
    NewerSession,
    NoSuchSession,
    TooManyApplicants,
    NotJoined,
    SessionFull,
    ServerFull,
    RateLimited,
    Replaced,
    PayloadTooLarge,
    InboxFull,
    ServerInboxFull,
    InboxItemTooLarge,
    InboxDiskFull,
    InboxDiskError,
    NotInInbox,
    NotAllowed,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidRequest => "invalid_request",
            Code::InvalidPassphrase => "invalid_passphrase",
            Code::AccessDenied => "access_denied",
            Code::LegacySession => "legacy_session",
            Code::NewerSession => "newer_session",
            Code::NoSuchSession => "no_such_session",
            Code::TooManyApplicants => "too_many_applicants",
            Code::NotJoined => "not_joined",
            Code::SessionFull => "session_full",
            Code::ServerFull => "server_full",
            Code::RateLimited => "rate_limited",
            Code::Replaced => "replaced",
            Code::PayloadTooLarge => "payload_too_large",
            Code::InboxFull => "inbox_full",
            Code::ServerInboxFull => "server_inbox_full",
            Code::InboxItemTooLarge => "inbox_item_too_large",
            Code::InboxDiskFull => "inbox_disk_full",
            Code::InboxDiskError => "inbox_disk_error",
            Code::NotInInbox => "not_in_inbox",
            Code::NotAllowed => "not_allowed",
        }
    }
}

/// A refusal: code, message, and for `rate_limited` how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: Code,
    pub message: String,
    pub retry_after_ms: Option<u64>,
    pub failed_joins: Option<FailedJoins>,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
            retry_after_ms: None,
            failed_joins: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(Code::InvalidRequest, message)
    }

    /// `{success:false, code, error[, retryAfterMs][, failedJoins]}` for an ack.
    pub fn ack_body(&self) -> Value {
        let mut object = Object::new();
        object.insert("success".into(), Value::Bool(false));
        object.insert("code".into(), Value::String(self.code.as_str().into()));
        object.insert("error".into(), Value::String(self.message.clone()));
        self.add_details(&mut object);
        Value::Object(object)
    }

    /// `{code, message[, retryAfterMs][, failedJoins]}` for an `error` event.
    pub fn event_body(&self) -> Value {
        let mut object = Object::new();
        object.insert("code".into(), Value::String(self.code.as_str().into()));
        object.insert("message".into(), Value::String(self.message.clone()));
        self.add_details(&mut object);
        Value::Object(object)
    }

    fn add_details(&self, object: &mut Object) {
        if let Some(ms) = self.retry_after_ms {
            object.insert("retryAfterMs".into(), Value::Number(json::Number::U64(ms)));
            object.insert(
                "retryAfterSeconds".into(),
                Value::Number(json::Number::U64(ms.div_ceil(1000))),
            );
        }
        if let Some(FailedJoins {
            count,
            limit,
            window,
        }) = self.failed_joins
        {
            let mut failed = Object::new();
            let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
            for (key, n) in [
                ("count", count.into()),
                ("limit", limit.into()),
                ("windowMs", window_ms),
            ] {
                failed.insert(key.into(), Value::Number(json::Number::U64(n)));
            }
            object.insert("failedJoins".into(), Value::Object(failed));
        }
    }
}

/// Longest session name, in characters.
pub const SESSION_ID_MAX: usize = 64;
/// Longest client name after trimming, in characters.
pub const CLIENT_NAME_MAX: usize = 32;
/// Largest canonical fingerprint, in bytes.
pub const FINGERPRINT_MAX: usize = 1024;

/// The first argument, which must be an object.
pub fn object(args: Vec<Value>) -> Result<Object, Failure> {
    match args.into_iter().next() {
        Some(Value::Object(object)) => Ok(object),
        _ => Err(Failure::invalid("payload must be an object")),
    }
}

fn is_control(c: char) -> bool {
    // Unicode Cc: C0 controls, DEL and C1 controls.
    c.is_control()
}

/// A `sessionId`: 1–64 characters, no control characters.
pub fn session_id(object: &Object) -> Result<String, Failure> {
    let Some(Value::String(id)) = object.get("sessionId") else {
        return Err(Failure::invalid("sessionId must be a string"));
    };
    let chars = id.chars().count();
    if chars == 0 || chars > SESSION_ID_MAX || id.chars().any(is_control) {
        return Err(Failure::invalid(
            "sessionId must be 1-64 characters without control characters",
        ));
    }
    Ok(id.clone())
}

/// A `clientName`: 1–32 characters after trimming, no control characters.
pub fn client_name(object: &Object) -> Result<String, Failure> {
    let Some(Value::String(name)) = object.get("clientName") else {
        return Err(Failure::invalid("clientName must be a string"));
    };
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > CLIENT_NAME_MAX || name.chars().any(is_control) {
        return Err(Failure::invalid("clientName must be 1-32 characters"));
    }
    Ok(name.to_string())
}

/// The canonical (sorted keys, compact) JSON of `fingerprint`, if present.
pub fn fingerprint(object: &Object) -> Result<Option<String>, Failure> {
    match object.get("fingerprint") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            // miniserde objects are sorted maps and its output is compact: that is canonical.
            let canonical = json::to_string(value);
            if canonical.len() > FINGERPRINT_MAX {
                return Err(Failure::invalid("fingerprint larger than 1024 bytes"));
            }
            Ok(Some(canonical))
        }
    }
}

pub fn optional_string<'a>(object: &'a Object, key: &str) -> Result<Option<&'a str>, Failure> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Failure::invalid(format!("{key} must be a string"))),
    }
}

/// A `chunk` object: `{contentId, chunkIndex, totalChunks, encryptedData, iv?}`.
pub fn check_chunk(object: &Object) -> Result<(), Failure> {
    let Some(Value::Object(chunk)) = object.get("chunk") else {
        return Err(Failure::invalid("chunk must be an object"));
    };
    let id_ok = matches!(chunk.get("contentId"), Some(Value::String(s)) if !s.is_empty());
    let index_ok = matches!(chunk.get("chunkIndex"), Some(Value::Number(_)));
    let total_ok = matches!(chunk.get("totalChunks"), Some(Value::Number(_)));
    let data_ok = chunk
        .get("encryptedData")
        .is_some_and(|v| !matches!(v, Value::Null));
    if id_ok && index_ok && total_ok && data_ok {
        Ok(())
    } else {
        Err(Failure::invalid(
            "chunk needs contentId, chunkIndex, totalChunks and encryptedData",
        ))
    }
}

/// An `admit` payload: `{sessionId, to, step, data}` with `to` a client id, `step` 0–4 and
/// `data` an object of at most `max_data` bytes as canonical JSON. Returns `to` and `step`.
pub fn check_admit(object: &Object, max_data: usize) -> Result<(&str, u64), Failure> {
    let to = match object.get("to") {
        Some(Value::String(to)) if !to.is_empty() => to.as_str(),
        _ => return Err(Failure::invalid("to must name a client")),
    };
    let step = match object.get("step") {
        Some(Value::Number(json::Number::U64(step))) if *step <= ADMIT_LAST_STEP => *step,
        _ => return Err(Failure::invalid("step must be an integer 0-4")),
    };
    let Some(data @ Value::Object(_)) = object.get("data") else {
        return Err(Failure::invalid("data must be an object"));
    };
    // miniserde writes objects with sorted keys and no spaces: canonical.
    if json::to_string(data).len() > max_data {
        return Err(Failure::invalid(format!(
            "data larger than {max_data} bytes"
        )));
    }
    Ok((to, step))
}

/// The last step of an admission run (docs/protocol.md, "Admission by a member").
pub const ADMIT_LAST_STEP: u64 = 4;

pub fn check_content(object: &Object) -> Result<(), Failure> {
    match object.get("content") {
        Some(Value::Null) | None => Err(Failure::invalid("content is missing")),
        Some(_) => Ok(()),
    }
}

pub fn check_content_id(object: &Object) -> Result<(), Failure> {
    match object.get("contentId") {
        Some(Value::String(s)) if !s.is_empty() => Ok(()),
        _ => Err(Failure::invalid("contentId must be a non-empty string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_doc_lists_exactly_the_codes_the_server_sends() {
        let doc = include_str!("../../docs/protocol.md");
        let table = doc
            .split("The server sends exactly these codes:")
            .nth(1)
            .expect("docs/protocol.md introduces the code table");
        let listed: Vec<&str> = table
            .lines()
            .skip_while(|line| !line.starts_with('|'))
            .take_while(|line| line.starts_with('|'))
            .filter_map(|line| line.split('`').nth(1))
            .collect();
        let every_code = [
            Code::InvalidRequest,
            Code::InvalidPassphrase,
            Code::AccessDenied,
            Code::LegacySession,
            Code::NewerSession,
            Code::NoSuchSession,
            Code::TooManyApplicants,
            Code::NotJoined,
            Code::SessionFull,
            Code::ServerFull,
            Code::RateLimited,
            Code::Replaced,
            Code::PayloadTooLarge,
            Code::InboxFull,
            Code::ServerInboxFull,
            Code::InboxItemTooLarge,
            Code::InboxDiskFull,
            Code::InboxDiskError,
            Code::NotInInbox,
            Code::NotAllowed,
        ];
        // A new variant must be added above: this match stops compiling until it is.
        for code in every_code {
            match code {
                Code::InvalidRequest
                | Code::InvalidPassphrase
                | Code::AccessDenied
                | Code::LegacySession
                | Code::NewerSession
                | Code::NoSuchSession
                | Code::TooManyApplicants
                | Code::NotJoined
                | Code::SessionFull
                | Code::ServerFull
                | Code::RateLimited
                | Code::Replaced
                | Code::PayloadTooLarge
                | Code::InboxFull
                | Code::ServerInboxFull
                | Code::InboxItemTooLarge
                | Code::InboxDiskFull
                | Code::InboxDiskError
                | Code::NotInInbox
                | Code::NotAllowed => {}
            }
        }
        let sent: Vec<&str> = every_code.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, sent);
        assert!(doc.contains("`retryAfterMs`") && doc.contains("`retryAfterSeconds`"));
    }

    fn obj(text: &str) -> Object {
        match json::from_str::<Value>(text).unwrap() {
            Value::Object(o) => o,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn session_ids_count_characters() {
        assert!(session_id(&obj(r#"{"sessionId":"a"}"#)).is_ok());
        let sixty_four_emoji = "😀".repeat(64);
        assert!(session_id(&obj(&format!(r#"{{"sessionId":"{sixty_four_emoji}"}}"#))).is_ok());
        assert!(session_id(&obj(&format!(r#"{{"sessionId":"{}"}}"#, "a".repeat(65)))).is_err());
        assert!(session_id(&obj(r#"{"sessionId":""}"#)).is_err());
        assert!(
            session_id(&obj(r#"{"sessionId":"a\u007f"}"#)).is_err(),
            "DEL is a control character"
        );
        assert!(
            session_id(&obj(r#"{"sessionId":"a\u0085"}"#)).is_err(),
            "C1 control"
        );
        assert!(session_id(&obj(r#"{"sessionId":5}"#)).is_err());
    }

    #[test]
    fn client_names_are_trimmed() {
        assert_eq!(
            client_name(&obj(r#"{"clientName":"  Ann  "}"#)).unwrap(),
            "Ann"
        );
        assert!(client_name(&obj(r#"{"clientName":"   "}"#)).is_err());
        assert!(client_name(&obj(&format!(r#"{{"clientName":"{}"}}"#, "b".repeat(33)))).is_err());
    }

    #[test]
    fn fingerprints_are_canonical_and_bounded() {
        let a = fingerprint(&obj(r#"{"fingerprint":{"v":2,"mac":"x"}}"#)).unwrap();
        let b = fingerprint(&obj(r#"{"fingerprint":{ "mac" : "x", "v" : 2 }}"#)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_deref(), Some(r#"{"mac":"x","v":2}"#));
        let big = format!(r#"{{"fingerprint":"{}"}}"#, "x".repeat(1100));
        assert!(fingerprint(&obj(&big)).is_err());
        assert_eq!(fingerprint(&obj("{}")).unwrap(), None);
    }

    #[test]
    fn chunk_shape() {
        assert!(check_chunk(&obj(
            r#"{"chunk":{"contentId":"c","chunkIndex":0,"totalChunks":1,"encryptedData":[1]}}"#
        ))
        .is_ok());
        assert!(check_chunk(&obj(r#"{"chunk":{"contentId":"c","chunkIndex":0}}"#)).is_err());
        assert!(check_chunk(&obj(r#"{"chunk":5}"#)).is_err());
    }

    #[test]
    fn admit_shape_and_canonical_size() {
        let admit =
            |text: &str| check_admit(&obj(text), 16).map(|(to, step)| (to.to_string(), step));
        assert_eq!(
            admit(r#"{"to":"m","step":4,"data":{"b":1, "a":"xy"}}"#),
            Ok(("m".into(), 4)),
            "16 bytes once canonical: sorted, no spaces"
        );
        assert!(admit(r#"{"to":"m","step":1,"data":{"a":"0123456789ab"}}"#).is_err());
        assert!(admit(r#"{"to":"m","step":5,"data":{}}"#).is_err());
        assert!(admit(r#"{"to":"m","step":-1,"data":{}}"#).is_err());
        assert!(admit(r#"{"to":"m","step":1.5,"data":{}}"#).is_err());
        assert!(admit(r#"{"to":"m","step":1,"data":[1]}"#).is_err());
        assert!(admit(r#"{"to":"m","step":1}"#).is_err());
        assert!(admit(r#"{"to":"","step":1,"data":{}}"#).is_err());
        assert!(admit(r#"{"step":1,"data":{}}"#).is_err());
    }

    #[test]
    fn failure_bodies() {
        let mut f = Failure::new(Code::RateLimited, "slow down");
        f.retry_after_ms = Some(1500);
        assert_eq!(
            json::to_string(&f.ack_body()),
            r#"{"code":"rate_limited","error":"slow down","retryAfterMs":1500,"retryAfterSeconds":2,"success":false}"#
        );
        assert_eq!(
            json::to_string(&Failure::invalid("x").event_body()),
            r#"{"code":"invalid_request","message":"x"}"#
        );
        let mut f = Failure::new(Code::InvalidPassphrase, "wrong");
        f.failed_joins = Some(FailedJoins {
            count: 3,
            limit: 10,
            window: std::time::Duration::from_secs(60),
        });
        assert_eq!(
            json::to_string(&f.ack_body()),
            r#"{"code":"invalid_passphrase","error":"wrong","failedJoins":{"count":3,"limit":10,"windowMs":60000},"success":false}"#
        );
    }
}
