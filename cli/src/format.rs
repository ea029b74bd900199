//! Encryption format v2 (docs/protocol.md, "Client-side encryption"): key derivation, the
//! fingerprint a join presents, the routing key, and AES-256-GCM with the associated data
//! that binds every blob to its place. Pure functions over bytes; no I/O.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// Plaintext bytes per chunk; the last chunk of an item may be shorter.
pub const CHUNK_SIZE: usize = 256 * 1024;
/// Chunks a sender may have on the wire without an ack.
pub const MAX_UNACKED_CHUNKS: usize = 8;
pub const IV_BYTES: usize = 12;

/// The keys of one session. Only `fingerprint` ever leaves this process.
pub struct SessionKeys {
    cipher: Aes256Gcm,
    pub fingerprint: serde_json::Value,
}

/// A blob that did not authenticate: wrong key, wrong place (AAD), or tampered bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct AuthError;

/// The three derived secrets, exposed for the cross-language vectors.
struct Derived {
    // Only the vectors look at it; the keys below are what the client uses.
    #[cfg_attr(not(test), allow(dead_code))]
    master: [u8; 32],
    enc_key: [u8; 32],
    auth_key: [u8; 32],
}

fn derive(passphrase: &str, session_id: &str, iterations: u32) -> Derived {
    let salt = format!("sharethings/v2/{session_id}");
    let mut master = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(
        passphrase.as_bytes(),
        salt.as_bytes(),
        iterations,
        &mut master,
    );
    let hk = hkdf::Hkdf::<Sha256>::new(Some(&[]), &master);
    let mut enc_key = [0u8; 32];
    let mut auth_key = [0u8; 32];
    hk.expand(b"sharethings/v2/enc", &mut enc_key)
        .and_then(|()| hk.expand(b"sharethings/v2/auth", &mut auth_key))
        .expect("32 bytes is a valid HKDF-SHA256 length");
    Derived {
        master,
        enc_key,
        auth_key,
    }
}

fn fingerprint(auth_key: &[u8; 32], session_id: &str) -> serde_json::Value {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(auth_key).expect("HMAC takes any key");
    mac.update(format!("verifier:{session_id}").as_bytes());
    let mac = data_encoding::BASE64.encode(&mac.finalize().into_bytes());
    serde_json::json!({ "v": 2, "mac": mac })
}

impl SessionKeys {
    /// Runs PBKDF2 (600 000 rounds: a noticeable fraction of a second, on purpose).
    pub fn derive(passphrase: &str, session_id: &str) -> SessionKeys {
        Self::derive_with(passphrase, session_id, PBKDF2_ITERATIONS)
    }

    /// Keys from a cheap derivation, for tests that only need some key.
    #[cfg(test)]
    pub fn cheap(passphrase: &str) -> SessionKeys {
        Self::derive_with(passphrase, "test", 1)
    }

    fn derive_with(passphrase: &str, session_id: &str, iterations: u32) -> SessionKeys {
        let d = derive(passphrase, session_id, iterations);
        SessionKeys {
            cipher: Aes256Gcm::new(&d.enc_key.into()),
            fingerprint: fingerprint(&d.auth_key, session_id),
        }
    }

    /// Seals with a fresh random IV, returned beside the ciphertext (`ct || tag`).
    pub fn seal(&self, plaintext: &[u8], aad: &str) -> ([u8; IV_BYTES], Vec<u8>) {
        let mut iv = [0u8; IV_BYTES];
        getrandom::fill(&mut iv).expect("the operating system has a random source");
        (iv, self.seal_with_iv(&iv, plaintext, aad))
    }

    fn seal_with_iv(&self, iv: &[u8; IV_BYTES], plaintext: &[u8], aad: &str) -> Vec<u8> {
        let payload = Payload {
            msg: plaintext,
            aad: aad.as_bytes(),
        };
        self.cipher
            .encrypt(Nonce::from_slice(iv), payload)
            .expect("AES-GCM seals any message below 64 GiB")
    }

    pub fn open(&self, iv: &[u8], ciphertext: &[u8], aad: &str) -> Result<Vec<u8>, AuthError> {
        if iv.len() != IV_BYTES {
            return Err(AuthError);
        }
        let payload = Payload {
            msg: ciphertext,
            aad: aad.as_bytes(),
        };
        self.cipher
            .decrypt(Nonce::from_slice(iv), payload)
            .map_err(|_| AuthError)
    }
}

/// Associated data of an item's sealed metadata.
pub fn meta_aad(content_id: &str) -> String {
    format!("{content_id}:meta")
}

/// Associated data of a chunk: its item, position and count (reordering fails to open).
pub fn chunk_aad(content_id: &str, chunk_index: u64, total_chunks: u64) -> String {
    format!("{content_id}:{chunk_index}:{total_chunks}")
}

/// Chunks of an item of `size` bytes; an empty item still has one (empty) chunk.
pub fn chunk_count(size: u64) -> u64 {
    size.div_ceil(CHUNK_SIZE as u64).max(1)
}

/// Plaintext length of chunk `index` of an item of `size` bytes.
pub fn chunk_len(index: u64, size: u64) -> u64 {
    let start = index * CHUNK_SIZE as u64;
    size.saturating_sub(start).min(CHUNK_SIZE as u64)
}

/// The routing key the web client puts in the connection URL (`?route=`): a load balancer
/// sends every member of a session to one process without seeing the session name.
pub fn route_key(session_id: &str) -> String {
    let digest = Sha256::digest(format!("sharethings/route/{session_id}").as_bytes());
    data_encoding::HEXLOWER.encode(&digest[..8])
}

/// A fresh item id: 32 hex digits, as the web client makes them.
pub fn new_content_id() -> String {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).expect("the operating system has a random source");
    data_encoding::HEXLOWER.encode(&id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../../tests/vectors/format-v2.json");

    fn hex(s: &Value) -> Vec<u8> {
        data_encoding::HEXLOWER
            .decode(s.as_str().unwrap().as_bytes())
            .unwrap()
    }

    #[test]
    fn passes_the_cross_language_vectors() {
        let all: Value = serde_json::from_str(VECTORS).unwrap();
        assert_eq!(all["format"], 2);
        let cases = all["cases"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let session = case["sessionId"].as_str().unwrap();
            let pass = case["passphrase"].as_str().unwrap();
            assert_eq!(case["iterations"], PBKDF2_ITERATIONS);
            let d = derive(pass, session, PBKDF2_ITERATIONS);
            assert_eq!(d.master.to_vec(), hex(&case["master"]), "{session}: master");
            assert_eq!(
                d.enc_key.to_vec(),
                hex(&case["encKey"]),
                "{session}: encKey"
            );
            assert_eq!(
                d.auth_key.to_vec(),
                hex(&case["authKey"]),
                "{session}: authKey"
            );
            assert_eq!(fingerprint(&d.auth_key, session), case["fingerprint"]);
            let keys = SessionKeys {
                cipher: Aes256Gcm::new(&d.enc_key.into()),
                fingerprint: fingerprint(&d.auth_key, session),
            };
            let id = case["contentId"].as_str().unwrap();
            for (blob, aad) in [
                (&case["metadata"], meta_aad(id)),
                (&case["chunk"], chunk_aad(id, 1, 3)),
            ] {
                assert_eq!(blob["aad"], aad.as_str());
                let iv: [u8; IV_BYTES] = hex(&blob["iv"]).try_into().unwrap();
                let plain = hex(&blob["plaintext"]);
                let sealed = keys.seal_with_iv(&iv, &plain, &aad);
                assert_eq!(sealed, hex(&blob["ciphertext"]), "{session}: {aad}");
                assert_eq!(keys.open(&iv, &sealed, &aad), Ok(plain));
                assert_eq!(keys.open(&iv, &sealed, &meta_aad("other")), Err(AuthError));
            }
        }
    }

    #[test]
    fn route_key_is_the_one_of_the_shared_vector() {
        // The vector the server's and the web client's tests pin too; its name is not ASCII.
        let vector: Value =
            serde_json::from_str(include_str!("../../tests/vectors/route-key.json")).unwrap();
        let session = vector["sessionId"].as_str().unwrap();
        assert_eq!(route_key(session), vector["route"].as_str().unwrap());
        assert_eq!(route_key("quiet-harbor-17"), "a8a841f9d9ff8210");
    }

    #[test]
    fn chunking_covers_every_byte_once() {
        let c = CHUNK_SIZE as u64;
        assert_eq!(chunk_count(0), 1);
        assert_eq!(chunk_len(0, 0), 0);
        assert_eq!(chunk_count(c), 1);
        assert_eq!(chunk_count(c + 1), 2);
        assert_eq!(chunk_len(1, c + 1), 1);
        let size = 5 * c + 7;
        let sum: u64 = (0..chunk_count(size)).map(|i| chunk_len(i, size)).sum();
        assert_eq!(sum, size);
    }

    #[test]
    fn sealing_uses_a_fresh_iv_and_a_truncated_iv_fails() {
        let keys = SessionKeys::cheap("pass");
        let (iv1, ct1) = keys.seal(b"x", "a:meta");
        let (iv2, _) = keys.seal(b"x", "a:meta");
        assert_ne!(iv1, iv2);
        assert_eq!(ct1.len(), 1 + 16, "the GCM tag follows the ciphertext");
        assert_eq!(keys.open(&iv1[..11], &ct1, "a:meta"), Err(AuthError));
    }
}
