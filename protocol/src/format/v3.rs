//! Format 3 (docs/protocol.md, "Format v3: random room keys, admission by members, signed
//! items"): the exact bytes that go into its primitives, and its sizes and counts. The
//! primitives themselves (HKDF-SHA256, HMAC-SHA256, PBKDF2, AES-256-GCM, Ed25519, SHA-512 and
//! ristretto255) are the client's audited libraries; nothing here hashes or encrypts.
//!
//! ```text
//! epoch      = SHA-256(epoch_input(creatorPk))[0..16]
//! prs        = PBKDF2-HMAC-SHA256(NFC(passphrase), pake_salt(sessionId), PBKDF2_ITERATIONS, 32)
//! key(label) = HKDF-SHA256(ikm = roomKey, salt = epoch, info = key_info(label, sessionId), 32)
//! proof      = HMAC-SHA256(accessKey, join_message(sessionId, nonce))
//! inbox auth = Ed25519(creator's device key, inbox_message(sessionId, nonce, action))
//! data       = AES-256-GCM(contentKey, iv, pad(JSON meta), meta_aad(…))
//! sig        = Ed25519(device key, signature_message(SHA-256(aad), SHA-256(iv || sealed)))
//! ```
//!
//! Every multi-part input is [`lv_cat`]: each part prefixed with its length as LEB128, the
//! encoding CPace uses; integers are parts as their decimal digits ([`decimal`]).

use super::chunks::{CHUNK_SIZE, MAX_ITEM_BYTES};

/// The `format` of a v3 envelope, and the `v` of a v3 join.
pub const VERSION: u64 = 3;

/// PBKDF2 rounds of `prs`, as in v2: only a device that applies pays them.
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// Bytes of the room key, `prs`, every derived key and `admitKey`.
pub const KEY_BYTES: usize = 32;

/// Bytes of `accessKey` (and of a join proof, an HMAC-SHA256).
pub const ACCESS_KEY_BYTES: usize = 32;

/// Bytes of the nonce a `challenge` hands out (its ack carries their base64).
pub const NONCE_BYTES: usize = 16;

/// The label of the join proof's message.
pub const JOIN_LABEL: &[u8] = b"sharethings/v3/join";

/// The label of the message a creator signs to govern the server's inbox.
pub const INBOX_LABEL: &[u8] = b"sharethings/v3/inbox";

/// Bytes of the random IV of each sealed blob.
pub const IV_BYTES: usize = 12;

/// Bytes of the AES-GCM tag after each blob's ciphertext.
pub const TAG_BYTES: usize = 16;

/// Bytes of an Ed25519 public key (a device id is its base64url).
pub const PUBLIC_KEY_BYTES: usize = 32;

/// Bytes of an Ed25519 signature.
pub const SIGNATURE_BYTES: usize = 64;

/// Bytes of the session epoch.
pub const EPOCH_BYTES: usize = 16;

/// Bytes of the CPace `sid` an applicant makes.
pub const SID_BYTES: usize = 16;

/// Bytes of a ristretto255 encoding (`Ya`, `Yb`, `K`).
pub const POINT_BYTES: usize = 32;

/// Bytes of a CPace key-confirmation tag (HMAC-SHA256).
pub const TAG_CONFIRM_BYTES: usize = 32;

/// Sealed JSON (metadata, control messages) is padded with spaces to a multiple of this.
pub const PAD_BLOCK: usize = 256;

/// An item's padded body is never shorter than this.
pub const MIN_ITEM_PADDED: u64 = 256;

/// Counters below a sender's highest `seq` that a receiver still remembers one by one.
pub const REPLAY_WINDOW: u64 = 4096;

/// Sender devices whose replay window a device keeps per session (least recently heard
/// forgotten first).
pub const MAX_TRACKED_SENDERS: usize = 256;

/// Cards an admission bundle carries at most.
pub const MAX_BUNDLE_CARDS: usize = 16;

/// Cards plus records a `roster` control carries at most.
pub const MAX_ROSTER_ENTRIES: usize = 64;

/// Characters of a display name on a card.
pub const MAX_NAME_CHARS: usize = 32;

/// A CPace run not finished within this is abandoned (and, for the member, counts as failed).
pub const ADMISSION_RUN_MS: u64 = 60_000;

/// Failed runs a member remembers for throttling, per session.
pub const FAILURE_MEMORY_MS: u64 = 3_600_000;

/// Failed runs of the last hour before a member starts to wait before step 2.
pub const FREE_FAILURES: u64 = 3;

/// The longest a member waits before step 2, in seconds.
pub const MAX_THROTTLE_SECS: u64 = 300;

/// CPace's domain separation identifier of its ristretto255 group (the draft's `G.DSI`).
pub const CPACE_DSI: &[u8] = b"CPaceRistretto255";

/// Input block of SHA-512, CPace's `H.s_in_bytes`.
pub const CPACE_HASH_BLOCK: usize = 128;

/// HKDF `info` of `admitKey` (a plain string, not `lv_cat`).
pub const ADMIT_INFO: &[u8] = b"sharethings/v3/admit";

/// What the draft's key confirmation prefixes to `sid || ISK` before SHA-512.
pub const CPACE_MAC_PREFIX: &[u8] = b"CPaceMac";

/// The three keys derived from the room key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyLabel {
    /// Seals item metadata, chunks and control messages.
    Content,
    /// The server's admission secret; derives nothing else.
    Access,
    /// The safety code.
    Safety,
}

impl KeyLabel {
    pub const ALL: [KeyLabel; 3] = [KeyLabel::Content, KeyLabel::Access, KeyLabel::Safety];

    /// The label's name in the vectors and in its `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyLabel::Content => "content",
            KeyLabel::Access => "access",
            KeyLabel::Safety => "safety",
        }
    }
}

/// `n` as unsigned LEB128: 7 bits per byte, least significant first, bit 7 set on all but
/// the last.
pub fn leb128(mut n: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(2);
    loop {
        let low = u8::try_from(n & 0x7f).unwrap_or_default();
        n = n.checked_shr(7).unwrap_or_default();
        if n == 0 {
            out.push(low);
            return out;
        }
        out.push(low | 0x80);
    }
}

/// `lv(x)`: `x` prefixed with its length (CPace's `prepend_len`), appended to `out`.
pub fn lv(out: &mut Vec<u8>, x: &[u8]) {
    out.extend_from_slice(&leb128(x.len() as u64));
    out.extend_from_slice(x);
}

/// `lv_cat(a, b, …)`: `lv(a) || lv(b) || …`.
pub fn lv_cat(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len().saturating_add(2)).sum());
    for part in parts {
        lv(&mut out, part);
    }
    out
}

/// Bytes `lv(x)` takes for an `x` of `len` bytes.
fn lv_len(len: usize) -> usize {
    leb128(len as u64).len().saturating_add(len)
}

/// An integer as an `lv_cat` part: its decimal ASCII digits.
pub fn decimal(n: u64) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// What SHA-256 hashes into the epoch (its first [`EPOCH_BYTES`] bytes).
pub fn epoch_input(creator_pk: &[u8]) -> Vec<u8> {
    lv_cat(&[b"sharethings/v3/epoch", creator_pk])
}

/// The PBKDF2 salt of `prs`: UTF-8 of `"sharethings/v3/pake/" + sessionId`.
pub fn pake_salt(session_id: &str) -> Vec<u8> {
    [b"sharethings/v3/pake/".as_slice(), session_id.as_bytes()].concat()
}

/// HKDF `info` of a key derived from the room key (its salt is the epoch).
pub fn key_info(label: KeyLabel, session_id: &str) -> Vec<u8> {
    let name = format!("sharethings/v3/{}", label.as_str());
    lv_cat(&[name.as_bytes(), session_id.as_bytes()])
}

/// What a member's join proof is an HMAC of, under `accessKey`: the session's name as UTF-8
/// and the nonce's bytes (whose base64 the server's `challenge` ack carried).
pub fn join_message(session_id: &str, nonce: &[u8]) -> Vec<u8> {
    lv_cat(&[JOIN_LABEL, session_id.as_bytes(), nonce])
}

/// What the creator signs, with its device key, to act on the server's inbox of this session:
/// the session's name, a nonce of the server's (as for a join proof, so that a signature opens
/// one request) and the action's parts: `["clear"]`, `["delete", contentId]`, or
/// `["policy", "anyone" | "creator"]`.
pub fn inbox_message(session_id: &str, nonce: &[u8], action: &[&[u8]]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = vec![INBOX_LABEL, session_id.as_bytes(), nonce];
    parts.extend_from_slice(action);
    lv_cat(&parts)
}

/// CPace's channel identifier `CI` for an admission to this session.
pub fn admit_ci(session_id: &str) -> Vec<u8> {
    lv_cat(&[b"sharethings/v3/admit", session_id.as_bytes()])
}

/// CPace's `generator_string(DSI, PRS, CI, sid, 128)`: SHA-512 of it, mapped to ristretto255
/// by the one-way map of RFC 9496, is the run's generator.
pub fn generator_string(prs: &[u8], ci: &[u8], sid: &[u8]) -> Vec<u8> {
    let used = lv_len(prs.len())
        .saturating_add(lv_len(CPACE_DSI.len()))
        .saturating_add(1);
    let zpad = vec![0u8; CPACE_HASH_BLOCK.saturating_sub(used)];
    lv_cat(&[CPACE_DSI, prs, &zpad, ci, sid])
}

/// What SHA-512 hashes into CPace's `ISK` in the initiator-responder setting:
/// `lv_cat(DSI || "_ISK", sid, K) || lv_cat(Ya, ADa) || lv_cat(Yb, ADb)`.
pub fn isk_input(sid: &[u8], k: &[u8], ya: &[u8], ad_a: &[u8], yb: &[u8], ad_b: &[u8]) -> Vec<u8> {
    let dsi_isk = [CPACE_DSI, b"_ISK"].concat();
    let mut out = lv_cat(&[&dsi_isk, sid, k]);
    out.extend_from_slice(&lv_cat(&[ya, ad_a]));
    out.extend_from_slice(&lv_cat(&[yb, ad_b]));
    out
}

/// What SHA-512 hashes into the key-confirmation key: `"CPaceMac" || sid || ISK`.
pub fn mac_key_input(sid: &[u8], isk: &[u8]) -> Vec<u8> {
    [CPACE_MAC_PREFIX, sid, isk].concat()
}

/// What a party's confirmation tag is an HMAC of: its own message, `lv_cat(Y, AD)`.
pub fn confirmation_input(y: &[u8], ad: &[u8]) -> Vec<u8> {
    lv_cat(&[y, ad])
}

/// Associated data of step 3's sealed card.
pub fn applicant_aad(session_id: &str, sid: &[u8]) -> Vec<u8> {
    lv_cat(&[
        b"sharethings/v3/admit/applicant",
        session_id.as_bytes(),
        sid,
    ])
}

/// What an applicant signs in step 3 with its new device key: its id and name, bound to
/// this session and run (a card cannot be signed yet: it covers the epoch).
pub fn applicant_message(session_id: &str, sid: &[u8], device_pk: &[u8], name: &str) -> Vec<u8> {
    lv_cat(&[
        b"sharethings/v3/applicant",
        session_id.as_bytes(),
        sid,
        device_pk,
        name.as_bytes(),
    ])
}

/// Associated data of step 4's sealed bundle.
pub fn bundle_aad(session_id: &str, sid: &[u8]) -> Vec<u8> {
    lv_cat(&[b"sharethings/v3/admit/bundle", session_id.as_bytes(), sid])
}

/// What a card's signature signs.
pub fn card_message(epoch: &[u8], device_pk: &[u8], name: &str, at: u64) -> Vec<u8> {
    lv_cat(&[
        b"sharethings/v3/card",
        epoch,
        device_pk,
        name.as_bytes(),
        &decimal(at),
    ])
}

/// What an admission record's signature (by the admitting member) signs.
pub fn record_message(
    epoch: &[u8],
    device_pk: &[u8],
    name: &str,
    by_pk: &[u8],
    at: u64,
) -> Vec<u8> {
    lv_cat(&[
        b"sharethings/v3/admitted",
        epoch,
        device_pk,
        name.as_bytes(),
        by_pk,
        &decimal(at),
    ])
}

/// Associated data of an item's sealed metadata or a control message.
pub fn meta_aad(
    epoch: &[u8],
    content_id: &str,
    by_pk: &[u8],
    seq: u64,
    total_chunks: u64,
) -> Vec<u8> {
    lv_cat(&[
        b"sharethings/v3/meta",
        epoch,
        content_id.as_bytes(),
        by_pk,
        &decimal(seq),
        &decimal(total_chunks),
    ])
}

/// Associated data of a chunk, `by_pk` being its item's sender.
pub fn chunk_aad(epoch: &[u8], content_id: &str, by_pk: &[u8], index: u64, total: u64) -> Vec<u8> {
    lv_cat(&[
        b"sharethings/v3/chunk",
        epoch,
        content_id.as_bytes(),
        by_pk,
        &decimal(index),
        &decimal(total),
    ])
}

/// What a blob's signature signs: the SHA-256 of its associated data and of `iv || sealed`.
pub fn signature_message(aad_hash: &[u8], blob_hash: &[u8]) -> Vec<u8> {
    lv_cat(&[b"sharethings/v3/sig", aad_hash, blob_hash])
}

/// What the safety code is an HMAC of: the members' public keys, which this sorts bytewise.
pub fn safety_message(public_keys: &[&[u8]]) -> Vec<u8> {
    let mut keys = public_keys.to_vec();
    keys.sort_unstable();
    let mut parts: Vec<&[u8]> = vec![b"sharethings/v3/safety"];
    parts.extend(keys);
    lv_cat(&parts)
}

/// The safety code from its HMAC: six groups of five digits, separated by spaces.
pub fn safety_code(hmac: &[u8]) -> String {
    hmac.chunks_exact(4)
        .take(6)
        .map(|word| {
            let n = u32::from_be_bytes(word.try_into().unwrap_or_default());
            format!("{:05}", n.checked_rem(100_000).unwrap_or_default())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Padmé (Nikitin et al., PETS 2019): `L` rounded up so that only its top
/// `floor(log2 E) + 1` bits may be set, `E = floor(log2 L)`; 0 and 1 stay as they are.
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = u64::from(len.ilog2());
    let s = u64::from(e.ilog2()).saturating_add(1);
    let mask = 1u64
        .checked_shl(u32::try_from(e.saturating_sub(s)).unwrap_or(63))
        .unwrap_or(0)
        .saturating_sub(1);
    len.saturating_add(mask) & !mask
}

/// Bytes an item of `size` is sent as: `max(256, padme(size))`.
pub fn padded_size(size: u64) -> u64 {
    padme(size).max(MIN_ITEM_PADDED)
}

/// Chunks of an item of `size` bytes: ⌈padded / [`CHUNK_SIZE`]⌉.
pub fn chunk_count(size: u64) -> u64 {
    padded_size(size).div_ceil(CHUNK_SIZE)
}

/// Exact plaintext length of chunk `index` of an item of `size` bytes (0 past the end).
pub fn chunk_len(index: u64, size: u64) -> u64 {
    let start = index.saturating_mul(CHUNK_SIZE);
    padded_size(size).saturating_sub(start).min(CHUNK_SIZE)
}

/// The receiver's check before it allocates anything for an item: `size` within
/// [`MAX_ITEM_BYTES`] and `total_chunks` exactly [`chunk_count`] of it.
pub fn accepts_item(size: u64, total_chunks: u64) -> bool {
    size <= MAX_ITEM_BYTES && total_chunks == chunk_count(size)
}

/// Spaces to append to `json_len` bytes of JSON: up to the next multiple of [`PAD_BLOCK`].
pub fn json_padding(json_len: usize) -> usize {
    json_len.checked_rem(PAD_BLOCK).map_or(0, |r| {
        if r == 0 {
            0
        } else {
            PAD_BLOCK.saturating_sub(r)
        }
    })
}

/// How long a member waits before step 2, given the failed runs of the last hour:
/// none below [`FREE_FAILURES`], then `min(300, 2^(n−3))` seconds.
pub fn throttle_secs(failures: u64) -> u64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let exponent = u32::try_from(failures.saturating_sub(FREE_FAILURES)).unwrap_or(u32::MAX);
    1u64.checked_shl(exponent)
        .unwrap_or(u64::MAX)
        .min(MAX_THROTTLE_SECS)
}

#[cfg(test)]
mod tests;
