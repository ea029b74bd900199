//! One Engine.IO connection over a WebSocket, joined to the Socket.IO namespace `/`: answers
//! the server's heartbeat, numbers acks, collects binary attachments, and reports a lost
//! connection (an error, a close, or a silent server past pingInterval + pingTimeout).

use std::io;
use std::time::{Duration, Instant};

use serde_json::Value;
use sharethings_protocol::eio::{self, PacketKind};
use sharethings_protocol::{sio, DecodeError};
use tungstenite::WebSocket;

use crate::socketio::{self, Decoder, Message};
use crate::transport::{ConnectError, Endpoint, Stream};

/// How long the server has to complete the Engine.IO and Socket.IO handshakes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// The connection is gone; the caller may open a new one.
#[derive(Debug)]
pub struct Lost(pub String);

pub struct Connection {
    ws: WebSocket<Stream>,
    decoder: Decoder,
    /// Silence longer than this (pingInterval + pingTimeout) means the server is gone.
    silence_limit: Duration,
    last_heard: Instant,
}

impl Connection {
    pub fn open(endpoint: &Endpoint, route: &str) -> Result<Connection, ConnectError> {
        let ws = endpoint.open(route)?;
        let mut conn = Connection {
            ws,
            decoder: Decoder::default(),
            silence_limit: HANDSHAKE_TIMEOUT,
            last_heard: Instant::now(),
        };
        let lost = |e: Lost| ConnectError::Unreachable(e.0);
        let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
        let open = loop {
            match conn.read_engine(deadline).map_err(lost)? {
                Some((PacketKind::Open, json)) => break json,
                Some(_) => continue,
                None => return Err(ConnectError::Unreachable("no Engine.IO handshake".into())),
            }
        };
        let open: Value = serde_json::from_str(&open)
            .map_err(|_| lost(protocol_error(DecodeError::InvalidJson)))?;
        let ms = |key: &str| open.get(key).and_then(Value::as_u64).unwrap_or(25_000);
        conn.silence_limit = Duration::from_millis(ms("pingInterval") + ms("pingTimeout"));
        conn.send_text(sio::CONNECT.to_string()).map_err(lost)?;
        loop {
            match conn.poll_until(deadline).map_err(lost)? {
                Some(Message::Connected) => return Ok(conn),
                Some(Message::ConnectError(e)) => {
                    return Err(ConnectError::Unreachable(format!("connect refused: {e}")))
                }
                Some(_) => continue,
                None => return Err(ConnectError::Unreachable("no Socket.IO connect".into())),
            }
        }
    }

    /// Emits `event` with `payload`, whose placeholders stand for `attachments` in order.
    pub fn emit(
        &mut self,
        event: &str,
        payload: &Value,
        attachments: &[&[u8]],
        ack: Option<u64>,
    ) -> Result<(), Lost> {
        let text = socketio::encode_emit(event, payload, attachments.len(), ack);
        self.send_text(text)?;
        for data in attachments {
            self.send(tungstenite::Message::binary(data.to_vec()))?;
        }
        Ok(())
    }

    /// The next whole message, waiting at most `timeout`; `None` when nothing came.
    pub fn poll(&mut self, timeout: Duration) -> Result<Option<Message>, Lost> {
        self.poll_until(Instant::now() + timeout)
    }

    fn poll_until(&mut self, deadline: Instant) -> Result<Option<Message>, Lost> {
        loop {
            let frame = match self.read_frame(deadline)? {
                Some(frame) => frame,
                None => return Ok(None),
            };
            let message = match frame {
                tungstenite::Message::Text(text) => {
                    match eio::decode_text(&text).map_err(protocol_error)? {
                        (PacketKind::Message, packet) => self.decoder.text(packet),
                        (PacketKind::Ping, _) => {
                            self.send_text(eio::PONG.to_string())?;
                            continue;
                        }
                        (PacketKind::Close, _) => {
                            return Err(Lost("the server closed the session".into()))
                        }
                        // Open, pong, upgrade, noop: nothing to do on a direct WebSocket.
                        _ => continue,
                    }
                }
                tungstenite::Message::Binary(data) => self.decoder.binary(data.to_vec()),
                tungstenite::Message::Close(_) => {
                    return Err(Lost("the server closed the connection".into()))
                }
                _ => continue,
            };
            match message.map_err(protocol_error)? {
                Some(Message::Disconnected) => {
                    return Err(Lost("the server disconnected us".into()))
                }
                Some(message) => return Ok(Some(message)),
                None => continue,
            }
        }
    }

    /// The next Engine.IO text packet: its kind and data.
    fn read_engine(&mut self, deadline: Instant) -> Result<Option<(PacketKind, String)>, Lost> {
        match self.read_frame(deadline)? {
            Some(tungstenite::Message::Text(text)) => {
                let (kind, data) = eio::decode_text(&text).map_err(protocol_error)?;
                Ok(Some((kind, data.to_string())))
            }
            Some(_) => Err(Lost("unexpected frame before the handshake".into())),
            None => Ok(None),
        }
    }

    /// One WebSocket frame, or `None` at the deadline.
    fn read_frame(&mut self, deadline: Instant) -> Result<Option<tungstenite::Message>, Lost> {
        let now = Instant::now();
        if now.duration_since(self.last_heard) > self.silence_limit {
            return Err(Lost("the server went silent".into()));
        }
        let wait = deadline
            .saturating_duration_since(now)
            .min(self.silence_limit)
            .max(Duration::from_millis(1));
        self.ws
            .get_ref()
            .tcp()
            .set_read_timeout(Some(wait))
            .map_err(|e| Lost(e.to_string()))?;
        match self.ws.read() {
            Ok(frame) => {
                self.last_heard = Instant::now();
                Ok(Some(frame))
            }
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(Lost(e.to_string())),
        }
    }

    fn send_text(&mut self, text: String) -> Result<(), Lost> {
        self.send(tungstenite::Message::text(text))
    }

    fn send(&mut self, frame: tungstenite::Message) -> Result<(), Lost> {
        self.ws.send(frame).map_err(|e| Lost(e.to_string()))
    }

    /// Leaves cleanly: Socket.IO DISCONNECT, then the WebSocket close handshake (best effort).
    pub fn close(mut self) {
        let _ = self.send_text(sio::DISCONNECT.to_string());
        let _ = self.ws.close(None);
        let deadline = Instant::now() + Duration::from_secs(2);
        while let Ok(Some(_)) = self.read_frame(deadline) {}
    }
}

fn protocol_error(e: DecodeError) -> Lost {
    Lost(format!("protocol error: {e}"))
}
