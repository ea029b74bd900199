//! Handshake: the open packet, the reference order of checks, a full arena.

use super::*;

#[test]
fn handshake_opens_a_session_with_the_configured_timings() {
    let mut f = Fixture::new();
    let outcome = f.request(ms(0), Method::Get, "EIO=4&transport=polling", false, 1);
    let (status, body) = reply_body(&outcome);
    assert_eq!(status, 200);
    assert!(body.starts_with("0{\"sid\":\""), "{body}");
    assert!(body.contains("\"upgrades\":[\"websocket\"]"), "{body}");
    assert!(
        body.contains("\"pingInterval\":300,\"pingTimeout\":200"),
        "{body}"
    );
    assert!(matches!(f.events()[..], [Event::Open(_)]));
}

#[test]
fn handshake_checks_in_the_reference_order() {
    let mut f = Fixture::new();
    let cases = [
        (Method::Get, "EIO=4&transport=abc", 0),
        (Method::Get, "EIO=4&transport=polling&sid=nope", 1),
        (Method::Post, "EIO=4&transport=polling", 2),
        (Method::Get, "EIO=3&transport=polling", 5),
    ];
    for (method, query, code) in cases {
        let (status, body) = reply_body(&f.request(ms(0), method, query, false, 1));
        assert_eq!(status, 400, "{query}");
        assert!(
            body.starts_with(&format!("{{\"code\":{code},")),
            "{query}: {body}"
        );
    }
    assert!(f.events().is_empty());
}

#[test]
fn a_full_arena_refuses_with_forbidden() {
    let mut f = Fixture::new();
    for _ in 0..config().max_sessions {
        f.request(ms(0), Method::Get, "EIO=4&transport=polling", false, 1);
    }
    let (status, _) =
        reply_body(&f.request(ms(0), Method::Get, "EIO=4&transport=polling", false, 1));
    assert_eq!(status, 403);
}
