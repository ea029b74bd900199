//! The client side of RFC 6455 framing: masked frames out, server frames in, with large
//! payloads read straight into one reused buffer.

use std::io::{self, IoSlice, Read, Write};

/// Reads of small frames go through a buffer this big; large payloads bypass it.
const SMALL_READ: usize = 4 * 1024;
/// Largest server frame a client accepts.
const MAX_FRAME: usize = 4 << 20;

pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;

/// A tiny xorshift generator for masking keys; a client must vary them, not secure them.
pub struct Rng(u64);

impl Rng {
    pub fn new(salt: u64) -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Rng((nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }

    pub fn mask(&mut self) -> [u8; 4] {
        (self.next() as u32).to_le_bytes()
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0); the soak's random choices.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next().checked_rem(n).unwrap_or(0)
    }

    /// A number in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A client frame header (FIN set, masked) for `len` payload bytes.
pub fn client_header(opcode: u8, len: usize, mask: [u8; 4]) -> ([u8; 14], usize) {
    let mut h = [0u8; 14];
    h[0] = 0x80 | opcode;
    let at = match len {
        0..=125 => {
            h[1] = 0x80 | len as u8;
            2
        }
        126..=0xFFFF => {
            h[1] = 0x80 | 126;
            h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        }
        _ => {
            h[1] = 0x80 | 127;
            h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        }
    };
    h[at..at + 4].copy_from_slice(&mask);
    (h, at + 4)
}

/// Appends a complete masked frame to `out`.
pub fn push_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], rng: &mut Rng) {
    let mask = rng.mask();
    let (header, len) = client_header(opcode, payload.len(), mask);
    out.extend_from_slice(&header[..len]);
    out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
}

/// Parses a server frame header: `(opcode, header length, payload length)`, `None` if short.
pub fn parse_header(b: &[u8]) -> io::Result<Option<(u8, usize, usize)>> {
    let (Some(&b0), Some(&b1)) = (b.first(), b.get(1)) else {
        return Ok(None);
    };
    if b0 & 0x80 == 0 || b1 & 0x80 != 0 {
        // The server writes every message as one unmasked final frame.
        return Err(invalid("fragmented or masked server frame"));
    }
    let (hlen, len) = match b1 & 0x7F {
        126 => match b.get(2..4) {
            Some(l) => (4, u16::from_be_bytes([l[0], l[1]]) as usize),
            None => return Ok(None),
        },
        127 => match b.get(2..10) {
            Some(l) => {
                let mut n = [0u8; 8];
                n.copy_from_slice(l);
                (
                    10,
                    usize::try_from(u64::from_be_bytes(n)).unwrap_or(usize::MAX),
                )
            }
            None => return Ok(None),
        },
        n => (2, n as usize),
    };
    Ok(Some((b0 & 0x0F, hlen, len)))
}

pub fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

/// The error for a close frame from the server, with its status code (RFC 6455 §7.4).
pub fn closed(payload: &[u8]) -> io::Error {
    let code = match payload {
        [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]).to_string(),
        _ => "none".into(),
    };
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        format!("server closed the WebSocket, code {code}"),
    )
}

/// One read; `None` when it would block (or, on a blocking socket, timed out).
pub fn read_once(stream: &mut impl Read, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        return match stream.read(buf) {
            Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        };
    }
}

/// Where [`FrameReader::next`] left a frame's payload.
#[derive(Clone, Copy)]
pub enum At {
    Small(usize, usize),
    Large(usize),
}

#[derive(Clone, Copy)]
pub struct Frame {
    pub opcode: u8,
    pub at: At,
}

/// Reads server frames: small ones through a small buffer, a frame that does not fit straight
/// into one reused payload buffer with reads that never run past it. Works on blocking and
/// non-blocking streams alike.
pub struct FrameReader {
    pub buf: Vec<u8>,
    pub start: usize,
    pub end: usize,
    /// Grows to the largest frame seen, zero-filled once, then reused.
    pub payload: Vec<u8>,
    pub filled: usize,
    /// Opcode and length of the frame being read into `payload`.
    pub pending: Option<(u8, usize)>,
}

impl FrameReader {
    pub fn new(leftover: &[u8]) -> FrameReader {
        let mut buf = vec![0u8; SMALL_READ.max(leftover.len())];
        buf[..leftover.len()].copy_from_slice(leftover);
        FrameReader {
            buf,
            start: 0,
            end: leftover.len(),
            payload: Vec::new(),
            filled: 0,
            pending: None,
        }
    }

    /// The next complete frame; `None` when the stream has nothing more for now. The frame's
    /// bytes ([`FrameReader::bytes`]) stay valid until the next call.
    pub fn next(&mut self, stream: &mut impl Read) -> io::Result<Option<Frame>> {
        loop {
            if let Some((opcode, len)) = self.pending {
                if self.filled == len {
                    self.pending = None;
                    return Ok(Some(Frame {
                        opcode,
                        at: At::Large(len),
                    }));
                }
                match read_once(stream, &mut self.payload[self.filled..len])? {
                    Some(n) => self.filled += n,
                    None => return Ok(None),
                }
                continue;
            }
            if let Some((opcode, hlen, len)) = parse_header(&self.buf[self.start..self.end])? {
                let body = self.start + hlen;
                if self.end - body >= len {
                    self.start = body + len;
                    return Ok(Some(Frame {
                        opcode,
                        at: At::Small(body, body + len),
                    }));
                }
                if len > MAX_FRAME {
                    return Err(invalid("server frame above the bench's limit"));
                }
                if self.payload.len() < len {
                    self.payload.resize(len, 0);
                }
                let have = self.end - body;
                self.payload[..have].copy_from_slice(&self.buf[body..self.end]);
                self.filled = have;
                self.start = 0;
                self.end = 0;
                self.pending = Some((opcode, len));
                continue;
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            match read_once(stream, &mut self.buf[self.end..])? {
                Some(n) => self.end += n,
                None => return Ok(None),
            }
        }
    }

    pub fn bytes(&self, frame: Frame) -> &[u8] {
        match frame.at {
            At::Small(from, to) => &self.buf[from..to],
            At::Large(len) => &self.payload[..len],
        }
    }
}

pub fn write_all_vectored(
    stream: &mut impl Write,
    mut slices: &mut [IoSlice<'_>],
) -> io::Result<()> {
    while !slices.is_empty() {
        match stream.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
