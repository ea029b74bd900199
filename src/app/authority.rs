//! Who may empty a session's inbox, or delete from it an item another member sent
//! (docs/protocol.md, "Inbox authority"). Every member of a v3 session holds its access key, so
//! the key cannot tell the creator from the others; the creator's device key can. The join that
//! creates the session names it (`owner`, the `creatorPk` every member holds), and the server
//! then empties the inbox (`clear-all-content`), deletes another member's item from it
//! (`inbox-delete`) or changes who may (`inbox-policy`) only on the creator's Ed25519 signature
//! over a nonce of the server's: a signature opens one request, so one seen once opens nothing
//! later. The creator may let every member clear (the policy); a member may always delete what
//! it sent itself. A v2 session has no owner: any member may clear it, as before format 3.

use ed25519_dalek::{Signature, VerifyingKey};
use sharethings_protocol::format::v3;

use super::access::Nonce;
use super::payload::{Code, Failure};
use super::*;

/// The creator's device key, and whether it lets every member clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    key: [u8; v3::PUBLIC_KEY_BYTES],
    pub anyone_may_clear: bool,
}

/// What a member asks to do to the session's inbox.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// Empty it (`clear-all-content`).
    Clear,
    /// Delete this item, sent by another member (`inbox-delete`).
    Delete(&'a str),
    /// Let every member clear, or only the creator (`inbox-policy`).
    Policy { anyone_may_clear: bool },
}

impl Action<'_> {
    fn parts(&self) -> Vec<&[u8]> {
        match self {
            Action::Clear => vec![b"clear"],
            Action::Delete(content_id) => vec![b"delete", content_id.as_bytes()],
            Action::Policy { anyone_may_clear } => {
                vec![
                    b"policy",
                    if *anyone_may_clear {
                        b"anyone"
                    } else {
                        b"creator"
                    },
                ]
            }
        }
    }

    fn refusal(&self) -> &'static str {
        match self {
            Action::Clear => "only the session's creator may clear its inbox",
            Action::Delete(_) => {
                "only the item's sender or the session's creator may delete it from the inbox"
            }
            Action::Policy { .. } => "only the session's creator may say who may clear",
        }
    }
}

impl Owner {
    /// The owner a creating join names, if `key` is an Ed25519 public key; only the creator
    /// may clear until it says otherwise.
    pub fn new(key: [u8; v3::PUBLIC_KEY_BYTES]) -> Option<Owner> {
        VerifyingKey::from_bytes(&key).ok()?;
        Some(Owner {
            key,
            anyone_may_clear: false,
        })
    }

    pub fn key(&self) -> [u8; v3::PUBLIC_KEY_BYTES] {
        self.key
    }

    /// Whether `signature` is the owner's over `action` in `session` with `nonce` (strict
    /// verification: no malleable or small-order forms).
    pub fn signed(
        &self,
        session: &str,
        nonce: &Nonce,
        action: Action<'_>,
        signature: &[u8],
    ) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.key) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        let message = v3::inbox_message(session, nonce, &action.parts());
        key.verify_strict(&message, &signature).is_ok()
    }

    /// Whether a member may do `action` without the creator's signature.
    fn allows_anyone(&self, action: Action<'_>) -> bool {
        match action {
            Action::Clear | Action::Delete(_) => self.anyone_may_clear,
            Action::Policy { .. } => false,
        }
    }
}

impl ShareThings {
    /// Whether the member on `socket` may do `action` to the inbox of `room`: always in a
    /// session with no owner (v2), and when the owner lets everyone; otherwise on the owner's
    /// signature (`auth`) over the nonce of this connection's last `challenge`, which it uses
    /// up.
    pub(super) fn authorize(
        &mut self,
        socket: SocketId,
        room: Handle,
        action: Action<'_>,
        object: &Object,
    ) -> Result<(), Failure> {
        let Some(r) = self.rooms.room(room) else {
            return Err(Failure::new(Code::NotJoined, "session vanished"));
        };
        let Some(owner) = r.owner else {
            return Ok(());
        };
        if owner.allows_anyone(action) {
            return Ok(());
        }
        let Some(auth) = payload::optional_string(object, "auth")? else {
            return Err(Failure::new(Code::NotAllowed, action.refusal()));
        };
        // 64 bytes are 88 characters of base64; a longer text is not decoded at all.
        let signature = (auth.len() == 88)
            .then(|| data_encoding::BASE64.decode(auth.as_bytes()).ok())
            .flatten()
            .ok_or_else(|| Failure::invalid("auth must be base64 of 64 bytes"))?;
        let Some(nonce) = self.challenges.take(socket) else {
            return Err(Failure::invalid("ask for a challenge before signing"));
        };
        if owner.signed(&r.name, &nonce, action, &signature) {
            Ok(())
        } else {
            Err(Failure::new(Code::NotAllowed, action.refusal()))
        }
    }

    /// `inbox-policy {sessionId, anyoneMayClear, auth}`: the creator lets every member clear
    /// the inbox and delete from it, or only itself again.
    pub(super) fn inbox_policy(
        &mut self,
        socket: SocketId,
        object: &Object,
    ) -> Result<Value, Failure> {
        let (_, room) = self.sender(socket, object)?;
        let Some(Value::Bool(anyone_may_clear)) = object.get("anyoneMayClear") else {
            return Err(Failure::invalid("anyoneMayClear must be a boolean"));
        };
        let anyone_may_clear = *anyone_may_clear;
        if self.rooms.room(room).and_then(|r| r.owner).is_none() {
            return Err(Failure::invalid(
                "this session has no creator's key: any member may clear",
            ));
        }
        self.authorize(socket, room, Action::Policy { anyone_may_clear }, object)?;
        if let Some(owner) = self.rooms.room_mut(room).and_then(|r| r.owner.as_mut()) {
            owner.anyone_may_clear = anyone_may_clear;
        }
        Ok(success())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    fn b64(v: &Json) -> Vec<u8> {
        data_encoding::BASE64
            .decode(v.as_str().unwrap().as_bytes())
            .unwrap()
    }

    /// Signatures made by the independent generator (tests/vectors/generate_v3.py, Python's
    /// `cryptography`) verify, and nothing else does: another action, another session, another
    /// nonce, a flipped bit.
    #[test]
    fn the_creators_signatures_from_the_vectors_verify_and_nothing_else() {
        let vectors: Json =
            serde_json::from_str(include_str!("../../tests/vectors/format-v3.json")).unwrap();
        let session = vectors["room"]["sessionId"].as_str().unwrap();
        let inbox = &vectors["inbox"];
        let owner = Owner::new(b64(&inbox["ownerPk"]).try_into().unwrap()).unwrap();
        let nonce: Nonce = b64(&inbox["nonce"]).try_into().unwrap();
        let signed = |action: Action<'_>, index: usize| {
            let sig = b64(&inbox["actions"][index]["sig"]);
            owner.signed(session, &nonce, action, &sig)
        };
        assert!(signed(Action::Clear, 0));
        assert!(signed(Action::Delete("item-é-1"), 1));
        assert!(signed(
            Action::Policy {
                anyone_may_clear: true
            },
            2
        ));
        assert!(signed(
            Action::Policy {
                anyone_may_clear: false
            },
            3
        ));
        assert!(!signed(Action::Clear, 1));
        assert!(!signed(Action::Delete("item-é-2"), 1));
        assert!(!signed(
            Action::Policy {
                anyone_may_clear: true
            },
            3
        ));
        let sig = b64(&inbox["actions"][0]["sig"]);
        assert!(!owner.signed("another session", &nonce, Action::Clear, &sig));
        let mut other_nonce = nonce;
        other_nonce[0] ^= 1;
        assert!(!owner.signed(session, &other_nonce, Action::Clear, &sig));
        let mut flipped = sig.clone();
        flipped[10] ^= 1;
        assert!(!owner.signed(session, &nonce, Action::Clear, &flipped));
        assert!(!owner.signed(session, &nonce, Action::Clear, &sig[..63]));
    }

    #[test]
    fn an_owner_is_a_public_key_and_lets_no_one_else_by_default() {
        // y = 2 is on no point of the curve ((y² - 1) / (d·y² + 1) is no square): refused when
        // the session is created.
        let not_a_point: [u8; 32] = core::array::from_fn(|i| if i == 0 { 2 } else { 0 });
        assert!(Owner::new(not_a_point).is_none());
        let vectors: Json =
            serde_json::from_str(include_str!("../../tests/vectors/format-v3.json")).unwrap();
        let mut owner = Owner::new(b64(&vectors["inbox"]["ownerPk"]).try_into().unwrap()).unwrap();
        assert!(!owner.allows_anyone(Action::Clear));
        assert!(!owner.allows_anyone(Action::Delete("x")));
        owner.anyone_may_clear = true;
        assert!(owner.allows_anyone(Action::Clear));
        assert!(owner.allows_anyone(Action::Delete("x")));
        assert!(!owner.allows_anyone(Action::Policy {
            anyone_may_clear: false
        }));
    }
}
