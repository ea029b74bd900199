//! Engine.IO session ids: 20 characters of the base64url alphabet (`A-Z a-z 0-9 - _`), the
//! same shape as the reference server's `base64id` (15 random bytes, base64, `/`→`_`,
//! `+`→`-`).
//!
//! This module never produces randomness itself: the caller passes in 15 random bytes, so
//! the codec stays pure and testable.

use std::fmt;
use std::str::FromStr;

use data_encoding::BASE64URL_NOPAD;

use crate::DecodeError;

/// Length of a session id in characters (and bytes: it is ASCII).
pub const SID_LEN: usize = 20;

/// Number of random bytes that encode to exactly [`SID_LEN`] base64url characters.
pub const SID_RANDOM_BYTES: usize = 15;

/// A validated Engine.IO session id. Always 20 ASCII bytes of the base64url alphabet, so it
/// can be used as a string, a JSON string or a query value without escaping.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sid([u8; SID_LEN]);

impl Sid {
    /// Builds a session id from 15 random bytes (base64url, 20 characters, no padding).
    pub fn from_random(bytes: [u8; SID_RANDOM_BYTES]) -> Sid {
        let mut out = [0u8; SID_LEN];
        // 15 bytes are exactly 20 base64 characters, so the lengths match and this cannot
        // panic.
        BASE64URL_NOPAD.encode_mut(&bytes, &mut out);
        Sid(out)
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        // Every constructor guarantees ASCII, so the fallback is unreachable.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

impl FromStr for Sid {
    type Err = DecodeError;

    /// Parses a session id from a query string or cookie: exactly 20 base64url characters.
    fn from_str(s: &str) -> Result<Sid, DecodeError> {
        let bytes: [u8; SID_LEN] = s
            .as_bytes()
            .try_into()
            .map_err(|_| DecodeError::SidLength)?;
        if bytes.iter().all(|&b| is_base64url(b)) {
            Ok(Sid(bytes))
        } else {
            Err(DecodeError::SidAlphabet)
        }
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn from_random_is_base64url() {
        assert_eq!(Sid::from_random([0; 15]).as_str(), "AAAAAAAAAAAAAAAAAAAA");
        // 0xfb 0xff 0xbf encodes to "+/+/" in standard base64, "-_-_" in base64url.
        let sid = Sid::from_random([
            0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        assert_eq!(sid.as_str(), "-_-_-_-_AAAAAAAAAAAA");
        assert_eq!(sid.to_string(), sid.as_str());
        assert_eq!(format!("{sid:?}"), "Sid(-_-_-_-_AAAAAAAAAAAA)");
    }

    #[test]
    fn parses_reference_ids() {
        for s in [
            "lv_VI97HAXpY6yYWAAAC",
            "wZX3oN0bSVIhsaknAAAI",
            "oSO0OpakMV_3jnilAAAA",
        ] {
            let sid: Sid = s.parse().unwrap();
            assert_eq!(sid.as_str(), s);
        }
    }

    #[test]
    fn rejects_bad_ids() {
        assert_eq!("".parse::<Sid>(), Err(DecodeError::SidLength));
        assert_eq!(
            "lv_VI97HAXpY6yYWAAA".parse::<Sid>(),
            Err(DecodeError::SidLength)
        );
        assert_eq!(
            "lv_VI97HAXpY6yYWAAACx".parse::<Sid>(),
            Err(DecodeError::SidLength)
        );
        assert_eq!(
            "lv_VI97HAXpY6yYWAA+C".parse::<Sid>(),
            Err(DecodeError::SidAlphabet)
        );
        assert_eq!(
            "lv_VI97HAXpY6yYWAA=C".parse::<Sid>(),
            Err(DecodeError::SidAlphabet)
        );
        // 20 bytes but multi-byte characters: wrong alphabet, not a panic.
        assert_eq!("éééééééééé".parse::<Sid>(), Err(DecodeError::SidAlphabet));
    }

    proptest! {
        #[test]
        fn random_round_trip(bytes in any::<[u8; 15]>()) {
            let sid = Sid::from_random(bytes);
            prop_assert_eq!(sid.as_str().len(), SID_LEN);
            prop_assert_eq!(sid.as_str().parse::<Sid>(), Ok(sid));
        }

        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = s.parse::<Sid>();
        }
    }
}
