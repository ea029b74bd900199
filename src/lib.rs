//! ShareThings server: a relay of end-to-end encrypted items between the devices of one
//! passphrase-protected session.
//!
//! # Thread model
//!
//! One mio event loop ([`front`]) owns the public port and every piece of live state:
//! connections, Engine.IO sessions, Socket.IO sockets, ShareThings rooms, timers and queues.
//! Nothing else locks or mutates them. Requests that are not Engine.IO are passed, over a
//! private Unix socket, to a small tiny_http worker pool ([`http`]) that serves the embedded web
//! client, `/health` and `/metrics`; those workers only read [`metrics::Metrics`].
//!
//! # Layers
//!
//! - [`wire`]: pure codecs (HTTP heads, Engine.IO packets and payloads, Socket.IO packets).
//!   No I/O, no clock; decoding never panics. What clients share with the server comes from
//!   the `sharethings-protocol` crate (`protocol/`).
//! - [`engine`]: Engine.IO v4 sessions, transports, upgrade and heartbeat. Knows nothing of
//!   Socket.IO. Its deadlines are typed keys in the loop's one timer wheel, set through the
//!   handle each call is given.
//! - [`socketio`]: Socket.IO v5 namespaces, events, acks and binary attachments on top of
//!   Engine.IO messages. Knows nothing of ShareThings.
//! - [`app`]: ShareThings rooms, members, tokens, rate limits and relay, written against the
//!   Socket.IO application interface.
//! - [`util`]: the fixed-capacity arena, the hashed timer wheel, and which client addresses
//!   count as one for limits.
//! - `fuzzing` (hidden): one entry point per decoder of network bytes, for the fuzz targets
//!   in `fuzz/`.
//!
//! - [`assemble`]: wires the layers together from a [`config::Config`].
//!
//! What hostile clients meet (every limit a setting, each with a typed answer) is listed in
//! `docs/security.md`; the front door owns the process-wide memory budget.
//!
//! # Glossary
//!
//! - *connection*: one TCP stream (a mio `Token`).
//! - *session*: one Engine.IO session (a `Sid`); it may span a polling connection, then a
//!   WebSocket.
//! - *socket*: one Socket.IO socket: a session joined to a namespace.
//! - *room*: one ShareThings sharing group, the thing people create, join and share in. People
//!   call it a *session*: so do the web client, the docs, the settings (`MAX_SESSIONS`,
//!   `SESSION_TIMEOUT`), the metrics (`sharethings_sessions`) and the logs ("session 1f2e…
//!   created"). The code says room, because an Engine.IO session is another thing.

#![forbid(unsafe_code)]
// Nothing reachable from the network may panic: no unwrap, expect or unchecked indexing outside
// tests. (Modules whose indices are internal invariants say so where they allow it.)
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod app;
pub mod assemble;
pub mod config;
pub mod engine;
pub mod front;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod metrics;
pub mod socketio;
pub mod util;
pub mod wire;
