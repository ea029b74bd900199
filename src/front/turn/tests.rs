//! The order of a turn: leftovers first and once, writes in the order of reads.

use super::*;

fn conn(n: u64) -> Handle {
    Handle::from_bits(n)
}

#[test]
fn input_left_from_earlier_turns_is_read_first_once_in_the_order_it_was_left() {
    let t0 = Instant::now();
    let mut turn = Turn::new(t0);
    assert!(!turn.has_leftovers());
    for n in [7, 3, 7, 9, 3] {
        turn.read_again(conn(n));
    }
    assert!(turn.has_leftovers(), "the next wait must not block");
    assert_eq!(turn.begin(t0), vec![conn(7), conn(3), conn(9)]);
    assert!(!turn.has_leftovers());
    assert!(turn.begin(t0).is_empty(), "each leftover is read once");
}

#[test]
fn connections_are_written_in_the_order_they_were_read_then_the_others() {
    // The conformance suite's case: 2probe and 5 on a WebSocket (connection 8, read first,
    // left over from the turn that upgraded it), then a poll on connection 2: the 3probe the
    // WebSocket is owed goes out before the poll's answer.
    let t0 = Instant::now();
    let mut turn = Turn::new(t0);
    turn.read_again(conn(8));
    let leftovers = turn.begin(t0);
    for id in leftovers {
        turn.was_read(id);
    }
    turn.was_read(conn(2));
    // Queued in any order, some twice, one never read (a relay to a third connection).
    for n in [2, 5, 8, 2] {
        turn.wants_write(conn(n));
    }
    assert_eq!(turn.take_writes(), vec![conn(8), conn(2), conn(5)]);
    assert!(turn.take_writes().is_empty());
    // Later in the same turn, the read order still rules.
    turn.wants_write(conn(5));
    turn.wants_write(conn(2));
    assert_eq!(turn.take_writes(), vec![conn(2), conn(5)]);
    // A new turn starts a new order.
    turn.begin(t0);
    turn.wants_write(conn(8));
    turn.wants_write(conn(2));
    assert_eq!(turn.take_writes(), vec![conn(2), conn(8)]);
}
