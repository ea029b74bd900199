//! [`Io`]: everything an application can do to its clients, and nothing more.

use super::*;

/// The application's handle on clients. Everything it can do to them goes through here.
pub struct Io<'a, T: Copy> {
    pub(super) engine: &'a mut Engine,
    /// The engine's deadlines and the application's, in the loop's wheel.
    pub(super) timers: &'a mut dyn LayerTimers<T>,
    pub(super) sio: &'a mut SocketIo,
    /// The loop's time for the event being handled.
    pub(super) now: Instant,
}

impl<T: Copy> Io<'_, T> {
    /// The loop's time for this turn.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The socket's id, as the client sees it (`socket.id`).
    pub fn socket_id(&self, socket: SocketId) -> Option<&str> {
        self.sio.sockets.get(socket).map(|s| s.id.as_str())
    }

    fn session(&self, socket: SocketId) -> Option<SessionId> {
        self.sio.sockets.get(socket).map(|s| s.session)
    }

    fn nsp(&self, socket: SocketId) -> &str {
        self.sio
            .sockets
            .get(socket)
            .map_or("/", |s| self.sio.nsp_name(s.nsp))
    }

    /// The client's address as resolved at its handshake (trusted proxies applied).
    pub fn remote(&self, socket: SocketId) -> Option<IpAddr> {
        self.session(socket).and_then(|s| self.engine.remote(s))
    }

    /// The query string of the client's Engine.IO handshake.
    pub fn handshake_query(&self, socket: SocketId) -> Option<&str> {
        self.session(socket)
            .and_then(|s| self.engine.handshake_query(s))
    }

    /// Emits `event` to one socket. Binary values in `args` must be placeholders pointing
    /// into `attachments`.
    pub fn emit(
        &mut self,
        socket: SocketId,
        event: &str,
        args: Vec<Value>,
        attachments: Vec<Bytes>,
    ) {
        let packet = Outgoing::event(self.nsp(socket), event, args, attachments);
        self.send(socket, &packet);
    }

    /// Emits and asks the client to acknowledge with `ack`; the answer reaches
    /// [`Application::on_ack`].
    pub fn emit_with_ack(
        &mut self,
        socket: SocketId,
        event: &str,
        args: Vec<Value>,
        attachments: Vec<Bytes>,
        ack: u64,
    ) {
        let packet = Outgoing::event_with_ack(self.nsp(socket), event, args, attachments, ack);
        self.send(socket, &packet);
    }

    /// Queues an already encoded packet; its bytes are shared, not copied.
    pub fn send(&mut self, socket: SocketId, packet: &Outgoing) {
        if let Some(session) = self.session(socket) {
            queue(self.engine, self.timers, session, packet);
        }
    }

    /// Bytes an answer to this socket may still queue: below its queue's high-water mark and
    /// within the memory budget, `app_held` being what the application keeps for clients (see
    /// [`Engine::queue_room`]).
    pub fn queue_room(&self, socket: SocketId, app_held: usize) -> usize {
        self.session(socket).map_or(0, |s| {
            self.engine
                .queue_room(s, app_held.saturating_add(self.sio.partial_bytes))
        })
    }

    /// Answers the client's ack `ack` with `args`. If the socket is paused by backpressure the
    /// answer is held and sent once every receiver it waits for has drained.
    pub fn ack(&mut self, socket: SocketId, ack: u64, args: Vec<Value>, attachments: Vec<Bytes>) {
        let Some(session) = self.session(socket) else {
            return;
        };
        let packet = Outgoing::ack(self.nsp(socket), ack, args, attachments);
        if self.engine.is_held(session) {
            if let Some(client) = self.sio.clients.get_mut(&session) {
                client.held_acks.push_back(packet);
            }
            return;
        }
        self.send(socket, &packet);
    }

    /// Sends `packet` to every one of `receivers`, sharing its bytes, with backpressure: a
    /// receiver whose queue passes its high-water mark pauses `sender` (its reads stop, and
    /// acks it is given are held) until that receiver drains. Every application relaying
    /// from one client to others goes through here, so none has to re-implement that rule.
    /// Returns how many receivers were sent to.
    pub fn relay(
        &mut self,
        sender: SocketId,
        receivers: impl IntoIterator<Item = SocketId>,
        packet: &Outgoing,
    ) -> usize {
        let from = self.session(sender);
        let mut sent = 0;
        for receiver in receivers {
            let Some(to) = self.session(receiver) else {
                continue;
            };
            queue(self.engine, self.timers, to, packet);
            sent += 1;
            if let Some(from) = from.filter(|from| *from != to) {
                if self.engine.is_congested(to) {
                    self.engine.hold_sender(from, to);
                }
            }
        }
        sent
    }

    /// Closes the client's connection (its Engine.IO session, every namespace with it).
    pub fn close_client(&mut self, socket: SocketId) {
        if let Some(session) = self.session(socket) {
            self.engine
                .close(self.timers, session, CloseReason::ServerClose);
        }
    }

    /// Sets a deadline of the application's; [`Application::on_timer`] gets `key` back.
    pub fn set_timer(&mut self, deadline: Instant, key: T) -> Result<TimerId, Full> {
        AppTimers::set(self.timers, deadline, key)
    }

    pub fn cancel_timer(&mut self, timer: TimerId) {
        AppTimers::cancel(self.timers, timer);
    }
}
