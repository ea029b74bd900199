//! Chunking (docs/protocol.md, "Items on the wire" and "Receiving"): an item's bytes travel
//! as `chunk` events of [`CHUNK_SIZE`] plaintext bytes each (the last may be shorter), and an
//! empty item still has one empty chunk.

/// Plaintext bytes per chunk; the last chunk of an item may be shorter.
pub const CHUNK_SIZE: u64 = 256 * 1024;

/// Chunks a sender may have on the wire without an ack (flow control).
pub const MAX_UNACKED_CHUNKS: usize = 8;

/// Largest item a receiver accepts: it refuses a larger `size` before allocating anything
/// for the item (its record of received chunks is one entry per chunk).
pub const MAX_ITEM_BYTES: u64 = 1 << 40;

/// Chunks of an item of `size` bytes: max(1, ⌈size / [`CHUNK_SIZE`]⌉).
pub fn chunk_count(size: u64) -> u64 {
    size.div_ceil(CHUNK_SIZE).max(1)
}

/// Plaintext length of chunk `index` of an item of `size` bytes (0 past the end).
pub fn chunk_len(index: u64, size: u64) -> u64 {
    let start = index.saturating_mul(CHUNK_SIZE);
    size.saturating_sub(start).min(CHUNK_SIZE)
}

/// The receiver's check of an item's envelope against its sealed metadata, before it
/// allocates anything: `size` is at most [`MAX_ITEM_BYTES`] and `total_chunks` is exactly
/// [`chunk_count`] of it.
pub fn accepts_item(size: u64, total_chunks: u64) -> bool {
    size <= MAX_ITEM_BYTES && total_chunks == chunk_count(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pins_the_shared_vector() {
        let vectors = crate::vectors::format_v2();
        let chunking = &vectors["chunking"];
        assert_eq!(chunking["chunkSize"], CHUNK_SIZE);
        assert_eq!(chunking["maxUnackedChunks"], MAX_UNACKED_CHUNKS);
        assert_eq!(chunking["maxItemBytes"], MAX_ITEM_BYTES);
        let items = chunking["items"].as_array().unwrap();
        assert!(items.len() >= 8);
        for item in items {
            let size = item["size"].as_u64().unwrap();
            let total = item["totalChunks"].as_u64().unwrap();
            assert_eq!(chunk_count(size), total, "size {size}");
            assert_eq!(
                chunk_len(total - 1, size),
                item["lastChunkBytes"].as_u64().unwrap(),
                "size {size}"
            );
            assert_eq!(
                accepts_item(size, total),
                item["accepted"] == true,
                "size {size}"
            );
        }
    }

    #[test]
    fn refuses_counts_that_disagree_and_sizes_beyond_the_cap() {
        assert!(accepts_item(0, 1));
        assert!(!accepts_item(0, 0), "an empty item still has one chunk");
        assert!(!accepts_item(CHUNK_SIZE + 1, 1));
        assert!(accepts_item(MAX_ITEM_BYTES, MAX_ITEM_BYTES / CHUNK_SIZE));
        let beyond = MAX_ITEM_BYTES + 1;
        assert!(!accepts_item(beyond, chunk_count(beyond)));
        assert!(!accepts_item(u64::MAX, chunk_count(u64::MAX)));
    }

    proptest! {
        #[test]
        fn chunks_cover_every_byte_once(size in 0u64..(20 * CHUNK_SIZE)) {
            let total = chunk_count(size);
            let lens: Vec<u64> = (0..total).map(|i| chunk_len(i, size)).collect();
            prop_assert_eq!(lens.iter().sum::<u64>(), size);
            prop_assert!(lens[..lens.len() - 1].iter().all(|&l| l == CHUNK_SIZE));
            prop_assert_eq!(chunk_len(total, size), 0);
        }

        #[test]
        fn never_overflows(size in any::<u64>(), index in any::<u64>()) {
            prop_assert!(chunk_len(index, size) <= CHUNK_SIZE);
            prop_assert!(chunk_count(size) >= 1);
        }
    }
}
