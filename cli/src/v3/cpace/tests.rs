use super::*;
use crate::v3::keys::{open_with, RoomKeys};
use crate::v3::test_vectors::{all, b64, hex, hex32, room};
use aes_gcm::aead::KeyInit;
use aes_gcm::Aes256Gcm;

/// draft-irtf-cfrg-cpace-21, Appendix B.3 (ristretto255, SHA-512), as format-v3.json quotes
/// it under `cpaceDraft`: generator, both shares, K and ISK (initiator-responder), and the
/// valid and invalid inputs of scalar_mult_vfy.
#[test]
fn matches_the_drafts_ristretto255_vectors() {
    let v = all();
    let d = &v["cpaceDraft"];
    assert!(d["citation"].as_str().unwrap().contains("cpace-21"));
    let (prs, ci, sid) = (hex(&d["PRS"]), hex(&d["CI"]), hex(&d["sid"]));
    let hash: [u8; 64] = Sha512::digest(v3::generator_string(&prs, &ci, &sid)).into();
    let g = RistrettoPoint::from_uniform_bytes(&hash);
    assert_eq!(g.compress().to_bytes().to_vec(), hex(&d["g"]));
    let (ya, yb) = (scalar_from(hex32(&d["ya"])), scalar_from(hex32(&d["yb"])));
    let ya_pub = (g * ya).compress().to_bytes();
    let yb_pub = (g * yb).compress().to_bytes();
    assert_eq!(ya_pub.to_vec(), hex(&d["Ya"]));
    assert_eq!(yb_pub.to_vec(), hex(&d["Yb"]));
    let k = scalar_mult_vfy(&ya, &yb_pub).unwrap();
    assert_eq!(scalar_mult_vfy(&yb, &ya_pub).unwrap(), k);
    assert_eq!(k.to_vec(), hex(&d["K"]));
    let isk = Sha512::digest(v3::isk_input(
        &sid,
        &k,
        &ya_pub,
        &hex(&d["ADa"]),
        &yb_pub,
        &hex(&d["ADb"]),
    ));
    assert_eq!(isk.to_vec(), hex(&d["ISK_IR"]));
    let sm = &d["scalarMult"];
    let s = scalar_from(hex32(&sm["s"]));
    assert_eq!(
        scalar_mult_vfy(&s, &hex(&sm["X"])).unwrap().to_vec(),
        hex(&sm["sX"])
    );
    for bad in sm["invalid"].as_array().unwrap() {
        assert_eq!(scalar_mult_vfy(&s, &hex(bad)), Err(InvalidPoint));
    }
}

#[test]
fn reproduces_the_vectors_admission_run() {
    let v = all();
    let secret = room(&v);
    let a = &v["admission"];
    let prs = hex32(&a["PRS"]);
    assert_eq!(Some(prs), secret.prs);
    let session = &secret.session_id;
    let (ad_a, ad_b) = (a["ADa"].as_str().unwrap(), a["ADb"].as_str().unwrap());
    let sid: [u8; SID_BYTES] = hex(&a["sid"]).try_into().unwrap();
    let applicant = Initiator::with(&prs, session, ad_a, sid, scalar_from(hex32(&a["ya"])));
    assert_eq!(applicant.ya().to_vec(), hex(&a["Ya"]));
    let member = Responder::with(
        &prs,
        session,
        &sid,
        applicant.ya(),
        ad_a,
        ad_b,
        scalar_from(hex32(&a["yb"])),
    )
    .unwrap();
    assert_eq!(member.yb.to_vec(), hex(&a["Yb"]));
    assert_eq!(member.tb.to_vec(), hex(&a["Tb"]));
    assert_eq!(member.admit_key.to_vec(), hex(&a["admitKey"]));
    let steps = a["steps"].as_array().unwrap();
    assert_eq!(b64(&steps[2]["data"]["Yb"]), member.yb.to_vec());
    assert_eq!(b64(&steps[2]["data"]["Tb"]), member.tb.to_vec());
    let done = applicant.finish(&member.yb, &member.tb, ad_b).unwrap();
    assert!(done.member_knows_passphrase);
    assert_eq!(done.ta.to_vec(), hex(&a["Ta"]));
    assert_eq!(done.admit_key, member.admit_key);
    assert!(member.applicant_knows_passphrase(&done.ta));
    assert!(!member.applicant_knows_passphrase(&done.ta[1..]));

    // Steps 3 and 4 open under admitKey with their associated data.
    let cipher = Aes256Gcm::new(&done.admit_key.into());
    for (step, aad) in [
        (3, v3::applicant_aad(session, &sid)),
        (4, v3::bundle_aad(session, &sid)),
    ] {
        let s = &steps[step];
        assert_eq!(aad, hex(&s["aad"]));
        let plain = open_with(
            &cipher,
            &b64(&s["data"]["iv"]),
            &b64(&s["data"]["sealed"]),
            &aad,
        )
        .unwrap();
        assert_eq!(plain, s["plaintext"].as_str().unwrap().as_bytes());
    }
    assert_eq!(b64(&steps[3]["data"]["Ta"]), done.ta.to_vec());
    let _ = RoomKeys::derive(&secret);
}

#[test]
fn a_wrong_passphrase_fails_confirmation_both_ways() {
    let v = all();
    let a = &v["admission"];
    let prs = hex32(&a["PRS"]);
    let wrong = hex32(&a["wrongPassphrase"]["PRS"]);
    let applicant = Initiator::start(&prs, "s", "A");
    let member =
        Responder::respond(&wrong, "s", applicant.sid(), applicant.ya(), "A", "B").unwrap();
    let done = applicant.finish(&member.yb, &member.tb, "B").unwrap();
    assert!(!done.member_knows_passphrase);
    assert!(!member.applicant_knows_passphrase(&done.ta));
    assert_ne!(done.admit_key, member.admit_key);

    // The vectors' own wrong-passphrase answer is refused by the applicant of the run.
    let sid: [u8; SID_BYTES] = hex(&a["sid"]).try_into().unwrap();
    let session = v["room"]["sessionId"].as_str().unwrap();
    let applicant = Initiator::with(
        &prs,
        session,
        a["ADa"].as_str().unwrap(),
        sid,
        scalar_from(hex32(&a["ya"])),
    );
    let w = &a["wrongPassphrase"];
    let done = applicant
        .finish(&hex(&w["Yb"]), &hex(&w["Tb"]), a["ADb"].as_str().unwrap())
        .unwrap();
    assert_eq!(w["applicantAccepts"], false);
    assert!(!done.member_knows_passphrase);
}

#[test]
fn identities_bad_encodings_and_swapped_ids_abort_or_fail() {
    let prs = [9u8; 32];
    let a = Initiator::start(&prs, "s", "A");
    assert!(Responder::respond(&prs, "s", a.sid(), &[0u8; 32], "A", "B").is_err());
    assert!(Responder::respond(&prs, "s", a.sid(), &[0xffu8; 32], "A", "B").is_err());
    assert!(Responder::respond(&prs, "s", a.sid(), &a.ya()[..31], "A", "B").is_err());
    assert!(Responder::respond(&prs, "s", &a.sid()[..15], a.ya(), "A", "B").is_err());
    let b = Responder::respond(&prs, "s", a.sid(), a.ya(), "A", "B").unwrap();
    // The server relays with other ids than the two sides see: confirmation fails.
    let a2 = Initiator::start(&prs, "s", "A");
    let b2 = Responder::respond(&prs, "s", a2.sid(), a2.ya(), "X", "B").unwrap();
    assert!(
        !a2.finish(&b2.yb, &b2.tb, "B")
            .unwrap()
            .member_knows_passphrase
    );
    assert!(a.finish(&[0u8; 32], &b.tb, "B").is_err());
}
