//! Format 3 joins for the test clients: a nonce from `challenge`, then a proof of the room's
//! access key over it (HMAC-SHA256 of the protocol crate's join message), with the creator's
//! device key that a creating join names, and applying.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::*;

/// The `owner` every session these clients create names: the Ed25519 public key of the
/// secret key `[9; 32]` (the server checks that it is a public key).
const CREATOR: [u8; 32] = [
    253, 23, 36, 56, 90, 160, 199, 91, 100, 251, 120, 205, 96, 47, 161, 217, 145, 253, 235, 247,
    107, 19, 197, 142, 215, 2, 234, 200, 53, 233, 246, 24,
];

/// `proof` for `session` under `key`, over the nonce whose base64 a `challenge` ack carried.
fn join_proof(key: &[u8; 32], session: &str, nonce_b64: &str) -> String {
    let nonce = data_encoding::BASE64
        .decode(nonce_b64.as_bytes())
        .expect("the nonce is base64");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(&protocol::format::v3::join_message(session, &nonce));
    data_encoding::BASE64.encode(&mac.finalize().into_bytes())
}

impl SioClient {
    /// `challenge`, then a v3 `join` of `session` proving `key` (and offering it, so the join
    /// may create the session); returns the join's ack, whatever it says.
    pub fn try_join_v3(&mut self, session: &str, key: &[u8; 32]) -> Value {
        self.try_join_v3_with(session, key, "")
    }

    /// [`SioClient::try_join_v3`] with `fields` (e.g. `"inbox":true,`) added to the join.
    pub fn try_join_v3_with(&mut self, session: &str, key: &[u8; 32], fields: &str) -> Value {
        let ack = self.emit_ack(
            "challenge",
            &format!(r#"{{"sessionId":{}}}"#, quote(session)),
        );
        let nonce = str_of(get(&ack, "nonce")).to_string();
        let payload = format!(
            r#"{{{fields}"sessionId":{},"v":3,"access":"{}","owner":"{}","proof":"{}"}}"#,
            quote(session),
            data_encoding::BASE64.encode(key),
            data_encoding::BASE64.encode(&CREATOR),
            join_proof(key, session, &nonce)
        );
        self.emit_ack("join", &payload)
    }

    /// [`SioClient::try_join_v3`] that must succeed.
    pub fn join_v3(&mut self, session: &str, key: &[u8; 32]) -> Value {
        let ack = self.try_join_v3(session, key);
        assert!(bool_of(get(&ack, "success")), "v3 join: {}", to_json(&ack));
        ack
    }

    /// `join {sessionId, v: 3, apply: true}`; returns the ack, whatever it says.
    pub fn apply(&mut self, session: &str) -> Value {
        self.emit_ack(
            "join",
            &format!(r#"{{"sessionId":{},"v":3,"apply":true}}"#, quote(session)),
        )
    }
}
