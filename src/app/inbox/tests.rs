//! The inbox store on virtual time: expiry in arrival order, both caps and the metadata cap,
//! deletion, clear and closing, with the byte counts going back to zero.

use bytes::Bytes;

use super::reads::Answer;
use super::*;

const TTL: Duration = Duration::from_secs(3600);

fn limits(session_bytes: usize, total_bytes: usize) -> InboxLimits {
    InboxLimits {
        ttl: TTL,
        session_bytes,
        total_bytes,
        meta_bytes: 1024,
    }
}

fn room(n: u64) -> Handle {
    Handle::from_bits(n)
}

fn listing(meta: usize) -> Kept {
    Kept {
        json: Bytes::from_static(b"{}"),
        data: Some(Bytes::from(vec![1u8; meta])),
    }
}

fn packet(packet: &Outgoing) -> OfferedChunk<'_> {
    OfferedChunk::Packet(packet)
}

fn chunk(bytes: usize) -> Outgoing {
    Outgoing::event(
        "/",
        "chunk",
        Vec::new(),
        vec![Bytes::from(vec![7u8; bytes])],
    )
}

/// What an item of id `id` with 4 bytes of metadata is charged.
fn item_cost(id: &str) -> usize {
    ITEM_OVERHEAD + 2 * id.len() + listing(4).len()
}

fn chunk_cost(bytes: usize) -> usize {
    CHUNK_OVERHEAD + chunk(bytes).len()
}

fn keep(inboxes: &mut Inboxes, r: Handle, id: &str, at: Instant) -> Result<usize, Refusal> {
    inboxes.keep_item(
        r,
        NewItem {
            content_id: id,
            sender: "",
            total_chunks: 4,
        },
        listing(4),
        at,
        0,
    )
}

fn chunk_count(inboxes: &Inboxes, r: Handle, id: &str) -> Option<usize> {
    inboxes.chunk_indices(r, id, 0, usize::MAX).map(|i| i.len())
}

#[test]
fn only_an_opened_inbox_keeps_anything_and_a_zero_total_turns_inboxes_off() {
    let t0 = Instant::now();
    let mut inboxes = Inboxes::new(limits(1 << 20, 1 << 20));
    keep(&mut inboxes, room(1), "a", t0).unwrap();
    assert_eq!(
        inboxes.item_count(),
        0,
        "a session without an inbox keeps nothing"
    );
    inboxes.open(room(1), None);
    assert_eq!(keep(&mut inboxes, room(1), "a", t0), Ok(item_cost("a")));
    assert_eq!(inboxes.item_count(), 1);
    assert_eq!(inboxes.used_bytes(), item_cost("a"));

    let mut off = Inboxes::new(limits(1 << 20, 0));
    off.open(room(1), None);
    assert!(!off.is_open(room(1)));
}

#[test]
fn items_expire_after_the_ttl_oldest_first() {
    let t0 = Instant::now();
    let mut inboxes = Inboxes::new(limits(1 << 20, 1 << 20));
    inboxes.open(room(1), None);
    keep(&mut inboxes, room(1), "first", t0).unwrap();
    keep(
        &mut inboxes,
        room(1),
        "second",
        t0 + Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(inboxes.next_expiry(room(1)), Some(t0 + TTL));
    assert!(inboxes
        .expire(room(1), t0 + TTL - Duration::from_millis(1))
        .is_empty());
    assert_eq!(inboxes.expire(room(1), t0 + TTL), vec!["first".to_string()]);
    assert_eq!(
        inboxes.next_expiry(room(1)),
        Some(t0 + Duration::from_secs(10) + TTL)
    );
    let listed: Vec<Instant> = inboxes
        .positions(room(1), 0, 10)
        .into_iter()
        .filter_map(|p| inboxes.listed(room(1), p, "s", t0).map(|l| l.expires))
        .collect();
    assert_eq!(listed, vec![t0 + Duration::from_secs(10) + TTL]);
    assert_eq!(
        inboxes.expire(room(1), t0 + TTL * 2),
        vec!["second".to_string()]
    );
    assert_eq!((inboxes.used_bytes(), inboxes.item_count()), (0, 0));
    assert!(!inboxes.holds_items(room(1)));
}

#[test]
fn a_listing_goes_on_from_the_position_it_stopped_at() {
    let t0 = Instant::now();
    let mut inboxes = Inboxes::new(limits(1 << 20, 1 << 20));
    inboxes.open(room(1), None);
    inboxes.open(room(2), None);
    for id in ["a", "b", "c"] {
        keep(&mut inboxes, room(1), id, t0).unwrap();
        keep(&mut inboxes, room(2), id, t0).unwrap();
    }
    let ids = |inboxes: &mut Inboxes, from: u64| -> Vec<String> {
        inboxes
            .positions(room(1), from, 10)
            .into_iter()
            .filter_map(|p| inboxes.listed(room(1), p, "s", t0).map(|l| l.content_id))
            .collect()
    };
    let first = inboxes.positions(room(1), 0, 10);
    assert_eq!(ids(&mut inboxes, 0), ["a", "b", "c"]);
    assert_eq!(
        ids(&mut inboxes, first[1]),
        ["b", "c"],
        "positions are per process, in order"
    );
    assert!(inboxes.remove(room(1), "b"));
    assert_eq!(
        ids(&mut inboxes, first[1]),
        ["c"],
        "a removed item leaves no hole in the walk"
    );
}

#[test]
fn metadata_larger_than_the_cap_is_refused_and_nothing_is_charged() {
    let t0 = Instant::now();
    let mut inboxes = Inboxes::new(limits(1 << 20, 1 << 20));
    inboxes.open(room(1), None);
    let at_cap = 1024 - (listing(0).len());
    assert!(inboxes
        .keep_item(
            room(1),
            NewItem {
                content_id: "fits",
                sender: "",
                total_chunks: 1
            },
            listing(at_cap),
            t0,
            0
        )
        .is_ok());
    let used = inboxes.used_bytes();
    assert_eq!(
        inboxes.keep_item(
            room(1),
            NewItem {
                content_id: "big",
                sender: "",
                total_chunks: 1
            },
            listing(at_cap + 1),
            t0,
            0
        ),
        Err(Refusal::TooLarge)
    );
    assert_eq!(inboxes.used_bytes(), used);
    assert_eq!(inboxes.item_count(), 1);
}

#[test]
fn the_session_cap_refuses_what_does_not_fit_and_drops_nothing_else() {
    let t0 = Instant::now();
    let cap = item_cost("small") + chunk_cost(1000) + item_cost("big") + chunk_cost(1000) + 100;
    let mut inboxes = Inboxes::new(limits(cap, 1 << 20));
    inboxes.open(room(1), None);
    keep(&mut inboxes, room(1), "small", t0).unwrap();
    assert_eq!(
        inboxes.keep_chunk(room(1), "small", 0, packet(&chunk(1000))),
        ChunkKept::Kept
    );
    keep(&mut inboxes, room(1), "big", t0).unwrap();
    assert_eq!(
        inboxes.keep_chunk(room(1), "big", 0, packet(&chunk(1000))),
        ChunkKept::Kept
    );
    assert_eq!(
        inboxes.keep_chunk(room(1), "big", 1, packet(&chunk(1000))),
        ChunkKept::Refused(Refusal::SessionFull)
    );
    // The item that did not fit went whole; the one before it is untouched.
    assert_eq!(
        inboxes.keep_chunk(room(1), "big", 2, packet(&chunk(10))),
        ChunkKept::Ignored
    );
    assert_eq!(chunk_count(&inboxes, room(1), "big"), None);
    assert_eq!(chunk_count(&inboxes, room(1), "small"), Some(1));
    assert_eq!(inboxes.item_count(), 1);
    assert_eq!(inboxes.used_bytes(), item_cost("small") + chunk_cost(1000));
    // Another session has its own cap.
    inboxes.open(room(2), None);
    keep(&mut inboxes, room(2), "other", t0).unwrap();
    assert_eq!(inboxes.item_count(), 2);
}

#[test]
fn the_process_cap_counts_every_session_together() {
    let t0 = Instant::now();
    let total = item_cost("a") + chunk_cost(1200) + item_cost("b") + 100;
    let mut inboxes = Inboxes::new(limits(1 << 20, total));
    inboxes.open(room(1), None);
    inboxes.open(room(2), None);
    keep(&mut inboxes, room(1), "a", t0).unwrap();
    assert_eq!(
        inboxes.keep_chunk(room(1), "a", 0, packet(&chunk(1200))),
        ChunkKept::Kept
    );
    keep(&mut inboxes, room(2), "b", t0).unwrap();
    assert_eq!(
        inboxes.keep_chunk(room(2), "b", 0, packet(&chunk(1200))),
        ChunkKept::Refused(Refusal::ServerFull)
    );
    assert_eq!(
        keep(&mut inboxes, room(2), &"c".repeat(2000), t0),
        Err(Refusal::ServerFull)
    );
    assert_eq!(inboxes.item_count(), 1);
    // Space freed anywhere is space for everyone.
    assert!(inboxes.remove(room(1), "a"));
    keep(&mut inboxes, room(2), "b", t0).unwrap();
    assert_eq!(
        inboxes.keep_chunk(room(2), "b", 0, packet(&chunk(1200))),
        ChunkKept::Kept
    );
}

#[test]
fn chunks_are_kept_once_in_order_within_their_item() {
    let t0 = Instant::now();
    let mut inboxes = Inboxes::new(limits(1 << 20, 1 << 20));
    inboxes.open(room(1), None);
    keep(&mut inboxes, room(1), "a", t0).unwrap();
    for index in [2, 0, 3, 1] {
        assert_eq!(
            inboxes.keep_chunk(room(1), "a", index, packet(&chunk(100 + index as usize))),
            ChunkKept::Kept
        );
    }
    let used = inboxes.used_bytes();
    assert_eq!(
        inboxes.keep_chunk(room(1), "a", 1, packet(&chunk(5))),
        ChunkKept::Ignored
    );
    assert_eq!(
        inboxes.keep_chunk(room(1), "a", 4, packet(&chunk(5))),
        ChunkKept::Ignored
    );
    assert_eq!(
        inboxes.used_bytes(),
        used,
        "duplicates and strays cost nothing"
    );
    let sizes: Vec<(u64, usize)> = inboxes
        .chunk_indices(room(1), "a", 1, 2)
        .unwrap()
        .into_iter()
        .map(|index| match inboxes.chunk(room(1), "a", index, "s", t0) {
            Some(Answer::Packet(packet)) => (index, packet.len()),
            _ => panic!("chunk {index} is kept"),
        })
        .collect();
    assert_eq!(sizes, vec![(1, chunk(101).len()), (2, chunk(102).len())]);
}

#[test]
fn delete_clear_and_close_give_every_byte_back() {
    let t0 = Instant::now();
    let mut inboxes = Inboxes::new(limits(1 << 20, 1 << 20));
    inboxes.open(room(1), None);
    inboxes.open(room(2), None);
    for id in ["a", "b", "c"] {
        keep(&mut inboxes, room(1), id, t0).unwrap();
        inboxes.keep_chunk(room(1), id, 0, packet(&chunk(500)));
    }
    keep(&mut inboxes, room(2), "z", t0).unwrap();
    assert!(inboxes.remove(room(1), "b"));
    assert!(!inboxes.remove(room(1), "b"), "gone already");
    assert_eq!(inboxes.item_count(), 3);
    assert_eq!(inboxes.clear(room(1)).len(), 2);
    assert!(inboxes.is_open(room(1)), "a clear leaves the inbox on");
    assert_eq!(inboxes.item_count(), 1);
    inboxes.close(room(2));
    assert!(!inboxes.is_open(room(2)));
    assert_eq!((inboxes.used_bytes(), inboxes.item_count()), (0, 0));
}
