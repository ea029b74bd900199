//! Format v3's secrets on RustCrypto and ed25519-dalek: the room secret and the keys it
//! derives, `prs` from the passphrase, the join proof, this device's signing key, and sealing,
//! opening, signing and verifying blobs. What goes into each primitive is the protocol crate's
//! `format::v3`; this module only calls the primitives.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sharethings_protocol::format::v3::{
    self, KeyLabel, EPOCH_BYTES, IV_BYTES, KEY_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES,
};
use unicode_normalization::UnicodeNormalization;

/// A blob or signature that did not check out: wrong key, wrong place, or tampered bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct AuthError;

pub type Key = [u8; KEY_BYTES];
pub type PublicKey = [u8; PUBLIC_KEY_BYTES];

/// What makes a device a member: kept in the key store, handed over in invites and bundles.
#[derive(Clone, PartialEq, Eq)]
pub struct RoomSecret {
    pub session_id: String,
    pub room_key: Key,
    pub creator_pk: PublicKey,
    /// Present when the session has a passphrase: a member needs it to admit applicants.
    pub prs: Option<Key>,
}

impl std::fmt::Debug for RoomSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomSecret")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system has a random source");
    bytes
}

fn hkdf(ikm: &[u8], salt: &[u8], info: &[u8]) -> Key {
    let mut out = [0u8; KEY_BYTES];
    hkdf::Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut out)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    out
}

pub fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// `prs` from a typed passphrase: NFC first, so that the same words typed on two keyboards
/// agree. [`v3::PBKDF2_ITERATIONS`] rounds: a noticeable fraction of a second, on purpose.
pub fn derive_prs(passphrase: &str, session_id: &str) -> Key {
    derive_prs_with(passphrase, session_id, v3::PBKDF2_ITERATIONS)
}

pub(crate) fn derive_prs_with(passphrase: &str, session_id: &str, iterations: u32) -> Key {
    let nfc: String = passphrase.nfc().collect();
    let mut prs = [0u8; KEY_BYTES];
    pbkdf2::pbkdf2_hmac::<Sha256>(
        nfc.as_bytes(),
        &v3::pake_salt(session_id),
        iterations,
        &mut prs,
    );
    prs
}

/// The keys of one room, derived once from its secret.
pub struct RoomKeys {
    pub epoch: [u8; EPOCH_BYTES],
    cipher: Aes256Gcm,
    access_key: Key,
    safety_key: Key,
}

impl RoomKeys {
    pub fn derive(secret: &RoomSecret) -> RoomKeys {
        let epoch_hash = Sha256::digest(v3::epoch_input(&secret.creator_pk));
        let mut epoch = [0u8; EPOCH_BYTES];
        epoch.copy_from_slice(&epoch_hash[..EPOCH_BYTES]);
        let key = |label| {
            hkdf(
                &secret.room_key,
                &epoch,
                &v3::key_info(label, &secret.session_id),
            )
        };
        RoomKeys {
            epoch,
            cipher: Aes256Gcm::new(&key(KeyLabel::Content).into()),
            access_key: key(KeyLabel::Access),
            safety_key: key(KeyLabel::Safety),
        }
    }

    /// The server's admission secret, sent when the join creates the session.
    pub fn access_key(&self) -> &Key {
        &self.access_key
    }

    /// The join proof for the server's `nonce` (the bytes its b64 carried).
    pub fn join_proof(&self, session_id: &str, nonce: &[u8]) -> [u8; 32] {
        hmac(&self.access_key, &v3::join_message(session_id, nonce))
    }

    /// Six groups of five digits over the members' public keys (any order).
    pub fn safety_code(&self, public_keys: &[&[u8]]) -> String {
        v3::safety_code(&hmac(&self.safety_key, &v3::safety_message(public_keys)))
    }

    /// Seals with a fresh random IV: `(iv, ciphertext || tag)`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> ([u8; IV_BYTES], Vec<u8>) {
        let iv = random();
        (iv, seal_with(&self.cipher, &iv, plaintext, aad))
    }

    pub fn open(&self, iv: &[u8], sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, AuthError> {
        open_with(&self.cipher, iv, sealed, aad)
    }

    #[cfg(test)]
    pub fn seal_with_iv(&self, iv: &[u8; IV_BYTES], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        seal_with(&self.cipher, iv, plaintext, aad)
    }
}

pub fn seal_with(cipher: &Aes256Gcm, iv: &[u8; IV_BYTES], plain: &[u8], aad: &[u8]) -> Vec<u8> {
    cipher
        .encrypt(&(*iv).into(), Payload { msg: plain, aad })
        .expect("AES-GCM seals any message below 64 GiB")
}

pub fn open_with(
    cipher: &Aes256Gcm,
    iv: &[u8],
    sealed: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, AuthError> {
    let iv: [u8; IV_BYTES] = iv.try_into().map_err(|_| AuthError)?;
    cipher
        .decrypt(&iv.into(), Payload { msg: sealed, aad })
        .map_err(|_| AuthError)
}

/// This device's key pair for one session.
pub struct Device {
    key: SigningKey,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl Device {
    pub fn generate() -> Device {
        Device::from_seed(&random())
    }

    pub fn from_seed(seed: &[u8; 32]) -> Device {
        Device {
            key: SigningKey::from_bytes(seed),
        }
    }

    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn public_key(&self) -> PublicKey {
        self.key.verifying_key().to_bytes()
    }

    /// The device id: base64url of the public key.
    pub fn id(&self) -> String {
        device_id(&self.public_key())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_BYTES] {
        self.key.sign(message).to_bytes()
    }

    /// The signature of a sealed blob: over the hashes of its associated data and of
    /// `iv || sealed` (hashed in pieces, so a chunk is never copied for it).
    pub fn sign_blob(&self, aad: &[u8], iv: &[u8], sealed: &[u8]) -> [u8; SIGNATURE_BYTES] {
        self.sign(&blob_message(aad, iv, sealed))
    }
}

pub fn device_id(pk: &[u8]) -> String {
    BASE64URL_NOPAD.encode(pk)
}

/// The public key a device id names; `None` for anything that is not 32 bytes of base64url.
pub fn parse_device_id(id: &str) -> Option<PublicKey> {
    BASE64URL_NOPAD.decode(id.as_bytes()).ok()?.try_into().ok()
}

fn blob_message(aad: &[u8], iv: &[u8], sealed: &[u8]) -> Vec<u8> {
    let blob_hash = Sha256::new()
        .chain_update(iv)
        .chain_update(sealed)
        .finalize();
    v3::signature_message(&Sha256::digest(aad), &blob_hash)
}

/// Checks a signature under a device's public key (strict: no malleable or small-order
/// keys or signatures).
pub fn verify(pk: &PublicKey, message: &[u8], signature: &[u8]) -> Result<(), AuthError> {
    let key = VerifyingKey::from_bytes(pk).map_err(|_| AuthError)?;
    let signature = Signature::from_slice(signature).map_err(|_| AuthError)?;
    key.verify_strict(message, &signature)
        .map_err(|_| AuthError)
}

pub fn verify_blob(
    pk: &PublicKey,
    aad: &[u8],
    iv: &[u8],
    sealed: &[u8],
    sig: &[u8],
) -> Result<(), AuthError> {
    verify(pk, &blob_message(aad, iv, sealed), sig)
}

#[cfg(test)]
mod tests;
