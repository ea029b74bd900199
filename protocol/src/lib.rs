//! What every ShareThings implementation must agree on byte for byte, written once for the
//! Rust ones: the server (`src/wire/` re-exports what it shares), `sharethings-cli`, the
//! benchmark (`examples/bench/`) and the integration tests' clients.
//!
//! - [`eio`]: Engine.IO v4 text packets and the handshake's request target.
//! - [`payload`]: Engine.IO long-polling payloads.
//! - [`sid`]: Engine.IO session ids.
//! - [`sio`]: Socket.IO v5 packet headers, and a client's collection of binary attachments.
//! - [`route`]: the routing key a connection URL carries.
//! - [`format`](mod@format): the end-to-end item format: chunking, and per version its labels and
//!   associated data ([`format::v2`], [`format::v3`]).
//!
//! The web client (TypeScript) and the independent vector generator (`tests/vectors/`,
//! Python) implement the same rules; the vectors in `tests/vectors/` are checked here, by the
//! CLI and by the web client, so the implementations cannot drift apart.
//!
//! # Contract
//!
//! - **No I/O, no clock, no randomness.** Functions take bytes or strings and return values;
//!   callers own sockets, deadlines and random bytes (an IV, a session id's 15 bytes).
//! - **JSON stays text.** A packet's JSON is handed over as the `&str` it arrived as and
//!   taken as text to send: the server parses it with miniserde behind a cost scan, the CLI
//!   with serde_json, the tests with whatever suits them. This crate checks the framing
//!   around it, never the JSON itself.
//! - **Decoding never panics**, whatever the input: no `unwrap`, no unchecked indexing, no
//!   unchecked arithmetic (enforced by the `deny` below), and no recursion.
//! - **No cryptographic primitives.** The item format's key schedule, associated data and
//!   counts are here as the exact bytes and numbers to feed an audited library (RustCrypto
//!   in the CLI, Web Crypto in the browser); the primitives are called by the clients, so
//!   the relay never links code it has no use for.
//! - Errors are one small `Copy` enum, [`DecodeError`].
//!
//! Encoders trust their arguments (they come from the caller's own code), decoders trust
//! nothing.

#![forbid(unsafe_code)]
// Tests may unwrap and index; the codecs may not.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

use std::fmt;

/// Declares a packet type written as one ASCII digit: the enum (`repr(u8)`, variants numbered
/// from 0 in digit order), `ALL` in that order, and the conversions from and to the digit
/// byte. Engine.IO's and Socket.IO's packet types are both such a list, so both come from
/// here rather than from two copies of the same tables.
macro_rules! digit_kinds {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $n:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name {
            $($(#[$variant_meta])* $variant = $n,)+
        }

        impl $name {
            /// Every kind, in digit order.
            pub const ALL: [$name; [$($n),+].len()] = [$($name::$variant),+];

            /// The kind for an ASCII digit byte; `None` for anything else.
            pub fn from_digit(digit: u8) -> Option<Self> {
                let index = digit.checked_sub(b'0')?;
                Self::ALL.get(usize::from(index)).copied()
            }

            /// The ASCII digit byte that starts a packet of this kind.
            pub fn digit(self) -> u8 {
                // The discriminant is the kind's place in `ALL`, a single digit.
                b'0'.wrapping_add(self as u8)
            }

            /// The digit as a `char`, for building strings.
            pub fn digit_char(self) -> char {
                char::from(self.digit())
            }
        }
    };
}

pub mod eio;
pub mod format;
pub mod payload;
pub mod route;
pub mod sid;
pub mod sio;

pub use route::route_key;

/// Why an Engine.IO / Socket.IO packet, a polling payload or a session id was rejected.
///
/// Every variant is a protocol error of the peer. A server closes the Engine.IO connection
/// (for [`DecodeError::SidLength`] / [`DecodeError::SidAlphabet`]: answers "Session ID
/// unknown"); a client drops the connection and may open a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The packet, body or payload part was empty (e.g. a POST body of zero bytes, or two
    /// adjacent 0x1E separators).
    Empty,
    /// The first character is not a packet type digit of this layer (e.g. `7hello`, `x`).
    UnknownPacketType,
    /// A polling payload part is not valid UTF-8.
    InvalidUtf8,
    /// A `b…` polling payload part is not valid standard base64 with padding.
    InvalidBase64,
    /// A Socket.IO binary packet lacks its `<digits>-` attachment count (e.g. `5["a"]`).
    IllegalAttachments,
    /// A Socket.IO binary packet announces more attachments than the configured maximum.
    TooManyAttachments,
    /// A binary frame arrived that no Socket.IO packet announced, or a text packet arrived
    /// while the attachments of the one before it were still due.
    UnexpectedAttachment,
    /// A Socket.IO ack id does not fit in a `u64`.
    InvalidAckId,
    /// The Socket.IO payload after the header is not valid JSON (found by the caller's
    /// parser: this crate leaves JSON as text).
    InvalidJson,
    /// The Socket.IO payload nests arrays and objects deeper than allowed (the server's scan
    /// before parsing).
    JsonTooDeep,
    /// The Socket.IO payload has more JSON values than allowed (the server's scan).
    JsonTooLarge,
    /// The Socket.IO payload's JSON would take more memory once parsed than its length
    /// allows, e.g. a long array of one-member objects (the server's scan).
    JsonTooCostly,
    /// The Socket.IO payload is valid JSON of the wrong shape for the packet type (e.g. an
    /// EVENT whose first element is not a string or number, or a reserved event name).
    InvalidPayload,
    /// A binary Socket.IO packet contains a malformed placeholder or one whose `num` is not
    /// below the attachment count.
    InvalidPlaceholder,
    /// A session id does not have exactly 20 characters.
    SidLength,
    /// A session id contains a character outside the base64url alphabet.
    SidAlphabet,
}

impl DecodeError {
    /// A short, stable, human-readable description (for logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty packet",
            Self::UnknownPacketType => "unknown packet type",
            Self::InvalidUtf8 => "payload is not valid UTF-8",
            Self::InvalidBase64 => "invalid base64 in binary payload part",
            Self::IllegalAttachments => "illegal attachments",
            Self::TooManyAttachments => "too many attachments",
            Self::UnexpectedAttachment => "attachment out of turn",
            Self::InvalidAckId => "invalid ack id",
            Self::InvalidJson => "invalid JSON payload",
            Self::JsonTooDeep => "JSON payload nested too deep",
            Self::JsonTooLarge => "JSON payload with too many values",
            Self::JsonTooCostly => "JSON payload that would take too much memory to parse",
            Self::InvalidPayload => "invalid payload",
            Self::InvalidPlaceholder => "invalid binary placeholder",
            Self::SidLength => "session id has the wrong length",
            Self::SidAlphabet => "session id has a character outside base64url",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for DecodeError {}

/// The shared vectors in `tests/vectors/`, for the tests of every module.
#[cfg(test)]
mod vectors {
    use serde_json::Value;

    pub fn format_v2() -> Value {
        serde_json::from_str(include_str!("../../tests/vectors/format-v2.json")).unwrap()
    }

    pub fn route_key() -> Value {
        serde_json::from_str(include_str!("../../tests/vectors/route-key.json")).unwrap()
    }
}
