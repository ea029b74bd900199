//! Malformed input: request heads, WebSocket frames, Socket.IO packets, polling floods, upgrade
//! races, a hijacked sid and random bytes. Every case is answered or closed at once.

use super::*;

/// A frame with the given first byte (FIN, RSV, opcode), masked or not.
fn frame(first: u8, masked: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = client_frame(first & 0x0f, payload);
    out[0] = first;
    if !masked {
        let at = out.len() - payload.len();
        out[1] &= 0x7f;
        out.drain(at - 4..at);
        let len = out.len();
        out[len - payload.len()..].copy_from_slice(payload);
    }
    out
}

/// A masked text frame header announcing `len` bytes, without them.
fn header_only(len: u64) -> Vec<u8> {
    let mut out = vec![0x81, 0x80 | 127];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[1, 2, 3, 4]);
    out
}

/// Sends `raw` on a fresh attacker connection; returns the status of the answer (0 for none)
/// once the server closed the connection.
fn status_of(addr: SocketAddr, raw: &[u8]) -> u16 {
    let mut conn = attacker_stream(addr).expect("attacker connects");
    let _ = conn.write_all(raw);
    let (answer, closed) = read_to_close(&mut conn, STEP);
    assert!(
        closed,
        "{:?} left open",
        String::from_utf8_lossy(&raw[..raw.len().min(60)])
    );
    String::from_utf8_lossy(&answer)
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_9_oversized_and_malformed_heads_are_answered_and_closed() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr, in_effect| {
        let head = |lines: &str| format!("GET /health HTTP/1.1\r\nHost: localhost\r\n{lines}\r\n");
        let many: String = (0..100).map(|n| format!("X-{n}: y\r\n")).collect();
        let cases: Vec<(Vec<u8>, u16)> = vec![
            (
                head(&format!("X-Pad: {}\r\n", "a".repeat(9000))).into_bytes(),
                431,
            ),
            (head(&many).into_bytes(), 431),
            (
                head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n").into_bytes(),
                400,
            ),
            (
                head("Content-Length: 5\r\nContent-Length: 6\r\n").into_bytes(),
                400,
            ),
            (head("X-Folded: a\r\n  b\r\n").into_bytes(), 400),
            (
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec(),
                400,
            ),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), 505),
            (
                head("Content-Length: 99999999999999999999999\r\n").into_bytes(),
                400,
            ),
            (head("Transfer-Encoding: gzip\r\n").into_bytes(), 501),
            (head("Expect: 100-continue\r\n").into_bytes(), 417),
        ];
        for (raw, want) in &cases {
            in_effect.now();
            let got = status_of(addr, raw);
            assert_eq!(
                got,
                *want,
                "{:?}",
                String::from_utf8_lossy(&raw[..raw.len().min(60)])
            );
        }
        // Bytes that are not text in a header value (obs-text, which HTTP allows): bridged to
        // the workers, whose parser drops the connection without an answer. Closed at once.
        let mut conn = attacker_stream(addr).expect("attacker connects");
        let _ = conn.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Bin: \xff\xfe\r\nConnection: close\r\n\r\n");
        let (answer, closed) = read_to_close(&mut conn, STEP);
        assert!(closed, "{:?}", String::from_utf8_lossy(&answer));
    });
}

/// Opens an attacker WebSocket, sends `bytes` and returns the server's close code.
fn ws_close_code(addr: SocketAddr, bytes: &[u8]) -> Option<u16> {
    let mut ws = attacker_stream(addr).expect("attacker connects");
    assert!(raw_websocket(&mut ws));
    push(&mut ws, bytes, bytes.len(), STEP);
    let (seen, closed) = read_to_close(&mut ws, STEP);
    assert!(closed, "connection left open");
    close_code(&seen)
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_10_websocket_frames_that_break_the_rules_get_their_close_code() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr, in_effect| {
        let fragments: Vec<u8> = (0..1001)
            .flat_map(|n| frame(if n == 0 { 0x01 } else { 0x00 }, true, &[b'4'; 1000]))
            .collect();
        let empty_continuations: Vec<u8> = frame(0x01, true, b"4")
            .into_iter()
            .chain((0..200_000).flat_map(|_| frame(0x00, true, b"")))
            .collect();
        let cases: Vec<(&str, Vec<u8>, u16)> = vec![
            ("over maxPayload", header_only(1_000_001), 1009),
            ("2^62 bytes", header_only(1 << 62), 1009),
            ("1001 fragments of 1000 B", fragments, 1009),
            ("invalid UTF-8", frame(0x81, true, b"4\xff\xfe"), 1007),
            ("overlong UTF-8", frame(0x81, true, b"4\xc0\xaf"), 1007),
            ("unmasked", frame(0x81, false, b"4x"), 1002),
            ("RSV1", frame(0xc1, true, b"4x"), 1002),
            ("reserved opcode", frame(0x83, true, b"4x"), 1002),
            ("126 B ping", frame(0x89, true, &[0u8; 126]), 1002),
            ("fragmented ping", frame(0x09, true, b"p"), 1002),
            (
                "new message inside a fragmented one",
                [frame(0x01, true, b"4a"), frame(0x81, true, b"4b")].concat(),
                1002,
            ),
        ];
        for (what, bytes, want) in &cases {
            in_effect.now();
            assert_eq!(ws_close_code(addr, bytes), Some(*want), "{what}");
        }
        // 200,000 empty continuation frames cost nothing and end in a normal message.
        let mut ws = attacker_stream(addr).expect("attacker connects");
        assert!(raw_websocket(&mut ws));
        push(
            &mut ws,
            &empty_continuations,
            empty_continuations.len(),
            STEP,
        );
        push(&mut ws, &frame(0x80, true, b""), 6, STEP);
    });
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_11_socketio_garbage_closes_the_connection_an_unknown_namespace_does_not() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr, in_effect| {
        let placeholders: String = (0..11)
            .map(|n| format!(r#",{{"_placeholder":true,"num":{n}}}"#))
            .collect();
        let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
            (
                "11 attachments",
                vec![format!(r#"4511-["e"{placeholders}]"#).into_bytes()],
            ),
            (
                "placeholder out of range",
                vec![br#"451-["e",{"_placeholder":true,"num":5}]"#.to_vec()],
            ),
            (
                "ack id over u64",
                vec![br#"4299999999999999999999["e"]"#.to_vec()],
            ),
            (
                "attachment count 2^70",
                vec![br#"451180591620717411303424-["e"]"#.to_vec()],
            ),
            ("CONNECT twice", vec![b"40".to_vec()]),
            ("client ping", vec![b"2".to_vec()]),
        ];
        for (what, texts) in &cases {
            in_effect.now();
            let mut ws = attacker_stream(addr).expect("attacker connects");
            assert!(raw_websocket(&mut ws));
            let _ = ws.write_all(&client_frame(0x1, b"40"));
            for text in texts {
                let _ = ws.write_all(&client_frame(0x1, text));
            }
            assert!(
                read_to_close(&mut ws, STEP).1,
                "{what}: connection left open"
            );
        }
        // A binary frame that no packet announced.
        let mut ws = attacker_stream(addr).expect("attacker connects");
        assert!(raw_websocket(&mut ws));
        let _ = ws.write_all(&client_frame(0x1, b"40"));
        let _ = ws.write_all(&client_frame(0x2, b"stray"));
        assert!(
            read_to_close(&mut ws, STEP).1,
            "stray attachment: connection left open"
        );
        // JSON the decoder refuses (a lone surrogate, a number beyond f64) or accepts: never
        // a crash, and the connection is closed or still answers.
        for text in [r#"420["join","\ud800"]"#, r#"420["join",1e400]"#] {
            let mut member = attacker_member(addr);
            member.ws.send_text(text);
            let _ = member.ws.read_until(deadline(Duration::from_millis(500)));
        }
        // An unknown namespace is refused with 44 and the connection stays.
        let mut member = attacker_member(addr);
        member.ws.send_text("40/nope,");
        assert!(member.ws.expect_text().starts_with("44/nope,"));
        assert_eq!(
            ack_code(&member.emit_ack("join", &join_payload("ns-ok", "N", "pw"))),
            "ok"
        );
    });
}

/// A polling handshake from the attacker's address; returns the sid.
fn attacker_polling_sid(addr: SocketAddr) -> String {
    let mut conn = attacker_stream(addr).expect("attacker connects");
    let open = "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    assert!(conn.write_all(open.as_bytes()).is_ok());
    let (answer, _) = read_to_close(&mut conn, STEP);
    let text = String::from_utf8_lossy(&answer).into_owned();
    text.split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.get(..20))
        .unwrap_or_else(|| panic!("no sid in {text}"))
        .to_string()
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_14_a_polling_post_flood_is_answered_without_growth() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr, in_effect| {
        let sid = attacker_polling_sid(addr);
        let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        let body = ["42[\"noop\"]"; 200].join("\u{1e}");
        let mut conn = attacker_stream(addr).expect("attacker connects");
        let _ = conn.set_read_timeout(Some(STEP));
        let mut ok = 0;
        for n in 0..300 {
            in_effect.now();
            let payload = if n == 0 { "40" } else { body.as_str() };
            let post = format!(
                "POST {target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{payload}",
                payload.len()
            );
            let _ = conn.write_all(post.as_bytes());
            let mut buf = [0u8; 512];
            if matches!(conn.read(&mut buf), Ok(n) if buf[..n].starts_with(b"HTTP/1.1 200")) {
                ok += 1;
            }
        }
        assert_eq!(ok, 300, "every POST of 200 packets answered 200");
    });
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_15_upgrade_races_and_resets_mid_upgrade_leave_nothing_behind() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr, in_effect| {
        for _ in 0..100 {
            in_effect.now();
            let sid = attacker_polling_sid(addr);
            let upgrade = format!(
                "GET /socket.io/?EIO=4&transport=websocket&sid={sid} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            );
            let mut first = attacker_stream(addr).expect("attacker connects");
            let _ = first.write_all(upgrade.as_bytes());
            let mut head = [0u8; 12];
            let _ = first.set_read_timeout(Some(STEP));
            assert!(first.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 101"));
            let _ = first.write_all(&client_frame(0x1, b"2probe"));
            // A second upgrade of the same sid while the first is under way completes and is
            // closed at once (1000), as the reference does; the first goes on.
            let mut second = attacker_stream(addr).expect("attacker connects");
            let _ = second.write_all(upgrade.as_bytes());
            let (answer, closed) = read_to_close(&mut second, STEP);
            assert!(closed && answer.starts_with(b"HTTP/1.1 101"));
            assert_eq!(close_code(&answer), Some(1000));
            // The first resets half-way through a frame.
            let _ = first.write_all(&client_frame(0x1, &[b'4'; 1000])[..300]);
            let _ = socket2::SockRef::from(&first).set_linger(Some(Duration::ZERO));
        }
    });
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_15b_a_stranger_with_a_polling_clients_sid_cannot_upgrade_or_poll() {
    let mut server = Server::start(&[]);
    let (sid, _) = eio_open_polling(server.addr());
    under_attack(&mut server, move |addr, in_effect| {
        let target = polling_target(&sid);
        let mut conn = attacker_stream(addr).expect("attacker connects");
        let _ = conn.set_read_timeout(Some(STEP));
        let upgrade = format!(
            "GET /socket.io/?EIO=4&transport=websocket&sid={sid} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        assert!(conn.write_all(upgrade.as_bytes()).is_ok());
        in_effect.now();
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer);
        assert!(
            answer.starts_with(b"HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
        let mut poll = attacker_stream(addr).expect("attacker connects");
        let _ = poll.set_read_timeout(Some(STEP));
        let get = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assert!(poll.write_all(get.as_bytes()).is_ok());
        let mut answer = Vec::new();
        let _ = poll.read_to_end(&mut answer);
        assert!(
            answer.starts_with(b"HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    });
}

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `template` with a few bytes changed, dropped or repeated.
    fn mutate(&mut self, template: &[u8]) -> Vec<u8> {
        let mut out = template.to_vec();
        for _ in 0..=self.below(8) {
            let at = self.below(out.len().max(1));
            match self.below(3) {
                0 if at < out.len() => out[at] = self.next() as u8,
                1 if at < out.len() => {
                    out.remove(at);
                }
                _ => {
                    let byte = out.get(at).copied().unwrap_or(b'x');
                    out.splice(at..at, std::iter::repeat_n(byte, self.below(64)));
                }
            }
        }
        out
    }
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_19_random_mutations_of_heads_bodies_and_frames() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr, in_effect| {
        let sid = attacker_polling_sid(addr);
        let post = format!(
            "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 20\r\n\r\n40\u{1e}42[\"e\",{{\"a\":1}}]b4AAE="
        );
        let head = b"GET /socket.io/?EIO=4&transport=polling&t=1 HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\nOrigin: http://localhost\r\n\r\n".to_vec();
        let frames = [
            client_frame(0x1, b"40"),
            client_frame(0x1, br#"451-["e",{"_placeholder":true,"num":0}]"#),
            client_frame(0x2, b"attachment"),
            client_frame(0x9, b"ping"),
        ]
        .concat();
        let mut random = Random(0x5eed_1234_abcd_0001);
        let until = deadline(Duration::from_secs(5));
        let mut sent = 0;
        while Instant::now() < until && sent < 3000 {
            let Ok(mut conn) = attacker_stream(addr) else {
                continue;
            };
            let bytes = match random.below(3) {
                0 => random.mutate(&head),
                1 => random.mutate(post.as_bytes()),
                _ => {
                    if !raw_websocket(&mut conn) {
                        continue;
                    }
                    random.mutate(&frames)
                }
            };
            let _ = conn.write_all(&bytes);
            if random.below(2) == 0 {
                let _ = socket2::SockRef::from(&conn).set_linger(Some(Duration::ZERO));
            }
            sent += 1;
            if sent == 100 {
                in_effect.now();
            }
        }
        in_effect.now();
        eprintln!("random mutations: {sent} connections");
    });
}

/// Posts a `/share-target` body of `body` bytes (declared, or chunked when `None`) at full
/// speed and reads what comes back meanwhile; returns the answer and whether the connection
/// ended cleanly (EOF, not a reset).
fn share(addr: SocketAddr, body: usize, chunked: bool) -> (String, bool) {
    let mut conn = attacker_stream(addr).expect("attacker connects");
    let _ = conn.set_write_timeout(Some(STEP));
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {body}")
    };
    let head = format!(
        "POST /share-target HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\n{framing}\r\n\r\n"
    );
    assert!(conn.write_all(head.as_bytes()).is_ok());
    let reader = conn.try_clone().expect("a second handle");
    let answer = thread::spawn(move || {
        let mut reader = reader;
        let (mut seen, mut buf) = (Vec::new(), [0u8; 4096]);
        let until = deadline(Duration::from_secs(30));
        while Instant::now() < until {
            match reader.read(&mut buf) {
                Ok(0) => return (seen, true),
                Ok(n) => seen.extend_from_slice(&buf[..n]),
                Err(e) if would_block(&e) => {}
                Err(_) => return (seen, false),
            }
        }
        (seen, false)
    });
    let block = vec![b'v'; 64 * 1024];
    let mut sent = 0;
    while sent < body {
        let n = block.len().min(body - sent);
        let piece: Vec<u8> = if chunked {
            [format!("{n:x}\r\n").as_bytes(), &block[..n], b"\r\n"].concat()
        } else {
            block[..n].to_vec()
        };
        if conn.write_all(&piece).is_err() {
            break;
        }
        sent += n;
    }
    if chunked {
        let _ = conn.write_all(b"0\r\n\r\n");
    }
    let _ = conn.shutdown(std::net::Shutdown::Write);
    let (seen, clean) = answer.join().expect("reader");
    assert_eq!(sent, body, "the whole share was taken");
    (String::from_utf8_lossy(&seen).into_owned(), clean)
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_24_a_large_share_before_the_service_worker_gets_its_303_not_a_reset() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr, in_effect| {
        // A phone sharing a video to the PWA before its service worker runs: far more than
        // the server ever reads of a request, at full speed, declared or chunked.
        for (body, chunked) in [(64 << 20, false), (20 << 20, true), (3 << 20, false)] {
            in_effect.now();
            let (answer, clean) = share(addr, body, chunked);
            assert!(
                answer.starts_with("HTTP/1.1 303") && answer.contains("Location: /\r\n"),
                "{body} B: {answer:?}"
            );
            assert!(clean, "{body} B: the connection ended without a reset");
        }
    });
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_25_an_http_11_request_without_host_gets_400() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr, in_effect| {
        for target in ["/", "/health", "/socket.io/?EIO=4&transport=polling"] {
            in_effect.now();
            let raw = format!("GET {target} HTTP/1.1\r\n\r\n");
            assert_eq!(status_of(addr, raw.as_bytes()), 400, "{target}");
        }
        // HTTP/1.0 had no Host: HAProxy's health check is one.
        let mut conn = attacker_stream(addr).expect("attacker connects");
        let _ = conn.write_all(b"GET /health HTTP/1.0\r\n\r\n");
        let (answer, _) = read_to_close(&mut conn, STEP);
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    });
}
