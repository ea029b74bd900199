//! Engine.IO v4 against the real server, in raw bytes: the error table of `docs/protocol.md`, the
//! open packet, long-polling framing, overlapping requests, the upgrade to WebSocket, the
//! heartbeat, maxPayload on both transports and CORS.
//!
//! One module per section:
//! - errors: every status, code and message, and failed WebSocket handshakes
//! - handshake: the open packet on both transports
//! - polling: framing both ways, overlapping GET and POST
//! - upgrade: probe, noop to the parked GET, `5`, flush, polling refused afterwards
//! - heartbeat: server pings, timeouts on both transports, client pings (what happens only;
//!   when it happens is proven on virtual time in `src/engine/tests/heartbeat.rs`)
//! - max_payload: 413 on polling, close 1009 on WebSocket
//! - cors: preflight and headers

use std::time::Duration;

use crate::common::*;

const UNKNOWN_SID: &str = "AAAAAAAAAAAAAAAAAAAA";

mod cors;
mod errors;
mod handshake;
mod heartbeat;
mod max_payload;
mod polling;
mod upgrade;
