//! Socket.IO v5 on top of Engine.IO: namespaces, events, acks and binary attachments.
//!
//! The application implements [`Application`] and talks to clients only through [`Io`]: emit
//! to a socket, relay one packet to many with backpressure, answer or hold acks, close a
//! client, set timers. It never sees a transport, and keeps its own groups of sockets (this
//! layer has no rooms). It knows nothing of ShareThings.
//!
//! Behaviour follows the reference `socket.io` server: a packet that cannot be decoded, or
//! that does not fit the connection's state (an event for a namespace it never joined, a
//! binary attachment nobody announced), closes the Engine.IO connection.

mod io;
mod outgoing;
mod partial;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use miniserde::json::{Object, Value};

use crate::engine::{self, AppTimers, CloseReason, Engine, LayerTimers, Message, SessionId};
use crate::util::arena::{Arena, Full, Handle};
use crate::util::timer::TimerId;
use crate::wire::sid::Sid;
use crate::wire::sio::{self, PacketKind};

pub use io::Io;
pub use outgoing::Outgoing;
use partial::Partial;

/// A Socket.IO socket: one Engine.IO session joined to one namespace.
pub type SocketId = Handle;

/// Socket.IO settings.
#[derive(Debug, Clone)]
pub struct SocketIoConfig {
    /// Namespaces clients may join, e.g. `["/"]`.
    pub namespaces: Vec<String>,
    /// A client that joins no namespace within this is disconnected.
    pub connect_timeout: Duration,
    /// What one packet may hold (attachments, JSON depth and size).
    pub packet_limits: sio::Limits,
    pub max_attachment_bytes: usize,
    /// A binary packet's attachments must all arrive within this of its text.
    pub attachment_timeout: Duration,
    pub max_sockets: usize,
}

/// Why a socket left, with the reference server's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client sent DISCONNECT for the namespace.
    ClientNamespaceDisconnect,
    /// The server disconnected the socket.
    ServerNamespaceDisconnect,
    /// The Engine.IO session closed, for this reason.
    Transport(CloseReason),
}

impl DisconnectReason {
    /// Whether the client left on purpose rather than losing its connection.
    pub fn is_clean(self) -> bool {
        match self {
            DisconnectReason::ClientNamespaceDisconnect
            | DisconnectReason::ServerNamespaceDisconnect => true,
            DisconnectReason::Transport(reason) => reason.is_clean(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::Transport(reason) => reason.as_str(),
        }
    }
}

/// An event a client emitted.
#[derive(Debug)]
pub struct IncomingEvent {
    /// The event name (a number as first argument is given as its decimal text).
    pub name: String,
    /// The arguments after the name; binary values are `{"_placeholder":true,"num":i}`.
    pub args: Vec<Value>,
    /// The binary attachments the placeholders point into, as they arrived.
    pub attachments: Vec<Bytes>,
    /// Present when the client asked for an acknowledgement.
    pub ack: Option<u64>,
}

/// What an application built on this layer implements.
pub trait Application {
    /// What the application's deadlines are for (an enum of its own, say); reported back to
    /// [`Application::on_timer`] as set.
    type Timer: Copy;

    /// A socket joined namespace `nsp` with the CONNECT payload `auth`. It is already
    /// acknowledged to the client; events it sends next reach [`Application::on_event`].
    fn on_connect(
        &mut self,
        io: &mut Io<'_, Self::Timer>,
        socket: SocketId,
        nsp: &str,
        auth: Option<Value>,
    );
    fn on_event(&mut self, io: &mut Io<'_, Self::Timer>, socket: SocketId, event: IncomingEvent);
    /// The client acknowledged an emit sent with [`Io::emit_with_ack`].
    fn on_ack(
        &mut self,
        _io: &mut Io<'_, Self::Timer>,
        _socket: SocketId,
        _ack: u64,
        _args: Vec<Value>,
        _attachments: Vec<Bytes>,
    ) {
    }
    fn on_disconnect(
        &mut self,
        io: &mut Io<'_, Self::Timer>,
        socket: SocketId,
        reason: DisconnectReason,
    );
    /// A binary packet's attachments passed `max_attachment_bytes`. What it held is freed,
    /// the rest of its attachments are dropped as they come, and the connection stays open;
    /// `ack` is the packet's ack id, for the answer.
    fn on_too_large(&mut self, io: &mut Io<'_, Self::Timer>, socket: SocketId, ack: Option<u64>);
    /// A deadline set with [`Io::set_timer`] passed.
    fn on_timer(&mut self, _io: &mut Io<'_, Self::Timer>, _key: Self::Timer) {}
    /// Bytes the application keeps for clients, counted against the memory budget.
    fn held_bytes(&self) -> usize {
        0
    }
}

struct Socket {
    session: SessionId,
    nsp: usize,
    id: Sid,
}

/// Socket.IO state of one Engine.IO session.
#[derive(Default)]
struct Client {
    sockets: Vec<SocketId>,
    partial: Option<Partial>,
    /// Acks held while the session waits for congested receivers (backpressure).
    held_acks: VecDeque<Outgoing>,
}

/// Socket.IO with its application, as the layer the front door drives.
pub struct SocketIoLayer<A> {
    pub sio: SocketIo,
    pub app: A,
}

impl<A: Application> engine::Layer for SocketIoLayer<A> {
    type Timer = A::Timer;

    fn handle(
        &mut self,
        engine: &mut Engine,
        timers: &mut dyn LayerTimers<A::Timer>,
        now: Instant,
        event: engine::Event,
    ) {
        self.sio.handle(engine, timers, now, &mut self.app, event);
    }

    fn timer_fired(
        &mut self,
        engine: &mut Engine,
        timers: &mut dyn LayerTimers<A::Timer>,
        now: Instant,
        key: A::Timer,
    ) {
        self.sio
            .timer_fired(engine, timers, now, &mut self.app, key);
    }

    fn held_bytes(&self) -> usize {
        self.sio.partial_bytes + self.app.held_bytes()
    }
}

/// What one call into this layer carries down to the engine and up to the application: the
/// engine, the timers of both (in the loop's wheel), and the loop's time for the call.
struct Cx<'a, T> {
    engine: &'a mut Engine,
    timers: &'a mut dyn LayerTimers<T>,
    now: Instant,
}

impl<T: Copy> Cx<'_, T> {
    /// The application's handle for one call into it.
    fn io<'s>(&'s mut self, sio: &'s mut SocketIo) -> Io<'s, T> {
        Io {
            engine: &mut *self.engine,
            timers: &mut *self.timers,
            sio,
            now: self.now,
        }
    }
}

/// Socket.IO state of the whole process.
pub struct SocketIo {
    config: SocketIoConfig,
    sockets: Arena<Socket>,
    clients: HashMap<SessionId, Client>,
    /// Bytes held by binary packets waiting for their attachments, all clients together.
    partial_bytes: usize,
}

impl SocketIo {
    pub fn new(config: SocketIoConfig) -> SocketIo {
        SocketIo {
            sockets: Arena::with_capacity(config.max_sockets),
            clients: HashMap::with_capacity(config.max_sockets),
            partial_bytes: 0,
            config,
        }
    }

    /// Handles one thing the engine reported.
    pub fn handle<A: Application>(
        &mut self,
        engine: &mut Engine,
        timers: &mut dyn LayerTimers<A::Timer>,
        now: Instant,
        app: &mut A,
        event: engine::Event,
    ) {
        let cx = &mut Cx {
            engine,
            timers,
            now,
        };
        match event {
            engine::Event::Open(session) => {
                self.clients.insert(session, Client::default());
                let deadline = cx.now + self.config.connect_timeout;
                cx.engine.set_layer_deadline(cx.timers, session, deadline);
            }
            engine::Event::Message(session, message) => self.on_message(cx, app, session, message),
            engine::Event::Close(session, reason) => {
                self.on_close(cx, app, session, DisconnectReason::Transport(reason))
            }
            // Before the first CONNECT the session's deadline is connectTimeout; after it,
            // the deadline of a binary packet's attachments (binary packets need a socket).
            engine::Event::LayerDeadline(session) => match self.clients.get(&session) {
                Some(c) if c.partial.is_some() => {
                    log::debug!("closing session: attachments did not arrive in time");
                    cx.engine.close(cx.timers, session, CloseReason::ParseError);
                }
                Some(c) if c.sockets.is_empty() => {
                    log::debug!("closing session: no namespace joined within connectTimeout");
                    cx.engine
                        .close(cx.timers, session, CloseReason::ServerClose);
                }
                _ => {}
            },
            engine::Event::Resumed(session) => self.release_acks(cx, session),
        }
    }

    /// One of the application's deadlines passed.
    pub fn timer_fired<A: Application>(
        &mut self,
        engine: &mut Engine,
        timers: &mut dyn LayerTimers<A::Timer>,
        now: Instant,
        app: &mut A,
        key: A::Timer,
    ) {
        let mut io = Io {
            engine,
            timers,
            sio: self,
            now,
        };
        app.on_timer(&mut io, key);
    }

    fn on_message<A: Application>(
        &mut self,
        cx: &mut Cx<'_, A::Timer>,
        app: &mut A,
        session: SessionId,
        message: Message,
    ) {
        let Some(client) = self.clients.get_mut(&session) else {
            return;
        };
        let complete = match (message, client.partial.as_mut()) {
            (Message::Binary(data), Some(_)) => match self.on_attachment(cx, app, session, data) {
                Some(complete) => complete,
                None => return,
            },
            (Message::Binary(_), None) => {
                log::debug!("closing session: binary message without a binary packet");
                return cx.engine.close(cx.timers, session, CloseReason::ParseError);
            }
            (Message::Text(_), Some(_)) => {
                log::debug!("closing session: text packet while attachments were expected");
                return cx.engine.close(cx.timers, session, CloseReason::ParseError);
            }
            (Message::Text(data), None) => {
                let packet = match self.decode_text(&data) {
                    Ok(packet) => packet,
                    Err(err) => {
                        log::debug!("closing session: bad socket.io packet: {err}");
                        return cx.engine.close(cx.timers, session, CloseReason::ParseError);
                    }
                };
                if packet.attachments > 0 {
                    return self.await_attachments(cx, session, packet, data);
                }
                (packet, Vec::new())
            }
        };
        self.on_packet(cx, app, session, complete.0, complete.1);
    }

    fn on_packet<A: Application>(
        &mut self,
        cx: &mut Cx<'_, A::Timer>,
        app: &mut A,
        session: SessionId,
        packet: sio::Packet,
        attachments: Vec<Bytes>,
    ) {
        let nsp = self.config.namespaces.iter().position(|n| *n == packet.nsp);
        let socket = nsp.and_then(|nsp| self.find_socket(session, nsp));
        match (packet.kind, socket) {
            (PacketKind::Connect, None) => {
                let Some(nsp) = nsp else {
                    let text = sio::encode(
                        PacketKind::ConnectError,
                        0,
                        &packet.nsp,
                        None,
                        Some(&error_object("Invalid namespace")),
                    );
                    return cx.engine.send_text(cx.timers, session, &text);
                };
                self.connect(cx, app, session, nsp, packet.data);
            }
            (PacketKind::Disconnect, Some(socket)) => {
                self.remove_socket(cx, app, socket, DisconnectReason::ClientNamespaceDisconnect);
            }
            (PacketKind::Event | PacketKind::BinaryEvent, Some(socket)) => {
                let Some(Value::Array(args)) = packet.data else {
                    return cx.engine.close(cx.timers, session, CloseReason::ParseError);
                };
                let mut args = args.into_iter();
                let name = match args.next() {
                    Some(Value::String(name)) => name,
                    Some(Value::Number(n)) => n.to_string(),
                    _ => return cx.engine.close(cx.timers, session, CloseReason::ParseError),
                };
                let event = IncomingEvent {
                    name,
                    args: args.collect(),
                    attachments,
                    ack: packet.id,
                };
                app.on_event(&mut cx.io(self), socket, event);
            }
            (PacketKind::Ack | PacketKind::BinaryAck, Some(socket)) => {
                let (Some(id), Some(Value::Array(args))) = (packet.id, packet.data) else {
                    return cx.engine.close(cx.timers, session, CloseReason::ParseError);
                };
                app.on_ack(
                    &mut cx.io(self),
                    socket,
                    id,
                    args.into_iter().collect(),
                    attachments,
                );
            }
            _ => {
                // Reference: "invalid state" closes the connection (a CONNECT to a namespace
                // already joined, anything else to one never joined, CONNECT_ERROR from a client).
                log::debug!(
                    "closing session: socket.io packet {:?} in the wrong state",
                    packet.kind
                );
                cx.engine.close(cx.timers, session, CloseReason::ParseError);
            }
        }
    }

    fn connect<A: Application>(
        &mut self,
        cx: &mut Cx<'_, A::Timer>,
        app: &mut A,
        session: SessionId,
        nsp: usize,
        auth: Option<Value>,
    ) {
        let id = Sid::from_random(engine::random_bytes());
        let socket = match self.sockets.try_insert(Socket { session, nsp, id }) {
            Ok(socket) => socket,
            Err(Full) => {
                let text = sio::encode(
                    PacketKind::ConnectError,
                    0,
                    self.nsp_name(nsp),
                    None,
                    Some(&error_object("Server full")),
                );
                return cx.engine.send_text(cx.timers, session, &text);
            }
        };
        if let Some(client) = self.clients.get_mut(&session) {
            client.sockets.push(socket);
        }
        cx.engine.clear_layer_deadline(cx.timers, session);
        let mut data = Object::new();
        data.insert("sid".to_string(), Value::String(id.as_str().to_string()));
        let text = sio::encode(
            PacketKind::Connect,
            0,
            self.nsp_name(nsp),
            None,
            Some(&Value::Object(data)),
        );
        cx.engine.send_text(cx.timers, session, &text);
        let nsp_name = self.nsp_name(nsp).to_string();
        app.on_connect(&mut cx.io(self), socket, &nsp_name, auth);
    }

    fn nsp_name(&self, nsp: usize) -> &str {
        self.config.namespaces.get(nsp).map_or("/", String::as_str)
    }

    fn find_socket(&self, session: SessionId, nsp: usize) -> Option<SocketId> {
        let client = self.clients.get(&session)?;
        client
            .sockets
            .iter()
            .copied()
            .find(|s| self.sockets.get(*s).is_some_and(|socket| socket.nsp == nsp))
    }

    fn on_close<A: Application>(
        &mut self,
        cx: &mut Cx<'_, A::Timer>,
        app: &mut A,
        session: SessionId,
        reason: DisconnectReason,
    ) {
        let Some(client) = self.clients.remove(&session) else {
            return;
        };
        if let Some(partial) = &client.partial {
            self.partial_bytes = self.partial_bytes.saturating_sub(partial.held);
        }
        for socket in client.sockets {
            self.remove_socket(cx, app, socket, reason);
        }
    }

    fn remove_socket<A: Application>(
        &mut self,
        cx: &mut Cx<'_, A::Timer>,
        app: &mut A,
        socket: SocketId,
        reason: DisconnectReason,
    ) {
        if !self.sockets.contains(socket) {
            return;
        }
        app.on_disconnect(&mut cx.io(self), socket, reason);
        let Some(removed) = self.sockets.remove(socket) else {
            return;
        };
        if let Some(client) = self.clients.get_mut(&removed.session) {
            client.sockets.retain(|s| *s != socket);
        }
    }

    fn release_acks<T: Copy>(&mut self, cx: &mut Cx<'_, T>, session: SessionId) {
        let Some(client) = self.clients.get_mut(&session) else {
            return;
        };
        while let Some(packet) = client.held_acks.pop_front() {
            queue(cx.engine, cx.timers, session, &packet);
        }
    }
}

fn error_object(message: &str) -> Value {
    let mut object = Object::new();
    object.insert("message".to_string(), Value::String(message.to_string()));
    Value::Object(object)
}

/// Queues every frame of `packet` for one session; the bytes are shared, not copied.
fn queue(
    engine: &mut Engine,
    timers: &mut dyn engine::Timers,
    session: SessionId,
    packet: &Outgoing,
) {
    for frame in packet.frames() {
        engine.send(timers, session, frame.clone());
    }
}

#[cfg(test)]
pub(crate) mod harness;
#[cfg(test)]
mod tests;
