//! Pure codecs for everything ShareThings reads from or writes to the network: HTTP/1.1
//! request heads, Engine.IO v4 query strings, session ids, packets and polling payloads, and
//! Socket.IO v5 packets.
//!
//! # Contract
//!
//! - **Nothing here does I/O or reads the clock.** Functions take bytes or strings and return
//!   values; the caller owns sockets, buffers, deadlines and size caps.
//! - **Decoding never panics**, whatever the input: no `unwrap`, no unchecked indexing, no
//!   unchecked arithmetic (enforced by the `deny` below), and no recursion over
//!   attacker-controlled nesting.
//! - **Incremental decoders return `Ok(None)` when they need more bytes** (only
//!   [`http_head::parse_request_head`] is incremental; everything else decodes a complete
//!   frame or body).
//! - Errors are small `Copy` enums: [`DecodeError`] for packets and payloads,
//!   [`http_head::HeadError`] (which carries its HTTP status) for request heads.
//!
//! Encoders trust their arguments (they come from our own code), decoders trust nothing.

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
        }
    };
}

pub mod eio;
pub mod http_head;
pub mod payload;
pub mod query;
pub mod sid;
pub mod sio;

/// Why an Engine.IO / Socket.IO packet, a polling payload or a session id was rejected.
///
/// Every variant is a protocol error from the peer: the engine closes the Engine.IO
/// connection (for [`DecodeError::SidLength`] / [`DecodeError::SidAlphabet`]: answers
/// "Session ID unknown").
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
    /// A Socket.IO ack id does not fit in a `u64`.
    InvalidAckId,
    /// The Socket.IO payload after the header is not valid JSON.
    InvalidJson,
    /// The Socket.IO payload nests arrays and objects deeper than allowed.
    JsonTooDeep,
    /// The Socket.IO payload has more JSON values than allowed.
    JsonTooLarge,
    /// The Socket.IO payload's JSON would take more memory once parsed than its length
    /// allows (e.g. a long array of one-member objects).
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
