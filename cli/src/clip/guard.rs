//! When a clipboard change is the user's, sans I/O. The desktop clipboard is polled; what
//! `clip` put there itself (an item from the session) must not go back out, or two `clip`
//! members would send one copy back and forth for ever. So the guard remembers a digest of
//! what the clipboard holds as far as `clip` knows, and only a different one is news.

use sha2::{Digest, Sha256};

/// What a clipboard holds, reduced to a digest: text by its UTF-8, an image by its size and
/// RGBA pixels (what the clipboard gives back, whatever format it was put there in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen([u8; 32]);

impl Seen {
    pub fn text(text: &str) -> Seen {
        Self::of(b"text", &[text.as_bytes()])
    }

    pub fn image(width: usize, height: usize, rgba: &[u8]) -> Seen {
        let dims = [(width as u64).to_be_bytes(), (height as u64).to_be_bytes()].concat();
        Self::of(b"image", &[&dims, rgba])
    }

    fn of(kind: &[u8], parts: &[&[u8]]) -> Seen {
        let mut h = Sha256::new();
        h.update(kind);
        for p in parts {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p);
        }
        Seen(h.finalize().into())
    }
}

#[derive(Default)]
pub struct EchoGuard {
    /// What the clipboard last held that `clip` could read; `None` before it held any.
    current: Option<Seen>,
    /// Whether the clipboard was looked at yet.
    looked: bool,
}

impl EchoGuard {
    /// The clipboard was read and holds `now`: is it a copy the user made that the session
    /// has not seen? Not on the first look (what was there before `clip` started stays
    /// local), not for what `clip` itself put there, and not twice for one copy.
    pub fn user_copied(&mut self, now: Seen) -> bool {
        let news = self.looked && self.current != Some(now);
        self.current = Some(now);
        self.looked = true;
        news
    }

    /// The clipboard held nothing `clip` can share, or could not be read this time. That
    /// is not a change: the copy seen before is still not news when it is read again (a
    /// busy owner must not make one copy go out twice). Only a first look counts it, so
    /// that the first copy onto an empty clipboard is news.
    pub fn saw_nothing(&mut self) {
        self.looked = true;
    }

    /// `clip` put `it` on the clipboard (an item from the session).
    pub fn placed(&mut self, it: Seen) {
        self.current = Some(it);
        self.looked = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_there_at_the_start_stays_local_and_each_copy_goes_once() {
        let mut g = EchoGuard::default();
        assert!(!g.user_copied(Seen::text("old secret")));
        assert!(!g.user_copied(Seen::text("old secret")));
        assert!(g.user_copied(Seen::text("new")));
        assert!(!g.user_copied(Seen::text("new")), "one copy is sent once");
        assert!(
            g.user_copied(Seen::text("old secret")),
            "copied again: news"
        );
    }

    #[test]
    fn what_clip_placed_is_never_sent_back() {
        // Two clip members: A's copy reaches B, B places it; B's next look finds it there.
        let mut b = EchoGuard::default();
        assert!(!b.user_copied(Seen::text("")));
        b.placed(Seen::text("from A"));
        assert!(!b.user_copied(Seen::text("from A")));
        b.placed(Seen::image(2, 1, &[0; 8]));
        assert!(!b.user_copied(Seen::image(2, 1, &[0; 8])));
        assert!(
            b.user_copied(Seen::text("from A")),
            "the user copied it again"
        );
    }

    #[test]
    fn the_first_copy_onto_an_empty_clipboard_is_news() {
        let mut g = EchoGuard::default();
        g.saw_nothing();
        assert!(g.user_copied(Seen::text("first")));
    }

    #[test]
    fn a_read_that_fails_between_two_of_one_copy_sends_it_once() {
        let mut g = EchoGuard::default();
        g.saw_nothing();
        assert!(g.user_copied(Seen::image(2, 1, &[7; 8])));
        g.saw_nothing();
        assert!(!g.user_copied(Seen::image(2, 1, &[7; 8])));
    }

    #[test]
    fn digests_tell_kinds_and_shapes_apart() {
        assert_ne!(Seen::text("ab"), Seen::image(0, 0, b"ab"));
        assert_ne!(Seen::image(1, 2, &[0; 8]), Seen::image(2, 1, &[0; 8]));
    }
}
