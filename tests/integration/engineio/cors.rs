//! Preflight and headers.

use super::*;

#[test]
fn cors_preflight_from_an_allowed_origin_names_it() {
    let server = Server::start(&["--cors-origins", "http://allowed.example"]);
    let res = http(
        server.addr(),
        "OPTIONS",
        "/socket.io/?EIO=4&transport=polling",
        &[
            ("Origin", "http://allowed.example"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        b"",
    );
    assert_eq!(res.status, 204, "{res:?}");
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("http://allowed.example")
    );
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
    assert!(res
        .header("access-control-allow-methods")
        .is_some_and(|m| m.contains("POST") && m.contains("GET")));
    assert_eq!(
        res.header("access-control-allow-headers"),
        Some("content-type")
    );
    // The requests themselves carry the header too.
    let res = http(
        server.addr(),
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        &[("Origin", "http://allowed.example")],
        b"",
    );
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("http://allowed.example")
    );
}

#[test]
fn every_polling_answer_to_an_allowed_origin_carries_cors_and_no_store() {
    let server = Server::start(&["--cors-origins", "http://allowed.example"]);
    let origin = [("Origin", "http://allowed.example")];
    let open = http(
        server.addr(),
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        &origin,
        b"",
    );
    let sid = str_of(get(&parse_json(&open.text()[1..]), "sid")).to_string();
    let target = polling_target(&sid);
    // A parked GET, answered later when the POST below makes the server send something.
    let mut parked = Http::connect(server.addr());
    parked.send(&request_bytes("GET", &target, &origin, b""));
    loop_barrier(server.addr());
    let post = http(server.addr(), "POST", &target, &origin, b"40");
    assert_eq!(post.status, 200, "{post:?}");
    let answer = parked.read_response_for("GET");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.text().starts_with("40"), "{answer:?}");
    for res in [&open, &post, &answer] {
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some("http://allowed.example"),
            "{res:?}"
        );
        assert_eq!(res.header("cache-control"), Some("no-store"), "{res:?}");
    }
}

#[test]
fn cors_preflight_without_an_allowed_origin_grants_nothing() {
    let server = Server::start(&["--cors-origins", "http://allowed.example"]);
    let res = http(
        server.addr(),
        "OPTIONS",
        "/socket.io/?EIO=4&transport=polling",
        &[("Access-Control-Request-Method", "POST")],
        b"",
    );
    assert!(res.status < 300, "{res:?}");
    assert_eq!(res.header("access-control-allow-origin"), None, "{res:?}");
    let res = http(
        server.addr(),
        "OPTIONS",
        "/socket.io/?EIO=4&transport=polling",
        &[
            ("Origin", "http://other.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    );
    res.assert_eio_error(403, 4, "Forbidden");
    assert_eq!(res.header("access-control-allow-origin"), None);
}
