//! The integration tests: the real `sharethings` binary on free ports, spoken to over real
//! sockets. One test binary (as ripgrep's `tests/tests.rs`), so the harness in `common`
//! compiles once and every helper in it has a user.
//!
//! Where a new test belongs: a rule of one sans-IO layer (timing included) is a unit test
//! next to that layer (`src/engine/tests/`, ...); what needs sockets goes here, in the
//! module of the layer it exercises; ShareThings behaviour through the stock client goes to
//! `tests/node/`.

mod common;

/// ShareThings events: join, relay, membership, limits, tokens, routing.
mod app;
/// The review's attacks on the release binary (ignored unless run by tests/attack/run.sh).
mod attack;
/// The repository paths the docs name exist.
mod docs;
/// Engine.IO v4 in raw bytes: errors, handshake, polling, upgrade, heartbeat, maxPayload, CORS.
mod engineio;
/// What the server charges for parsing and keeping, against what it really allocates.
mod footprint;
/// The front door: request heads, slow clients, keep-alive, the bridge, connection caps.
mod front_door;
/// The opt-in inbox: late joiners, expiry, caps; the share-target redirect.
mod inbox;
/// The inbox on disk: a restart (v2 and v3), what is on disk, a full disk.
mod inbox_disk;
/// Socket.IO v5 in raw bytes: namespaces, events, acks, binary attachments.
mod socketio;
