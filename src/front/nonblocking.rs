//! The one place that turns non-blocking reads and writes into what the loop acts on.
//!
//! mio's rule ("Draining readiness", `mio::Poll`): after a readiness event, read or write
//! until the call would block, or no new event is guaranteed. Every socket of the loop goes
//! through these helpers, so `WouldBlock` and `Interrupted` are handled once: `Interrupted`
//! is retried, `WouldBlock` becomes a value, and any other error is returned for the caller
//! to close the connection.

use std::io::{self, Read, Write};

/// The call would block: wait for the next readiness event.
pub fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// A signal interrupted the call: make it again.
pub fn interrupted(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
}

/// What a read did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Got {
    /// This many bytes arrived (never zero).
    Data(usize),
    /// The peer closed its side.
    Eof,
    /// Nothing more for now; the next readiness event says when.
    WouldBlock,
}

/// One read into `buf`.
pub fn read(stream: &mut impl Read, buf: &mut [u8]) -> io::Result<Got> {
    loop {
        return match stream.read(buf) {
            Ok(0) => Ok(Got::Eof),
            Ok(n) => Ok(Got::Data(n)),
            Err(e) if interrupted(&e) => continue,
            Err(e) if would_block(&e) => Ok(Got::WouldBlock),
            Err(e) => Err(e),
        };
    }
}

/// Appends up to `limit` bytes to `out` without zero-filling its spare capacity first (the
/// standard library's `read_to_end` reads into uninitialised capacity safely). Reads until
/// `limit` bytes came, the peer closed, or it would block; returns the last of those, with
/// `Data` meaning the limit was reached.
pub fn read_into(stream: &mut impl Read, out: &mut Vec<u8>, limit: usize) -> io::Result<Got> {
    let before = out.len();
    out.reserve(limit);
    let result = stream.take(limit as u64).read_to_end(out);
    let got = out.len() - before;
    match result {
        Ok(_) if got == limit => Ok(Got::Data(got)),
        Ok(_) => Ok(Got::Eof),
        Err(e) if would_block(&e) => Ok(Got::WouldBlock),
        Err(e) => Err(e),
    }
}

/// One write of `buf`; `None` when it would block. A write of zero bytes is an error.
pub fn write(stream: &mut impl Write, buf: &[u8]) -> io::Result<Option<usize>> {
    loop {
        return match stream.write(buf) {
            Ok(0) if !buf.is_empty() => Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => Ok(Some(n)),
            Err(e) if interrupted(&e) => continue,
            Err(e) if would_block(&e) => Ok(None),
            Err(e) => Err(e),
        };
    }
}

/// One vectored write; `None` when it would block. A write of zero bytes is an error.
pub fn write_vectored(
    stream: &mut impl Write,
    slices: &[io::IoSlice<'_>],
) -> io::Result<Option<usize>> {
    loop {
        return match stream.write_vectored(slices) {
            Ok(0) => Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => Ok(Some(n)),
            Err(e) if interrupted(&e) => continue,
            Err(e) if would_block(&e) => Ok(None),
            Err(e) => Err(e),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives its chunks in order (at most what fits per call), then blocks.
    struct Script(Vec<io::Result<Vec<u8>>>);

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let mut next = self.0.remove(0)?;
            let n = next.len().min(buf.len());
            buf[..n].copy_from_slice(&next[..n]);
            if n < next.len() {
                self.0.insert(0, Ok(next.split_off(n)));
            }
            Ok(n)
        }
    }

    #[test]
    fn interrupted_is_retried_and_would_block_is_a_value() {
        let mut s = Script(vec![
            Err(io::ErrorKind::Interrupted.into()),
            Ok(b"ab".to_vec()),
        ]);
        let mut buf = [0u8; 8];
        assert_eq!(read(&mut s, &mut buf).unwrap(), Got::Data(2));
        assert_eq!(read(&mut s, &mut buf).unwrap(), Got::WouldBlock);
        let mut eof = Script(vec![Ok(Vec::new())]);
        assert_eq!(read(&mut eof, &mut buf).unwrap(), Got::Eof);
    }

    #[test]
    fn read_into_appends_until_the_limit_or_blocking() {
        let mut s = Script(vec![Ok(b"abc".to_vec()), Ok(b"def".to_vec())]);
        let mut out = b"x".to_vec();
        assert_eq!(read_into(&mut s, &mut out, 4).unwrap(), Got::Data(4));
        assert_eq!(out, b"xabcd");
        assert_eq!(read_into(&mut s, &mut out, 10).unwrap(), Got::WouldBlock);
        assert_eq!(out, b"xabcdef");
        let mut eof = Script(vec![Ok(b"z".to_vec()), Ok(Vec::new())]);
        assert_eq!(read_into(&mut eof, &mut out, 10).unwrap(), Got::Eof);
        assert_eq!(out, b"xabcdefz");
    }
}
