use super::*;

#[test]
fn waits_for_a_member_and_skips_one_that_does_not_answer() {
    let t0 = Instant::now();
    let mut a = Applicant::new([1; 32], "room", "A", Vec::new(), Device::generate(), "nas");
    assert!(matches!(&a.next(t0)[..], [Outcome::Note(n)] if n == NOBODY));
    // Said once while nobody comes, not at every tick.
    assert!(a.tick(t0 + Duration::from_secs(1)).is_empty());
    let asked = a.member_joined("B1", t0);
    assert!(matches!(&asked[..], [Outcome::Send { to, step: 1, .. }] if to == "B1"));
    assert!(a.member_joined("B2", t0).is_empty(), "one member at a time");
    assert_eq!(a.deadline(), Some(t0 + ANSWER_WAIT));
    let next = a.tick(t0 + ANSWER_WAIT);
    assert!(matches!(&next[..], [Outcome::Send { to, step: 1, .. }] if to == "B2"));
    // B2 says to wait: the deadline moves; a message from B1 now is ignored.
    let wait = a.on_admit("B2", 0, &json!({"waitMs": 8000}), t0 + ANSWER_WAIT);
    assert!(matches!(&wait[..], [Outcome::Note(_)]));
    assert_eq!(
        a.deadline(),
        Some(t0 + ANSWER_WAIT * 2 + Duration::from_secs(8))
    );
    assert!(a.on_admit("B1", 2, &json!({}), t0).is_empty());
    // B2 leaves: B1 is asked again (everyone was tried, so the round starts over).
    let gone = a.member_left("B2", t0 + ANSWER_WAIT);
    assert!(matches!(&gone[..], [Outcome::Note(_)]), "{gone:?}");
    assert!(matches!(&a.next(t0)[..], [Outcome::Send { to, .. }] if to == "B1"));
    // Garbage in step 2 ends the run with that member, nothing else.
    let out = a.on_admit("B1", 2, &json!({"Yb": "AAAA", "Tb": 3}), t0);
    assert!(!out
        .iter()
        .any(|o| matches!(o, Outcome::WrongPassphrase | Outcome::Admitted(_))));
}

#[test]
fn nobody_online_is_said_once_and_again_after_a_member_came_and_went() {
    let t0 = Instant::now();
    let nobody = |o: &[Outcome]| matches!(o, [Outcome::Note(n)] if n == NOBODY);
    let mut a = Applicant::new([1; 32], "room", "A", Vec::new(), Device::generate(), "nas");
    assert!(nobody(&a.next(t0)));
    for s in 1..5 {
        assert!(a.tick(t0 + Duration::from_secs(s)).is_empty());
    }
    a.member_joined("B", t0);
    assert!(nobody(&a.member_left("B", t0)));
    assert!(a.tick(t0 + Duration::from_secs(6)).is_empty());
}
