//! The cryptography of format v2 on RustCrypto: key derivation, the fingerprint a join
//! presents, and AES-256-GCM. What goes into each primitive (salts, labels, associated data,
//! sizes) is the protocol crate's `format::v2`; this module only calls the primitives.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sharethings_protocol::format::v2::{self, IV_BYTES, KEY_BYTES};

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
    master: [u8; KEY_BYTES],
    enc_key: [u8; KEY_BYTES],
    auth_key: [u8; KEY_BYTES],
}

fn derive(passphrase: &str, session_id: &str, iterations: u32) -> Derived {
    let mut master = [0u8; KEY_BYTES];
    pbkdf2::pbkdf2_hmac::<Sha256>(
        passphrase.as_bytes(),
        &v2::kdf_salt(session_id),
        iterations,
        &mut master,
    );
    let hk = hkdf::Hkdf::<Sha256>::new(Some(&[]), &master);
    let mut enc_key = [0u8; KEY_BYTES];
    let mut auth_key = [0u8; KEY_BYTES];
    hk.expand(v2::ENC_INFO, &mut enc_key)
        .and_then(|()| hk.expand(v2::AUTH_INFO, &mut auth_key))
        .expect("32 bytes is a valid HKDF-SHA256 length");
    Derived {
        master,
        enc_key,
        auth_key,
    }
}

fn fingerprint(auth_key: &[u8; KEY_BYTES], session_id: &str) -> serde_json::Value {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(auth_key).expect("HMAC takes any key");
    mac.update(&v2::verifier_message(session_id));
    let mac = data_encoding::BASE64.encode(&mac.finalize().into_bytes());
    serde_json::json!({ "v": v2::VERSION, "mac": mac })
}

impl SessionKeys {
    /// Runs PBKDF2 ([`v2::PBKDF2_ITERATIONS`] rounds: a noticeable fraction of a second, on
    /// purpose).
    pub fn derive(passphrase: &str, session_id: &str) -> SessionKeys {
        Self::derive_with(passphrase, session_id, v2::PBKDF2_ITERATIONS)
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
            .encrypt(&(*iv).into(), payload)
            .expect("AES-GCM seals any message below 64 GiB")
    }

    pub fn open(&self, iv: &[u8], ciphertext: &[u8], aad: &str) -> Result<Vec<u8>, AuthError> {
        let iv: [u8; IV_BYTES] = iv.try_into().map_err(|_| AuthError)?;
        let payload = Payload {
            msg: ciphertext,
            aad: aad.as_bytes(),
        };
        self.cipher
            .decrypt(&iv.into(), payload)
            .map_err(|_| AuthError)
    }
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
    use crate::item::{parse_sealed, Control, Sealed};
    use serde_json::Value;
    use sharethings_protocol::format::v2::{chunk_aad, meta_aad};

    const VECTORS: &str = include_str!("../../tests/vectors/format-v2.json");

    fn hex(s: &Value) -> Vec<u8> {
        data_encoding::HEXLOWER
            .decode(s.as_str().unwrap().as_bytes())
            .unwrap()
    }

    fn cases() -> Vec<Value> {
        let all: Value = serde_json::from_str(VECTORS).unwrap();
        assert_eq!(all["format"], v2::VERSION);
        let cases = all["cases"].as_array().unwrap().clone();
        assert!(!cases.is_empty());
        cases
    }

    /// The case's keys, derived here, after checking them against the vector.
    fn keys_of(case: &Value) -> SessionKeys {
        let session = case["sessionId"].as_str().unwrap();
        let pass = case["passphrase"].as_str().unwrap();
        assert_eq!(case["iterations"], v2::PBKDF2_ITERATIONS);
        let d = derive(pass, session, v2::PBKDF2_ITERATIONS);
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
        SessionKeys {
            cipher: Aes256Gcm::new(&d.enc_key.into()),
            fingerprint: fingerprint(&d.auth_key, session),
        }
    }

    /// Seals the blob's plaintext with its IV and AAD, compares, and opens it again.
    fn check_blob(keys: &SessionKeys, blob: &Value) -> Vec<u8> {
        let aad = blob["aad"].as_str().unwrap();
        let iv: [u8; IV_BYTES] = hex(&blob["iv"]).try_into().unwrap();
        let plain = hex(&blob["plaintext"]);
        let sealed = keys.seal_with_iv(&iv, &plain, aad);
        assert_eq!(sealed, hex(&blob["ciphertext"]), "{aad}");
        assert_eq!(keys.open(&iv, &sealed, aad), Ok(plain.clone()));
        assert_eq!(keys.open(&iv, &sealed, &meta_aad("other")), Err(AuthError));
        plain
    }

    #[test]
    fn passes_the_cross_language_vectors() {
        // One test for both, as the key derivation is the slow part.
        for case in cases() {
            let keys = keys_of(&case);
            let id = case["contentId"].as_str().unwrap();
            assert_eq!(case["metadata"]["aad"], meta_aad(id).as_str());
            assert_eq!(case["chunk"]["aad"], chunk_aad(id, 1, 3).as_str());
            check_blob(&keys, &case["metadata"]);
            check_blob(&keys, &case["chunk"]);

            // The sealed control messages and the offer: each opens under its own id and
            // is understood (the CLI acts on resend and items; see docs/cli.md).
            let opened: Vec<Sealed> = case["controls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|blob| parse_sealed(&check_blob(&keys, blob)).expect("understood"))
                .collect();
            let [Sealed::Resend(resend), Sealed::Control(cancel), Sealed::Control(clear), Sealed::Control(progress), Sealed::Item(offer)] =
                &opened[..]
            else {
                panic!("not resend, cancel, clear, progress, offer: {opened:?}");
            };
            assert_eq!((resend.content_id.as_str(), resend.from_chunk), (id, 2));
            assert_eq!(
                (*cancel, *clear, *progress),
                (Control::Cancel, Control::Clear, Control::Progress)
            );
            assert!(offer.offered);
        }
    }

    #[test]
    fn sealing_uses_a_fresh_iv_and_a_truncated_iv_fails() {
        let keys = SessionKeys::cheap("pass");
        let (iv1, ct1) = keys.seal(b"x", "a:meta");
        let (iv2, _) = keys.seal(b"x", "a:meta");
        assert_ne!(iv1, iv2);
        assert_eq!(
            ct1.len(),
            1 + v2::TAG_BYTES,
            "the GCM tag follows the ciphertext"
        );
        assert_eq!(keys.open(&iv1[..11], &ct1, "a:meta"), Err(AuthError));
    }
}
