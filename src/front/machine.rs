//! One connection's states and the rules between them, with no I/O: which deadline each state
//! runs under, what happens when it passes, how the connection is read in it, what finishing a
//! write leads to, and what leaving it gives back. The loop ([`super::Server`]) is the shell
//! that carries these out on sockets; every change of state goes through its `transition`,
//! which releases what the old state held and arms the new state's one deadline.
//!
//! ```text
//!  Head ──head──▶ Body ──body read──▶ Head (keep-alive) │ Closing
//!   │  └────────▶ Held ──answered───▶ Head
//!   │  └────────▶ BridgeWait ──slot──▶ Bridge ──response out──▶ Head │ Closing
//!   │  └────────▶ WebSocket ──close frame──▶ Closing
//!   └─ refused ─▶ Closing ──written──▶ Lingering (the client may still be sending) │ closed
//! ```

use std::time::Duration;

use crate::engine::SessionId;
use crate::wire::http_head::RequestHead;

use super::bridge::Bridge;
use super::ws::WsReader;

pub(super) enum State {
    /// Reading a request head.
    Head,
    /// Reading a polling POST body of `need` bytes (into `Conn::input`), with the header
    /// lines its answer needs (`Cache-Control: no-store` and CORS).
    Body {
        session: SessionId,
        need: usize,
        answer_headers: String,
    },
    /// A polling GET parked until the session has something to send, with the header lines
    /// its answer needs.
    Held {
        session: SessionId,
        answer_headers: String,
    },
    /// Waiting for a free bridge slot, with the parsed head and its raw bytes.
    BridgeWait {
        head: RequestHead,
        raw: Vec<u8>,
    },
    Bridge(Box<Bridge>),
    WebSocket {
        session: SessionId,
        reader: Box<WsReader>,
    },
    /// Writing a last response or a WebSocket close frame, then closing. When the client may
    /// still be sending (a request answered early, a message refused mid-way), up to `drain`
    /// bytes are read and dropped once it is written (see `Lingering`), so that its kernel
    /// does not answer our close with a reset before it read what we wrote.
    Closing {
        drain: usize,
    },
    /// The last bytes are written and our side shut down; reading and dropping what the
    /// client still sends, at most `left` bytes.
    Lingering {
        left: usize,
    },
}

/// The one deadline a state runs under. A state with none is timed by the engine (a
/// WebSocket's or a parked GET's heartbeat) or by nothing at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    /// `HEAD_TIMEOUT` for the whole head, from its first byte: a head trickled a byte at a
    /// time is cut off all the same.
    Head,
    /// `HEAD_TIMEOUT` since the last byte of a body (a paused sender's body has no deadline:
    /// the engine resumes it).
    Body,
    /// [`BRIDGE_WAIT`] for a free worker.
    Bridge,
    /// `HEAD_TIMEOUT` since the client last took bytes of what is written to it.
    Drain,
    /// [`LINGER`] since the client last sent bytes to drop.
    Linger,
}

/// How long a request may wait for a free tiny_http worker before it is answered 503.
pub(super) const BRIDGE_WAIT: Duration = Duration::from_secs(10);
/// How long a closed-for-writing connection waits for more of what its client still sends;
/// each read that brings bytes starts it again, so a refused upload drains at its own pace.
pub(super) const LINGER: Duration = Duration::from_secs(2);

impl Wait {
    pub(super) fn duration(self, head_timeout: Duration) -> Duration {
        match self {
            Wait::Head | Wait::Body | Wait::Drain => head_timeout,
            Wait::Bridge => BRIDGE_WAIT,
            Wait::Linger => LINGER,
        }
    }

    /// Whether this progress starts the wait again: bytes read for a body or a drain, bytes
    /// written for a slow reader. A head's and a bridge slot's waits run to their end.
    pub(super) fn restarts_on(self, progress: Progress) -> bool {
        matches!(
            (self, progress),
            (Wait::Body | Wait::Linger, Progress::Read) | (Wait::Drain, Progress::Written)
        )
    }
}

/// Bytes moved on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Progress {
    Read,
    Written,
}

/// What the shell does when a state's deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expiry {
    Close,
    /// Answer with this status and reason, then close (draining what the request has left).
    Reject(u16, &'static str),
}

/// How a connection is read in its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reading {
    /// Request heads and polling bodies, into `Conn::input`.
    Http,
    /// WebSocket frames.
    WebSocket,
    /// Read and dropped (a close is being written).
    Discard,
    /// Read and dropped, counted against what may still be drained.
    Linger,
    /// Nothing may arrive but EOF: watched for it without consuming a pipelined request.
    WatchEof,
    /// Not now: a pipelined request waits until the previous answer is out.
    Wait,
}

/// What finishing a write leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AfterWrite {
    /// Nothing: more to write, or the state goes on.
    Nothing,
    /// The answer is out: a pipelined request behind it may be read now.
    ReadNext,
    /// Everything is out: close now.
    Close,
    /// Everything is out: shut down our side and drain up to this many bytes.
    Linger(usize),
}

/// What a state held that leaving it gives back.
pub(super) enum Release {
    Nothing,
    /// A polling request's connection (a parked GET or a POST being read).
    PollingConn(SessionId),
    /// The session's WebSocket, lost.
    WebSocket(SessionId),
    /// A bridge slot and the worker connection's registration.
    Bridge(Box<Bridge>),
    /// A place in the queue for a bridge slot.
    BridgeQueue,
}

impl State {
    /// The one deadline this state runs under.
    pub(super) fn wait(&self) -> Option<Wait> {
        match self {
            State::Head => Some(Wait::Head),
            State::Body { .. } => Some(Wait::Body),
            State::BridgeWait { .. } => Some(Wait::Bridge),
            State::Bridge(_) | State::Closing { .. } => Some(Wait::Drain),
            State::Lingering { .. } => Some(Wait::Linger),
            State::Held { .. } | State::WebSocket { .. } => None,
        }
    }

    /// What its deadline passing means. `idle`: a `Head` connection that has not begun a
    /// request (a keep-alive connection left open) is closed without an answer.
    pub(super) fn expiry(&self, idle: bool) -> Expiry {
        match self {
            State::Head if idle => Expiry::Close,
            State::Head | State::Body { .. } => Expiry::Reject(408, "request timeout"),
            State::BridgeWait { .. } => Expiry::Reject(503, "server busy"),
            // A client that stopped reading its last response, a close frame or a bridged
            // response, or stopped sending what it had left: it gets no more of our time.
            _ => Expiry::Close,
        }
    }

    /// How to read the connection now; `answer_pending`: an answer is still unwritten.
    pub(super) fn reading(&self, answer_pending: bool) -> Reading {
        match self {
            State::WebSocket { .. } => Reading::WebSocket,
            State::Closing { .. } => Reading::Discard,
            State::Lingering { .. } => Reading::Linger,
            State::Held { .. } | State::BridgeWait { .. } | State::Bridge(_) => Reading::WatchEof,
            // Pipelined requests are taken one at a time: the next is not read or parsed
            // until the previous answer has gone out, so a client that never reads its
            // answers holds one of them, not one per request it sent.
            State::Head if answer_pending => Reading::Wait,
            State::Head | State::Body { .. } => Reading::Http,
        }
    }

    /// What a write leads to: `empty` when nothing is left to write, `moved` when it wrote
    /// bytes.
    pub(super) fn after_write(&self, empty: bool, moved: bool) -> AfterWrite {
        match self {
            State::Closing { drain } if empty => match *drain {
                0 => AfterWrite::Close,
                drain => AfterWrite::Linger(drain),
            },
            State::Head if empty && moved => AfterWrite::ReadNext,
            _ => AfterWrite::Nothing,
        }
    }

    /// Leaves the state: what it held, for the shell to give back.
    pub(super) fn release(self) -> Release {
        match self {
            State::Held { session, .. } | State::Body { session, .. } => {
                Release::PollingConn(session)
            }
            State::WebSocket { session, .. } => Release::WebSocket(session),
            State::Bridge(bridge) => Release::Bridge(bridge),
            State::BridgeWait { .. } => Release::BridgeQueue,
            State::Head | State::Closing { .. } | State::Lingering { .. } => Release::Nothing,
        }
    }
}

#[cfg(test)]
mod tests;
