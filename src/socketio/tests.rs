//! Socket.IO on virtual time, with no sockets, sectioned by state: connecting (namespaces and
//! the connect timeout), connected (events, acks both ways, binary attachments), flow (acks
//! held while the sender is paused) and disconnecting.

use miniserde::json::{self, Value};

use super::harness::{ms, Client, Harness};
use super::*;

/// Records what the layer told it; `echo` is emitted back, `relay` goes to every other
/// connected socket through [`Io::relay`], acks are answered with the arguments.
#[derive(Default)]
struct Recorder {
    log: Vec<String>,
    sockets: Vec<SocketId>,
}

impl Application for Recorder {
    type Timer = u32;

    fn on_connect(
        &mut self,
        _io: &mut Io<'_, u32>,
        socket: SocketId,
        nsp: &str,
        auth: Option<Value>,
    ) {
        self.sockets.push(socket);
        let auth = auth.map_or("none".into(), |a| json::to_string(&a));
        self.log.push(format!("connect {nsp} {auth}"));
    }

    fn on_event(&mut self, io: &mut Io<'_, u32>, socket: SocketId, event: IncomingEvent) {
        let args = json::to_string(&Value::Array(event.args.clone().into_iter().collect()));
        self.log.push(format!(
            "event {} {args} +{} ack={:?}",
            event.name,
            event.attachments.len(),
            event.ack
        ));
        match event.name.as_str() {
            "echo" => io.emit(
                socket,
                "echo",
                event.args.clone(),
                event.attachments.clone(),
            ),
            "relay" => {
                let others: Vec<SocketId> = self
                    .sockets
                    .iter()
                    .copied()
                    .filter(|s| *s != socket)
                    .collect();
                let packet = Outgoing::event(
                    "/",
                    "relayed",
                    event.args.clone(),
                    event.attachments.clone(),
                );
                io.relay(socket, others, &packet);
            }
            "later" => {
                let _ = io.set_timer(io.now() + ms(500), 7);
            }
            _ => {}
        }
        if let Some(ack) = event.ack {
            io.ack(socket, ack, event.args, Vec::new());
        }
    }

    fn on_too_large(&mut self, _io: &mut Io<'_, u32>, _socket: SocketId, ack: Option<u64>) {
        self.log.push(format!("too large ack={ack:?}"));
    }

    fn on_ack(
        &mut self,
        _io: &mut Io<'_, u32>,
        _socket: SocketId,
        ack: u64,
        args: Vec<Value>,
        _attachments: Vec<Bytes>,
    ) {
        let args = json::to_string(&Value::Array(args.into_iter().collect()));
        self.log.push(format!("ack {ack} {args}"));
    }

    fn on_disconnect(&mut self, _io: &mut Io<'_, u32>, socket: SocketId, reason: DisconnectReason) {
        self.sockets.retain(|s| *s != socket);
        self.log.push(format!("disconnect {}", reason.as_str()));
    }

    fn on_timer(&mut self, _io: &mut Io<'_, u32>, key: u32) {
        self.log.push(format!("timer {key}"));
    }
}

fn harness() -> Harness<Recorder> {
    Harness::new(Recorder::default())
}

fn log(h: &mut Harness<Recorder>) -> Vec<String> {
    std::mem::take(&mut h.layer.app.log)
}

/// A session that has not joined a namespace yet.
fn unconnected(h: &mut Harness<Recorder>) -> Client {
    h.connect_from(
        ms(0),
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        "",
    )
}

// ----- connecting ------------------------------------------------------------------------------

#[test]
fn connect_acknowledges_with_a_socket_id_and_passes_auth() {
    let mut h = harness();
    let c = unconnected(&mut h);
    h.text(ms(1), c, r#"40/custom,{"token":"t"}"#);
    let sent = h.sent(c);
    assert!(sent[0].starts_with("40/custom,{\"sid\":\""), "{sent:?}");
    assert_eq!(log(&mut h), [r#"connect /custom {"token":"t"}"#]);
}

#[test]
fn an_unknown_namespace_is_refused_and_the_connection_stays() {
    let mut h = harness();
    let c = unconnected(&mut h);
    h.text(ms(1), c, "40/nope,");
    assert_eq!(h.sent(c), [r#"44/nope,{"message":"Invalid namespace"}"#]);
    h.text(ms(2), c, "40");
    assert!(h.sent(c)[0].starts_with("40{\"sid\":"));
}

#[test]
fn no_connect_within_the_connect_timeout_closes_the_session() {
    let mut h = harness();
    let c = unconnected(&mut h);
    h.expire(ms(999));
    assert!(h.is_open(c));
    h.expire(ms(1000));
    assert!(!h.is_open(c));
    assert_eq!(h.sent(c), ["close:1000"]);
}

#[test]
fn a_connect_in_time_disarms_the_connect_timeout() {
    let mut h = harness();
    let c = unconnected(&mut h);
    h.text(ms(500), c, "40");
    h.expire(ms(5000));
    assert!(h.is_open(c));
}

#[test]
fn an_event_before_connect_closes_the_session() {
    let mut h = harness();
    let c = unconnected(&mut h);
    h.text(ms(1), c, r#"42["echo"]"#);
    assert_eq!(h.sent(c), ["close:1002"]);
    assert!(log(&mut h).is_empty());
}

// ----- connected -------------------------------------------------------------------------------

#[test]
fn events_reach_the_application_and_acks_go_back() {
    let mut h = harness();
    let c = h.connect(ms(0));
    log(&mut h);
    h.text(ms(1), c, r#"425["echo",{"a":1}]"#);
    assert_eq!(log(&mut h), [r#"event echo [{"a":1}] +0 ack=Some(5)"#]);
    assert_eq!(h.sent(c), [r#"42["echo",{"a":1}]"#, r#"435[{"a":1}]"#]);
}

#[test]
fn a_binary_event_waits_for_all_its_attachments() {
    let mut h = harness();
    let c = h.connect(ms(0));
    log(&mut h);
    h.text(
        ms(1),
        c,
        r#"452-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    );
    h.binary(ms(2), c, b"one");
    assert!(
        log(&mut h).is_empty(),
        "delivered before the second attachment"
    );
    h.binary(ms(3), c, b"second");
    assert_eq!(log(&mut h).len(), 1);
    assert_eq!(
        h.sent(c),
        [
            r#"452-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            "<3 bytes>",
            "<6 bytes>"
        ]
    );
}

#[test]
fn attachments_that_do_not_come_in_time_close_the_session_and_free_what_it_held() {
    let mut h = harness();
    let c = h.connect(ms(0));
    let text = r#"452-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    h.text(ms(10), c, text);
    h.binary(ms(20), c, b"one");
    // The Socket.IO text (without Engine.IO's `4`) and the attachment.
    assert_eq!(h.layer.sio.partial_bytes, text.len() - 1 + 3);
    h.expire(ms(10) + super::harness::socketio_config().attachment_timeout - ms(5));
    assert!(h.is_open(c));
    h.expire(ms(10) + super::harness::socketio_config().attachment_timeout);
    assert!(!h.is_open(c));
    assert_eq!(h.layer.sio.partial_bytes, 0);
}

#[test]
fn a_complete_binary_packet_disarms_its_deadline() {
    let mut h = harness();
    let c = h.connect(ms(0));
    h.text(ms(1), c, r#"451-["echo",{"_placeholder":true,"num":0}]"#);
    h.binary(ms(2), c, b"one");
    assert_eq!(h.layer.sio.partial_bytes, 0);
    h.expire(ms(60_000));
    assert!(h.is_open(c));
}

#[test]
fn a_binary_packet_for_a_namespace_not_joined_is_refused_before_its_attachments() {
    let mut h = harness();
    let c = unconnected(&mut h);
    h.text(ms(1), c, r#"451-["echo",{"_placeholder":true,"num":0}]"#);
    assert_eq!(h.sent(c), ["close:1002"]);
    assert_eq!(h.layer.sio.partial_bytes, 0);
}

#[test]
fn a_binary_message_without_a_binary_packet_closes_the_session() {
    let mut h = harness();
    let c = h.connect(ms(0));
    h.binary(ms(1), c, b"stray");
    assert_eq!(h.sent(c), ["close:1002"]);
}

#[test]
fn attachments_over_their_byte_cap_are_refused_and_the_connection_goes_on() {
    let mut h = harness();
    let c = h.connect(ms(0));
    log(&mut h);
    let text = r#"452-7["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    h.text(ms(1), c, text);
    h.binary(ms(2), c, &vec![0u8; (1 << 16) + 1]);
    assert_eq!(log(&mut h), ["too large ack=Some(7)"], "answered at once");
    assert_eq!(
        h.layer.sio.partial_bytes,
        text.len() - 1,
        "only the text is held"
    );
    h.binary(ms(3), c, b"the rest, dropped");
    assert_eq!(h.layer.sio.partial_bytes, 0);
    assert!(log(&mut h).is_empty());
    h.text(ms(4), c, r#"42["echo","still here"]"#);
    assert_eq!(log(&mut h).len(), 1);
    assert!(h.is_open(c));
}

#[test]
fn the_client_answers_a_server_ack() {
    let mut h = harness();
    let c = h.connect(ms(0));
    let socket = h.layer.app.sockets[0];
    let mut io = Io {
        engine: &mut h.engine,
        timers: &mut h.timers,
        sio: &mut h.layer.sio,
        now: h.t0,
    };
    io.emit_with_ack(socket, "ask", Vec::new(), Vec::new(), 9);
    h.expire(ms(1));
    assert_eq!(h.sent(c), [r#"429["ask"]"#]);
    log(&mut h);
    h.text(ms(2), c, r#"439["yes"]"#);
    assert_eq!(log(&mut h), [r#"ack 9 ["yes"]"#]);
}

#[test]
fn application_timers_come_back_with_their_typed_key() {
    let mut h = harness();
    let c = h.connect(ms(0));
    h.text(ms(100), c, r#"42["later"]"#);
    log(&mut h);
    h.expire(ms(599));
    assert!(log(&mut h).is_empty());
    h.expire(ms(600));
    assert_eq!(log(&mut h), ["timer 7"]);
}

// ----- flow ------------------------------------------------------------------------------------

#[test]
fn a_congested_receiver_pauses_the_sender_and_holds_its_acks_until_it_drains() {
    let mut h = harness();
    let sender = h.connect(ms(0));
    let receiver = h.connect(ms(0));
    h.stops_reading(receiver);
    let big = "x".repeat(600 * 1024);
    h.text(ms(1), sender, &format!(r#"421["relay","{big}"]"#));
    assert_eq!(h.sent(sender), ["pause"], "ack held, reads paused");
    let relayed = h.sent(receiver);
    assert_eq!(relayed.len(), 1);
    h.drained(ms(2), receiver, relayed[0].len());
    assert_eq!(h.sent(sender), ["resume", &format!(r#"431["{big}"]"#)]);
}

// ----- disconnecting ---------------------------------------------------------------------------

#[test]
fn a_namespace_disconnect_and_a_lost_connection_have_their_reasons() {
    let mut h = harness();
    let a = h.connect(ms(0));
    let b = h.connect(ms(0));
    log(&mut h);
    h.text(ms(1), a, "41");
    h.lose(ms(2), b);
    assert_eq!(
        log(&mut h),
        [
            "disconnect client namespace disconnect",
            "disconnect transport error"
        ]
    );
    assert!(
        h.is_open(a),
        "leaving a namespace keeps the Engine.IO session"
    );
}
