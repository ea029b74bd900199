//! Format 3 through the real server: members prove the room key over a nonce, nothing names
//! them, formats do not mix, and a device that applies is admitted by a member through
//! `admit` messages, then joins on the same connection (or is closed when its time is up).

use super::*;

const KEY: [u8; 32] = [42; 32];

fn ids(list: &Value) -> Vec<String> {
    arr(list)
        .iter()
        .map(|v| match v {
            Value::String(id) => id.clone(),
            other => str_of(get(other, "id")).to_string(),
        })
        .collect()
}

#[test]
fn members_prove_the_room_key_and_the_server_names_none_of_them() {
    let server = Server::start(&[]);
    let mut a = SioClient::connect(server.addr());
    let mut b = SioClient::connect(server.addr());
    let created = a.join_v3("v3-room", &KEY);
    assert!(bool_of(get(&created, "created")));
    let ack = b.join_v3("v3-room", &KEY);
    assert_eq!(ids(get(&ack, "clients")), [a.id.clone(), b.id.clone()]);
    assert!(arr(get(&ack, "applicants")).is_empty());
    let joined = a.expect_event("client-joined");
    assert_eq!(
        to_json(&joined),
        format!(r#"{{"clientId":"{}","sessionId":"v3-room"}}"#, b.id)
    );
    for ack in [&created, &ack] {
        assert!(!to_json(ack).contains("name"), "{}", to_json(ack));
    }

    let mut c = SioClient::connect(server.addr());
    assert_failure(&c.try_join_v3("v3-room", &[1; 32]), "access_denied");
    assert_failure(
        &c.emit_ack("join", &join_json("v3-room", "Cat", "pw")),
        "newer_session",
    );
    join(&mut c, "v2-room", "Cat", "pw");
    let mut d = SioClient::connect(server.addr());
    assert_failure(&d.try_join_v3("v2-room", &KEY), "legacy_session");
    assert_failure(&d.apply("v2-room"), "legacy_session");
    assert_failure(&d.apply("nowhere"), "no_such_session");

    b.close_cleanly();
    let left = a.expect_event("client-left");
    assert!(!to_json(&left).contains("name"), "{}", to_json(&left));
    a.assert_no_events();
}

#[test]
fn an_applicant_is_admitted_through_a_member_and_joins_on_the_same_connection() {
    let server = Server::start(&[]);
    let mut member = SioClient::connect(server.addr());
    member.join_v3("household", &KEY);
    let mut phone = SioClient::connect(server.addr());
    let ack = phone.apply("household");
    assert!(bool_of(get(&ack, "applicant")), "{}", to_json(&ack));
    assert_eq!(str_of(get(&ack, "clientId")), phone.id);
    assert_eq!(ids(get(&ack, "members")), [member.id.clone()]);
    let arrived = member.expect_event("applicant");
    assert_eq!(str_of(get(&arrived, "clientId")), phone.id);
    assert_eq!(server.metric("sharethings_applicants"), 1);

    // Nothing of the session reaches it, and it can send nothing but admit messages.
    let ack = phone.emit_ack("content", r#"{"sessionId":"household","content":"x"}"#);
    assert_failure(&ack, "not_joined");
    let ack = member.emit_ack("content", r#"{"sessionId":"household","content":"x"}"#);
    assert_success(&ack);
    phone.assert_no_events();

    // The run: the server relays each step to its `to`, stamped with `from`.
    let steps = [
        (1, r#"{"Ya":"AQ==","sid":"Ag=="}"#),
        (2, r#"{"Tb":"Aw==","Yb":"BA=="}"#),
        (3, r#"{"Ta":"BQ==","iv":"Bg==","sealed":"Bw=="}"#),
        (4, r#"{"iv":"CA==","sealed":"CQ=="}"#),
    ];
    for (step, data) in steps {
        let (from, to) = if step % 2 == 1 {
            (&mut phone, &mut member)
        } else {
            (&mut member, &mut phone)
        };
        let payload = format!(
            r#"{{"sessionId":"household","to":"{}","step":{step},"data":{data}}}"#,
            to.id
        );
        assert_success(&from.emit_ack("admit", &payload));
        let got = to.expect_event("admit");
        assert_eq!(
            to_json(&got),
            format!(
                r#"{{"data":{data},"from":"{}","sessionId":"household","step":{step}}}"#,
                from.id
            )
        );
    }
    assert_eq!(server.metric("sharethings_admit_messages_total"), 4);

    // It holds the room key now: a member like any other, under the same id.
    let ack = phone.join_v3("household", &KEY);
    assert_eq!(str_of(get(&ack, "clientId")), phone.id);
    let left = member.expect_event("applicant-left");
    assert_eq!(str_of(get(&left, "clientId")), phone.id);
    let joined = member.expect_event("client-joined");
    assert_eq!(str_of(get(&joined, "clientId")), phone.id);
    assert_success(&phone.emit_ack("content", r#"{"sessionId":"household","content":"hi"}"#));
    assert_eq!(
        str_of(get(&member.expect_event("content"), "from")),
        phone.id
    );
    assert_eq!(server.metric("sharethings_applicants"), 0);
}

#[test]
fn an_applicant_not_admitted_in_time_is_closed_and_its_guesses_are_limited() {
    let server = Server::start(&[
        "--applicant-timeout",
        "400",
        "--join-limit-per-address",
        "2",
    ]);
    let mut member = SioClient::connect(server.addr());
    member.join_v3("slow", &KEY);
    let mut stranger = SioClient::connect(server.addr());
    assert!(bool_of(get(&stranger.apply("slow"), "success")));
    member.expect_event("applicant");
    let guess = format!(
        r#"{{"sessionId":"slow","to":"{}","step":1,"data":{{}}}}"#,
        member.id
    );
    assert_success(&stranger.emit_ack("admit", &guess));
    assert_success(&stranger.emit_ack("admit", &guess));
    let ack = stranger.emit_ack("admit", &guess);
    assert_failure(&ack, "rate_limited");
    assert!(num(get(&ack, "retryAfterMs")) > 0);
    for _ in 0..2 {
        assert_eq!(num(get(&member.expect_event("admit"), "step")), 1);
    }
    // Its time runs out: its connection is closed, and the member is told.
    let until = deadline(STEP);
    let closed = loop {
        match stranger.ws.read_until(until) {
            WsRead::Closed(_) | WsRead::Dropped(_) => break true,
            WsRead::Timeout => break false,
            WsRead::Text(_) | WsRead::Binary(_) => {}
        }
    };
    assert!(closed, "the applicant's connection was closed");
    let left = member.expect_event("applicant-left");
    assert_eq!(str_of(get(&left, "clientId")), stranger.id);
    member.assert_no_events();
}

#[test]
fn the_log_names_a_session_by_its_route_and_holds_no_key_proof_or_admission_data() {
    let server = Server::start(&["--log-level", "trace"]);
    let name = "a-very-private-session-name";
    let mut member = SioClient::connect(server.addr());
    member.join_v3(name, &KEY);
    let mut stranger = SioClient::connect(server.addr());
    assert_failure(&stranger.try_join_v3(name, &[7; 32]), "access_denied");
    stranger.apply(name);
    let step = format!(
        r#"{{"sessionId":{},"to":"{}","step":1,"data":{{"Ya":"ADMITDATAMARKER"}}}}"#,
        quote(name),
        member.id
    );
    assert_success(&stranger.emit_ack("admit", &step));
    member.expect_event("admit");
    let log = server.stop_and_collect_output();
    let route = sharethings_protocol::route_key(name);
    assert!(
        log.contains(&route),
        "the log speaks of the session:\n{log}"
    );
    for secret in [
        name.to_string(),
        data_encoding::BASE64.encode(&KEY),
        data_encoding::BASE64.encode(&[7; 32]),
        "ADMITDATAMARKER".to_string(),
    ] {
        assert!(!log.contains(&secret), "{secret} in the log:\n{log}");
    }
}
