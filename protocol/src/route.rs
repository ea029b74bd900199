//! The routing key (docs/protocol.md, "Routing key"): what a client puts in its Engine.IO
//! handshake as `route=`, so that a load balancer sends every member of one session to the
//! same server process without the session's name appearing in URLs or logs.

use sha2::{Digest, Sha256};

/// What the session name is hashed after.
const LABEL: &[u8] = b"sharethings/route/";
/// Bytes of the digest the key keeps: 16 hex digits.
const KEY_BYTES: usize = 8;

/// The routing key of a session name: the first 16 lowercase hex digits of
/// SHA-256(UTF-8("sharethings/route/" + name)). Servers also log it instead of the name.
pub fn route_key(session_name: &str) -> String {
    let digest = Sha256::new()
        .chain_update(LABEL)
        .chain_update(session_name.as_bytes())
        .finalize();
    let kept = digest.get(..KEY_BYTES).unwrap_or_default();
    data_encoding::HEXLOWER.encode(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_shared_vector() {
        // The vector the web client and the deploy tests pin too; its name is not ASCII, so
        // hashing anything but its UTF-8 bytes fails.
        let vector = crate::vectors::route_key();
        let name = vector["sessionId"].as_str().unwrap();
        assert!(!name.is_ascii());
        assert_eq!(route_key(name), vector["route"].as_str().unwrap());
    }

    #[test]
    fn is_sixteen_lowercase_hex_digits_that_tell_names_apart() {
        assert_eq!(route_key("quiet-harbor-17"), "a8a841f9d9ff8210");
        let key = route_key("demo");
        assert_eq!(key.len(), 16);
        assert!(key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(route_key("demo"), route_key("demo2"));
    }
}
