//! WebSocket (RFC 6455) server side over a non-blocking stream, built on tungstenite's frame
//! codec (`FrameHeader`, opcodes, `derive_accept_key`).
//!
//! tungstenite's `WebSocket` type is not used for the data path on purpose: it zero-fills its
//! read buffer and copies every outgoing frame into a per-connection write buffer, which costs
//! about a fifth of relay throughput. Here an incoming payload is read straight into its own
//! buffer and unmasked once (the only user-space pass); an outgoing frame is its small header
//! plus the shared payload (see [`super::out`]).

use std::io::{self, Cursor, Read};

use bytes::Bytes;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

use super::nonblocking::{self, Got};
use super::pool::BufferPool;

/// Bytes read at a time while looking for frame headers and small frames.
const READ_CHUNK: usize = 16 * 1024;
/// Most bytes one read puts straight into a large payload.
const DIRECT_READ_MAX: usize = 256 * 1024;
/// A data frame that takes its message to this size or more is a large input: it is begun
/// only once the server admitted it against the process's memory budget.
pub const LARGE_INPUT: usize = 64 * 1024;

/// A complete message or control frame from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum WsEvent {
    Text(Bytes),
    Binary(Bytes),
    Ping(Bytes),
    /// A close frame (the peer's code, if it gave one).
    Close(Option<u16>),
}

/// Why reading stopped for good.
#[derive(Debug)]
pub enum WsError {
    /// The peer closed the TCP stream without a close frame.
    Eof,
    /// A frame broke RFC 6455 (close code 1002, or 1007 for bad UTF-8).
    Protocol(&'static str, u16),
    /// A message above the configured maximum (close code 1009); `coming` is what its frame
    /// announced and has not sent yet, which the client may still be sending.
    TooLarge {
        coming: u64,
    },
    Io(io::Error),
}

struct InFrame {
    opcode: OpCode,
    is_final: bool,
    mask: [u8; 4],
    /// Payload length announced by the header.
    want: usize,
    /// The payload buffer. It grows (zero-filled, each byte once) only as bytes arrive, so a
    /// client that announces a large frame and goes quiet costs no memory, and one that
    /// trickles a byte at a time costs no repeated zeroing.
    payload: Vec<u8>,
    /// Bytes of `payload` received so far.
    filled: usize,
}

impl InFrame {
    fn missing(&self) -> usize {
        self.want - self.filled
    }

    /// The unfilled part of the buffer, grown by up to `step` bytes when it is used up.
    /// A large frame (admitted against the memory budget for its whole length) reserves
    /// exactly that length at once: grown by doubling, its buffer would take up to twice what
    /// is counted for it wherever it is queued or kept. Pages are touched only as they fill.
    fn spare(&mut self, step: usize) -> &mut [u8] {
        if self.payload.len() == self.filled {
            if self.want >= LARGE_INPUT {
                self.payload
                    .reserve_exact(self.want.saturating_sub(self.payload.len()));
            }
            let grow = self.missing().min(step);
            self.payload.resize(self.filled + grow, 0);
        }
        self.payload.get_mut(self.filled..).unwrap_or_default()
    }
}

/// Incremental reader of client frames.
pub struct WsReader {
    /// Bytes read but not yet decoded, from `start` on. Usually empty between reads, and then
    /// given back, so an idle client holds no read buffer (the loop's shared scratch buffer
    /// does the reading).
    pending: Vec<u8>,
    start: usize,
    frame: Option<InFrame>,
    /// A fragmented data message being assembled: its opcode and bytes so far.
    message: Option<(Data, Vec<u8>)>,
    max_message: usize,
    /// The large frame whose header is next in `pending` was admitted (see [`ReadStatus::Admit`]).
    admitted: bool,
}

/// Outcome of one [`WsReader::read`] call that did not fail.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadStatus {
    /// The stream has no more bytes for now.
    WouldBlock,
    /// The byte budget ran out with data possibly left; call again later.
    Budget,
    /// This call added complete messages to `out`: let the application see them (it may
    /// pause this sender) before reading more.
    Decoded,
    /// A large frame (its payload length given) waits to be admitted: call
    /// [`WsReader::admit`] and read again, or refuse it.
    Admit(usize),
}

/// The loop's scratch buffer for reads, shared by every connection (the loop is one thread).
pub fn scratch() -> Vec<u8> {
    vec![0u8; READ_CHUNK]
}

impl WsReader {
    /// `leftover` is what was read past the HTTP upgrade request.
    pub fn new(max_message: usize, leftover: &[u8]) -> WsReader {
        WsReader {
            pending: leftover.to_vec(),
            start: 0,
            frame: None,
            message: None,
            max_message,
            admitted: false,
        }
    }

    /// Lets the large frame reported by [`ReadStatus::Admit`] be read.
    pub fn admit(&mut self) {
        self.admitted = true;
    }

    /// Bytes this reader holds: unparsed input, the frame and the message being read.
    pub fn buffered(&self) -> usize {
        (self.pending.len() - self.start)
            + self.frame.as_ref().map_or(0, |f| f.payload.len())
            + self.message.as_ref().map_or(0, |(_, bytes)| bytes.len())
    }

    /// Reads and decodes until complete messages are in `out`, the stream would block, or
    /// `budget` (decremented as bytes are read) runs out. Large payloads are read straight into their own buffer
    /// (taken from `pool` when one fits); everything else goes through `scratch`.
    pub fn read(
        &mut self,
        stream: &mut impl Read,
        scratch: &mut [u8],
        pool: &mut BufferPool,
        budget: &mut usize,
        out: &mut Vec<WsEvent>,
    ) -> Result<ReadStatus, WsError> {
        let before = out.len();
        loop {
            let waiting = self.decode_buffered(pool, out)?;
            if out.len() > before {
                return Ok(ReadStatus::Decoded);
            }
            if let Some(len) = waiting {
                return Ok(ReadStatus::Admit(len));
            }
            if *budget == 0 {
                return Ok(ReadStatus::Budget);
            }
            let buffered = self.pending.len() > self.start;
            let n = match self.frame.as_mut() {
                // A large payload: read straight into it, no intermediate copy.
                Some(frame) if !buffered && frame.missing() >= READ_CHUNK => {
                    match read_some(stream, frame.spare(DIRECT_READ_MAX))? {
                        Some(n) => {
                            frame.filled += n;
                            n
                        }
                        None => return Ok(ReadStatus::WouldBlock),
                    }
                }
                _ => match read_some(stream, scratch)? {
                    Some(n) => {
                        self.pending.drain(..self.start);
                        self.start = 0;
                        self.pending
                            .extend_from_slice(scratch.get(..n).unwrap_or_default());
                        n
                    }
                    None => return Ok(ReadStatus::WouldBlock),
                },
            };
            *budget = budget.saturating_sub(n);
        }
    }

    /// Drops the consumed prefix; gives the buffer back once everything is consumed.
    fn release_consumed(&mut self) {
        if self.start >= self.pending.len() {
            self.start = 0;
            if self.pending.capacity() > 1024 {
                self.pending = Vec::new();
            } else {
                self.pending.clear();
            }
        }
    }

    /// Decodes whatever complete frames the buffer holds; stops at a large frame that waits to
    /// be admitted, returning its length.
    fn decode_buffered(
        &mut self,
        pool: &mut BufferPool,
        out: &mut Vec<WsEvent>,
    ) -> Result<Option<usize>, WsError> {
        let result = self.decode_frames(pool, out);
        self.release_consumed();
        result
    }

    fn decode_frames(
        &mut self,
        pool: &mut BufferPool,
        out: &mut Vec<WsEvent>,
    ) -> Result<Option<usize>, WsError> {
        loop {
            if let Some(frame) = self.frame.as_mut() {
                let available = frame.missing().min(self.pending.len() - self.start);
                if available > 0 {
                    let spare = frame.spare(available);
                    let n = spare.len().min(available);
                    if let (Some(dst), Some(src)) = (
                        spare.get_mut(..n),
                        self.pending.get(self.start..self.start + n),
                    ) {
                        dst.copy_from_slice(src);
                    }
                    frame.filled += n;
                    self.start += n;
                    continue;
                }
                if frame.missing() > 0 {
                    return Ok(None);
                }
                if let Some(frame) = self.frame.take() {
                    self.finish_frame(frame, out)?;
                }
                continue;
            }
            let mut cursor = Cursor::new(self.pending.get(self.start..).unwrap_or_default());
            let parsed = FrameHeader::parse(&mut cursor)
                .map_err(|_| WsError::Protocol("bad frame header", 1002))?;
            let Some((header, len)) = parsed else {
                return Ok(None);
            };
            if !std::mem::take(&mut self.admitted) && self.needs_admission(&header, len) {
                // The header stays buffered and is parsed again once admitted.
                return Ok(usize::try_from(len).ok());
            }
            self.start += usize::try_from(cursor.position()).unwrap_or(usize::MAX);
            self.begin_frame(header, len, pool)?;
        }
    }

    /// Whether this frame takes its message to [`LARGE_INPUT`] or more (and stays within
    /// the maximum, which `begin_frame` refuses on its own).
    fn needs_admission(&self, header: &FrameHeader, len: u64) -> bool {
        let so_far = self.message.as_ref().map_or(0, |(_, bytes)| bytes.len()) as u64;
        let total = so_far.saturating_add(len);
        matches!(header.opcode, OpCode::Data(_))
            && total >= LARGE_INPUT as u64
            && total <= self.max_message as u64
    }

    fn begin_frame(
        &mut self,
        header: FrameHeader,
        len: u64,
        pool: &mut BufferPool,
    ) -> Result<(), WsError> {
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Err(WsError::Protocol("reserved bits set", 1002));
        }
        let Some(mask) = header.mask else {
            return Err(WsError::Protocol("client frame not masked", 1002));
        };
        let buffered = (self.pending.len() - self.start) as u64;
        let too_large = WsError::TooLarge {
            coming: len.saturating_sub(buffered),
        };
        let Ok(len) = usize::try_from(len) else {
            return Err(too_large);
        };
        match header.opcode {
            OpCode::Control(_) if !header.is_final || len > 125 => {
                return Err(WsError::Protocol("bad control frame", 1002))
            }
            OpCode::Control(Control::Reserved(_)) | OpCode::Data(Data::Reserved(_)) => {
                return Err(WsError::Protocol("reserved opcode", 1002))
            }
            OpCode::Data(Data::Continue) if self.message.is_none() => {
                return Err(WsError::Protocol("continuation without a message", 1002))
            }
            OpCode::Data(Data::Text | Data::Binary) if self.message.is_some() => {
                return Err(WsError::Protocol(
                    "new message inside a fragmented one",
                    1002,
                ))
            }
            _ => {}
        }
        let so_far = self.message.as_ref().map_or(0, |(_, bytes)| bytes.len());
        if matches!(header.opcode, OpCode::Data(_)) && so_far.saturating_add(len) > self.max_message
        {
            return Err(too_large);
        }
        self.frame = Some(InFrame {
            opcode: header.opcode,
            is_final: header.is_final,
            mask,
            want: len,
            payload: pool.take(len),
            filled: 0,
        });
        Ok(())
    }

    fn finish_frame(&mut self, mut frame: InFrame, out: &mut Vec<WsEvent>) -> Result<(), WsError> {
        frame.payload.truncate(frame.filled);
        unmask(&mut frame.payload, frame.mask);
        let message = match frame.opcode {
            OpCode::Control(Control::Ping) => {
                out.push(WsEvent::Ping(Bytes::from(frame.payload)));
                return Ok(());
            }
            OpCode::Control(Control::Pong) => return Ok(()),
            OpCode::Control(_) => {
                let code = frame.payload.get(..2).map(|b| {
                    u16::from_be_bytes([
                        b.first().copied().unwrap_or(0),
                        b.get(1).copied().unwrap_or(0),
                    ])
                });
                out.push(WsEvent::Close(code));
                return Ok(());
            }
            OpCode::Data(Data::Continue) => match self.message.as_mut() {
                Some((_, bytes)) => {
                    bytes.extend_from_slice(&frame.payload);
                    if !frame.is_final {
                        return Ok(());
                    }
                    self.message.take()
                }
                None => return Err(WsError::Protocol("continuation without a message", 1002)),
            },
            OpCode::Data(data) => {
                if !frame.is_final {
                    self.message = Some((data, frame.payload));
                    return Ok(());
                }
                Some((data, frame.payload))
            }
        };
        // What leaves the reader is kept as it is (queued, relayed, kept by an inbox) and
        // counted at its length: a buffer grown by doubling gives back what it does not use.
        let message = message.map(|(data, mut bytes)| {
            if bytes.capacity() > bytes.len() {
                bytes.shrink_to_fit();
            }
            (data, bytes)
        });
        match message {
            Some((Data::Text, bytes)) => {
                if std::str::from_utf8(&bytes).is_err() {
                    return Err(WsError::Protocol("text message is not UTF-8", 1007));
                }
                out.push(WsEvent::Text(Bytes::from(bytes)));
            }
            Some((_, bytes)) => out.push(WsEvent::Binary(Bytes::from(bytes))),
            None => {}
        }
        Ok(())
    }
}

/// One read; `None` when it would block. EOF is an error: the caller closes.
fn read_some(stream: &mut impl Read, buf: &mut [u8]) -> Result<Option<usize>, WsError> {
    match nonblocking::read(stream, buf) {
        Ok(Got::Data(n)) => Ok(Some(n)),
        Ok(Got::WouldBlock) => Ok(None),
        Ok(Got::Eof) => Err(WsError::Eof),
        Err(e) => Err(WsError::Io(e)),
    }
}

/// XORs the client's mask into the payload, eight bytes at a time.
pub fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = payload.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    // The remainder starts at a multiple of 8, so the mask phase is 0 again.
    for (byte, key) in chunks.into_remainder().iter_mut().zip(mask.iter().cycle()) {
        *byte ^= key;
    }
}

/// The header of a server frame (unmasked, final) carrying `len` payload bytes.
pub fn frame_header(opcode: OpCode, len: usize) -> ([u8; 10], usize) {
    let header = FrameHeader {
        is_final: true,
        opcode,
        mask: None,
        ..FrameHeader::default()
    };
    let mut out = [0u8; 10];
    let mut cursor = Cursor::new(&mut out[..]);
    let len64 = len as u64;
    // Ten bytes always hold an unmasked header; a failure could only mean a bug here.
    let written = match header.format(len64, &mut cursor) {
        Ok(()) => usize::try_from(cursor.position()).unwrap_or(0),
        Err(_) => 0,
    };
    (out, written)
}

pub const TEXT: OpCode = OpCode::Data(Data::Text);
pub const BINARY: OpCode = OpCode::Data(Data::Binary);
pub const PONG: OpCode = OpCode::Control(Control::Pong);
pub const CLOSE: OpCode = OpCode::Control(Control::Close);

/// The `101 Switching Protocols` answer to a handshake with this `Sec-WebSocket-Key`.
pub fn accept_response(key: &[u8]) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        tungstenite::handshake::derive_accept_key(key)
    )
    .into_bytes()
}

#[cfg(test)]
mod tests;
