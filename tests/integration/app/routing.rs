//! The `route` query key.

use super::*;

#[test]
fn a_routed_connection_may_join_only_its_session() {
    let server = Server::start(&[]);
    // The library's key, which a unit test pins to tests/vectors/route-key.json.
    let key = sharethings::app::route_key("routed");
    assert_eq!(key.len(), 16);
    let mut c = SioClient::connect_with(server.addr(), &format!("&route={key}"));
    let ack = c.emit_ack("join", &join_json("elsewhere", "A", "pw"));
    assert_failure(&ack, "invalid_request");
    let ack = join(&mut c, "routed", "A", "pw");
    assert!(bool_of(get(&ack, "created")));
}
