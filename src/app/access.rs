//! The server's admission of a v3 member (docs/protocol.md, "Joining as a member"): a nonce
//! per connection, handed out by `challenge` and used up by the next `join`, and the proof of
//! the room's access key over it.
//!
//! The access key is 256 random bits that derive no content key, so holding it lets the
//! server check a member and nothing else; a proof is good for one nonce, so a proof seen
//! once (in a log, through a proxy) opens nothing later. Proofs are compared in constant
//! time. Nothing here logs.

use std::collections::HashMap;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use sharethings_protocol::format::v3;

use crate::socketio::SocketId;

pub type Nonce = [u8; v3::NONCE_BYTES];

/// The nonce each connection was last given, until its next `challenge` or `join`. At most
/// one per socket: the map is bounded by the socket arena.
#[derive(Default)]
pub struct Challenges {
    by_socket: HashMap<SocketId, Nonce>,
}

impl Challenges {
    /// Hands `socket` a fresh nonce, replacing any it had.
    pub fn issue(&mut self, socket: SocketId) -> Nonce {
        let mut nonce = [0u8; v3::NONCE_BYTES];
        nonce.copy_from_slice(&super::random_key()[..v3::NONCE_BYTES]);
        self.by_socket.insert(socket, nonce);
        nonce
    }

    /// The socket's nonce, which no later join can use again.
    pub fn take(&mut self, socket: SocketId) -> Option<Nonce> {
        self.by_socket.remove(&socket)
    }
}

/// Whether `proof` is `HMAC(access_key, join_message(session, nonce))`, compared in constant
/// time.
pub fn proof_verifies(access_key: &[u8], session: &str, nonce: &Nonce, proof: &[u8]) -> bool {
    // HMAC takes a key of any length.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(access_key) else {
        return false;
    };
    mac.update(&v3::join_message(session, nonce));
    mac.verify_slice(proof).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> Vec<u8> {
        data_encoding::BASE64.decode(text.as_bytes()).unwrap()
    }

    /// Computed with Python's `hmac` (see the protocol crate's pinned join message).
    #[test]
    fn a_proof_from_an_independent_implementation_verifies() {
        let key: Vec<u8> = (0..32).collect();
        let nonce: Nonce = core::array::from_fn(|i| 100 + i as u8);
        let proof = b64("JXcAH4/8KOujZJ1Zv9bQxU0jrSB8v44T4jZNFebEVTg=");
        assert!(proof_verifies(&key, "Café ☕ 17", &nonce, &proof));
        assert!(!proof_verifies(&key, "Café ☕ 18", &nonce, &proof));
        let mut other_nonce = nonce;
        other_nonce[0] ^= 1;
        assert!(!proof_verifies(&key, "Café ☕ 17", &other_nonce, &proof));
        assert!(!proof_verifies(&[0; 32], "Café ☕ 17", &nonce, &proof));
        assert!(!proof_verifies(&key, "Café ☕ 17", &nonce, &proof[..31]));
    }

    #[test]
    fn a_nonce_is_fresh_each_time_and_used_once() {
        let mut challenges = Challenges::default();
        let socket = SocketId::from_bits(1);
        let first = challenges.issue(socket);
        let second = challenges.issue(socket);
        assert_ne!(first, second);
        assert_eq!(challenges.take(socket), Some(second));
        assert_eq!(challenges.take(socket), None);
    }
}
