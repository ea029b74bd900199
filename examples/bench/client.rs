//! A blocking Engine.IO / Socket.IO client over [`crate::ws`]: WebSocket upgrade, open,
//! CONNECT and `join`, as the web client does them. Packets are framed by the protocol crate
//! (the server's, the CLI's and the integration tests'); [`read_text`] is how every figure
//! reads a server's text frame.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sharethings_protocol::eio::{self, Transport};
use sharethings_protocol::route_key;
use sharethings_protocol::sio::{self, Header, PacketKind};

use crate::ws::{closed, invalid, push_frame, read_once, FrameReader, Rng, OP_CLOSE, OP_TEXT};
use crate::STEP_TIMEOUT;

/// A blocking client that completed the WebSocket handshake, Socket.IO CONNECT and `join`.
pub struct Client {
    pub stream: TcpStream,
    pub reader: FrameReader,
    pub rng: Rng,
    pub scratch: Vec<u8>,
}

impl Client {
    /// Opens a WebSocket to Engine.IO with the routing key of `session` on its URL, as the web
    /// client does: HAProxy balances on it, and the server refuses a `join` of another session.
    pub fn connect(addr: SocketAddr, session: &str, salt: u64) -> io::Result<Client> {
        let mut stream = TcpStream::connect_timeout(&addr, STEP_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(STEP_TIMEOUT))?;
        let mut rng = Rng::new(salt);
        let key = websocket_key(&mut rng);
        stream.write_all(upgrade_request(addr, session, &key).as_bytes())?;
        let mut head = Vec::new();
        let mut chunk = [0u8; 1024];
        let end = loop {
            if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if head.len() > 16 * 1024 {
                return Err(invalid("response head too large"));
            }
            let n = read_once(&mut stream, &mut chunk)?
                .ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))?;
            head.extend_from_slice(&chunk[..n]);
        };
        upgrade_accepted(&head[..end], &key).map_err(|e| invalid(&e))?;
        Ok(Client {
            stream,
            reader: FrameReader::new(&head[end..]),
            rng,
            scratch: Vec::new(),
        })
    }

    pub fn send_text(&mut self, text: &str) -> io::Result<()> {
        self.scratch.clear();
        push_frame(&mut self.scratch, OP_TEXT, text.as_bytes(), &mut self.rng);
        self.stream.write_all(&self.scratch)
    }

    /// Reads until a text frame that `wanted` accepts, answering pings on the way; returns
    /// it. `what` names it in the error.
    pub fn wait_for(&mut self, what: &str, wanted: impl Fn(Text) -> bool) -> io::Result<String> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        while Instant::now() < deadline {
            let Some(frame) = self.reader.next(&mut self.stream)? else {
                continue;
            };
            if frame.opcode == OP_CLOSE {
                return Err(closed(self.reader.bytes(frame)));
            }
            if frame.opcode != OP_TEXT {
                continue;
            }
            let bytes = self.reader.bytes(frame);
            match read_text(bytes) {
                Text::Ping => self.send_text(eio::PONG)?,
                text if wanted(text) => return Ok(String::from_utf8_lossy(bytes).into_owned()),
                _ => {}
            }
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no {what} from the server"),
        ))
    }

    /// Opens Engine.IO and Socket.IO and joins `session` (created with a fingerprint derived
    /// from its name, so every member presents the same one).
    pub fn join(addr: SocketAddr, session: &str, name: &str, salt: u64) -> io::Result<Client> {
        Client::join_steps(addr, session, name, salt).map(|(c, _)| c)
    }

    /// [`Client::join`], also telling when each step of it was done.
    pub fn join_steps(
        addr: SocketAddr,
        session: &str,
        name: &str,
        salt: u64,
    ) -> io::Result<(Client, Steps)> {
        let start = Instant::now();
        let mut c = Client::connect(addr, session, salt)?;
        let upgraded = start.elapsed();
        c.wait_for("open packet", |t| matches!(t, Text::Open))?;
        let opened = start.elapsed();
        c.send_text(sio::CONNECT)?;
        c.wait_for("CONNECT answer", |t| t.is(PacketKind::Connect))?;
        let connected = start.elapsed();
        c.send_text(&join_text(session, name))?;
        let ack = c.wait_for("join ack", |t| t.ack(JOIN_ACK).is_some())?;
        if !ack.contains(r#""success":true"#) {
            return Err(invalid(&format!("join refused: {ack}")));
        }
        let steps = Steps {
            upgraded,
            opened,
            connected,
            joined: start.elapsed(),
        };
        Ok((c, steps))
    }
}

/// When each step of one join was done, counted from the start of its TCP connect: the
/// WebSocket upgrade answered (`101`), the Engine.IO open packet read, the Socket.IO CONNECT
/// answered, the `join` acknowledged.
#[derive(Clone, Copy, Default)]
pub struct Steps {
    pub upgraded: Duration,
    pub opened: Duration,
    pub connected: Duration,
    pub joined: Duration,
}

/// The ack id of a client's `join`.
pub const JOIN_ACK: u64 = 0;

/// The web client's `join` event (ack id [`JOIN_ACK`]), with a fingerprint derived from the
/// session's name so that every member presents the same one.
pub fn join_text(session: &str, name: &str) -> String {
    let mac = data_encoding::BASE64.encode(format!("bench verifier for {session}").as_bytes());
    Header::event(0, Some(JOIN_ACK)).message(&format!(
        r#"["join",{{"sessionId":"{session}","clientName":"{name}","fingerprint":{{"v":2,"mac":"{mac}"}}}}]"#
    ))
}

/// The WebSocket upgrade request of Engine.IO, with `session`'s routing key (the protocol
/// crate's, as the server and the CLI compute it; the shared vector pins it).
pub fn upgrade_request(addr: SocketAddr, session: &str, key: &str) -> String {
    let query = eio::handshake_query(Transport::WebSocket, Some(&route_key(session)));
    format!(
        "GET {}?{query} HTTP/1.1\r\nHost: {addr}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
        eio::PATH
    )
}

/// What a server's text frame is to a bench client.
#[derive(Clone, Copy, Debug)]
pub enum Text<'a> {
    /// The Engine.IO handshake.
    Open,
    /// A heartbeat, to answer with [`eio::PONG`].
    Ping,
    /// A Socket.IO packet: its header and its JSON text.
    Packet(sio::Header<'a>, &'a str),
    /// Anything else: pongs, noops, and bytes that are no packet.
    Other,
}

/// Reads a server's text frame with the protocol crate. No allocation: the figures call it
/// for every frame.
pub fn read_text(frame: &[u8]) -> Text<'_> {
    let Ok(text) = std::str::from_utf8(frame) else {
        return Text::Other;
    };
    match eio::decode_text(text) {
        Ok((eio::PacketKind::Open, _)) => Text::Open,
        Ok((eio::PacketKind::Ping, _)) => Text::Ping,
        Ok((eio::PacketKind::Message, packet)) => match sio::decode_header(packet, usize::MAX) {
            Ok((header, json)) => Text::Packet(header, json),
            Err(_) => Text::Other,
        },
        _ => Text::Other,
    }
}

impl<'a> Text<'a> {
    /// Whether this is a Socket.IO packet of `kind`.
    pub fn is(self, kind: PacketKind) -> bool {
        matches!(self, Text::Packet(header, _) if header.kind == kind)
    }

    /// The JSON of the ack with ack id `id`.
    pub fn ack(self, id: u64) -> Option<&'a str> {
        match self {
            Text::Packet(header, json)
                if header.kind == PacketKind::Ack && header.id == Some(id) =>
            {
                Some(json)
            }
            _ => None,
        }
    }

    /// The JSON of an event (binary or not) named `name`: `["name",…]`.
    pub fn event(self, name: &str) -> Option<&'a str> {
        let Text::Packet(header, json) = self else {
            return None;
        };
        let named = json
            .strip_prefix("[\"")
            .and_then(|rest| rest.strip_prefix(name))
            .is_some_and(|rest| rest.starts_with('"'));
        let event = matches!(header.kind, PacketKind::Event | PacketKind::BinaryEvent);
        (event && named).then_some(json)
    }
}

/// Whether a response head accepts the WebSocket upgrade for `key`.
pub fn upgrade_accepted(head: &[u8], key: &str) -> Result<(), String> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes()).to_ascii_lowercase();
    if text.starts_with("http/1.1 101") && text.contains(&accept) {
        return Ok(());
    }
    let first = text.lines().next().unwrap_or_default().to_string();
    Err(format!("WebSocket handshake refused: {first}"))
}

/// A fresh `Sec-WebSocket-Key`.
pub fn websocket_key(rng: &mut Rng) -> String {
    let key_bytes: Vec<u8> = (0..4).flat_map(|_| rng.mask()).collect();
    data_encoding::BASE64.encode(&key_bytes)
}

pub fn contains(text: &[u8], part: &[u8]) -> bool {
    text.windows(part.len()).any(|w| w == part)
}

/// The number after `"key":` in a JSON text, without parsing all of it.
pub fn number_after(text: &[u8], key: &[u8]) -> Option<u64> {
    let at = text.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = text.get(at..)?;
    let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(rest.get(..len)?).ok()?.parse().ok()
}
