//! The open packet on both transports.

use super::*;

fn assert_open_packet(open: &miniserde::json::Value, upgrades: &[&str]) {
    let miniserde::json::Value::Object(map) = open else {
        panic!("open packet is not an object");
    };
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(num(get(open, "pingInterval")), 300);
    assert_eq!(num(get(open, "pingTimeout")), 200);
    assert_eq!(num(get(open, "maxPayload")), 1000);
    assert_eq!(str_of(get(open, "sid")).len(), 20, "sid length");
    let got: Vec<&str> = arr(get(open, "upgrades")).iter().map(str_of).collect();
    assert_eq!(got, upgrades);
}

#[test]
fn open_packet_has_exactly_the_reference_keys_on_both_transports() {
    let server = Server::start(&[
        "--ping-interval",
        "300",
        "--ping-timeout",
        "200",
        "--max-payload",
        "1000",
    ]);
    let (_, open) = eio_open_polling(server.addr());
    assert_open_packet(&open, &["websocket"]);
    let (_ws, open) = ws_open(server.addr(), "");
    assert_open_packet(&open, &[]);
}
