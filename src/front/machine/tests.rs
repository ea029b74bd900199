//! A connection's states, one section each: the deadline it runs under and what its passing
//! means, how it is read, what finishing a write leads to, and what leaving it gives back.

use std::time::Duration;

use super::*;
use crate::util::arena::Handle;
use crate::wire::http_head::parse_request_head;

const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

fn session() -> SessionId {
    Handle::from_bits(5)
}

fn head(raw: &str) -> RequestHead {
    parse_request_head(raw.as_bytes(), 64)
        .expect("a valid head")
        .expect("a complete head")
}

fn bridge() -> Box<Bridge> {
    let (unix, _) = mio::net::UnixStream::pair().expect("a socket pair");
    let raw = "GET / HTTP/1.1\r\nHost: pi\r\n\r\n";
    Box::new(Bridge::new(
        unix,
        &head(raw),
        raw.as_bytes(),
        "192.168.1.20:50000".parse().expect("an address"),
    ))
}

/// Every state, for the properties that hold across them.
fn every_state() -> Vec<State> {
    vec![
        State::Head,
        State::Body {
            session: session(),
            need: 10,
            answer_headers: String::new(),
        },
        State::Held {
            session: session(),
            answer_headers: String::new(),
        },
        State::BridgeWait {
            head: head("GET / HTTP/1.1\r\nHost: pi\r\n\r\n"),
            raw: Vec::new(),
        },
        State::Bridge(bridge()),
        State::WebSocket {
            session: session(),
            reader: Box::new(WsReader::new(1000, &[])),
        },
        State::Closing { drain: 0 },
        State::Lingering { left: 10 },
    ]
}

// ----- every state ----------------------------------------------------------------------------

#[test]
fn each_state_runs_under_at_most_one_deadline_of_its_own_kind() {
    let waits: Vec<Option<Wait>> = every_state().iter().map(State::wait).collect();
    assert_eq!(
        waits,
        [
            Some(Wait::Head),
            Some(Wait::Body),
            None, // a parked GET: the engine's heartbeat times it
            Some(Wait::Bridge),
            Some(Wait::Drain),
            None, // a WebSocket: the engine's heartbeat times it
            Some(Wait::Drain),
            Some(Wait::Linger),
        ]
    );
    // The head timeout no longer stands in for the others.
    assert_eq!(Wait::Bridge.duration(HEAD_TIMEOUT), BRIDGE_WAIT);
    assert_eq!(Wait::Linger.duration(HEAD_TIMEOUT), LINGER);
    for wait in [Wait::Head, Wait::Body, Wait::Drain] {
        assert_eq!(wait.duration(HEAD_TIMEOUT), HEAD_TIMEOUT);
    }
}

// ----- Head -------------------------------------------------------------------------------------

#[test]
fn a_head_has_its_whole_time_from_its_first_byte_and_pipelined_heads_wait_their_turn() {
    let state = State::Head;
    assert!(
        !Wait::Head.restarts_on(Progress::Read),
        "a head trickled a byte at a time is cut off all the same"
    );
    assert_eq!(state.expiry(false), Expiry::Reject(408, "request timeout"));
    assert_eq!(
        state.expiry(true),
        Expiry::Close,
        "an idle keep-alive goes quietly"
    );
    assert_eq!(state.reading(false), Reading::Http);
    assert_eq!(
        state.reading(true),
        Reading::Wait,
        "the next pipelined request is read once the answer is out"
    );
    assert_eq!(state.after_write(false, true), AfterWrite::Nothing);
    assert_eq!(state.after_write(true, true), AfterWrite::ReadNext);
    assert_eq!(state.after_write(true, false), AfterWrite::Nothing);
    assert!(matches!(state.release(), Release::Nothing));
}

// ----- Body and Held: a polling request -------------------------------------------------------

#[test]
fn a_body_keeps_its_time_while_bytes_arrive_and_gives_its_request_back() {
    let state = State::Body {
        session: session(),
        need: 10,
        answer_headers: String::new(),
    };
    assert!(Wait::Body.restarts_on(Progress::Read));
    assert!(!Wait::Body.restarts_on(Progress::Written));
    assert_eq!(state.expiry(false), Expiry::Reject(408, "request timeout"));
    assert_eq!(state.reading(false), Reading::Http);
    assert!(matches!(state.release(), Release::PollingConn(s) if s == session()));
}

#[test]
fn a_parked_poll_has_no_deadline_of_its_own_and_watches_only_for_eof() {
    let state = State::Held {
        session: session(),
        answer_headers: String::new(),
    };
    assert_eq!(state.wait(), None);
    assert_eq!(state.reading(false), Reading::WatchEof);
    assert!(matches!(state.release(), Release::PollingConn(s) if s == session()));
}

// ----- BridgeWait and Bridge: the hand-off to the workers ------------------------------------

#[test]
fn a_request_waiting_for_a_worker_is_answered_503_when_none_frees_in_time() {
    let state = State::BridgeWait {
        head: head("GET /health HTTP/1.1\r\nHost: pi\r\n\r\n"),
        raw: Vec::new(),
    };
    assert!(!Wait::Bridge.restarts_on(Progress::Read));
    assert_eq!(state.expiry(false), Expiry::Reject(503, "server busy"));
    assert_eq!(state.reading(false), Reading::WatchEof);
    assert!(matches!(state.release(), Release::BridgeQueue));
}

#[test]
fn a_bridged_response_goes_at_the_clients_pace_and_gives_its_slot_back() {
    let state = State::Bridge(bridge());
    assert_eq!(state.wait(), Some(Wait::Drain));
    assert!(Wait::Drain.restarts_on(Progress::Written));
    assert_eq!(state.expiry(false), Expiry::Close);
    assert_eq!(state.reading(false), Reading::WatchEof);
    assert_eq!(
        state.after_write(true, true),
        AfterWrite::Nothing,
        "the worker may send more"
    );
    assert!(matches!(state.release(), Release::Bridge(_)));
}

// ----- WebSocket --------------------------------------------------------------------------------

#[test]
fn a_websocket_is_read_frame_by_frame_and_gives_its_session_back() {
    let state = State::WebSocket {
        session: session(),
        reader: Box::new(WsReader::new(1000, &[])),
    };
    assert_eq!(state.reading(false), Reading::WebSocket);
    assert_eq!(state.after_write(true, true), AfterWrite::Nothing);
    assert!(matches!(state.release(), Release::WebSocket(s) if s == session()));
}

// ----- Closing and Lingering --------------------------------------------------------------------

#[test]
fn a_last_answer_or_close_frame_is_written_then_what_the_client_still_sends_is_drained() {
    let quiet = State::Closing { drain: 0 };
    let refused = State::Closing { drain: 5000 };
    for state in [&quiet, &refused] {
        assert_eq!(state.reading(false), Reading::Discard);
        assert_eq!(
            state.expiry(false),
            Expiry::Close,
            "a client that stopped reading"
        );
        assert_eq!(state.after_write(false, true), AfterWrite::Nothing);
    }
    assert_eq!(quiet.after_write(true, true), AfterWrite::Close);
    assert_eq!(refused.after_write(true, true), AfterWrite::Linger(5000));
    assert!(matches!(refused.release(), Release::Nothing));

    let lingering = State::Lingering { left: 5000 };
    assert!(
        Wait::Linger.restarts_on(Progress::Read),
        "a slow uploader drains at its pace"
    );
    assert!(!Wait::Linger.restarts_on(Progress::Written));
    assert_eq!(lingering.reading(false), Reading::Linger);
    assert_eq!(lingering.expiry(false), Expiry::Close);
    assert!(matches!(lingering.release(), Release::Nothing));
}
