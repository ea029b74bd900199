//! A connection's send queue: shared byte buffers written with vectored writes.
//!
//! A relayed message is queued to many connections as the same reference-counted bytes. Each
//! entry carries its own small prefix (a WebSocket frame header) inline, so a frame goes out
//! as `header + shared payload` in one `writev`, never copied into a per-connection buffer.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use bytes::Bytes;

use super::nonblocking;
use super::pool::BufferPool;

/// Largest prefix: a WebSocket server frame header (2 + 8 length bytes).
const PREFIX_MAX: usize = 10;
/// How many slices one `writev` gathers.
const SLICES_PER_WRITE: usize = 64;

struct Entry {
    prefix: [u8; PREFIX_MAX],
    prefix_len: usize,
    body: Bytes,
    /// Bytes of prefix + body already written.
    written: usize,
    /// How many bytes of the engine's queue accounting this entry stands for.
    accounted: usize,
    /// A WebSocket pong (see [`OutQueue::push_pong`]).
    pong: bool,
    /// Queued ahead of what waited (see [`OutQueue::push_ahead`]).
    ahead: bool,
}

impl Entry {
    fn total(&self) -> usize {
        self.prefix_len + self.body.len()
    }
}

/// What one call to [`OutQueue::write_to`] achieved.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Sum of `accounted` of the entries that left completely.
    pub accounted: usize,
    /// Whether the queue is now empty.
    pub empty: bool,
    /// Bytes the stream took.
    pub bytes: usize,
}

#[derive(Default)]
pub struct OutQueue {
    entries: VecDeque<Entry>,
    bytes: usize,
    /// Whether a pong is queued and not completely written.
    pong_pending: bool,
}

impl OutQueue {
    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Queues `prefix` followed by `body`. `accounted` is reported back once written.
    pub fn push(&mut self, prefix: &[u8], body: Bytes, accounted: usize) {
        self.push_entry(prefix, body, accounted, false);
    }

    /// Queues `prefix` followed by `body` ahead of every entry not yet begun, behind any
    /// queued ahead before it. For the Engine.IO ping: the client's timer runs from ping to
    /// ping, and on a slow link a ping behind megabytes of chunks reaches it after that timer
    /// ran out, on a connection that is alive (issue 26). Whole messages keep their order.
    pub fn push_ahead(&mut self, prefix: &[u8], body: Bytes, accounted: usize) {
        self.push_entry(prefix, body, accounted, false);
        if let Some(mut entry) = self.entries.pop_back() {
            entry.ahead = true;
            let at = self
                .entries
                .iter()
                .take_while(|e| e.written > 0 || e.ahead)
                .count();
            self.entries.insert(at, entry);
        }
    }

    /// Queues a pong unless one is still waiting to go out; returns whether it was queued.
    /// RFC 6455 (5.5.3) lets an endpoint leave pings unanswered while an earlier pong is
    /// pending, so a client that sends pings and never reads holds one pong, not a pile.
    pub fn push_pong(&mut self, prefix: &[u8], body: Bytes) -> bool {
        if self.pong_pending {
            return false;
        }
        self.pong_pending = true;
        self.push_entry(prefix, body, 0, true);
        true
    }

    fn push_entry(&mut self, prefix: &[u8], body: Bytes, accounted: usize, pong: bool) {
        let mut inline = [0u8; PREFIX_MAX];
        let prefix_len = prefix.len().min(PREFIX_MAX);
        if let (Some(dst), Some(src)) = (inline.get_mut(..prefix_len), prefix.get(..prefix_len)) {
            dst.copy_from_slice(src);
        }
        debug_assert_eq!(prefix_len, prefix.len(), "prefix longer than {PREFIX_MAX}");
        let entry = Entry {
            prefix: inline,
            prefix_len,
            body,
            written: 0,
            accounted,
            pong,
            ahead: false,
        };
        self.bytes += entry.total();
        self.entries.push_back(entry);
    }

    /// Writes until the queue is empty or the stream would block. `Ok` with progress either
    /// way; an error other than `WouldBlock`/`Interrupted` is returned for the caller to close.
    pub fn write_to(
        &mut self,
        stream: &mut impl Write,
        pool: &mut BufferPool,
    ) -> io::Result<Written> {
        let mut result = Written::default();
        self.advance(0, &mut result.accounted, pool);
        while !self.entries.is_empty() {
            let n = {
                let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(SLICES_PER_WRITE);
                for entry in self.entries.iter() {
                    if slices.len() + 2 > SLICES_PER_WRITE {
                        break;
                    }
                    let prefix = entry.prefix.get(..entry.prefix_len).unwrap_or_default();
                    if entry.written < prefix.len() {
                        slices.push(IoSlice::new(
                            prefix.get(entry.written..).unwrap_or_default(),
                        ));
                        if !entry.body.is_empty() {
                            slices.push(IoSlice::new(&entry.body));
                        }
                    } else {
                        let offset = entry.written - prefix.len();
                        slices.push(IoSlice::new(entry.body.get(offset..).unwrap_or_default()));
                    }
                }
                match nonblocking::write_vectored(stream, &slices)? {
                    Some(n) => n,
                    None => break,
                }
            };
            result.bytes += n;
            self.advance(n, &mut result.accounted, pool);
        }
        result.empty = self.entries.is_empty();
        Ok(result)
    }

    /// Moves past `n` written bytes; finished payloads go back to `pool`.
    fn advance(&mut self, mut n: usize, accounted: &mut usize, pool: &mut BufferPool) {
        self.bytes = self.bytes.saturating_sub(n);
        while n > 0 {
            let Some(entry) = self.entries.front_mut() else {
                return;
            };
            let left = entry.total() - entry.written;
            if n < left {
                entry.written += n;
                return;
            }
            n -= left;
            *accounted += entry.accounted;
            if let Some(done) = self.entries.pop_front() {
                self.pong_pending &= !done.pong;
                pool.give(done.body);
            }
        }
        // Zero-length entries (an empty body with no prefix) complete without bytes.
        while self.entries.front().is_some_and(|e| e.total() == 0) {
            if let Some(entry) = self.entries.pop_front() {
                self.pong_pending &= !entry.pong;
                *accounted += entry.accounted;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that accepts at most `limit` bytes per call and then blocks after `budget`.
    struct Trickle {
        out: Vec<u8>,
        limit: usize,
        budget: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.budget == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.limit).min(self.budget);
            self.out.extend_from_slice(&buf[..n]);
            self.budget -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn partial_writes_resume_where_they_stopped() {
        let mut queue = OutQueue::default();
        let shared = Bytes::from(vec![7u8; 100]);
        queue.push(&[0x82, 100], shared.clone(), 100);
        queue.push(b"", Bytes::from_static(b"hello"), 5);
        queue.push(&[0x81, 3], Bytes::from_static(b"abc"), 3);
        assert_eq!(queue.len(), 102 + 5 + 5);
        let mut sink = Trickle {
            out: Vec::new(),
            limit: 7,
            budget: 50,
        };
        let first = queue
            .write_to(&mut sink, &mut BufferPool::default())
            .unwrap();
        assert_eq!(
            first,
            Written {
                accounted: 0,
                empty: false,
                bytes: 50
            }
        );
        sink.budget = usize::MAX;
        let second = queue
            .write_to(&mut sink, &mut BufferPool::default())
            .unwrap();
        assert_eq!(
            second,
            Written {
                accounted: 108,
                empty: true,
                bytes: 62
            }
        );
        let mut expected = vec![0x82, 100];
        expected.extend_from_slice(&shared);
        expected.extend_from_slice(b"hello");
        expected.extend_from_slice(&[0x81, 3]);
        expected.extend_from_slice(b"abc");
        assert_eq!(sink.out, expected);
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn an_entry_pushed_ahead_leaves_after_the_one_begun_and_before_those_waiting() {
        let mut q = OutQueue::default();
        let mut pool = BufferPool::default();
        q.push(b"", Bytes::from_static(b"aaaa"), 4);
        q.push(b"", Bytes::from_static(b"bbbb"), 4);
        let mut w = Trickle {
            out: Vec::new(),
            limit: 2,
            budget: 2,
        };
        q.write_to(&mut w, &mut pool).expect("write");
        q.push_ahead(b"", Bytes::from_static(b"1"), 1);
        q.push(b"", Bytes::from_static(b"cccc"), 4);
        q.push_ahead(b"", Bytes::from_static(b"2"), 1);
        w.budget = usize::MAX;
        let written = q.write_to(&mut w, &mut pool).expect("write");
        assert_eq!(w.out, b"aaaa12bbbbcccc");
        assert_eq!(written.accounted, 14);
        assert!(written.empty);
    }

    #[test]
    fn empty_entries_complete() {
        let mut queue = OutQueue::default();
        queue.push(b"", Bytes::new(), 0);
        queue.push(&[0x88, 0], Bytes::new(), 1);
        let mut sink = Trickle {
            out: Vec::new(),
            limit: 100,
            budget: 100,
        };
        assert_eq!(
            queue
                .write_to(&mut sink, &mut BufferPool::default())
                .unwrap(),
            Written {
                accounted: 1,
                empty: true,
                bytes: 2
            }
        );
        assert_eq!(sink.out, vec![0x88, 0]);
    }

    #[test]
    fn at_most_one_pong_waits_and_the_next_is_queued_once_it_left() {
        let mut queue = OutQueue::default();
        assert!(queue.push_pong(&[0x8a, 1], Bytes::from_static(b"a")));
        for _ in 0..1000 {
            assert!(!queue.push_pong(&[0x8a, 1], Bytes::from_static(b"b")));
        }
        assert_eq!(queue.len(), 3);
        let mut sink = Trickle {
            out: Vec::new(),
            limit: 100,
            budget: 2,
        };
        queue
            .write_to(&mut sink, &mut BufferPool::default())
            .unwrap();
        assert!(
            !queue.push_pong(&[0x8a, 1], Bytes::from_static(b"c")),
            "half written"
        );
        sink.budget = 100;
        queue
            .write_to(&mut sink, &mut BufferPool::default())
            .unwrap();
        assert!(queue.push_pong(&[0x8a, 1], Bytes::from_static(b"d")));
        assert_eq!(sink.out, vec![0x8a, 1, b'a']);
    }
}
