//! Keyed hashes and rejoin tokens.
//!
//! The server holds one random key, drawn at start and never written anywhere — unless the
//! inbox is on disk (`INBOX_DIR`): then it is kept there (0600), so that the verifiers of
//! rooms whose inbox is on disk, and every token, outlive a restart. A room keeps only
//! `HMAC(key, "verifier:" + canonical fingerprint)`; a token is
//! `<room nonce>.<clientId>.<expiry>.<issue>.<HMAC(key, "token:" + those four)>`, so it names
//! one member of one incarnation of one room and stops working when the room expires (or the
//! process restarts, unless the key and the room are on disk); `issue` counts the room's
//! tokens, so a room can refuse every token issued before a point (see
//! [`super::revocations`]). Comparisons are constant-time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub room_nonce: u64,
    pub client_id: String,
    /// Milliseconds since the server started.
    pub expires_ms: u64,
    /// Which of its room's tokens this is (a counter per room).
    pub issue: u64,
}

pub struct Keys {
    key: [u8; 32],
}

impl Keys {
    pub fn new(key: [u8; 32]) -> Keys {
        Keys { key }
    }

    fn mac(&self, domain: &[u8], data: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(domain);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// The verifier stored for a room: a keyed hash of the canonical fingerprint.
    pub fn verifier(&self, canonical_fingerprint: &str) -> [u8; 32] {
        self.mac(b"verifier:", canonical_fingerprint.as_bytes())
    }

    /// The name of a room's directory in `INBOX_DIR`: a keyed hash of its name, so that the
    /// name is never written to disk and cannot be tested against the directory's names
    /// without the key.
    pub fn room_file_key(&self, name: &str) -> [u8; 32] {
        self.mac(b"inbox-room:", name.as_bytes())
    }

    pub fn sign(&self, claims: &TokenClaims) -> String {
        let body = format!(
            "{:016x}.{}.{}.{}",
            claims.room_nonce, claims.client_id, claims.expires_ms, claims.issue
        );
        let mac = self.mac(b"token:", body.as_bytes());
        format!("{body}.{}", data_encoding::BASE64URL_NOPAD.encode(&mac))
    }

    /// The claims of a token this server signed and that has not expired at `now_ms`.
    pub fn verify(&self, token: &str, now_ms: u64) -> Option<TokenClaims> {
        if token.len() > 256 {
            return None;
        }
        let (body, mac_text) = token.rsplit_once('.')?;
        let given = data_encoding::BASE64URL_NOPAD
            .decode(mac_text.as_bytes())
            .ok()?;
        let expected = self.mac(b"token:", body.as_bytes());
        if !constant_time_eq(&given, &expected) {
            return None;
        }
        let mut parts = body.split('.');
        let nonce = u64::from_str_radix(parts.next()?, 16).ok()?;
        let client_id = parts.next()?.to_string();
        let expires_ms: u64 = parts.next()?.parse().ok()?;
        let issue: u64 = parts.next()?.parse().ok()?;
        if parts.next().is_some() || expires_ms <= now_ms {
            return None;
        }
        Some(TokenClaims {
            room_nonce: nonce,
            client_id,
            expires_ms,
            issue,
        })
    }
}

impl Keys {
    /// An invite to the room incarnation `room_nonce`, valid until `expires_ms`:
    /// `<room nonce>.<expiry>.<HMAC(key, "invite:" + those two)>`.
    pub fn sign_invite(&self, room_nonce: u64, expires_ms: u64) -> String {
        let body = format!("{room_nonce:016x}.{expires_ms}");
        let mac = self.mac(b"invite:", body.as_bytes());
        format!("{body}.{}", data_encoding::BASE64URL_NOPAD.encode(&mac))
    }

    /// The room nonce of an invite this server signed that has not expired at `now_ms`.
    pub fn verify_invite(&self, invite: &str, now_ms: u64) -> Option<u64> {
        if invite.len() > 128 {
            return None;
        }
        let (body, mac_text) = invite.rsplit_once('.')?;
        let given = data_encoding::BASE64URL_NOPAD
            .decode(mac_text.as_bytes())
            .ok()?;
        if !constant_time_eq(&given, &self.mac(b"invite:", body.as_bytes())) {
            return None;
        }
        let (nonce, expires_ms) = body.split_once('.')?;
        let expires_ms: u64 = expires_ms.parse().ok()?;
        (expires_ms > now_ms).then_some(())?;
        u64::from_str_radix(nonce, 16).ok()
    }
}

/// Compares without an early exit, so timing does not reveal how much matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_resist_tampering() {
        let keys = Keys::new([7; 32]);
        let claims = TokenClaims {
            room_nonce: 42,
            client_id: "abcdefghijklmnopqrst".into(),
            expires_ms: 1000,
            issue: 7,
        };
        let token = keys.sign(&claims);
        assert_eq!(keys.verify(&token, 999), Some(claims.clone()));
        assert_eq!(keys.verify(&token, 1000), None, "expired");
        let mut forged = token.clone();
        forged.replace_range(0..1, "1");
        assert_eq!(keys.verify(&forged, 0), None);
        assert_eq!(
            Keys::new([8; 32]).verify(&token, 0),
            None,
            "another server's key"
        );
        assert_eq!(keys.verify("garbage", 0), None);
        assert_eq!(keys.verify("", 0), None);
    }

    #[test]
    fn invites_name_their_room_expire_and_are_no_tokens() {
        let keys = Keys::new([7; 32]);
        let invite = keys.sign_invite(42, 1000);
        assert_eq!(keys.verify_invite(&invite, 999), Some(42));
        assert_eq!(keys.verify_invite(&invite, 1000), None, "expired");
        assert_eq!(Keys::new([8; 32]).verify_invite(&invite, 0), None);
        assert_eq!(keys.verify(&invite, 0), None, "an invite is not a token");
        let token = keys.sign(&TokenClaims {
            room_nonce: 42,
            client_id: "c".into(),
            expires_ms: 1000,
            issue: 0,
        });
        assert_eq!(
            keys.verify_invite(&token, 0),
            None,
            "a token is not an invite"
        );
    }

    #[test]
    fn verifier_depends_on_key_and_fingerprint() {
        let a = Keys::new([1; 32]);
        assert_eq!(a.verifier("x"), a.verifier("x"));
        assert_ne!(a.verifier("x"), a.verifier("y"));
        assert_ne!(a.verifier("x"), Keys::new([2; 32]).verifier("x"));
    }

    #[test]
    fn constant_time_eq_basics() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
