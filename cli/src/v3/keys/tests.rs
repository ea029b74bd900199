use super::*;
use crate::v3::test_vectors::{all, b64, devices, hex, hex32, room};
use sharethings_protocol::format::v3::{card_message, chunk_aad, meta_aad};

#[test]
fn the_room_secret_derives_the_vectors_keys_and_proof() {
    let v = all();
    let secret = room(&v);
    let keys = RoomKeys::derive(&secret);
    assert_eq!(keys.epoch.to_vec(), hex(&v["room"]["epoch"]));
    assert_eq!(
        keys.access_key().to_vec(),
        hex(&v["room"]["keys"]["access"]["key"])
    );
    assert_eq!(
        keys.safety_key.to_vec(),
        hex(&v["room"]["keys"]["safety"]["key"])
    );
    let join = &v["join"];
    let proof = keys.join_proof(&secret.session_id, &b64(&join["nonce"]));
    assert_eq!(proof.to_vec(), b64(&join["proof"]));
    assert_eq!(b64(&join["access"]), keys.access_key().to_vec());

    let [creator, member, applicant] = &devices(&v)[..] else {
        panic!("three devices")
    };
    let pks = [
        member.public_key(),
        applicant.public_key(),
        creator.public_key(),
    ];
    let refs: Vec<&[u8]> = pks.iter().map(|p| p.as_slice()).collect();
    assert_eq!(
        keys.safety_code(&refs),
        v["safety"]["code"].as_str().unwrap()
    );
}

#[test]
fn prs_normalises_the_passphrase_to_nfc() {
    let v = all();
    let r = &v["room"];
    let session = r["sessionId"].as_str().unwrap();
    let nfd = r["passphrase"].as_str().unwrap();
    let nfc = r["passphraseNfc"].as_str().unwrap();
    assert_ne!(nfd, nfc, "the vector's passphrase is typed in NFD");
    assert_eq!(r["iterations"], v3::PBKDF2_ITERATIONS);
    // One full derivation (the slow part), then the cheap one shows the NFC forms agree.
    assert_eq!(derive_prs(nfd, session).to_vec(), hex(&r["prs"]));
    assert_eq!(
        derive_prs_with(nfd, session, 2),
        derive_prs_with(nfc, session, 2)
    );
}

#[test]
fn cards_records_and_blobs_carry_the_vectors_signatures() {
    let v = all();
    let keys = RoomKeys::derive(&room(&v));
    let devices = devices(&v);
    for c in v["cards"].as_array().unwrap() {
        let signer = devices
            .iter()
            .find(|d| d.public_key().to_vec() == hex(&c["signerPk"]))
            .unwrap();
        let message = hex(&c["signedMessage"]);
        let sig = b64(&c["json"]["sig"]);
        assert_eq!(
            signer.sign(&message).to_vec(),
            sig,
            "Ed25519 is deterministic"
        );
        assert_eq!(verify(&signer.public_key(), &message, &sig), Ok(()));
        let mut forged = message.clone();
        *forged.last_mut().unwrap() ^= 1;
        assert_eq!(verify(&signer.public_key(), &forged, &sig), Err(AuthError));
    }
    let card = &v["cards"][0]["json"];
    let pk = parse_device_id(card["device"].as_str().unwrap()).unwrap();
    let message = card_message(
        &keys.epoch,
        &pk,
        card["name"].as_str().unwrap(),
        card["at"].as_u64().unwrap(),
    );
    assert_eq!(message, hex(&v["cards"][0]["signedMessage"]));

    let blobs = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|item| {
            let content = &item["content"];
            let env = &content["envelope"];
            let by = parse_device_id(env["by"].as_str().unwrap()).unwrap();
            let id = env["contentId"].as_str().unwrap().to_string();
            let total = env["totalChunks"].as_u64().unwrap();
            let meta = meta_aad(&keys.epoch, &id, &by, env["seq"].as_u64().unwrap(), total);
            let chunks = item["chunks"].as_array().unwrap().iter().map(move |c| {
                let i = c["envelope"]["chunkIndex"].as_u64().unwrap();
                (
                    by,
                    chunk_aad(&keys.epoch, &id, &by, i, total),
                    c.clone(),
                    "encryptedData",
                )
            });
            std::iter::once((by, meta, content.clone(), "data")).chain(chunks)
        })
        .chain(v["controls"].as_array().unwrap().iter().map(|c| {
            let by = parse_device_id(c["envelope"]["by"].as_str().unwrap()).unwrap();
            (by, hex(&c["aad"]), c.clone(), "data")
        }));
    let mut count = 0;
    for (by, aad, blob, field) in blobs {
        assert_eq!(aad, hex(&blob["aad"]));
        let iv: [u8; IV_BYTES] = b64(&blob["envelope"]["iv"]).try_into().unwrap();
        let plain = hex(&blob["plaintext"]);
        let sealed = keys.seal_with_iv(&iv, &plain, &aad);
        assert_eq!(sealed, hex(&blob[field]));
        assert_eq!(keys.open(&iv, &sealed, &aad), Ok(plain));
        assert_eq!(keys.open(&iv, &sealed, b"elsewhere"), Err(AuthError));
        let sig = b64(&blob["envelope"]["sig"]);
        let signer = devices.iter().find(|d| d.public_key() == by).unwrap();
        assert_eq!(signer.sign_blob(&aad, &iv, &sealed).to_vec(), sig);
        assert_eq!(verify_blob(&by, &aad, &iv, &sealed, &sig), Ok(()));
        assert_eq!(
            verify_blob(&by, &aad, &iv, &sealed[1..], &sig),
            Err(AuthError)
        );
        count += 1;
    }
    assert!(count >= 14, "{count} blobs");
}

#[test]
fn sealing_uses_fresh_ivs_and_ids_are_checked() {
    let keys = RoomKeys::derive(&RoomSecret {
        session_id: "s".into(),
        room_key: [7; 32],
        creator_pk: hex32(&all()["room"]["creatorPk"]),
        prs: None,
    });
    let (iv1, _) = keys.seal(b"x", b"a");
    let (iv2, ct) = keys.seal(b"x", b"a");
    assert_ne!(iv1, iv2);
    assert_eq!(keys.open(&iv2[..11], &ct, b"a"), Err(AuthError));
    assert_eq!(parse_device_id("short"), None);
    assert_eq!(parse_device_id("!!!!"), None);
    let d = Device::generate();
    assert_eq!(parse_device_id(&d.id()), Some(d.public_key()));
    assert_eq!(Device::from_seed(&d.seed()).id(), d.id());
    assert_eq!(verify(&d.public_key(), b"m", &[0; 63]), Err(AuthError));
}
