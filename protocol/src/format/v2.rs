//! Format 2 (docs/protocol.md, "Client-side encryption (format v2)"): the exact inputs of its
//! key schedule and the associated data of its sealed blobs, for the client's audited
//! primitives (PBKDF2-HMAC-SHA256, HKDF-SHA256, HMAC-SHA256, AES-256-GCM).
//!
//! ```text
//! master      = PBKDF2-HMAC-SHA256(passphrase, kdf_salt(sessionId), PBKDF2_ITERATIONS, 32)
//! encKey      = HKDF-SHA256(master, salt = empty, info = ENC_INFO, 32)     AES-256-GCM key
//! authKey     = HKDF-SHA256(master, salt = empty, info = AUTH_INFO, 32)
//! fingerprint = {"v":2, "mac": base64(HMAC-SHA256(authKey, verifier_message(sessionId)))}
//! ```
//!
//! Every blob is sealed with a fresh random IV of [`IV_BYTES`] that travels with it (base64
//! in the envelope), and its associated data binds it to its place: [`meta_aad`] for an
//! item's metadata or a control message, [`chunk_aad`] for a chunk.

/// The `format` an envelope of this version carries, and the fingerprint's `v`.
pub const VERSION: u64 = 2;

/// PBKDF2 rounds: a noticeable fraction of a second on purpose.
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// Bytes of `master`, `encKey` and `authKey`.
pub const KEY_BYTES: usize = 32;

/// Bytes of the random IV each sealed blob carries.
pub const IV_BYTES: usize = 12;

/// Bytes of the AES-GCM tag that follows each blob's ciphertext.
pub const TAG_BYTES: usize = 16;

/// HKDF `info` of the AES-256-GCM key.
pub const ENC_INFO: &[u8] = b"sharethings/v2/enc";

/// HKDF `info` of the key the join fingerprint is a MAC with.
pub const AUTH_INFO: &[u8] = b"sharethings/v2/auth";

/// The `totalChunks` of a control message: an item of no chunks with a fresh id
/// (docs/protocol.md, "Sealed control messages").
pub const CONTROL_CHUNKS: u64 = 0;

/// The PBKDF2 salt of a session: UTF-8 of `"sharethings/v2/" + sessionId`.
pub fn kdf_salt(session_id: &str) -> Vec<u8> {
    [b"sharethings/v2/".as_slice(), session_id.as_bytes()].concat()
}

/// What the join fingerprint is a MAC of: UTF-8 of `"verifier:" + sessionId`.
pub fn verifier_message(session_id: &str) -> Vec<u8> {
    [b"verifier:".as_slice(), session_id.as_bytes()].concat()
}

/// Associated data of an item's sealed metadata, and of a control message (under its own
/// fresh id): `contentId + ":meta"`.
pub fn meta_aad(content_id: &str) -> String {
    format!("{content_id}:meta")
}

/// Associated data of a chunk: its item, position and count, so that a chunk moved to
/// another item or place, or an item cut short, fails to open.
pub fn chunk_aad(content_id: &str, chunk_index: u64, total_chunks: u64) -> String {
    format!("{content_id}:{chunk_index}:{total_chunks}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_the_shared_vectors() {
        let vectors = crate::vectors::format_v2();
        assert_eq!(vectors["format"], VERSION);
        let cases = vectors["cases"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let id = case["contentId"].as_str().unwrap();
            assert_eq!(case["iterations"], PBKDF2_ITERATIONS);
            assert_eq!(case["fingerprint"]["v"], VERSION);
            assert_eq!(case["metadata"]["aad"], meta_aad(id).as_str());
            assert_eq!(case["chunk"]["aad"], chunk_aad(id, 1, 3).as_str());
            for key in ["master", "encKey", "authKey"] {
                assert_eq!(case[key].as_str().unwrap().len(), 2 * KEY_BYTES, "{key}");
            }
            let blobs = [&case["metadata"], &case["chunk"]]
                .into_iter()
                .chain(case["controls"].as_array().unwrap());
            for blob in blobs {
                assert_eq!(blob["iv"].as_str().unwrap().len(), 2 * IV_BYTES);
                let (plain, sealed) = (blob["plaintext"].as_str(), blob["ciphertext"].as_str());
                assert_eq!(sealed.unwrap().len(), plain.unwrap().len() + 2 * TAG_BYTES);
            }
            for control in case["controls"].as_array().unwrap() {
                let aad = control["aad"].as_str().unwrap();
                let control_id = aad.strip_suffix(":meta").unwrap();
                assert_eq!(aad, meta_aad(control_id));
                assert_ne!(control_id, id, "a control message has an id of its own");
            }
        }
    }

    #[test]
    fn labels_are_utf8_of_the_documented_strings() {
        assert_eq!(kdf_salt("Café ☕"), "sharethings/v2/Café ☕".as_bytes());
        assert_eq!(verifier_message("s"), b"verifier:s");
        assert_eq!(chunk_aad("id", 0, 1), "id:0:1");
        assert_eq!(meta_aad("id"), "id:meta");
    }
}
