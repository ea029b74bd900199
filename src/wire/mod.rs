//! Pure codecs for everything ShareThings reads from or writes to the network: HTTP/1.1
//! request heads, Engine.IO v4 query strings, session ids, packets and polling payloads, and
//! Socket.IO v5 packets.
//!
//! What a client must agree on byte for byte (Engine.IO and Socket.IO framing, session ids,
//! [`DecodeError`]) lives in the `sharethings-protocol` crate, which the CLI, the benchmark
//! and the integration tests use too; the modules here re-export it and add what only a
//! server needs: queued [`eio::Frame`]s and the handshake packet, polling bodies built from
//! frames, and Socket.IO payloads parsed as JSON behind a cost scan ([`sio::json_cost`]).
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

pub mod eio;
pub mod http_head;
pub mod payload;
pub mod query;
pub mod sio;

pub use sharethings_protocol::{sid, DecodeError};
