//! The two sides of a run against each other, in memory, on a virtual clock.

use super::*;
use crate::v3::apply::{Applicant, Outcome};
use crate::v3::keys::{derive_prs_with, Device};
use crate::v3::store::Membership;

fn member(prs: Option<Key>) -> (tempfile::TempDir, Member) {
    let dir = tempfile::tempdir().unwrap();
    let creator = Device::generate();
    let secret = RoomSecret {
        session_id: "room".into(),
        room_key: [5; 32],
        creator_pk: creator.public_key(),
        prs,
    };
    let stored = Membership::new(dir.path(), "o", secret, creator, "Laptop");
    (dir, Member::new(stored))
}

/// Moves messages between the applicant ("A") and the member ("B") until neither sends.
fn run(
    admissions: &mut Admissions,
    m: &mut Member,
    a: &mut Applicant,
    now: Instant,
) -> (Vec<Outcome>, Vec<Action>) {
    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    let mut to_b: Vec<(u64, Value)> = Vec::new();
    for o in a.next(now) {
        match o {
            Outcome::Send { step, data, .. } => to_b.push((step, data)),
            other => seen_a.push(other),
        }
    }
    while !to_b.is_empty() {
        let mut to_a = Vec::new();
        for (step, data) in to_b.drain(..) {
            for action in admissions.on_admit(m, "B", "A", step, &data, now) {
                match action {
                    Action::Send { step, data, .. } => to_a.push((step, data)),
                    other => seen_b.push(other),
                }
            }
        }
        for (step, data) in to_a {
            for o in a.on_admit("B", step, &data, now) {
                match o {
                    Outcome::Send { step, data, .. } => to_b.push((step, data)),
                    other => seen_a.push(other),
                }
            }
        }
    }
    (seen_a, seen_b)
}

#[test]
fn the_right_passphrase_is_admitted_with_the_room_secret() {
    let prs = derive_prs_with("pass", "room", 2);
    let (_dir, mut m) = member(Some(prs));
    let mut adm = Admissions::default();
    let device = Device::generate();
    let id = device.id();
    let mut a = Applicant::new(prs, "room", "A", vec!["B".into()], device, "nas");
    let (outcomes, actions) = run(&mut adm, &mut m, &mut a, Instant::now());
    let [Outcome::Admitted(admitted)] = &outcomes[..] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(admitted.secret, m.stored.secret);
    assert_eq!(admitted.record.device, id);
    assert!(admitted.cards.iter().any(|c| c.name == "Laptop"));
    assert!(matches!(&actions[0], Action::Announce(v) if v["kind"] == "admitted"));
    assert_eq!(m.stored.recent_failures(now_ms()), 0);
}

#[test]
fn a_wrong_passphrase_fails_on_both_sides_and_is_announced() {
    let (_dir, mut m) = member(Some(derive_prs_with("right", "room", 2)));
    let mut adm = Admissions::default();
    let wrong = derive_prs_with("wrong", "room", 2);
    let mut a = Applicant::new(
        wrong,
        "room",
        "A",
        vec!["B".into()],
        Device::generate(),
        "x",
    );
    let (outcomes, actions) = run(&mut adm, &mut m, &mut a, Instant::now());
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::WrongPassphrase)),
        "{outcomes:?}"
    );
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Announce(v) if v["kind"] == "admission-failed")));
    assert_eq!(m.stored.recent_failures(now_ms()), 1);
}

#[test]
fn after_three_failures_a_member_makes_the_applicant_wait() {
    let prs = derive_prs_with("right", "room", 2);
    let (_dir, mut m) = member(Some(prs));
    for _ in 0..4 {
        m.stored.count_failure(now_ms());
    }
    let mut adm = Admissions::default();
    let t0 = Instant::now();
    let mut a = Applicant::new(prs, "room", "A", vec!["B".into()], Device::generate(), "x");
    let (outcomes, _) = run(&mut adm, &mut m, &mut a, t0);
    assert!(
        matches!(&outcomes[0], Outcome::Note(n) if n.contains("wait 2 s")),
        "{outcomes:?}"
    );
    assert_eq!(adm.next_due(), Some(t0 + Duration::from_secs(2)));
    assert!(adm
        .tick(&mut m, "B", t0 + Duration::from_secs(1))
        .is_empty());
    let later = t0 + Duration::from_secs(2);
    let step2 = adm.tick(&mut m, "B", later);
    let [Action::Send { step: 2, data, .. }] = &step2[..] else {
        panic!("{step2:?}")
    };
    let mut to_b = Vec::new();
    for o in a.on_admit("B", 2, data, later) {
        if let Outcome::Send { step, data, .. } = o {
            to_b.push((step, data));
        }
    }
    let (step, data) = &to_b[0];
    let step4 = adm.on_admit(&mut m, "B", "A", *step, data, later);
    let Action::Send { step: 4, data, .. } = &step4[0] else {
        panic!()
    };
    assert!(matches!(
        &a.on_admit("B", 4, data, later)[..],
        [Outcome::Admitted(_)]
    ));
}

#[test]
fn abandoned_and_repeated_runs_count_as_failures() {
    let prs = derive_prs_with("right", "room", 2);
    let (_dir, mut m) = member(Some(prs));
    let mut adm = Admissions::default();
    let t0 = Instant::now();
    let mut a = Applicant::new(prs, "room", "A", vec!["B".into()], Device::generate(), "x");
    let [Outcome::Send { data: step1, .. }] = &a.next(t0)[..] else {
        panic!()
    };
    let step1 = step1.clone();
    assert!(matches!(
        &adm.on_admit(&mut m, "B", "A", 1, &step1, t0)[..],
        [Action::Send { step: 2, .. }]
    ));
    // The same sid again: refused, and the run it answered ends as failed.
    let again = adm.on_admit(&mut m, "B", "A", 1, &step1, t0);
    assert!(again.iter().any(|a| matches!(a, Action::Announce(_))));
    assert!(!again.iter().any(|a| matches!(a, Action::Send { .. })));
    // A run answered and never finished fails after 60 s.
    let mut b = Applicant::new(prs, "room", "C", vec!["B".into()], Device::generate(), "y");
    let [Outcome::Send { data, .. }] = &b.next(t0)[..] else {
        panic!()
    };
    adm.on_admit(&mut m, "B", "C", 1, data, t0);
    assert!(adm
        .tick(&mut m, "B", t0 + Duration::from_secs(59))
        .is_empty());
    let late = adm.tick(&mut m, "B", t0 + Duration::from_secs(60));
    assert!(late
        .iter()
        .any(|a| matches!(a, Action::Note(n) if n.contains("wrong passphrase"))));
    assert_eq!(m.stored.recent_failures(now_ms()), 2);
    // A member without prs (joined by an invite that had none) cannot admit.
    let (_d, mut no_prs) = member(None);
    let notes = Admissions::default().on_admit(&mut no_prs, "B", "A", 1, &step1, t0);
    assert!(matches!(&notes[..], [Action::Note(_)]));
}
