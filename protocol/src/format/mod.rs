//! The end-to-end item format (docs/protocol.md, "Client-side encryption" and "Items on the
//! wire"): what a sender and its receivers must agree on that the server never checks.
//!
//! - [`chunks`]: the chunk size and how many chunks a sender keeps unacknowledged, the same
//!   for every version, and v2's chunk counts (v3 counts over its padded size).
//! - [`v2`]: format 2, a session key derived from the session name and passphrase: its key
//!   schedule's inputs, its sealed blobs' sizes and associated data.
//! - [`v3`]: format 3, a random room key, admission by members through CPace, signed and
//!   padded blobs bound to their session, sender and counter: the bytes its primitives take,
//!   its padding and its chunk counts (over the padded size).
//!
//! Envelopes name their version (`content.format`), so a receiver picks the module by that
//! number and versions live side by side.

pub mod chunks;
pub mod v2;
pub mod v3;
