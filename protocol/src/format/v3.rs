//! Format 3 (docs/protocol.md, "Format v3: random room keys, admission by members, signed
//! items"): the byte strings a member and the server must agree on for the server's
//! admission of a member. The server checks nothing else of format 3; what members agree on
//! among themselves (key schedule, admission run, sealed blobs) is theirs.
//!
//! ```text
//! accessKey = HKDF-SHA256(ikm = roomKey, salt = epoch, info = lv_cat("sharethings/v3/access", sessionId), 32)
//! access    = b64(accessKey)                     sent when the join may create the session
//! proof     = b64(HMAC-SHA256(accessKey, join_message(sessionId, nonce)))
//! ```
//!
//! `nonce` is the 16 bytes whose base64 the server's `challenge` ack carries.

/// The `format` an envelope of this version carries, and a v3 join's `v`.
pub const VERSION: u64 = 3;

/// Bytes of `accessKey` (and of a join proof, an HMAC-SHA256).
pub const ACCESS_KEY_BYTES: usize = 32;

/// Bytes of the nonce a `challenge` hands out.
pub const NONCE_BYTES: usize = 16;

/// The label of the join proof's message.
pub const JOIN_LABEL: &[u8] = b"sharethings/v3/join";

/// `lv(x)`: `x` prefixed with its length in bytes as an unsigned LEB128 (CPace's
/// `prepend_len`), appended to `out`.
pub fn lv(out: &mut Vec<u8>, x: &[u8]) {
    let mut len = x.len();
    loop {
        // The low seven bits, with the high bit set while more follow.
        let low = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(low);
            break;
        }
        out.push(low | 0x80);
    }
    out.extend_from_slice(x);
}

/// `lv_cat(a, b, …)`: `lv(a) || lv(b) || …`.
pub fn lv_cat(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        lv(&mut out, part);
    }
    out
}

/// What a join proof is an HMAC of: `lv_cat("sharethings/v3/join", sessionId, nonce)`, the
/// session's name as UTF-8 and the nonce's bytes.
pub fn join_message(session_id: &str, nonce: &[u8]) -> Vec<u8> {
    lv_cat(&[JOIN_LABEL, session_id.as_bytes(), nonce])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn lengths_are_leb128() {
        let prefix = |n: usize| {
            let mut out = Vec::new();
            lv(&mut out, &vec![b'x'; n]);
            out.truncate(out.len() - n);
            hex(&out)
        };
        assert_eq!(prefix(0), "00");
        assert_eq!(prefix(127), "7f");
        assert_eq!(prefix(128), "8001");
        assert_eq!(prefix(200), "c801");
        assert_eq!(prefix(300), "ac02");
        assert_eq!(prefix(16384), "808001");
    }

    /// Computed by Python's own `hmac` and a LEB128 written from the CPace draft, not by this
    /// crate: the session name has multi-byte characters, so its prefix counts bytes.
    #[test]
    fn the_join_message_is_pinned_by_an_independent_implementation() {
        let nonce: Vec<u8> = (100..116).collect();
        assert_eq!(
            hex(&join_message("Café ☕ 17", &nonce)),
            "1373686172657468696e67732f76332f6a6f696e0c436166c3a920e29895203137\
             106465666768696a6b6c6d6e6f70717273"
        );
    }
}
