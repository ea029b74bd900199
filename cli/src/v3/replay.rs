//! No replay (docs/protocol.md, "No replay"): per sender device, the highest `seq` seen and
//! which of the [`REPLAY_WINDOW`] below it were seen; a `content` whose `seq` was seen or is
//! older than the window is dropped. At most [`MAX_TRACKED_SENDERS`] senders are tracked, the
//! least recently heard forgotten first. Kept in the key store, so a restart does not reopen
//! a window.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sharethings_protocol::format::v3::{MAX_TRACKED_SENDERS, REPLAY_WINDOW};

const WORDS: usize = (REPLAY_WINDOW / 64) as usize;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayWindows {
    senders: HashMap<String, Window>,
    /// A logical clock: the sender heard least recently has the smallest `heard`.
    tick: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Window {
    highest: u64,
    /// Bit `i` says `highest - i` was seen.
    #[serde(with = "bits")]
    seen: Vec<u64>,
    heard: u64,
}

impl Window {
    fn new(highest: u64) -> Window {
        let mut seen = vec![0; WORDS];
        seen[0] = 1;
        Window {
            highest,
            seen,
            heard: 0,
        }
    }

    fn bit(&self, i: u64) -> bool {
        self.seen[(i / 64) as usize] >> (i % 64) & 1 == 1
    }

    fn set(&mut self, i: u64) {
        self.seen[(i / 64) as usize] |= 1 << (i % 64);
    }

    /// Moves the window up by `n`: bit `i` becomes bit `i + n`.
    fn shift(&mut self, n: u64) {
        if n >= REPLAY_WINDOW {
            self.seen.iter_mut().for_each(|w| *w = 0);
            return;
        }
        let (words, bits) = ((n / 64) as usize, (n % 64) as u32);
        for i in (0..WORDS).rev() {
            let from = i.checked_sub(words);
            let high = from.map_or(0, |f| self.seen[f] << bits);
            let low = match (from.and_then(|f| f.checked_sub(1)), bits) {
                (Some(f), b) if b > 0 => self.seen[f] >> (64 - b),
                _ => 0,
            };
            self.seen[i] = high | low;
        }
    }

    /// Records `seq`; `false` if it was seen or is older than the window.
    fn accept(&mut self, seq: u64) -> bool {
        if seq > self.highest {
            self.shift(seq - self.highest);
            self.highest = seq;
            self.set(0);
            return true;
        }
        let age = self.highest - seq;
        if age >= REPLAY_WINDOW || self.bit(age) {
            return false;
        }
        self.set(age);
        true
    }
}

impl ReplayWindows {
    /// Records `seq` from `sender`; `false` means a replay (or a counter of 0, which no
    /// sender uses).
    pub fn accept(&mut self, sender: &str, seq: u64) -> bool {
        if seq == 0 {
            return false;
        }
        self.tick += 1;
        let tick = self.tick;
        if let Some(window) = self.senders.get_mut(sender) {
            let fresh = window.accept(seq);
            window.heard = tick;
            return fresh;
        }
        if self.senders.len() >= MAX_TRACKED_SENDERS {
            let oldest = self
                .senders
                .iter()
                .min_by_key(|(_, w)| w.heard)
                .map(|(id, _)| id.clone());
            if let Some(id) = oldest {
                self.senders.remove(&id);
            }
        }
        let mut window = Window::new(seq);
        window.heard = tick;
        self.senders.insert(sender.to_string(), window);
        true
    }
}

/// The seen-bits as base64 of their little-endian bytes: 512 bytes per sender.
mod bits {
    use data_encoding::BASE64;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(words: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        s.serialize_str(&BASE64.encode(&bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = BASE64
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)?;
        if bytes.len() != super::WORDS * 8 {
            return Err(serde::de::Error::custom("wrong window size"));
        }
        Ok(bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seen_counter_is_refused_within_and_below_the_window() {
        let mut w = ReplayWindows::default();
        assert!(w.accept("a", 5));
        assert!(!w.accept("a", 5), "the same seq again");
        assert!(w.accept("a", 3), "out of order but new");
        assert!(!w.accept("a", 3));
        assert!(w.accept("b", 5), "senders have their own windows");
        assert!(w.accept("a", 5 + REPLAY_WINDOW - 1));
        assert!(!w.accept("a", 5), "still remembered at the window's edge");
        assert!(!w.accept("a", 4), "older than the window");
        assert!(w.accept("a", 6), "inside the window, never seen");
        assert!(!w.accept("a", 0));
        assert!(w.accept("a", 100_000));
        assert!(!w.accept("a", 100_000 - REPLAY_WINDOW));
        assert!(w.accept("a", 100_000 - REPLAY_WINDOW + 1));
    }

    #[test]
    fn shifts_keep_bits_across_word_boundaries() {
        let mut w = ReplayWindows::default();
        for seq in [1, 2, 64, 65, 130] {
            assert!(w.accept("a", seq));
        }
        assert!(w.accept("a", 200));
        for seq in [1, 2, 64, 65, 130, 200] {
            assert!(!w.accept("a", seq), "{seq}");
        }
        for seq in [3, 63, 66, 129, 131, 199] {
            assert!(w.accept("a", seq), "{seq}");
        }
    }

    #[test]
    fn survives_storage_and_forgets_the_least_recently_heard() {
        let mut w = ReplayWindows::default();
        for n in 0..MAX_TRACKED_SENDERS {
            assert!(w.accept(&format!("s{n}"), 10));
        }
        assert!(!w.accept("s0", 10), "heard again: now the most recent");
        assert!(w.accept("new", 1));
        assert!(
            w.accept("s1", 10),
            "s1 was the least recently heard: forgotten"
        );
        let stored = serde_json::to_string(&w).unwrap();
        let mut back: ReplayWindows = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, w);
        assert!(!back.accept("new", 1));
        assert!(!back.accept("s0", 10));
        assert!(serde_json::from_str::<ReplayWindows>(
            r#"{"senders":{"a":{"highest":1,"seen":"AAAA","heard":1}},"tick":1}"#
        )
        .is_err());
    }
}
