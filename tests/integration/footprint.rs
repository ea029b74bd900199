//! What the server charges for what it holds, against what it really allocates: a counting
//! allocator (this binary's global allocator, counting per thread, each allocation as glibc
//! takes it) measures the parsing of JSON against the bound `json_cost` estimates before
//! parsing, and the inbox's kept items and chunks against what it charges for them, for
//! random and hostile shapes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

use bytes::Bytes;
use miniserde::json::{self, Object, Value};
use proptest::prelude::*;
use sharethings::app::inbox::{
    kept, ChunkKept, InboxLimits, Inboxes, NewItem, OfferedChunk, Refusal,
};
use sharethings::socketio::Outgoing;
use sharethings::util::arena::Handle;
use sharethings::wire::sio::{json_cost, placeholder, Limits};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// What glibc's malloc takes for `size` bytes: an 8-byte header, rounded up to 16, at
/// least 32.
fn chunk_size(size: usize) -> isize {
    (size.saturating_add(8 + 15) & !15).max(32) as isize
}

fn count(delta: isize) {
    // `try_with`: allocations during a thread's teardown find no counter, and need none.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call goes to `System` unchanged; the counters are plain thread-locals that
// need no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(chunk_size(layout.size()));
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(chunk_size(layout.size()));
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        count(-chunk_size(layout.size()));
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            count(chunk_size(new_size) - chunk_size(layout.size()));
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes this thread has allocated and not freed.
fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Runs `f`; returns what it returned and the most this thread held at once meanwhile,
/// beyond what it held before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = live();
    PEAK.with(|peak| peak.set(base));
    let out = f();
    let peak = PEAK.with(Cell::get);
    (out, (peak - base).max(0) as usize)
}

const LIMITS: Limits = Limits {
    attachments: 10,
    json_depth: 32,
    json_nodes: 1 << 20,
    json_expansion: 1 << 20,
};

/// JSON of every kind of value, nested.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        any::<u32>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        (-1e9f64..1e9).prop_map(|f| format!("{f:e}")),
        "[a-z\"\\\\é]{0,40}".prop_map(|s| json::to_string(&Value::String(s))),
    ];
    leaf.prop_recursive(6, 400, 40, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..40).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-z]{0,6}", inner), 0..30).prop_map(|members| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(k, v)| format!("{}:{v}", json::to_string(&Value::String(k))))
                    .collect();
                format!("{{{}}}", members.join(" , "))
            }),
        ]
    })
}

/// Parses `text` while counting; asserts the tree never took more than the scan said.
fn parse_within_its_cost(text: &str) {
    let cost = json_cost::check(text, LIMITS).expect("within the test's limits");
    let (tree, peak) = peak_of(|| json::from_str::<Value>(text));
    assert!(tree.is_ok(), "{}", &text[..text.len().min(200)]);
    assert!(
        peak <= cost.bytes,
        "parsing {} B took {peak} B, the scan said {} B: {}",
        text.len(),
        cost.bytes,
        &text[..text.len().min(200)]
    );
}

#[test]
fn hostile_shapes_parse_within_the_estimated_cost() {
    let repeated = |item: &str, n: usize| format!("[{}]", vec![item; n].join(","));
    for text in [
        repeated(r#"{"":0}"#, 20_000),
        repeated("0", 100_000),
        repeated(r#"{"a":{"b":[0]}}"#, 10_000),
        repeated("[0]", 30_000),
        repeated("[]", 30_000),
        repeated(r#""a""#, 30_000),
        repeated(
            r#"{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7}"#,
            5_000,
        ),
        format!("{}1{}", "[".repeat(31), "]".repeat(31)),
        format!("[\"{}\"]", "\\u00e9".repeat(10_000)),
        // A 64 KiB first-release chunk: the ciphertext's bytes as numbers.
        format!(
            "[{}]",
            (0..65_536u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24).to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
    ] {
        parse_within_its_cost(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_json_parses_within_the_estimated_cost(text in json_value()) {
        parse_within_its_cost(&text);
    }
}

fn room(n: u64) -> Handle {
    Handle::from_bits(n)
}

/// A relayed `content` payload as the app sees it, with extra fields of `pad` bytes.
fn relayed(id: &str, pad: usize) -> Object {
    let text = format!(
        r#"{{"sessionId":"s","from":"f","pad":"{}","content":{{"contentId":{},"format":2,"totalChunks":4,"iv":"aXY=","x":[1,2]}},"data":{}}}"#,
        "p".repeat(pad),
        json::to_string(&Value::String(id.into())),
        json::to_string(&placeholder(0)),
    );
    match json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => object,
        _ => panic!("{text}"),
    }
}

/// One thing done to an inbox.
#[derive(Debug, Clone)]
enum Op {
    /// An item in room `room` with an id of `id_len` characters and `meta` bytes of sealed
    /// metadata (and extra fields of `pad` bytes, which are not kept).
    Item {
        room: u64,
        id_len: usize,
        meta: usize,
        pad: usize,
    },
    /// A chunk of `bytes` for the `nth` item kept so far, at `index`.
    Chunk {
        nth: usize,
        index: u64,
        bytes: usize,
    },
    Remove {
        nth: usize,
    },
    Clear {
        room: u64,
    },
    Expire {
        after_secs: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3u64, 1..64usize, 0..2048usize, 0..4096usize)
            .prop_map(|(room, id_len, meta, pad)| Op::Item { room, id_len, meta, pad }),
        4 => (0..32usize, 0..4u64, 0..70_000usize)
            .prop_map(|(nth, index, bytes)| Op::Chunk { nth, index, bytes }),
        1 => (0..32usize).prop_map(|nth| Op::Remove { nth }),
        1 => (0..3u64).prop_map(|room| Op::Clear { room }),
        1 => (0..7200u64).prop_map(|after_secs| Op::Expire { after_secs }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever is kept, removed, cleared or expired, what the inboxes hold is never more than
    /// what they charge (their empty state, the rooms opened, is not charged and not counted).
    #[test]
    fn the_inbox_never_holds_more_than_it_charges(ops in prop::collection::vec(op(), 1..80)) {
        let t0 = Instant::now();
        let mut inboxes = Inboxes::new(InboxLimits {
            ttl: Duration::from_secs(3600),
            session_bytes: 4 << 20,
            total_bytes: 8 << 20,
            meta_bytes: 16 * 1024,
        });
        for n in 0..3 {
            inboxes.open(room(n), None);
        }
        // What the test itself keeps is allocated before the count starts: ids are rebuilt
        // from (step, length) when needed.
        let mut kept_ids: Vec<(u64, usize, usize)> = Vec::with_capacity(128);
        let id_of = |step: usize, len: usize| format!("{step}-{}", "i".repeat(len));
        let base = live();
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Item { room: r, id_len, meta, pad } => {
                    let id = id_of(step, id_len);
                    let data = Bytes::from(vec![1u8; meta]);
                    let object = relayed(&id, pad);
                    let envelope = kept::item(&object, &[data]);
                    drop(object);
                    // A sender's id as long as a Socket.IO id (20 characters).
                    let new = NewItem { content_id: &id, sender: "a-socket-io-id-of-20", total_chunks: 4 };
                    if inboxes.keep_item(room(r), new, envelope, t0, 0).is_ok() {
                        kept_ids.push((r, step, id_len));
                    }
                }
                Op::Chunk { nth, index, bytes } => {
                    if let Some(&(r, at, len)) = kept_ids.get(nth % kept_ids.len().max(1)) {
                        let packet = Outgoing::event("/", "chunk", Vec::new(), vec![Bytes::from(vec![2u8; bytes])]);
                        let kept = inboxes.keep_chunk(room(r), &id_of(at, len), index, OfferedChunk::Packet(&packet));
                        prop_assert!(kept != ChunkKept::Refused(Refusal::TooLarge));
                    }
                }
                Op::Remove { nth } => {
                    if !kept_ids.is_empty() {
                        let (r, at, len) = kept_ids.remove(nth % kept_ids.len());
                        inboxes.remove(room(r), &id_of(at, len));
                    }
                }
                Op::Clear { room: r } => {
                    inboxes.clear(room(r));
                    kept_ids.retain(|(kr, _, _)| *kr != r);
                }
                Op::Expire { after_secs } => {
                    for r in 0..3 {
                        inboxes.expire(room(r), t0 + Duration::from_secs(after_secs));
                    }
                }
            }
            let held = (live() - base).max(0) as usize;
            prop_assert!(
                held <= inboxes.used_bytes(),
                "after step {step}: {held} B held, {} B charged",
                inboxes.used_bytes()
            );
        }
    }
}
