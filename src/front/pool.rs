//! Reuse of large payload buffers between the WebSocket reader and the send queues.

use bytes::Bytes;

/// Payload buffers of large frames, handed back once every receiver has written them, so a
/// steady stream of chunks allocates (and zero-fills, and faults in) nothing per chunk. With
/// glibc or musl a 256 KiB allocation is often an mmap/munmap or a heap trim, which costs as
/// much CPU as the relay itself.
#[derive(Default)]
pub struct BufferPool {
    free: Vec<Vec<u8>>,
}

impl BufferPool {
    /// Smaller payloads are cheap to allocate and are not kept.
    const MIN_SIZE: usize = 64 * 1024;
    /// Larger ones are rare and would pin too much memory.
    const MAX_SIZE: usize = 1024 * 1024;
    /// Buffers kept at most (about 2 MiB at the 256 KiB chunk size).
    const MAX_BUFFERS: usize = 8;

    /// A buffer for a payload of `want` bytes: a pooled one of exactly that size, already
    /// initialised (so no zeroing), or an empty one that grows as bytes arrive. Only exact
    /// sizes: a payload is counted at its length wherever it is queued or kept, so its buffer
    /// must not be larger (a steady stream of chunks has one size, and keeps hitting).
    pub fn take(&mut self, want: usize) -> Vec<u8> {
        if want >= Self::MIN_SIZE {
            if let Some(i) = self
                .free
                .iter()
                .position(|b| b.len() == want && b.capacity() == want)
            {
                return self.free.swap_remove(i);
            }
        }
        Vec::new()
    }

    /// Takes back a payload whose last reference is `bytes`; shared or small ones are dropped.
    pub fn give(&mut self, bytes: Bytes) {
        if !(Self::MIN_SIZE..=Self::MAX_SIZE).contains(&bytes.len())
            || self.free.len() >= Self::MAX_BUFFERS
        {
            return;
        }
        if let Ok(unique) = bytes.try_into_mut() {
            self.free.push(Vec::from(unique));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_large_payload_is_reused_without_zeroing() {
        let mut pool = BufferPool::default();
        let payload = Bytes::from(vec![7u8; 256 * 1024]);
        let address = payload.as_ptr();
        pool.give(payload);
        let again = pool.take(256 * 1024);
        assert_eq!(again.len(), 256 * 1024, "initialised to the wanted length");
        assert_eq!(again.as_ptr(), address, "the same allocation");
        assert!(pool.take(256 * 1024).is_empty(), "given out only once");
    }

    #[test]
    fn a_pooled_buffer_serves_only_its_own_size() {
        // A 1 MiB buffer holding a 64 KiB payload would pin 16 times what is counted for it.
        let mut pool = BufferPool::default();
        pool.give(Bytes::from(vec![7u8; 1024 * 1024]));
        assert!(pool.take(64 * 1024).is_empty());
        assert_eq!(pool.take(1024 * 1024).capacity(), 1024 * 1024);
    }

    #[test]
    fn shared_small_and_surplus_payloads_are_not_kept() {
        let mut pool = BufferPool::default();
        let shared = Bytes::from(vec![0u8; 128 * 1024]);
        let other = shared.clone();
        pool.give(shared);
        assert!(
            pool.take(64 * 1024).is_empty(),
            "still referenced elsewhere"
        );
        drop(other);
        pool.give(Bytes::from(vec![0u8; 1000]));
        assert!(pool.take(1000).is_empty(), "small payloads are not pooled");
        for _ in 0..20 {
            pool.give(Bytes::from(vec![0u8; 128 * 1024]));
        }
        assert_eq!(pool.free.len(), BufferPool::MAX_BUFFERS);
        assert!(pool.take(2 * 1024 * 1024).is_empty(), "nothing fits");
    }
}
