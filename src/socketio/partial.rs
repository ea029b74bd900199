//! Binary packets waiting for their attachments: counted, capped in bytes and time, refused
//! with an answer when too large, and decoded once complete.

use super::*;

/// A binary packet waiting for its attachments. It keeps the packet's text, not its JSON tree
/// (decoded again once complete), so waiting costs what the client sent and no more.
pub(super) struct Partial {
    text: Bytes,
    /// The socket it came on and its ack id (for the answer to a refused one).
    socket: SocketId,
    ack: Option<u64>,
    expected: usize,
    /// Attachments arrived so far (kept in `attachments` unless `refused`).
    received: usize,
    /// Its attachments passed the byte cap: the rest are dropped as they come.
    refused: bool,
    attachments: Vec<Bytes>,
    /// Bytes of attachments so far (capped by `max_attachment_bytes`).
    bytes: usize,
    /// Bytes it holds: the packet's text and the attachments (counted in `held_bytes`).
    pub(super) held: usize,
}

impl SocketIo {
    /// Adds an attachment to the session's waiting binary packet; returns the packet once
    /// complete. Past the byte cap the packet is refused (the application answers it), what
    /// it held is freed and its remaining attachments are dropped as they come.
    pub(super) fn on_attachment<A: Application>(
        &mut self,
        cx: &mut Cx<'_, A::Timer>,
        app: &mut A,
        session: SessionId,
        data: Bytes,
    ) -> Option<(sio::Packet, Vec<Bytes>)> {
        let cap = self.config.max_attachment_bytes;
        let partial = self.clients.get_mut(&session)?.partial.as_mut()?;
        partial.received += 1;
        partial.bytes = partial.bytes.saturating_add(data.len());
        let newly_refused = !partial.refused && partial.bytes > cap;
        if newly_refused {
            log::debug!("refusing a binary packet: attachments larger than allowed");
            partial.refused = true;
            partial.attachments = Vec::new();
            let freed = partial.held.saturating_sub(partial.text.len());
            partial.held = partial.text.len();
            self.partial_bytes = self.partial_bytes.saturating_sub(freed);
        } else if !partial.refused {
            partial.held = partial.held.saturating_add(data.len());
            self.partial_bytes = self.partial_bytes.saturating_add(data.len());
            partial.attachments.push(data);
        }
        let (socket, ack) = (partial.socket, partial.ack);
        let done = partial.received >= partial.expected;
        let complete = if done {
            self.end_partial(cx, session)
        } else {
            None
        };
        if newly_refused {
            let mut io = cx.io(self);
            app.on_too_large(&mut io, socket, ack);
            return None;
        }
        let partial = complete.filter(|p| !p.refused)?;
        // The text was decoded once already; decoding it again cannot fail, but a failure
        // would still only close this session.
        match self.decode_text(&partial.text) {
            Ok(packet) => Some((packet, partial.attachments)),
            Err(err) => {
                log::debug!("closing session: bad socket.io packet: {err}");
                cx.engine.close(cx.timers, session, CloseReason::ParseError);
                None
            }
        }
    }

    /// The session's waiting binary packet has all its attachments: no more deadline, and
    /// what it held is no longer counted.
    fn end_partial<T: Copy>(&mut self, cx: &mut Cx<'_, T>, session: SessionId) -> Option<Partial> {
        let partial = self.clients.get_mut(&session)?.partial.take()?;
        cx.engine.clear_layer_deadline(cx.timers, session);
        self.partial_bytes = self.partial_bytes.saturating_sub(partial.held);
        Some(partial)
    }

    pub(super) fn decode_text(
        &self,
        data: &Bytes,
    ) -> Result<sio::Packet, crate::wire::DecodeError> {
        std::str::from_utf8(data)
            .map_err(|_| crate::wire::DecodeError::InvalidUtf8)
            .and_then(|text| sio::decode(text, self.config.packet_limits))
    }

    /// Parks a binary packet until its attachments come, within the attachment timeout. Only
    /// a connected socket may send one: anything else would be refused once complete, so it
    /// is refused now, before its attachments are held.
    pub(super) fn await_attachments<T: Copy>(
        &mut self,
        cx: &mut Cx<'_, T>,
        session: SessionId,
        packet: sio::Packet,
        text: Bytes,
    ) {
        let nsp = self.config.namespaces.iter().position(|n| *n == packet.nsp);
        let Some(socket) = nsp.and_then(|nsp| self.find_socket(session, nsp)) else {
            log::debug!("closing session: binary packet for a namespace it did not join");
            return cx.engine.close(cx.timers, session, CloseReason::ParseError);
        };
        let Some(client) = self.clients.get_mut(&session) else {
            return;
        };
        self.partial_bytes = self.partial_bytes.saturating_add(text.len());
        client.partial = Some(Partial {
            held: text.len(),
            text,
            socket,
            ack: packet.id,
            expected: packet.attachments,
            received: 0,
            refused: false,
            attachments: Vec::new(),
            bytes: 0,
        });
        cx.engine
            .set_layer_deadline(cx.timers, session, cx.now + self.config.attachment_timeout);
    }
}
