//! The end-to-end item format (docs/protocol.md, "Client-side encryption" and "Items on the
//! wire"): what a sender and its receivers must agree on that the server never checks.
//!
//! - [`chunks`]: how an item is cut into chunks and how many a sender keeps unacknowledged;
//!   the same for every version.
//! - [`v2`]: format 2, a session key derived from the session name and passphrase: its key
//!   schedule's inputs, its sealed blobs' sizes and associated data.
//! - [`v3`]: format 3, a random room key: what the server checks of it, the message of a
//!   member's join proof and the length-prefixed concatenation its labels are built with.
//!
//! A later version is a sibling module of [`v2`] with its own `VERSION`, key schedule,
//! associated data and padding; envelopes name their version (`content.format`), so a
//! receiver picks the module by that number and versions live side by side.

pub mod chunks;
pub mod v2;
pub mod v3;
