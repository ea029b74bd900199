//! A member that stops reading.

use super::*;

#[test]
fn a_member_that_stops_reading_is_dropped_and_its_connection_freed() {
    // High water at 2 MiB; a stuck receiver gets 500 ms there before it is cut off, then its
    // connection gets 500 ms to take its close frame before it is closed hard.
    let server = Server::start(&[
        "--send-queue-bytes",
        "4194304",
        "--stall-timeout",
        "500",
        "--head-timeout",
        "500",
        "--rejoin-grace",
        "100",
    ]);
    let (mut a, mut b, c) = trio(&server);
    let open_files = || {
        std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
            .expect("the server's fd table")
            .count()
    };
    let with_cat = open_files();
    // Cat never reads again. 32 MiB is more than the loopback buffers (several MiB each way)
    // and the server's queue absorb for it.
    const CHUNKS: u64 = 128;
    let chunk: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
    let expected = chunk.clone();
    let reader = std::thread::spawn(move || {
        let mut got = 0;
        while got < CHUNKS {
            let text = b.ws.expect_text();
            if text.starts_with("451-") {
                assert_eq!(b.ws.expect_binary(), expected, "chunk {got} intact");
                got += 1;
            }
        }
        (got, b)
    });
    for i in 0..CHUNKS {
        a.ws.send_text(&format!(
            r#"451-{i}["chunk",{{"sessionId":"trio","chunk":{{"contentId":"big","chunkIndex":{i},"totalChunks":{CHUNKS},"encryptedData":{{"_placeholder":true,"num":0}}}}}}]"#
        ));
        a.ws.send_binary(&chunk);
        assert_success(&a.wait_ack(i));
    }
    let (got, _b) = reader.join().expect("reader thread");
    assert_eq!(got, CHUNKS, "every chunk reached the member that reads");
    let left = a.expect_event("client-left");
    assert_eq!(str_of(get(&left, "clientId")), c.id);
    // Cat's connection is closed although Cat never read its close frame; Ann's and Bob's stay.
    let freed = wait_until(deadline(STEP), || open_files() == with_cat - 1);
    assert!(
        freed,
        "the stuck connection was not closed: {} files open, {with_cat} with it",
        open_files()
    );
    drop(c);
}

#[test]
fn a_sender_with_many_chunks_in_flight_is_paused_not_its_receivers_dropped() {
    // A 2 MiB queue cap: the sender's 16 MiB window must be held back at the high-water mark
    // (1 MiB) message by message, not read in bulk past the cap.
    let server = Server::start(&["--send-queue-bytes", "2097152"]);
    let (mut a, b, c) = trio(&server);
    const CHUNKS: u64 = 64;
    let chunk: Vec<u8> = (0..256 * 1024).map(|i| (i % 253) as u8).collect();
    let readers: Vec<_> = [b, c]
        .into_iter()
        .map(|mut receiver| {
            let expected = chunk.clone();
            std::thread::spawn(move || {
                let mut got = 0;
                while got < CHUNKS {
                    match receiver.ws.read() {
                        WsRead::Text(text) if text.starts_with("451-") => {
                            assert_eq!(receiver.ws.expect_binary(), expected);
                            got += 1;
                        }
                        WsRead::Text(_) => {}
                        other => panic!("receiver {} after {got} chunks: {other:?}", receiver.id),
                    }
                }
                got
            })
        })
        .collect();
    // Everything at once, without waiting for a single ack.
    for i in 0..CHUNKS {
        a.ws.send_text(&format!(
            r#"451-{i}["chunk",{{"sessionId":"trio","chunk":{{"contentId":"w","chunkIndex":{i},"totalChunks":{CHUNKS},"encryptedData":{{"_placeholder":true,"num":0}}}}}}]"#
        ));
        a.ws.send_binary(&chunk);
    }
    for reader in readers {
        assert_eq!(reader.join().expect("reader"), CHUNKS);
    }
    for i in 0..CHUNKS {
        assert_success(&a.wait_ack(i));
    }
    a.assert_no_events();
}

/// Security review L2: a polling sender that never waits for its acks (it asks for none) is
/// paused as a WebSocket sender is, its next POST left unanswered until the receiver drains,
/// so the receiver is not disconnected at the queue cap and nothing is lost.
#[test]
fn a_polling_sender_that_ignores_acks_is_paused_not_its_receiver_dropped() {
    use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
    use std::sync::Arc;

    // A 1 MiB cap: the 16 MiB sent would pass it many times over, loopback buffers included.
    let server = Server::start(&["--send-queue-bytes", "1048576"]);
    let addr = server.addr();
    let mut bob = SioClient::connect(addr);
    join(&mut bob, "flood", "Bob", "m");
    let (sid, _) = eio_open_polling(addr);
    polling_join(addr, &sid, "flood", "Ann");
    bob.expect_event("client-joined");

    const POSTS: u64 = 256;
    let answered = Arc::new(AtomicU64::new(0));
    let sender = {
        let answered = Arc::clone(&answered);
        let blob = "p".repeat(64 * 1024);
        std::thread::spawn(move || {
            for n in 0..POSTS {
                let body = format!(
                    r#"42["content",{{"sessionId":"flood","content":{{"n":{n},"blob":"{blob}"}}}}]"#
                );
                let mut conn = Http::connect(addr);
                conn.send(&request_bytes(
                    "POST",
                    &polling_target(&sid),
                    &[("Content-Type", "text/plain;charset=UTF-8")],
                    body.as_bytes(),
                ));
                let res = conn
                    .try_read_response_for("POST", deadline(STEP * 12))
                    .unwrap_or_else(|e| panic!("POST {n} never answered: {e}"));
                assert_eq!(res.status, 200, "POST {n}: {res:?}");
                answered.fetch_add(1, SeqCst);
            }
        })
    };
    // Bob reads nothing until the sender has made no progress for a second.
    let mut last = (0, Instant::now());
    wait_until(deadline(STEP * 12), || {
        let n = answered.load(SeqCst);
        if n != last.0 {
            last = (n, Instant::now());
        }
        n == POSTS || last.1.elapsed() >= Duration::from_secs(1)
    });
    let before_reading = answered.load(SeqCst);
    assert!(
        before_reading < POSTS,
        "all {POSTS} POSTs were answered while the receiver read nothing: never paused"
    );
    for n in 0..POSTS {
        let content = bob.expect_event("content");
        assert_eq!(
            num(get(get(&content, "content"), "n")),
            n,
            "in order, none lost"
        );
    }
    sender.join().expect("sender thread");
    assert_eq!(answered.load(SeqCst), POSTS);
    bob.assert_no_events();
}
