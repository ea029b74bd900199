//! Tests of [`super`] (`timer`).

use super::*;
use proptest::prelude::*;

const TICK: Duration = Duration::from_millis(10);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn wheel(slots: usize, capacity: usize) -> (Instant, TimerWheel<u32>) {
    let start = Instant::now();
    (start, TimerWheel::new(start, TICK, slots, capacity))
}

fn expire(w: &mut TimerWheel<u32>, now: Instant) -> Vec<u32> {
    let mut fired = Vec::new();
    w.expire(now, &mut fired);
    fired.sort_unstable();
    fired
}

#[test]
fn fires_at_deadline_never_before() {
    let (t0, mut w) = wheel(8, 4);
    w.insert(t0 + ms(30), 1).unwrap();
    assert_eq!(w.next_deadline(), Some(t0 + ms(30)));
    assert!(expire(&mut w, t0 + ms(29)).is_empty());
    assert_eq!(expire(&mut w, t0 + ms(30)), vec![1]);
    assert!(w.is_empty());
    assert_eq!(w.next_deadline(), None);
}

#[test]
fn deadline_rounds_up_to_tick() {
    let (t0, mut w) = wheel(8, 4);
    w.insert(t0 + ms(31), 1).unwrap();
    assert_eq!(w.next_deadline(), Some(t0 + ms(40)));
    assert!(
        expire(&mut w, t0 + ms(31)).is_empty(),
        "still inside tick 3"
    );
    assert!(expire(&mut w, t0 + ms(39)).is_empty());
    assert_eq!(expire(&mut w, t0 + ms(40)), vec![1]);
}

#[test]
fn fires_when_checked_late() {
    let (t0, mut w) = wheel(8, 4);
    w.insert(t0 + ms(20), 1).unwrap();
    w.insert(t0 + ms(50), 2).unwrap();
    assert_eq!(expire(&mut w, t0 + ms(65)), vec![1, 2]);
}

#[test]
fn cancel_and_stale_ids() {
    let (t0, mut w) = wheel(8, 2);
    let a = w.insert(t0 + ms(20), 1).unwrap();
    let b = w.insert(t0 + ms(20), 2).unwrap();
    assert_eq!(w.cancel(a), Some(1));
    assert_eq!(w.cancel(a), None, "second cancel is a no-op");
    assert_eq!(w.len(), 1);
    assert_eq!(expire(&mut w, t0 + ms(20)), vec![2]);
    assert_eq!(w.cancel(b), None, "cancelling a fired timer is a no-op");
    // The freed entry slot is reused; the old ids must not reach the new timer.
    let c = w.insert(t0 + ms(40), 3).unwrap();
    assert_eq!(w.cancel(a), None);
    assert_eq!(w.cancel(b), None);
    assert_eq!(w.len(), 1);
    assert_eq!(expire(&mut w, t0 + ms(40)), vec![3]);
    assert_eq!(w.cancel(c), None);
}

#[test]
fn past_and_current_tick_fire_on_next_expire() {
    let (t0, mut w) = wheel(8, 4);
    assert!(expire(&mut w, t0 + ms(105)).is_empty());
    // Deadline long gone, and one inside the tick just processed (tick 10 = 100..110 ms):
    // both fire on the next call even though time has not moved.
    w.insert(t0, 1).unwrap();
    w.insert(t0 + ms(100), 2).unwrap();
    // One later in this same tick is not due yet: it rounds up to 110 ms.
    w.insert(t0 + ms(107), 3).unwrap();
    assert!(w.next_deadline().unwrap() <= t0 + ms(105));
    assert_eq!(expire(&mut w, t0 + ms(105)), vec![1, 2]);
    assert_eq!(w.next_deadline(), Some(t0 + ms(110)));
    assert_eq!(expire(&mut w, t0 + ms(110)), vec![3]);
}

#[test]
fn deadline_at_start_fires_immediately() {
    let (t0, mut w) = wheel(8, 4);
    w.insert(t0, 1).unwrap();
    assert_eq!(w.next_deadline(), Some(t0));
    assert_eq!(expire(&mut w, t0), vec![1]);
}

#[test]
fn long_deadlines_span_many_rounds() {
    // 8 slots of 10 ms: a turn is 80 ms. 1 s is 12.5 turns away.
    let (t0, mut w) = wheel(8, 4);
    w.insert(t0 + ms(1000), 1).unwrap();
    w.insert(t0 + ms(1000 - 80), 2).unwrap(); // same slot, one round earlier
    let mut now = t0;
    let mut fired_at = Vec::new();
    while now < t0 + ms(1200) {
        for k in expire(&mut w, now) {
            fired_at.push((k, now - t0));
        }
        now += ms(5);
    }
    assert_eq!(fired_at, vec![(2, ms(920)), (1, ms(1000))]);
}

#[test]
fn jump_over_many_turns_walks_one_turn() {
    let (t0, mut w) = wheel(8, 8);
    for k in 0..8u32 {
        w.insert(t0 + ms(u64::from(k) * 1000), k).unwrap();
    }
    assert_eq!(expire(&mut w, t0 + ms(3500)), vec![0, 1, 2, 3]);
    assert_eq!(expire(&mut w, t0 + ms(1_000_000)), vec![4, 5, 6, 7]);
    assert!(w.is_empty());
}

#[test]
fn many_timers_in_one_slot() {
    let (t0, mut w) = wheel(4, 100);
    let mut ids = Vec::new();
    for k in 0..100u32 {
        // Ticks 1, 5, 9, ...: all in slot 1, in 25 different rounds (4 timers each).
        let tick = 1 + 4 * u64::from(k / 4);
        ids.push(w.insert(t0 + TICK * tick as u32, k).unwrap());
    }
    assert!(w.insert(t0, 999).is_err(), "full");
    // Cancel every other one, from the middle of the lists.
    for id in ids.iter().skip(1).step_by(2) {
        assert!(w.cancel(*id).is_some());
    }
    let mut all = Vec::new();
    let mut now = t0;
    for _ in 0..200 {
        let fired = expire(&mut w, now);
        for k in &fired {
            let tick = 1 + 4 * u64::from(k / 4);
            assert!(now >= t0 + TICK * tick as u32, "{k} fired early");
        }
        all.extend(fired);
        now += TICK;
    }
    all.sort_unstable();
    assert_eq!(all, (0..100).step_by(2).collect::<Vec<_>>());
}

#[test]
fn full_is_an_error() {
    let (t0, mut w) = wheel(8, 1);
    w.insert(t0 + ms(10), 1).unwrap();
    assert_eq!(w.insert(t0 + ms(10), 2), Err(Full));
    assert_eq!(w.len(), 1);
    assert_eq!(w.capacity(), 1);
}

#[test]
fn reinsert_from_fired_does_not_loop() {
    let (t0, mut w) = wheel(8, 4);
    w.insert(t0 + ms(10), 1).unwrap();
    let mut fired = Vec::new();
    w.expire(t0 + ms(10), &mut fired);
    assert_eq!(fired, vec![1]);
    // The caller re-arms with a deadline in the tick just processed: next expire.
    w.insert(t0 + ms(10), 1).unwrap();
    fired.clear();
    w.expire(t0 + ms(10), &mut fired);
    assert_eq!(fired, vec![1]);
    fired.clear();
    w.expire(t0 + ms(10), &mut fired);
    assert!(fired.is_empty());
}

#[test]
fn next_deadline_finds_slot_across_words() {
    // 256 slots: the bitset spans four words; wrap around past the last one.
    let (t0, mut w) = wheel(256, 4);
    assert!(expire(&mut w, t0 + TICK * 200).is_empty());
    w.insert(t0 + TICK * 300, 1).unwrap(); // slot 44, after wrapping
    assert_eq!(w.next_deadline(), Some(t0 + TICK * 300));
    w.insert(t0 + TICK * 250, 2).unwrap(); // slot 250
    assert_eq!(w.next_deadline(), Some(t0 + TICK * 250));
    // One turn and a bit ahead in slot 210: the wheel may wake early at 210, never late.
    let far = w.insert(t0 + TICK * (210 + 256), 3).unwrap();
    assert_eq!(w.next_deadline(), Some(t0 + TICK * 210));
    w.cancel(far);
    assert_eq!(w.next_deadline(), Some(t0 + TICK * 250));
}

#[test]
fn one_slot_wheel() {
    let (t0, mut w) = wheel(1, 4);
    w.insert(t0 + ms(35), 1).unwrap();
    w.insert(t0 + ms(15), 2).unwrap();
    assert_eq!(w.next_deadline(), Some(t0), "early is allowed");
    assert_eq!(expire(&mut w, t0 + ms(20)), vec![2]);
    assert_eq!(expire(&mut w, t0 + ms(40)), vec![1]);
}

#[test]
#[should_panic(expected = "power of two")]
fn slots_must_be_power_of_two() {
    let _ = TimerWheel::<u32>::new(Instant::now(), TICK, 12, 1);
}

#[test]
fn time_before_start_is_tick_zero() {
    let t0 = Instant::now() + ms(1000);
    let mut w = TimerWheel::new(t0, TICK, 8, 2);
    w.insert(t0 - ms(500), 1u32).unwrap();
    let mut fired = Vec::new();
    w.expire(t0 - ms(900), &mut fired);
    assert_eq!(
        fired,
        vec![1],
        "a deadline at or before start is due at tick 0"
    );
}

#[derive(Debug, Clone)]
enum Op {
    /// Arm a timer this many ms after the current virtual time (negative: in the past).
    Insert(i64),
    /// Cancel the n-th id ever issued (maybe fired or cancelled already).
    Cancel(usize),
    /// Advance virtual time by this many ms and expire.
    Advance(u64),
    /// Expire without moving time.
    Expire,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (-50i64..3000).prop_map(Op::Insert),
        2 => any::<usize>().prop_map(Op::Cancel),
        3 => prop_oneof![0u64..30, 0u64..2000].prop_map(Op::Advance),
        1 => Just(Op::Expire),
    ]
}

proptest! {
    // Failures are reported with their minimal input; no regression files in the tree.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn matches_a_sorted_vec_model(
        slots_log in 0u32..6,
        ops in proptest::collection::vec(op(), 0..150),
    ) {
        let t0 = Instant::now() + ms(100);
        let capacity = 32;
        let mut w = TimerWheel::new(t0, TICK, 1 << slots_log, capacity);
        // (deadline, key) of armed timers, kept sorted by deadline.
        let mut model: Vec<(Instant, u32)> = Vec::new();
        let mut ids: Vec<(TimerId, u32)> = Vec::new();
        let mut now = t0;
        // Whatever is due by the last expire's `now` (rounded deadline <= it) fired then.
        let mut next_key = 0u32;
        for op in ops {
            match op {
                Op::Insert(offset) => {
                    let deadline = if offset < 0 {
                        now - ms(offset.unsigned_abs())
                    } else {
                        now + ms(offset.unsigned_abs())
                    };
                    let key = next_key;
                    next_key += 1;
                    match w.insert(deadline, key) {
                        Ok(id) => {
                            prop_assert!(model.len() < capacity);
                            let at = model.partition_point(|(d, _)| *d <= deadline);
                            model.insert(at, (deadline, key));
                            ids.push((id, key));
                        }
                        Err(Full) => prop_assert_eq!(model.len(), capacity),
                    }
                }
                Op::Cancel(i) if !ids.is_empty() => {
                    let (id, key) = ids[i % ids.len()];
                    let armed = model.iter().position(|(_, k)| *k == key);
                    let got = w.cancel(id);
                    match armed {
                        Some(at) => {
                            prop_assert_eq!(got, Some(key));
                            model.remove(at);
                        }
                        None => prop_assert_eq!(got, None),
                    }
                }
                Op::Cancel(_) => {}
                Op::Advance(_) | Op::Expire => {
                    if let Op::Advance(by) = op {
                        now += ms(by);
                    }
                    let mut fired = Vec::new();
                    w.expire(now, &mut fired);
                    fired.sort_unstable();
                    // Due: the deadline rounded up to the tick is <= now.
                    let due_by = |d: Instant| {
                        let ticks = d.saturating_duration_since(t0).as_nanos()
                            .div_ceil(TICK.as_nanos());
                        t0 + TICK * ticks as u32 <= now
                    };
                    let mut expected: Vec<u32> = model.iter()
                        .filter(|(d, _)| due_by(*d)).map(|(_, k)| *k).collect();
                    expected.sort_unstable();
                    for key in &fired {
                        let deadline = model.iter().find(|(_, k)| k == key).map(|(d, _)| *d);
                        prop_assert!(deadline.is_some_and(|d| d <= now), "{} fired early", key);
                    }
                    prop_assert_eq!(&fired, &expected);
                    model.retain(|(_, k)| !fired.contains(k));
                }
            }
            prop_assert_eq!(w.len(), model.len());
            match (w.next_deadline(), model.first()) {
                (None, None) => {}
                (Some(wake), Some((earliest, _))) => {
                    // Never late: by the time the earliest timer can fire, the loop woke
                    // (an instant at or before `now` means "at once").
                    let ticks = earliest.saturating_duration_since(t0).as_nanos()
                        .div_ceil(TICK.as_nanos());
                    prop_assert!(wake <= (t0 + TICK * ticks as u32).max(now));
                }
                (wake, first) => prop_assert!(false, "next_deadline {:?} vs model {:?}", wake, first),
            }
        }
    }
}
