//! What a packet's JSON will cost once parsed, read from its text before any tree is built.
//!
//! miniserde parses into a [`Value`] tree, and a tree can take far more memory than its text:
//! `{"":0}` is 7 bytes of text and a B-tree node of about 750 bytes, so 600 KB of such objects
//! took 60 MiB to parse (security review of 2026-12-06, B1). Counting nodes does not bound
//! that, so one linear scan of the text counts, beside depth and values, an upper bound of the
//! bytes the parser will allocate, from what each token costs:
//!
//! | token | bytes charged | why |
//! |---|---|---|
//! | `[` | [`ARRAY`] + [`ARRAY_SLOT`] | a non-empty `Vec`'s first allocation (4 slots), and the first element's slot |
//! | `,` in an array | [`ARRAY_SLOT`] | each element's slot; a `Vec` grows by doubling, so two slots per element at most |
//! | `{` | [`OBJECT_NODE`] | an object's first B-tree node |
//! | `:` | [`MEMBER`] | every node but the root holds 5 members or more, so a member costs a fifth of a node |
//! | a non-empty string | its text length + [`STRING`] | a heap allocation of at most that many bytes, with the allocator's header |
//! | numbers, `true`, `false`, `null` | 0 | they live in their slot |
//!
//! plus the parser's own working memory: its buffer for unescaping strings (at most twice the
//! text, as it grows by doubling, plus [`SCRATCH`]), and [`OPEN`] per array or object. The integration test `json_footprint` measures real
//! allocations against this bound for random and hostile shapes.

use std::mem::size_of;

use miniserde::json::Value;

use super::{DecodeError, Limits};

/// The allocator's bookkeeping per allocation (glibc: an 8-byte header, rounded to 16).
const MALLOC: usize = 16;
/// One element's slot in its array, twice over: a `Vec` grows by doubling.
pub const ARRAY_SLOT: usize = 2 * size_of::<Value>();
/// A non-empty array's first allocation: four slots (std's smallest capacity above zero for
/// elements of this size).
pub const ARRAY: usize = 4 * size_of::<Value>() + MALLOC;
/// One B-tree node of an object (std's `BTreeMap`): 11 keys and values, 12 child pointers,
/// and its parent link and length.
pub const OBJECT_NODE: usize =
    11 * (size_of::<String>() + size_of::<Value>()) + 12 * size_of::<usize>() + 16 + MALLOC;
/// One member's share of the nodes of its object.
pub const MEMBER: usize = OBJECT_NODE.div_ceil(5);
/// A non-empty string's allocation beyond its bytes: the header and glibc's rounding to 16
/// with a 32-byte minimum.
pub const STRING: usize = 32;
/// The parser's state per open array or object: its stack entry and its builder.
pub const OPEN: usize = 256;
/// The parser's buffer for unescaping strings beyond twice the text (it grows by doubling).
pub const SCRATCH: usize = 32;
/// Bytes any packet may take beyond its multiple of the text: small packets are mostly
/// fixed costs (an object node for three short members is about 40 times their text).
pub const ALLOWANCE: usize = 64 * 1024;
/// Nesting tracked by the scan at most (`JSON_MAX_DEPTH`'s own maximum).
pub const MAX_DEPTH: usize = 1024;

/// What the scan read off the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonCost {
    /// Deepest nesting of arrays and objects.
    pub depth: usize,
    /// Values, keys included.
    pub nodes: usize,
    /// An upper bound of the bytes the parser allocates for this text (tree and working
    /// memory together, at the moment it holds the most).
    pub bytes: usize,
}

/// The most a packet of `len` bytes of JSON may cost under `limits`.
pub fn bytes_allowed(len: usize, limits: Limits) -> usize {
    len.saturating_mul(limits.json_expansion)
        .saturating_add(ALLOWANCE)
}

/// Checks depth, values and cost of JSON text without parsing it, stopping at the first
/// limit passed. Strings are skipped with their escapes, so brackets inside them do not count;
/// anything else malformed is left to the parser (the bound holds for the prefix it reads).
pub fn check(text: &str, limits: Limits) -> Result<JsonCost, DecodeError> {
    let max_depth = limits.json_depth.min(MAX_DEPTH);
    let max_bytes = bytes_allowed(text.len(), limits);
    // Whether each open container is an array, one bit per level.
    let mut in_array = [0u64; MAX_DEPTH / 64];
    let mut cost = JsonCost {
        depth: 0,
        nodes: 1,
        bytes: SCRATCH.saturating_add(text.len().saturating_mul(2)),
    };
    let mut depth = 0usize;
    let mut string: Option<usize> = None;
    let mut escaped = false;
    for &byte in text.as_bytes() {
        if let Some(len) = string.as_mut() {
            match byte {
                b'"' if !escaped => {
                    if *len > 0 {
                        cost.bytes = cost.bytes.saturating_add(*len).saturating_add(STRING);
                    }
                    string = None;
                }
                _ => {
                    escaped = !escaped && byte == b'\\';
                    *len = len.saturating_add(1);
                }
            }
            if cost.bytes > max_bytes {
                return Err(DecodeError::JsonTooCostly);
            }
            continue;
        }
        let charge = match byte {
            b'"' => {
                string = Some(0);
                continue;
            }
            b'[' | b'{' => {
                let array = byte == b'[';
                set_bit(&mut in_array, depth, array);
                depth = depth.saturating_add(1);
                if depth > max_depth {
                    return Err(DecodeError::JsonTooDeep);
                }
                cost.depth = cost.depth.max(depth);
                cost.nodes = cost.nodes.saturating_add(1);
                if array {
                    ARRAY + ARRAY_SLOT + OPEN
                } else {
                    OBJECT_NODE + OPEN
                }
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                continue;
            }
            b',' => {
                cost.nodes = cost.nodes.saturating_add(1);
                let parent = depth.checked_sub(1);
                if parent.is_some_and(|level| bit(&in_array, level)) {
                    ARRAY_SLOT
                } else {
                    0
                }
            }
            b':' => {
                cost.nodes = cost.nodes.saturating_add(1);
                MEMBER
            }
            _ => continue,
        };
        cost.bytes = cost.bytes.saturating_add(charge);
        if cost.nodes > limits.json_nodes {
            return Err(DecodeError::JsonTooLarge);
        }
        if cost.bytes > max_bytes {
            return Err(DecodeError::JsonTooCostly);
        }
    }
    Ok(cost)
}

fn set_bit(bits: &mut [u64], level: usize, on: bool) {
    if let Some(word) = bits.get_mut(level / 64) {
        let mask = 1u64.wrapping_shl((level % 64) as u32);
        if on {
            *word |= mask;
        } else {
            *word &= !mask;
        }
    }
}

fn bit(bits: &[u64], level: usize) -> bool {
    bits.get(level / 64)
        .is_some_and(|word| word & 1u64.wrapping_shl((level % 64) as u32) != 0)
}
