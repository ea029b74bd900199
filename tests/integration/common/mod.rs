//! Shared harness for the integration tests: the real `sharethings` binary on a free port, and
//! clients that speak raw bytes to it. One module per thing it speaks:
//!
//! - [`process`]: [`Server`], the binary with `--port 0`, its log, killed on drop.
//! - [`http`]: [`Http`], raw HTTP/1.1 over one `TcpStream`, keep-alive aware.
//! - [`json_values`]: reading the JSON answers.
//! - [`eio`]: Engine.IO long-polling: [`eio_open_polling`], [`poll_get`], [`poll_post`].
//! - [`ws`]: [`Ws`], a blocking tungstenite client with deadlines.
//! - [`sio`]: [`SioClient`], Socket.IO v5 on it.
//! - [`v3`]: format 3 joins for it: challenge and proof, and applying.
//!
//! Packets are framed by the protocol crate (`sharethings_protocol`), the one the server and
//! the CLI use; what the tests send on purpose wrong, they write out by hand.
//!
//! Nothing here sleeps for a fixed time: every read has a socket timeout and an overall
//! deadline, and [`wait_until`] polls a condition.

mod eio;
mod http;
mod json_values;
mod process;
mod sio;
mod v3;
mod ws;

pub use self::eio::*;
pub use self::http::*;
pub use self::json_values::*;
pub use self::process::*;
pub use self::sio::*;
pub use self::ws::*;

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use miniserde::json::{self, Value};
use sharethings_protocol as protocol;
use sharethings_protocol::payload::Part;
use sharethings_protocol::sio::Header;
pub use sharethings_protocol::sio::PacketKind;
use tungstenite::handshake::HandshakeError;
use tungstenite::protocol::WebSocket;
use tungstenite::Message;

/// How long any single expected thing may take before the test fails.
pub const STEP: Duration = Duration::from_secs(5);
/// Socket read timeout: the granularity at which deadlines are checked.
const TICK: Duration = Duration::from_millis(50);

pub fn deadline(after: Duration) -> Instant {
    Instant::now() + after
}

/// Polls `cond` until it holds or `deadline` passes; returns whether it held.
pub fn wait_until(deadline: Instant, mut cond: impl FnMut() -> bool) -> bool {
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
