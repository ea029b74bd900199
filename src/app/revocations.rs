//! The tokens a room no longer accepts.
//!
//! `leave` revokes every token of the member that left, and they stay revoked until they
//! would have expired anyway, however many members come and go. Memory is bounded all the
//! same: a room lists at most [`REVOKED_PER_ROOM`] revocations, and one that has to make room
//! raises the room's floor instead of forgetting. Every token carries its issue number (one
//! counter per room), and tokens issued before the floor are refused: the dropped member's
//! too, since its last token is below it. Members whose tokens are that old sign in again
//! with the passphrase (clients send the fingerprint with every rejoin, so they do not
//! notice) and come back under a new id. Revocations of tokens that expired are dropped
//! first, at no cost to anyone.

use std::collections::VecDeque;

use super::room_record::Revocation;
use super::tokens::TokenClaims;

/// Revocations a room lists at most; past this the floor rises. A room sees far fewer leaves
/// than this within a token's lifetime, unless someone with the passphrase churns on purpose
/// (the security review's B3 rejoined a revoked token after 1024 such leaves).
pub const REVOKED_PER_ROOM: usize = 1024;

struct Revoked {
    client_id: String,
    /// The issue number of the last token the member was given.
    last_issue: u64,
    /// When that token expires (milliseconds on the server's clock).
    expires_ms: u64,
}

#[derive(Default)]
pub struct Revocations {
    /// Oldest first.
    listed: VecDeque<Revoked>,
    /// Tokens issued before this are refused.
    floor: u64,
}

impl Revocations {
    /// Revokes every token of `client_id`, the last of which was issue `last_issue` and
    /// expires at `expires_ms`.
    pub fn revoke(&mut self, client_id: &str, last_issue: u64, expires_ms: u64, now_ms: u64) {
        self.listed.retain(|r| r.expires_ms > now_ms);
        if self.listed.len() >= REVOKED_PER_ROOM {
            if let Some(oldest) = self.listed.pop_front() {
                self.floor = self.floor.max(oldest.last_issue.saturating_add(1));
            }
        }
        self.listed.push_back(Revoked {
            client_id: client_id.to_string(),
            last_issue,
            expires_ms,
        });
    }

    /// The revocations listed, oldest first (what a room on disk keeps, see `room_record`).
    pub fn listed(&self) -> Vec<Revocation> {
        self.listed
            .iter()
            .map(|r| Revocation {
                client_id: r.client_id.clone(),
                last_issue: r.last_issue,
                expires_ms: r.expires_ms,
            })
            .collect()
    }

    /// Whether a valid token of this room may still rejoin.
    pub fn accepts(&self, claims: &TokenClaims) -> bool {
        claims.issue >= self.floor && !self.listed.iter().any(|r| r.client_id == claims.client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(client_id: &str, issue: u64) -> TokenClaims {
        TokenClaims {
            room_nonce: 1,
            client_id: client_id.into(),
            expires_ms: 1_000_000,
            issue,
        }
    }

    #[test]
    fn a_revoked_member_stays_revoked_however_many_leave_after_it() {
        let mut revocations = Revocations::default();
        revocations.revoke("victim", 5, 1_000_000, 0);
        assert!(!revocations.accepts(&claims("victim", 5)));
        assert!(
            !revocations.accepts(&claims("victim", 3)),
            "older tokens too"
        );
        // Twice the list's size in later leaves, each member given a token after the last.
        for n in 0..2 * REVOKED_PER_ROOM as u64 {
            revocations.revoke(&format!("m{n}"), 10 + n, 1_000_000, 0);
            assert!(
                !revocations.accepts(&claims("victim", 5)),
                "after {n} leaves"
            );
        }
        assert!(revocations.listed.len() <= REVOKED_PER_ROOM);
        // A member that joined after the floor rose keeps rejoining with its token.
        assert!(revocations.accepts(&claims("newcomer", 10 + 2 * REVOKED_PER_ROOM as u64)));
    }

    #[test]
    fn revocations_of_expired_tokens_make_room_without_raising_the_floor() {
        let mut revocations = Revocations::default();
        for n in 0..REVOKED_PER_ROOM as u64 {
            revocations.revoke(&format!("m{n}"), n, 500, 0);
        }
        // Past 500 ms those tokens are dead anyway: the list empties, the floor stays.
        revocations.revoke("late", 2000, 1_000_000, 600);
        assert_eq!(revocations.floor, 0);
        assert_eq!(revocations.listed.len(), 1);
        assert!(revocations.accepts(&claims("other", 1)));
        assert!(!revocations.accepts(&claims("late", 2000)));
    }
}
