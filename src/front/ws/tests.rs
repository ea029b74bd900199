//! Tests of [`super`] (`ws`): frames in every size and step, admission of large
//! messages, fragments, violations, and random streams.

use super::*;

/// A masked client frame, encoded by tungstenite (so the reader is tested against another
/// encoder than its own).
fn client_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        is_final: fin,
        opcode: OpCode::from(opcode),
        mask: Some([1, 2, 3, 4]),
        ..FrameHeader::default()
    };
    let mut out = Vec::new();
    tungstenite::protocol::frame::Frame::from_payload(header, payload.to_vec().into())
        .format(&mut out)
        .expect("a frame formats into a Vec");
    out
}

/// A stream that hands out its bytes `step` at a time, then blocks.
struct Steps {
    data: Vec<u8>,
    pos: usize,
    step: usize,
}

impl Read for Steps {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.data.len() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.step).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn read_all(bytes: Vec<u8>, step: usize, max: usize) -> Result<Vec<WsEvent>, WsError> {
    read_admitting(bytes, step, max).map(|(events, _)| events)
}

/// Reads everything, admitting every large frame; also returns the lengths admitted.
fn read_admitting(
    bytes: Vec<u8>,
    step: usize,
    max: usize,
) -> Result<(Vec<WsEvent>, Vec<usize>), WsError> {
    let mut reader = WsReader::new(max, &[]);
    let mut admitted = Vec::new();
    let mut stream = Steps {
        data: bytes,
        pos: 0,
        step,
    };
    let mut out = Vec::new();
    let (mut scratch, mut pool) = (scratch(), BufferPool::default());
    let mut budget = usize::MAX;
    loop {
        match reader.read(&mut stream, &mut scratch, &mut pool, &mut budget, &mut out)? {
            ReadStatus::WouldBlock => return Ok((out, admitted)),
            ReadStatus::Admit(len) => {
                assert!(reader.frame.is_none(), "no payload buffer before admission");
                admitted.push(len);
                reader.admit();
            }
            ReadStatus::Budget | ReadStatus::Decoded => {}
        }
    }
}

#[test]
fn frames_of_every_size_in_every_step_size() {
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
    let mut bytes = client_frame(0x1, true, b"4hello");
    bytes.extend(client_frame(0x2, true, &big));
    bytes.extend(client_frame(0x2, true, &big[..70_000]));
    bytes.extend(client_frame(0x9, true, b"p"));
    for step in [1, 3, 1000, 16 * 1024, 1 << 20] {
        let events = read_all(bytes.clone(), step, 1 << 20).unwrap();
        assert_eq!(
            events,
            vec![
                WsEvent::Text(Bytes::from_static(b"4hello")),
                WsEvent::Binary(Bytes::from(big.clone())),
                WsEvent::Binary(Bytes::from(big[..70_000].to_vec())),
                WsEvent::Ping(Bytes::from_static(b"p")),
            ],
            "step {step}"
        );
    }
}

#[test]
fn a_recycled_buffer_carries_only_the_new_payload() {
    let first: Vec<u8> = vec![1u8; 300_000];
    let second: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    let mut reader = WsReader::new(1 << 20, &[]);
    let (mut scratch, mut pool) = (scratch(), BufferPool::default());
    let mut out = Vec::new();
    for (payload, step) in [(&first, 70_000), (&second, 5_000)] {
        let mut stream = Steps {
            data: client_frame(0x2, true, payload),
            pos: 0,
            step,
        };
        let mut budget = usize::MAX;
        loop {
            match reader.read(&mut stream, &mut scratch, &mut pool, &mut budget, &mut out) {
                Ok(ReadStatus::WouldBlock) => break,
                Ok(ReadStatus::Admit(_)) => reader.admit(),
                Ok(_) => {}
                Err(e) => panic!("{e:?}"),
            }
        }
        match out.pop() {
            Some(WsEvent::Binary(bytes)) => {
                assert_eq!(&bytes[..], &payload[..]);
                pool.give(bytes);
            }
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
}

#[test]
fn messages_hold_no_more_memory_than_their_length() {
    // Counted at their length wherever they are queued or kept, so their buffers must not be
    // larger: whole frames read in any steps, and messages of several fragments.
    let big: Vec<u8> = (0..262_160u32).map(|i| i as u8).collect();
    let mut bytes = client_frame(0x2, true, &big);
    bytes.extend(client_frame(0x2, true, &big[..1000]));
    bytes.extend(client_frame(0x2, false, &big[..70_000]));
    bytes.extend(client_frame(0x0, false, &big[..5]));
    bytes.extend(client_frame(0x0, true, &big[..100_000]));
    for step in [1000, 16 * 1024, 100_000, 1 << 20] {
        let events = read_all(bytes.clone(), step, 1 << 20).unwrap();
        assert_eq!(events.len(), 3);
        for event in events {
            let WsEvent::Binary(message) = event else {
                panic!("{event:?}");
            };
            let len = message.len();
            let unique = message.try_into_mut().expect("the only reference");
            assert_eq!(unique.capacity(), len, "step {step}");
        }
    }
}

#[test]
fn a_large_message_waits_for_admission_before_any_of_it_is_held() {
    let big = vec![5u8; LARGE_INPUT];
    let mut bytes = client_frame(0x1, true, b"4small");
    bytes.extend(client_frame(0x2, true, &big));
    // Fragments: admission is asked once the message reaches LARGE_INPUT.
    bytes.extend(client_frame(0x2, false, &big[..LARGE_INPUT - 10]));
    bytes.extend(client_frame(0x0, true, &big[..20]));
    let (events, admitted) = read_admitting(bytes, 1000, 1 << 20).unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(admitted, [LARGE_INPUT, 20]);
}

#[test]
fn fragments_are_joined() {
    let mut bytes = client_frame(0x1, false, b"4he");
    bytes.extend(client_frame(0x9, true, b""));
    bytes.extend(client_frame(0x0, true, b"llo"));
    let events = read_all(bytes, 5, 100).unwrap();
    assert_eq!(
        events,
        vec![
            WsEvent::Ping(Bytes::new()),
            WsEvent::Text(Bytes::from_static(b"4hello"))
        ]
    );
}

#[test]
fn violations_are_errors() {
    let unmasked = vec![0x81, 0x01, b'x'];
    assert!(matches!(
        read_all(unmasked, 10, 100),
        Err(WsError::Protocol(_, 1002))
    ));
    assert!(matches!(
        read_all(client_frame(0x2, true, &[0; 101]), 10, 100),
        Err(WsError::TooLarge { .. })
    ));
    assert!(matches!(
        read_all(client_frame(0x0, true, b"x"), 10, 100),
        Err(WsError::Protocol(_, 1002))
    ));
    assert!(matches!(
        read_all(client_frame(0x1, true, &[0xff]), 10, 100),
        Err(WsError::Protocol(_, 1007))
    ));
    assert!(matches!(
        read_all(client_frame(0x3, true, b""), 10, 100),
        Err(WsError::Protocol(_, 1002))
    ));
    assert!(matches!(
        read_all(client_frame(0x9, false, b""), 10, 100),
        Err(WsError::Protocol(_, 1002))
    ));
}

#[test]
fn close_frame_reports_its_code() {
    let events = read_all(client_frame(0x8, true, &[0x03, 0xe8]), 100, 100).unwrap();
    assert_eq!(events, vec![WsEvent::Close(Some(1000))]);
}

#[test]
fn unmask_matches_bytewise_xor_at_every_length() {
    for len in 0..40 {
        let data: Vec<u8> = (0..len as u8).collect();
        let mut fast = data.clone();
        unmask(&mut fast, [9, 8, 7, 6]);
        let slow: Vec<u8> = data
            .iter()
            .zip([9u8, 8, 7, 6].iter().cycle())
            .map(|(b, m)| b ^ m)
            .collect();
        assert_eq!(fast, slow);
    }
}

#[test]
fn server_headers() {
    assert_eq!(
        frame_header(TEXT, 5),
        ([0x81, 5, 0, 0, 0, 0, 0, 0, 0, 0], 2)
    );
    let (h, n) = frame_header(BINARY, 300);
    assert_eq!(&h[..n], &[0x82, 126, 1, 44]);
    let (h, n) = frame_header(BINARY, 70_000);
    assert_eq!(&h[..n], &[0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
}

proptest::proptest! {
    /// Any byte stream, in any step size, with every large frame admitted: the reader
    /// never panics, and fails only with a typed error.
    #[test]
    fn random_streams_in_random_steps_never_panic(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
        step in 1usize..300,
        max in 0usize..100_000,
    ) {
        let _ = read_admitting(bytes, step, max);
    }
}
