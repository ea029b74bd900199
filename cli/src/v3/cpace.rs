//! CPace (draft-irtf-cfrg-cpace-21), ciphersuite CPACE-RISTR255-SHA512, initiator–responder
//! with the draft's explicit key confirmation, composed from curve25519-dalek's ristretto255
//! exactly as the draft says; no CPace crate has been audited, so the composition is kept
//! small and checked against the draft's own vectors and ours. The byte strings it hashes
//! are the protocol crate's (`format::v3`).
//!
//! The applicant is the initiator A, the member the responder B. The caller moves the
//! messages (`admit` events) and keeps the 60 s deadline; this module holds no clock.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest, Sha512};
use sharethings_protocol::format::v3::{self, POINT_BYTES, SID_BYTES, TAG_CONFIRM_BYTES};

use subtle::ConstantTimeEq;

use super::keys::{hmac, random, Key};

pub type Point = [u8; POINT_BYTES];
pub type Tag = [u8; TAG_CONFIRM_BYTES];

/// Why a run was abandoned: a share that is not a valid ristretto255 encoding, or a shared
/// point that is the identity (the draft's abort conditions).
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidPoint;

/// The draft's `sample_scalar`: 32 random bytes with the bits from 252 up cleared.
fn sample_scalar() -> Scalar {
    scalar_from(random())
}

fn scalar_from(mut bytes: [u8; 32]) -> Scalar {
    bytes[31] &= 0x0f;
    Scalar::from_bytes_mod_order(bytes)
}

fn generator(prs: &[u8], session_id: &str, sid: &[u8]) -> RistrettoPoint {
    let hash: [u8; 64] =
        Sha512::digest(v3::generator_string(prs, &v3::admit_ci(session_id), sid)).into();
    RistrettoPoint::from_uniform_bytes(&hash)
}

/// The draft's `scalar_mult_vfy`: `y * decode(X)`, refusing undecodable and identity results.
fn scalar_mult_vfy(y: &Scalar, x: &[u8]) -> Result<Point, InvalidPoint> {
    let point = CompressedRistretto::from_slice(x)
        .ok()
        .and_then(|c| c.decompress())
        .ok_or(InvalidPoint)?;
    let k = point * y;
    if k.is_identity() {
        return Err(InvalidPoint);
    }
    Ok(k.compress().to_bytes())
}

/// What both sides derive from a run: the intermediate key's confirmation tags and the key
/// that seals steps 3 and 4.
struct Derived {
    ta: Tag,
    tb: Tag,
    admit_key: Key,
}

fn derive(sid: &[u8], k: &Point, ya: &Point, ad_a: &str, yb: &Point, ad_b: &str) -> Derived {
    let isk = Sha512::digest(v3::isk_input(
        sid,
        k,
        ya,
        ad_a.as_bytes(),
        yb,
        ad_b.as_bytes(),
    ));
    let mac_key = Sha512::digest(v3::mac_key_input(sid, &isk));
    let mut admit_key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(sid), &isk)
        .expand(v3::ADMIT_INFO, &mut admit_key)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    Derived {
        ta: hmac(&mac_key, &v3::confirmation_input(ya, ad_a.as_bytes())),
        tb: hmac(&mac_key, &v3::confirmation_input(yb, ad_b.as_bytes())),
        admit_key,
    }
}

/// The applicant's side, between step 1 and step 2.
pub struct Initiator {
    sid: [u8; SID_BYTES],
    ya: Scalar,
    ya_pub: Point,
    ad_a: String,
}

/// The applicant's result once step 2 arrived: `ta` goes out in step 3 whatever happens;
/// `member_knows_passphrase` says whether `Tb` verified.
pub struct InitiatorDone {
    pub ta: Tag,
    pub admit_key: Key,
    pub member_knows_passphrase: bool,
}

impl Initiator {
    /// Starts a run: step 1 is `(sid, Ya)`.
    pub fn start(prs: &Key, session_id: &str, ad_a: &str) -> Initiator {
        Initiator::with(prs, session_id, ad_a, random(), sample_scalar())
    }

    fn with(
        prs: &Key,
        session_id: &str,
        ad_a: &str,
        sid: [u8; SID_BYTES],
        ya: Scalar,
    ) -> Initiator {
        let ya_pub = (generator(prs, session_id, &sid) * ya)
            .compress()
            .to_bytes();
        Initiator {
            sid,
            ya,
            ya_pub,
            ad_a: ad_a.to_string(),
        }
    }

    pub fn sid(&self) -> &[u8; SID_BYTES] {
        &self.sid
    }

    pub fn ya(&self) -> &Point {
        &self.ya_pub
    }

    /// Step 2 arrived: `Yb` and `Tb` from the member whose clientId is `ad_b`.
    pub fn finish(self, yb: &[u8], tb: &[u8], ad_b: &str) -> Result<InitiatorDone, InvalidPoint> {
        let k = scalar_mult_vfy(&self.ya, yb)?;
        let yb: Point = yb.try_into().map_err(|_| InvalidPoint)?;
        let d = derive(&self.sid, &k, &self.ya_pub, &self.ad_a, &yb, ad_b);
        let mac_ok = constant_time_eq(&d.tb, tb);
        Ok(InitiatorDone {
            ta: d.ta,
            admit_key: d.admit_key,
            member_knows_passphrase: mac_ok,
        })
    }
}

/// The member's side after it answered step 1 with step 2.
pub struct Responder {
    pub yb: Point,
    pub tb: Tag,
    ta: Tag,
    pub admit_key: Key,
}

impl Responder {
    /// Answers step 1 (`sid`, `Ya` from the applicant whose clientId is `ad_a`); the member's
    /// own clientId is `ad_b`.
    pub fn respond(
        prs: &Key,
        session_id: &str,
        sid: &[u8],
        ya: &[u8],
        ad_a: &str,
        ad_b: &str,
    ) -> Result<Responder, InvalidPoint> {
        Responder::with(prs, session_id, sid, ya, ad_a, ad_b, sample_scalar())
    }

    fn with(
        prs: &Key,
        session_id: &str,
        sid: &[u8],
        ya: &[u8],
        ad_a: &str,
        ad_b: &str,
        yb: Scalar,
    ) -> Result<Responder, InvalidPoint> {
        if sid.len() != SID_BYTES {
            return Err(InvalidPoint);
        }
        let k = scalar_mult_vfy(&yb, ya)?;
        let ya: Point = ya.try_into().map_err(|_| InvalidPoint)?;
        let yb_pub = (generator(prs, session_id, sid) * yb).compress().to_bytes();
        let d = derive(sid, &k, &ya, ad_a, &yb_pub, ad_b);
        Ok(Responder {
            yb: yb_pub,
            tb: d.tb,
            ta: d.ta,
            admit_key: d.admit_key,
        })
    }

    /// Step 3's `Ta`: whether the applicant knows the passphrase.
    pub fn applicant_knows_passphrase(&self, ta: &[u8]) -> bool {
        constant_time_eq(&self.ta, ta)
    }
}

fn constant_time_eq(expected: &Tag, got: &[u8]) -> bool {
    expected.as_slice().ct_eq(got).into()
}

#[cfg(test)]
mod tests;
