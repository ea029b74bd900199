//! Members expected back after our own rejoin. When the server restarts (systemd starts it
//! again after a crash), every connection drops at once and each member rejoins on its own
//! backoff: a member that was in the session before the drop and is not in the member list of
//! our rejoin may be on its way back. It is given [`RETURN_GRACE`] to come back (a sender keeps
//! serving, a receiver keeps the partial items it sent) before it counts as gone. A server that
//! kept nothing of the session gives the member a new id: in format 3 it is known again by its
//! device, once its hello binds the new id to it; in format 2, which has no devices, by its
//! name when that is unambiguous.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::Member;

/// How long a member missing after our rejoin has to come back: the server's restart (a
/// couple of seconds under systemd's `RestartSec`), then the member's own reconnection
/// backoff (up to 4 s between tries), with room for a slow Pi.
pub const RETURN_GRACE: Duration = Duration::from_secs(30);

/// A member expected back: as it was, its v3 device, and until when.
struct Expected {
    member: Member,
    device: Option<String>,
    until: Instant,
}

#[derive(Default)]
pub struct Returning {
    /// By the member's id before the drop.
    expected: HashMap<String, Expected>,
    /// The ids of the members online before our last drop, and of those known again since:
    /// none of them is a member back under a new id.
    known: HashSet<String>,
}

impl Returning {
    /// After our rejoin at `now`: the members of `before` that are not in `after`, and those
    /// still expected from an earlier rejoin, are expected back until `now` + [`RETURN_GRACE`];
    /// returns them. Those in `after` came back while we were away.
    pub fn rejoined(
        &mut self,
        before: Vec<(Member, Option<String>)>,
        after: &[Member],
        now: Instant,
    ) -> Vec<Member> {
        let present = |id: &str| after.iter().any(|a| a.id == id);
        let until = now + RETURN_GRACE;
        self.known = before.iter().map(|(m, _)| m.id.clone()).collect();
        self.expected.retain(|id, _| !present(id));
        for e in self.expected.values_mut() {
            e.until = until;
        }
        for (member, device) in before.into_iter().filter(|(m, _)| !present(&m.id)) {
            self.expected.insert(
                member.id.clone(),
                Expected {
                    member,
                    device,
                    until,
                },
            );
        }
        let mut missing: Vec<Member> = self.expected.values().map(|e| e.member.clone()).collect();
        missing.sort_by(|a, b| a.id.cmp(&b.id));
        missing
    }

    /// `id` joined (or left for good): it is expected no more. Returns it as it was before
    /// the drop if it was expected.
    pub fn settled(&mut self, id: &str) -> Option<Member> {
        self.expected.remove(id).map(|e| e.member)
    }

    /// The member expected back on v3 device `device`, now back under another id: expected
    /// no more.
    pub fn back_on(&mut self, device: &str) -> Option<Member> {
        let id = self
            .expected
            .iter()
            .find(|(_, e)| e.device.as_deref() == Some(device))
            .map(|(id, _)| id.clone())?;
        self.expected.remove(&id).map(|e| e.member)
    }

    /// In format 2: the member expected back that is the only one expected under its name, if
    /// exactly one member of `online` has that name and a new id. Returns it as it was before
    /// the drop and as it is now. A format 2 name is whatever the member says, so where two
    /// have one name neither is guessed: each comes back under its old id or its grace ends.
    pub fn back_by_name(&mut self, online: &[Member]) -> Option<(Member, Member)> {
        let newcomers: Vec<&Member> = online
            .iter()
            .filter(|m| !self.known.contains(&m.id))
            .collect();
        let expected = &self.expected;
        let (id, now) = expected.iter().find_map(|(id, e)| {
            let name = &e.member.name;
            let alone = expected.values().filter(|o| &o.member.name == name).count() == 1;
            let mut same = newcomers.iter().filter(|m| &m.name == name);
            match (alone && !name.is_empty(), same.next(), same.next()) {
                (true, Some(m), None) => Some((id.clone(), (*m).clone())),
                _ => None,
            }
        })?;
        self.known.insert(now.id.clone());
        self.expected.remove(&id).map(|e| (e.member, now))
    }

    pub fn is_expected(&self, id: &str) -> bool {
        self.expected.contains_key(id)
    }

    pub fn any(&self) -> bool {
        !self.expected.is_empty()
    }

    /// A member whose grace is over by `now`, no longer expected: it is gone.
    pub fn overdue(&mut self, now: Instant) -> Option<Member> {
        let id = self
            .expected
            .iter()
            .find(|(_, e)| e.until <= now)
            .map(|(id, _)| id.clone())?;
        self.expected.remove(&id).map(|e| e.member)
    }

    /// When the next member's grace ends.
    pub fn next_due(&self) -> Option<Instant> {
        self.expected.values().map(|e| e.until).min()
    }
}

/// "back in the session", and who it waits for.
pub fn back_note(missing: &[Member]) -> String {
    if missing.is_empty() {
        return "back in the session".into();
    }
    let names: Vec<&str> = missing.iter().map(|m| m.name.as_str()).collect();
    format!(
        "back in the session; waiting up to {} s for {} to come back",
        RETURN_GRACE.as_secs(),
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str) -> Member {
        Member {
            id: id.into(),
            name: id.to_uppercase(),
        }
    }

    fn before(ids: &[&str]) -> Vec<(Member, Option<String>)> {
        ids.iter()
            .map(|id| (member(id), Some(format!("device-{id}"))))
            .collect()
    }

    #[test]
    fn members_missing_after_a_rejoin_are_expected_until_they_return_or_their_grace_ends() {
        let t0 = Instant::now();
        let mut r = Returning::default();
        let missing = r.rejoined(before(&["a", "b", "c"]), &[member("me"), member("b")], t0);
        assert_eq!(missing, [member("a"), member("c")]);
        assert!(r.is_expected("a") && r.is_expected("c") && !r.is_expected("b"));
        assert_eq!(r.next_due(), Some(t0 + RETURN_GRACE));
        assert_eq!(r.settled("a"), Some(member("a")));
        assert_eq!(r.settled("a"), None);
        assert!(!r.is_expected("a"));
        assert_eq!(
            r.overdue(t0 + RETURN_GRACE - Duration::from_millis(1)),
            None
        );
        assert_eq!(r.overdue(t0 + RETURN_GRACE), Some(member("c")));
        assert_eq!(r.overdue(t0 + RETURN_GRACE), None);
        assert!(!r.any());
        assert_eq!(r.next_due(), None);
    }

    #[test]
    fn a_member_back_under_a_new_id_is_known_by_its_device() {
        let t0 = Instant::now();
        let mut r = Returning::default();
        r.rejoined(before(&["a", "b"]), &[], t0);
        assert_eq!(r.back_on("device-x"), None);
        assert_eq!(r.back_on("device-b"), Some(member("b")));
        assert!(!r.is_expected("b") && r.is_expected("a"));
        // A v2 member has no device to be known by.
        r.rejoined(vec![(member("v2"), None)], &[], t0);
        assert_eq!(r.back_on(""), None);
    }

    #[test]
    fn a_format_2_member_back_under_a_new_id_is_known_by_its_name_when_that_is_unambiguous() {
        let t0 = Instant::now();
        let named = |id: &str, name: &str| Member {
            id: id.into(),
            name: name.into(),
        };
        let mut r = Returning::default();
        let before = ["a", "b", "c", "d", "e"].map(|id| {
            let name = if id == "c" || id == "d" {
                "TWIN"
            } else {
                &id.to_uppercase()
            };
            (named(id, name), None)
        });
        // `e` is still online under its old id; the others are missing.
        r.rejoined(before.into(), &[member("e")], t0);
        // Nobody new online yet; a member known before is not taken for another of its name.
        assert_eq!(r.back_by_name(&[member("e")]), None);
        assert_eq!(r.back_by_name(&[named("e", "A")]), None);
        // Two newcomers that say they are `B`: neither is guessed.
        assert_eq!(r.back_by_name(&[named("x", "B"), named("y", "B")]), None);
        // `A` under a new id, beside the `B`s.
        let online = [named("x", "B"), named("y", "B"), named("z", "A")];
        assert_eq!(
            r.back_by_name(&online),
            Some((member("a"), named("z", "A")))
        );
        assert!(!r.is_expected("a"));
        // Known again now: `z` is not a newcomer any more.
        assert_eq!(r.back_by_name(&online), None);
        // Two were expected under one name: a newcomer of that name is neither.
        assert_eq!(r.back_by_name(&[named("w", "TWIN")]), None);
        assert!(r.is_expected("c") && r.is_expected("d"));
    }

    #[test]
    fn a_second_rejoin_renews_the_grace_of_the_still_missing_and_settles_those_back() {
        let t0 = Instant::now();
        let mut r = Returning::default();
        r.rejoined(before(&["a", "b"]), &[], t0);
        let later = t0 + Duration::from_secs(20);
        // Between our two rejoins `b` came back, unseen: it is in the member list.
        let missing = r.rejoined(Vec::new(), &[member("b")], later);
        assert_eq!(missing, [member("a")]);
        assert!(!r.is_expected("b"));
        assert_eq!(r.overdue(t0 + RETURN_GRACE), None);
        assert_eq!(r.overdue(later + RETURN_GRACE), Some(member("a")));
    }

    #[test]
    fn the_note_names_whom_it_waits_for() {
        assert_eq!(back_note(&[]), "back in the session");
        assert_eq!(
            back_note(&[member("a"), member("b")]),
            "back in the session; waiting up to 30 s for A, B to come back"
        );
    }
}
