//! Counters the event loop publishes for the plain-HTTP workers.
//!
//! The loop thread owns all live state; worker threads must never touch it. What they may see
//! is this struct: plain atomics the loop updates as things happen (`Relaxed` is enough, the
//! numbers are for humans and Prometheus, not for synchronisation). `GET /metrics` renders it
//! ([`Metrics::render_prometheus`]).

use std::sync::atomic::{AtomicU64, Ordering};

mod prometheus;

/// Why a `join` was refused; one counter each in [`Metrics::rejected_joins`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinRejection {
    InvalidRequest,
    InvalidPassphrase,
    SessionFull,
    ServerFull,
    RateLimited,
    AccessDenied,
    LegacySession,
    NewerSession,
    NoSuchSession,
    TooManyApplicants,
}

impl JoinRejection {
    pub const ALL: [JoinRejection; 10] = [
        JoinRejection::InvalidRequest,
        JoinRejection::InvalidPassphrase,
        JoinRejection::SessionFull,
        JoinRejection::ServerFull,
        JoinRejection::RateLimited,
        JoinRejection::AccessDenied,
        JoinRejection::LegacySession,
        JoinRejection::NewerSession,
        JoinRejection::NoSuchSession,
        JoinRejection::TooManyApplicants,
    ];

    /// The protocol's error code, also used as the Prometheus label.
    pub fn code(self) -> &'static str {
        match self {
            JoinRejection::InvalidRequest => "invalid_request",
            JoinRejection::InvalidPassphrase => "invalid_passphrase",
            JoinRejection::SessionFull => "session_full",
            JoinRejection::ServerFull => "server_full",
            JoinRejection::RateLimited => "rate_limited",
            JoinRejection::AccessDenied => "access_denied",
            JoinRejection::LegacySession => "legacy_session",
            JoinRejection::NewerSession => "newer_session",
            JoinRejection::NoSuchSession => "no_such_session",
            JoinRejection::TooManyApplicants => "too_many_applicants",
        }
    }
}

/// Gauges (`*_current`-style values the loop sets) and counters (only ever incremented).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open TCP connections still reading their first request head.
    pub connections_head: AtomicU64,
    /// Engine.IO sessions currently on long-polling.
    pub connections_polling: AtomicU64,
    /// Engine.IO sessions currently on WebSocket.
    pub connections_websocket: AtomicU64,
    /// Connections currently bridged to the plain-HTTP workers.
    pub connections_http: AtomicU64,
    /// TCP connections open (connection arena slots in use), whatever they carry.
    pub connections_open: AtomicU64,
    /// Capacity of the connection arena (fixed at start).
    pub connection_slots: AtomicU64,
    /// Rooms alive, with or without members (published as `sharethings_sessions`, the
    /// word people use).
    pub rooms: AtomicU64,
    /// Capacity of the session arena (fixed at start).
    pub room_slots: AtomicU64,
    /// Members over all sessions.
    pub members: AtomicU64,
    /// Capacity of the member arena (fixed at start).
    pub member_slots: AtomicU64,
    /// Connections waiting in a v3 session for a member to admit them.
    pub applicants: AtomicU64,
    /// `admit` messages relayed between applicants and members.
    pub admit_messages: AtomicU64,
    /// Application events received (join, relay, inbox, ...), whatever became of them.
    pub events_received: AtomicU64,
    /// Application events relayed (one per event, not per receiver).
    pub events_relayed: AtomicU64,
    /// Bytes handed to receivers' send queues by relaying (counted once per receiver).
    pub bytes_relayed: AtomicU64,
    /// Bytes waiting in all send queues right now.
    pub queued_bytes: AtomicU64,
    /// Bytes of memory charged for all session inboxes (with `INBOX_DIR`, their index).
    pub inbox_bytes: AtomicU64,
    /// Bytes of the inboxes' files in `INBOX_DIR`.
    pub inbox_disk_bytes: AtomicU64,
    /// Items kept by all session inboxes.
    pub inbox_items: AtomicU64,
    /// Joins refused, by reason (indexed like [`JoinRejection::ALL`]).
    pub rejected_joins: [AtomicU64; JoinRejection::ALL.len()],
}

impl Metrics {
    pub fn reject_join(&self, why: JoinRejection) {
        if let Some(counter) = self.rejected_joins.get(why as usize) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn rejected(&self, why: JoinRejection) -> u64 {
        self.rejected_joins
            .get(why as usize)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}
