//! Format 3's inputs against tests/vectors/format-v3.json (and the CPace draft's own values it
//! quotes). Hashes are computed here with sha2 only to compare with the vectors; what the
//! crate exports stays hash-free.

use super::*;
use data_encoding::{BASE64, BASE64URL_NOPAD, HEXLOWER};
use proptest::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};

fn vectors() -> Value {
    crate::vectors::format_v3()
}

fn hex(v: &Value) -> Vec<u8> {
    HEXLOWER
        .decode(v.as_str().expect("hex string").as_bytes())
        .unwrap()
}

fn b64(v: &Value) -> Vec<u8> {
    BASE64.decode(v.as_str().unwrap().as_bytes()).unwrap()
}

fn device_pk(id: &Value) -> Vec<u8> {
    BASE64URL_NOPAD
        .decode(id.as_str().unwrap().as_bytes())
        .unwrap()
}

#[test]
fn lv_encodes_lengths_as_leb128_like_the_draft() {
    let v = vectors();
    assert_eq!(v["format"], VERSION);
    for case in v["lv"].as_array().unwrap() {
        let parts: Vec<Vec<u8>> = case["parts"].as_array().unwrap().iter().map(hex).collect();
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        assert_eq!(lv_cat(&refs), hex(&case["encoded"]));
    }
    let draft = &v["cpaceDraft"]["lvCat"];
    let parts: Vec<Vec<u8>> = draft["parts"].as_array().unwrap().iter().map(hex).collect();
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    assert_eq!(lv_cat(&refs), hex(&draft["encoded"]));
    assert_eq!(lv_cat(&[&decimal(42)]), hex(&v["decimal"]["lv"]));
    assert_eq!(leb128(0), [0]);
    assert_eq!(leb128(300), [0xac, 0x02]);
    assert_eq!(leb128(u64::MAX).len(), 10);
}

#[test]
fn the_room_secret_derives_from_these_inputs() {
    let v = vectors();
    let room = &v["room"];
    let session = room["sessionId"].as_str().unwrap();
    let creator = hex(&room["creatorPk"]);
    assert_eq!(epoch_input(&creator), hex(&room["epochInput"]));
    assert_eq!(
        Sha256::digest(epoch_input(&creator))[..EPOCH_BYTES],
        hex(&room["epoch"])[..]
    );
    assert_eq!(
        pake_salt(session),
        room["pakeSalt"].as_str().unwrap().as_bytes()
    );
    assert_eq!(room["iterations"], PBKDF2_ITERATIONS);
    for label in KeyLabel::ALL {
        let info = &room["keys"][label.as_str()]["info"];
        assert_eq!(key_info(label, session), hex(info), "{label:?}");
    }
    let join = &v["join"];
    let nonce = b64(&join["nonce"]);
    assert_eq!(nonce.len(), NONCE_BYTES);
    assert_eq!(join_message(session, &nonce), hex(&join["message"]));
    let inbox = &v["inbox"];
    let nonce = b64(&inbox["nonce"]);
    for case in inbox["actions"].as_array().unwrap() {
        let action: Vec<&[u8]> = case["action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|part| part.as_str().unwrap().as_bytes())
            .collect();
        assert_eq!(
            inbox_message(session, &nonce, &action),
            hex(&case["message"])
        );
    }
}

#[test]
fn the_cpace_inputs_match_the_drafts_vectors_and_ours() {
    let v = vectors();
    let d = &v["cpaceDraft"];
    let gen = generator_string(&hex(&d["PRS"]), &hex(&d["CI"]), &hex(&d["sid"]));
    assert_eq!(gen.len(), 170, "the draft's ZPAD of 100 bytes");
    assert_eq!(Sha512::digest(&gen).to_vec(), hex(&d["generatorHash"]));
    let isk = isk_input(
        &hex(&d["sid"]),
        &hex(&d["K"]),
        &hex(&d["Ya"]),
        &hex(&d["ADa"]),
        &hex(&d["Yb"]),
        &hex(&d["ADb"]),
    );
    assert_eq!(Sha512::digest(&isk).to_vec(), hex(&d["ISK_IR"]));

    let a = &v["admission"];
    let session = v["room"]["sessionId"].as_str().unwrap();
    let sid = hex(&a["sid"]);
    assert_eq!(a["DSI"].as_str().unwrap(), HEXLOWER.encode(CPACE_DSI));
    assert_eq!(admit_ci(session), hex(&a["CI"]));
    let gen = generator_string(&hex(&a["PRS"]), &admit_ci(session), &sid);
    assert_eq!(gen, hex(&a["generatorString"]));
    assert_eq!(Sha512::digest(&gen).to_vec(), hex(&a["generatorHash"]));
    let (ya, yb) = (hex(&a["Ya"]), hex(&a["Yb"]));
    let (ad_a, ad_b) = (a["ADa"].as_str().unwrap(), a["ADb"].as_str().unwrap());
    let input = isk_input(
        &sid,
        &hex(&a["K"]),
        &ya,
        ad_a.as_bytes(),
        &yb,
        ad_b.as_bytes(),
    );
    assert!(input.ends_with(&hex(&a["transcript"])));
    let isk = Sha512::digest(&input).to_vec();
    assert_eq!(isk, hex(&a["ISK"]));
    assert_eq!(
        Sha512::digest(mac_key_input(&sid, &isk)).to_vec(),
        hex(&a["macKey"])
    );
    assert_eq!(
        confirmation_input(&ya, ad_a.as_bytes()),
        lv_cat(&[&ya, ad_a.as_bytes()])
    );
    let steps = a["steps"].as_array().unwrap();
    assert_eq!(applicant_aad(session, &sid), hex(&steps[3]["aad"]));
    let claim: Value = serde_json::from_str(steps[3]["plaintext"].as_str().unwrap()).unwrap();
    let message = applicant_message(
        session,
        &sid,
        &device_pk(&claim["device"]),
        claim["name"].as_str().unwrap(),
    );
    assert_eq!(message, hex(&steps[3]["signedMessage"]));
    assert_eq!(bundle_aad(session, &sid), hex(&steps[4]["aad"]));
    for (step, key) in [(0, "Ya"), (2, "Yb")] {
        assert_eq!(b64(&steps[step]["data"][key]).len(), POINT_BYTES);
    }
    assert_eq!(b64(&steps[2]["data"]["Tb"]).len(), TAG_CONFIRM_BYTES);
    assert_eq!(b64(&steps[0]["data"]["sid"]).len(), SID_BYTES);
    assert_eq!(ADMIT_INFO, b"sharethings/v3/admit");
}

#[test]
fn cards_records_and_blobs_sign_and_bind_these_bytes() {
    let v = vectors();
    let epoch = hex(&v["room"]["epoch"]);
    for c in v["cards"].as_array().unwrap() {
        let j = &c["json"];
        let pk = device_pk(&j["device"]);
        let message = card_message(
            &epoch,
            &pk,
            j["name"].as_str().unwrap(),
            j["at"].as_u64().unwrap(),
        );
        assert_eq!(message, hex(&c["signedMessage"]));
        assert_eq!(b64(&j["sig"]).len(), SIGNATURE_BYTES);
    }
    for r in v["records"].as_array().unwrap() {
        let j = &r["json"];
        let message = record_message(
            &epoch,
            &device_pk(&j["device"]),
            j["name"].as_str().unwrap(),
            &device_pk(&j["by"]),
            j["at"].as_u64().unwrap(),
        );
        assert_eq!(message, hex(&r["signedMessage"]));
    }
    let mut blobs = 0;
    for item in v["items"].as_array().unwrap() {
        let env = &item["content"]["envelope"];
        let id = env["contentId"].as_str().unwrap();
        let by = device_pk(&env["by"]);
        let total = env["totalChunks"].as_u64().unwrap();
        assert_eq!(env["format"], VERSION);
        let aad = meta_aad(&epoch, id, &by, env["seq"].as_u64().unwrap(), total);
        check_blob(&item["content"], &aad, "data");
        assert_eq!(total, chunk_count(item["size"].as_u64().unwrap()));
        for chunk in item["chunks"].as_array().unwrap() {
            let env = &chunk["envelope"];
            let index = env["chunkIndex"].as_u64().unwrap();
            let aad = chunk_aad(&epoch, id, &by, index, total);
            check_blob(chunk, &aad, "encryptedData");
            let plain = hex(&chunk["plaintext"]);
            assert_eq!(
                plain.len() as u64,
                chunk_len(index, item["size"].as_u64().unwrap())
            );
            blobs += 1;
        }
    }
    for control in v["controls"].as_array().unwrap() {
        let env = &control["envelope"];
        assert_eq!(env["totalChunks"], 0);
        let aad = meta_aad(
            &epoch,
            env["contentId"].as_str().unwrap(),
            &device_pk(&env["by"]),
            env["seq"].as_u64().unwrap(),
            0,
        );
        check_blob(control, &aad, "data");
        blobs += 1;
    }
    assert!(blobs >= 12);
}

/// The blob's associated data and signed message are what this crate builds, and its
/// sealed metadata is padded JSON.
fn check_blob(blob: &Value, aad: &[u8], sealed_key: &str) {
    assert_eq!(aad, hex(&blob["aad"]));
    let iv = b64(&blob["envelope"]["iv"]);
    assert_eq!(iv.len(), IV_BYTES);
    let sealed = hex(&blob[sealed_key]);
    let plain = hex(&blob["plaintext"]);
    assert_eq!(sealed.len(), plain.len() + TAG_BYTES);
    let blob_hash = Sha256::digest([iv, sealed].concat());
    let message = signature_message(&Sha256::digest(aad), &blob_hash);
    assert_eq!(message, hex(&blob["signedMessage"]));
    if sealed_key == "data" {
        assert_eq!(plain.len() % PAD_BLOCK, 0);
        let json = std::str::from_utf8(&plain).unwrap().trim_end_matches(' ');
        assert_eq!(json_padding(json.len()) + json.len(), plain.len());
    }
}

#[test]
fn padding_and_chunk_counts_match_the_table() {
    let v = vectors();
    let p = &v["padding"];
    assert_eq!(p["chunkSize"], CHUNK_SIZE);
    assert_eq!(p["padBlock"], PAD_BLOCK);
    assert_eq!(p["minItemPadded"], MIN_ITEM_PADDED);
    assert_eq!(p["maxItemBytes"], MAX_ITEM_BYTES);
    assert_eq!(p["replayWindow"], REPLAY_WINDOW);
    for row in p["padme"].as_array().unwrap() {
        let size = row["size"].as_u64().unwrap();
        assert_eq!(
            padme(size),
            row["padded"].as_u64().unwrap(),
            "padme({size})"
        );
    }
    for row in p["items"].as_array().unwrap() {
        let size = row["size"].as_u64().unwrap();
        let total = row["totalChunks"].as_u64().unwrap();
        assert_eq!(padded_size(size), row["padded"].as_u64().unwrap(), "{size}");
        assert_eq!(chunk_count(size), total, "{size}");
        assert_eq!(
            chunk_len(total - 1, size),
            row["lastChunkBytes"].as_u64().unwrap()
        );
        assert_eq!(accepts_item(size, total), row["accepted"] == true, "{size}");
    }
    for row in p["json"].as_array().unwrap() {
        let n = row["json"].as_u64().unwrap() as usize;
        assert_eq!(
            n + json_padding(n),
            row["padded"].as_u64().unwrap() as usize
        );
    }
}

#[test]
fn the_safety_code_hashes_sorted_keys_into_six_groups() {
    let v = vectors();
    let s = &v["safety"];
    let pks: Vec<Vec<u8>> = s["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(device_pk)
        .collect();
    let refs: Vec<&[u8]> = pks.iter().map(Vec::as_slice).collect();
    assert_eq!(safety_message(&refs), hex(&s["message"]));
    let mut reversed = refs.clone();
    reversed.reverse();
    assert_eq!(
        safety_message(&reversed),
        hex(&s["message"]),
        "order does not matter"
    );
    assert_eq!(safety_code(&hex(&s["hmac"])), s["code"].as_str().unwrap());
}

#[test]
fn throttling_waits_grow_to_five_minutes() {
    let waits: Vec<u64> = (0..14).map(throttle_secs).collect();
    assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    assert_eq!(throttle_secs(u64::MAX), MAX_THROTTLE_SECS);
}

proptest! {
    #[test]
    fn padme_never_shrinks_and_leaks_few_bits(len in 0u64..(1 << 41)) {
        let p = padme(len);
        prop_assert!(p >= len);
        // Padmé's bound: at most about 12 % overhead, and padme is idempotent.
        prop_assert!(p - len <= len / 8 + 1);
        prop_assert_eq!(padme(p), p);
    }

    #[test]
    fn chunks_cover_the_padded_body_once(size in 0u64..(20 * CHUNK_SIZE)) {
        let total = chunk_count(size);
        let lens: Vec<u64> = (0..total).map(|i| chunk_len(i, size)).collect();
        prop_assert_eq!(lens.iter().sum::<u64>(), padded_size(size));
        prop_assert!(lens.iter().all(|&l| l > 0));
        prop_assert_eq!(chunk_len(total, size), 0);
        prop_assert!(accepts_item(size, total));
        prop_assert!(!accepts_item(size, total + 1));
    }

    #[test]
    fn never_overflows(size in any::<u64>(), index in any::<u64>(), json in any::<usize>()) {
        prop_assert!(chunk_len(index, size) <= CHUNK_SIZE);
        let _ = (chunk_count(size), padme(size), json_padding(json), throttle_secs(size));
    }
}

/// Computed by Python's own `hmac` and a LEB128 written from the CPace draft, not by this
/// crate: the session name has multi-byte characters, so its prefix counts bytes.
#[test]
fn the_join_message_is_pinned_by_an_independent_implementation() {
    let nonce: Vec<u8> = (100..116).collect();
    assert_eq!(
        HEXLOWER.encode(&join_message("Café ☕ 17", &nonce)),
        "1373686172657468696e67732f76332f6a6f696e0c436166c3a920e29895203137\
         106465666768696a6b6c6d6e6f70717273"
    );
    let mut out = Vec::new();
    lv(&mut out, &[b'x'; 16384]);
    assert_eq!(out[..3], [0x80, 0x80, 0x01]);
}
