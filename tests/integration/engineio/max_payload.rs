//! 413 on polling, close 1009 on WebSocket.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Instant;

use super::*;

#[test]
fn polling_post_over_max_payload_is_413_and_the_session_survives() {
    let server = Server::start(&["--max-payload", "1000"]);
    let addr = server.addr();
    let (sid, open) = eio_open_polling(addr);
    assert_eq!(num(get(&open, "maxPayload")), 1000);
    let big = format!("42[\"x\",\"{}\"]", "a".repeat(1000));
    let res = poll_post(addr, &sid, big.as_bytes());
    assert_eq!(res.status, 413, "{res:?}");
    // Exactly at the limit is fine, and the session works.
    let exact = format!("42[\"no-such-event\",\"{}\"]", "a".repeat(1000 - 22));
    assert_eq!(exact.len(), 1000);
    assert_eq!(poll_post(addr, &sid, b"40").status, 200);
    assert!(poll_get(addr, &sid).text().starts_with("40{"));
    assert_eq!(poll_post(addr, &sid, exact.as_bytes()).status, 200);
}

#[test]
fn websocket_message_over_max_payload_closes_with_1009() {
    let server = Server::start(&["--max-payload", "1000"]);
    let (mut ws, _) = ws_open(server.addr(), "");
    ws.send_text("40");
    assert!(ws.expect_text().starts_with("40{"));
    ws.send_text(&format!("42[\"x\",\"{}\"]", "a".repeat(1000)));
    let (code, _) = ws.expect_close();
    assert_eq!(code, Some(1009));
}

#[test]
fn fragmented_websocket_messages_are_reassembled_and_limited_as_a_whole() {
    let server = Server::start(&["--max-payload", "1000"]);
    let (mut ws, _) = ws_open(server.addr(), "");
    ws.send_fragments(&["4", "0"]);
    assert!(ws.expect_text().starts_with("40{\"sid\":"));
    // WebSocket pings in between are answered by the WebSocket layer.
    let pong = ws.ping(b"hi");
    assert_eq!(pong, b"hi");
    // Two fragments of 600 bytes each: every frame is small, the message is not.
    let half = "a".repeat(600);
    ws.send_fragments(&[&format!("42[\"x\",\"{half}"), &format!("{half}\"]")]);
    let (code, _) = ws.expect_close();
    assert_eq!(code, Some(1009));
}

/// Sends a binary message of `size` bytes (over `max_payload`) on a raw WebSocket, `piece`
/// bytes per write with `gap` between writes, and only then reads, as a client that writes a
/// message whole before it reads would; returns whether every write went through (a reset
/// fails one, and a client library then reports 1006 without reading further) and the close
/// code the server sent, if its frame could be read.
fn oversize_message(
    addr: SocketAddr,
    size: usize,
    piece: usize,
    gap: Duration,
) -> (bool, Option<u16>) {
    use crate::attack::{client_frame, close_code, raw_websocket};
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    assert!(raw_websocket(&mut stream));
    let frame = client_frame(0x2, &vec![7u8; size]);
    // Paced writes are the scenario here (a client still writing), not a wait for a result.
    let mut wrote_all = true;
    for part in frame.chunks(piece) {
        if stream.write_all(part).is_err() {
            wrote_all = false;
            break;
        }
        if !gap.is_zero() {
            thread::sleep(gap);
        }
    }
    let (mut seen, mut buf) = (Vec::new(), [0u8; 4096]);
    let until = deadline(Duration::from_secs(30));
    while Instant::now() < until {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break, // a reset: what was not read yet is lost with it
        }
    }
    (wrote_all, close_code(&seen))
}

#[test]
fn a_message_over_max_payload_gets_its_1009_while_the_client_is_still_writing_it() {
    // The refusal reaches the client every time: the server drains what the client still
    // writes of the refused message, rather than closing under it (a reset, seen as 1006).
    let server = Server::start(&[
        "--max-payload",
        "100000",
        "--max-connections-per-address",
        "256",
    ]);
    let addr = server.addr();
    let burst: Vec<_> = (0..50)
        .map(|_| thread::spawn(move || oversize_message(addr, 2 << 20, 2 << 20, Duration::ZERO)))
        .collect();
    let slow: Vec<_> = (0..50)
        .map(|_| {
            thread::spawn(move || oversize_message(addr, 300_000, 10_000, Duration::from_millis(5)))
        })
        .collect();
    for (kind, sends) in [("in one burst", burst), ("in slow pieces", slow)] {
        let outcomes: Vec<(bool, Option<u16>)> = sends
            .into_iter()
            .map(|t| t.join().expect("sender"))
            .collect();
        assert!(
            outcomes.iter().all(|o| *o == (true, Some(1009))),
            "every write taken and the close frame read, {kind}: {outcomes:?}"
        );
    }
}
