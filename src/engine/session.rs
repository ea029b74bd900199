//! One Engine.IO session's state: its transport, queue, heartbeat and backpressure links.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Instant;

use crate::util::timer::TimerId;
use crate::wire::eio::Frame;
use crate::wire::payload;
use crate::wire::sid::Sid;

use super::{ConnId, SessionId};

/// The transport a session currently uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Polling,
    WebSocket,
}

/// Why a session closed, as the reference names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed on purpose: an Engine.IO close packet or a WebSocket close frame.
    TransportClose,
    /// The connection was lost or misbehaved at the transport level.
    TransportError,
    /// No pong within pingTimeout.
    PingTimeout,
    /// An undecodable packet.
    ParseError,
    /// The server closed it (the layer above asked).
    ServerClose,
    /// The client had bytes queued and read none of them for the stall timeout.
    Stalled,
    /// The client's send queue passed its hard cap.
    QueueFull,
}

impl CloseReason {
    /// Whether the client left on purpose (as opposed to a lost connection).
    pub fn is_clean(self) -> bool {
        matches!(self, CloseReason::TransportClose | CloseReason::ServerClose)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ServerClose => "forced close",
            CloseReason::Stalled => "send queue stalled",
            CloseReason::QueueFull => "send queue full",
        }
    }

    /// The WebSocket close code sent with it.
    pub fn ws_close_code(self) -> u16 {
        match self {
            CloseReason::ParseError => 1002,
            CloseReason::Stalled | CloseReason::QueueFull => 1008,
            _ => 1000,
        }
    }
}

#[derive(Debug)]
pub(super) enum TransportState {
    Polling {
        /// The GET parked until there is something to send.
        held_get: Option<ConnId>,
        /// The POST whose body is being read.
        reading_post: Option<ConnId>,
    },
    WebSocket {
        conn: ConnId,
    },
}

impl TransportState {
    pub(super) fn kind(&self) -> Transport {
        match self {
            TransportState::Polling { .. } => Transport::Polling,
            TransportState::WebSocket { .. } => Transport::WebSocket,
        }
    }

    pub(super) fn ws_conn(&self) -> Option<ConnId> {
        match self {
            TransportState::WebSocket { conn } => Some(*conn),
            TransportState::Polling { .. } => None,
        }
    }

    /// The connection the client's packets arrive on now: its WebSocket, or the polling POST
    /// being read.
    pub(super) fn input_conn(&self) -> Option<ConnId> {
        match self {
            TransportState::WebSocket { conn } => Some(*conn),
            TransportState::Polling { reading_post, .. } => *reading_post,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Heartbeat {
    /// The timer sends the next ping.
    WaitingToPing,
    /// A ping went out; the timer is the pong deadline.
    AwaitingPong,
}

#[derive(Debug)]
pub(super) struct Session {
    pub(super) sid: Sid,
    pub(super) transport: TransportState,
    /// The WebSocket being probed for an upgrade.
    pub(super) probe: Option<ConnId>,
    /// Frames waiting for a polling GET.
    pub(super) queue: VecDeque<Frame>,
    /// Bytes queued for this client and not yet written to the kernel, on either transport.
    pub(super) queued_bytes: usize,
    pub(super) heartbeat: Heartbeat,
    pub(super) heartbeat_timer: Option<TimerId>,
    /// When the session is dead unless a pong came: the due time of the current ping plus
    /// pingTimeout (see `heartbeat.rs`). Once the ping left, requests check it themselves, so a
    /// late timer never lets a dead session answer.
    pub(super) pong_deadline: Instant,
    pub(super) upgrade_timer: Option<TimerId>,
    pub(super) stall_timer: Option<TimerId>,
    pub(super) layer_deadline: Option<TimerId>,
    /// How many congested receivers this session waits for.
    pub(super) held_by: u32,
    /// Senders paused until this session drains.
    pub(super) waiters: Vec<SessionId>,
    pub(super) remote: IpAddr,
    pub(super) query: String,
    pub(super) mount: usize,
}

impl Session {
    pub(super) fn new(
        sid: Sid,
        transport: TransportState,
        remote: IpAddr,
        query: &str,
        mount: usize,
        pong_deadline: Instant,
    ) -> Session {
        Session {
            sid,
            transport,
            probe: None,
            queue: VecDeque::new(),
            queued_bytes: 0,
            heartbeat: Heartbeat::WaitingToPing,
            heartbeat_timer: None,
            pong_deadline,
            upgrade_timer: None,
            stall_timer: None,
            layer_deadline: None,
            held_by: 0,
            waiters: Vec::new(),
            remote,
            query: query.to_string(),
            mount,
        }
    }

    pub(super) fn upgrading(&self) -> bool {
        self.probe.is_some()
    }

    /// Everything queued as one polling payload, and the queued bytes it accounts for.
    pub(super) fn take_payload(&mut self) -> (Vec<u8>, usize) {
        let accounted = self.queue.iter().map(Frame::len).sum();
        let body = payload::encode(self.queue.iter());
        self.queue.clear();
        (body, accounted)
    }
}
