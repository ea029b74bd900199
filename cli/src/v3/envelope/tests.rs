use super::*;
use crate::v3::keys::Device;
use crate::v3::test_vectors::{all, hex, room};

fn keys() -> RoomKeys {
    RoomKeys::derive(&room(&all()))
}

#[test]
fn a_folder_is_an_item() {
    let meta = json!({"kind": "folder", "name": "trip", "mime": "inode/directory", "size": 1234,
        "createdAt": 1, "files": 6});
    let Some(Message::Item(meta)) = parse(meta) else {
        panic!("a folder is an item")
    };
    assert_eq!((meta.kind.as_str(), meta.files), ("folder", Some(6)));
}

#[test]
fn opens_the_vectors_items_chunks_and_every_control() {
    let v = all();
    let keys = keys();
    for item in v["items"].as_array().unwrap() {
        let c = &item["content"];
        let opened = open_content(&keys, &c["envelope"], &hex(&c["data"])).unwrap();
        assert_eq!(opened.json, item["meta"]);
        let Some(Message::Item(meta)) = parse(opened.json.clone()) else {
            panic!("an item")
        };
        assert_eq!(meta.size, item["size"].as_u64().unwrap());
        assert_eq!(opened.total_chunks, v3::chunk_count(meta.size));
        for chunk in item["chunks"].as_array().unwrap() {
            let r = ItemRef {
                id: &opened.id,
                by: &opened.by,
                total: opened.total_chunks,
                size: meta.size,
            };
            let data = hex(&chunk["encryptedData"]);
            let (index, plain) = open_chunk(&keys, &r, &chunk["envelope"], &data).unwrap();
            assert_eq!(plain, hex(&chunk["plaintext"]));
            let offset = index * sharethings_protocol::format::chunks::CHUNK_SIZE;
            assert!(padding_is_zero(&plain, offset, meta.size));
            // Metadata claiming another size (so another padded length) refuses the chunk
            // on its length alone.
            let size = meta.size * 4 + 300;
            let total = v3::chunk_count(size);
            let other = ItemRef { size, total, ..r };
            let refused = open_chunk(&keys, &other, &chunk["envelope"], &data);
            assert!(matches!(refused, Err(EnvelopeError::Shape(_))));
        }
    }
    let kinds: Vec<&str> = v["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let opened = open_content(&keys, &c["envelope"], &hex(&c["data"])).unwrap();
            assert_eq!(opened.json, c["message"]);
            assert_eq!(opened.total_chunks, 0);
            match parse(opened.json).expect("understood") {
                Message::Hello { client_id, card } => {
                    assert_eq!(card.verify(&keys.epoch).is_some(), client_id.len() == 20);
                    "hello"
                }
                Message::Roster { cards, admitted } => {
                    assert_eq!((cards.len(), admitted.len()), (2, 1));
                    "roster"
                }
                Message::Admitted(r) => {
                    assert!(r.verify(&keys.epoch));
                    "admitted"
                }
                Message::AdmissionFailed => "admission-failed",
                Message::Resend(r) => {
                    assert_eq!(r.from_chunk, 2);
                    "resend"
                }
                Message::Progress => "progress",
                Message::Cancel { .. } => "cancel",
                Message::Clear => "clear",
                Message::Policy { anyone_may_clear } => {
                    assert!(anyone_may_clear);
                    "policy"
                }
                Message::Item(meta) => {
                    assert!(meta.offered);
                    "file"
                }
            }
        })
        .collect();
    let expected: Vec<&str> = v["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, expected);
}

#[test]
fn anything_changed_is_dropped_before_it_is_read() {
    let keys = keys();
    let me = Device::generate();
    let id = "0123456789abcdef0123456789abcdef";
    let (env, data) = seal_content(&keys, &me, id, 3, 1, &json!({"kind": "clear", "at": 5}));
    assert_eq!(data.len(), PAD_BLOCK + TAG_BYTES);
    let opened = open_content(&keys, &env, &data).unwrap();
    assert_eq!((opened.seq, opened.by_id.as_str()), (3, me.id().as_str()));

    let mut tampered = data.clone();
    tampered[0] ^= 1;
    assert_eq!(
        open_content(&keys, &env, &tampered).unwrap_err(),
        EnvelopeError::Signature
    );
    // Another member re-signs someone else's blob as its own: the AEAD binds the sender.
    let mallory = Device::generate();
    let mut stolen = env.clone();
    stolen["by"] = json!(mallory.id());
    let aad = v3::meta_aad(&keys.epoch, id, &mallory.public_key(), 3, 1);
    let iv = BASE64
        .decode(env["iv"].as_str().unwrap().as_bytes())
        .unwrap();
    stolen["sig"] = json!(BASE64.encode(&mallory.sign_blob(&aad, &iv, &data)));
    assert_eq!(
        open_content(&keys, &stolen, &data).unwrap_err(),
        EnvelopeError::Auth
    );
    for (key, value) in [
        ("seq", json!(4)),
        ("totalChunks", json!(2)),
        ("contentId", json!("f".repeat(32))),
    ] {
        let mut changed = env.clone();
        changed[key] = value;
        assert_eq!(
            open_content(&keys, &changed, &data).unwrap_err(),
            EnvelopeError::Signature,
            "{key}"
        );
    }
    for (key, value) in [
        ("format", json!(2)),
        ("by", json!("x")),
        ("iv", json!("AAAA")),
        ("contentId", json!("A".repeat(32))),
        ("seq", json!(-1)),
    ] {
        let mut changed = env.clone();
        changed[key] = value;
        assert!(
            matches!(
                open_content(&keys, &changed, &data),
                Err(EnvelopeError::Shape(_))
            ),
            "{key}"
        );
    }
    assert!(matches!(
        open_content(&keys, &env, &data[..100]),
        Err(EnvelopeError::Shape(_))
    ));
    assert!(matches!(
        open_content(&keys, &env, &vec![0; MAX_SEALED_JSON + 16]),
        Err(EnvelopeError::Shape(_))
    ));
    let other_room = RoomKeys::derive(&crate::v3::keys::RoomSecret {
        room_key: [1; 32],
        ..room(&all())
    });
    assert_eq!(
        open_content(&other_room, &env, &data).unwrap_err(),
        EnvelopeError::Auth
    );

    // Unpadded JSON, sealed and signed by a genuine member, is still refused.
    let aad = v3::meta_aad(&keys.epoch, id, &me.public_key(), 9, 0);
    let mut plain = br#"{"kind":"clear","at":5}"#.to_vec();
    plain.resize(PAD_BLOCK, b'x');
    let (iv, sealed) = keys.seal(&plain, &aad);
    let mut env = env.clone();
    env["seq"] = json!(9);
    env["totalChunks"] = json!(0);
    env["iv"] = json!(BASE64.encode(&iv));
    env["sig"] = json!(BASE64.encode(&me.sign_blob(&aad, &iv, &sealed)));
    assert_eq!(
        open_content(&keys, &env, &sealed).unwrap_err(),
        EnvelopeError::Padding
    );
}

#[test]
fn chunks_are_bound_to_their_item_sender_and_place() {
    let keys = keys();
    let me = Device::generate();
    let id = "0123456789abcdef0123456789abcdef";
    let size = 1000;
    let total = v3::chunk_count(size);
    let mut plain = vec![7u8; size as usize];
    plain.resize(v3::padded_size(size) as usize, 0);
    let (env, data) = seal_chunk(&keys, &me, id, 0, total, &plain);
    let by = me.public_key();
    let item = ItemRef {
        id,
        by: &by,
        total,
        size,
    };
    assert_eq!(
        open_chunk(&keys, &item, &env, &data).unwrap(),
        (0, plain.clone())
    );
    assert!(padding_is_zero(&plain, 0, size));
    let mut dirty = plain.clone();
    *dirty.last_mut().unwrap() = 1;
    assert!(!padding_is_zero(&dirty, 0, size));
    let other = Device::generate().public_key();
    let wrong_sender = ItemRef { by: &other, ..item };
    assert_eq!(
        open_chunk(&keys, &wrong_sender, &env, &data).unwrap_err(),
        EnvelopeError::Signature
    );
    let item = ItemRef {
        id,
        by: &by,
        total,
        size,
    };
    assert!(matches!(
        open_chunk(&keys, &item, &env, &data[1..]),
        Err(EnvelopeError::Shape(_))
    ));
    let mut moved = env.clone();
    moved["chunkIndex"] = json!(1);
    assert!(matches!(
        open_chunk(&keys, &item, &moved, &data),
        Err(EnvelopeError::Shape(_))
    ));
    let mut relabelled = env.clone();
    relabelled["contentId"] = json!("f".repeat(32));
    assert!(open_chunk(&keys, &item, &relabelled, &data).is_err());
}
