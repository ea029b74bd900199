/**
 * The primitives formats v2 and v3 need, behind one interface with two implementations: Web Crypto
 * (`webcrypto.ts`) and pure JS (`purejs.ts`, for pages that are not a secure context). Both
 * must produce identical bytes; the unit tests hold them to independent vectors.
 * Key derivation built on the primitives lives here too, so it is written once.
 */
import {
  AUTH_INFO,
  ENC_INFO,
  type Fingerprint,
  FORMAT_VERSION,
  kdfSalt,
  PBKDF2_ITERATIONS,
  toBase64,
  verifierMessage,
} from './format';

export type Bytes = Uint8Array<ArrayBuffer>;

/** An AES-256-GCM key ready for use; ciphertexts are `ct || tag` as Web Crypto returns them. */
export interface AeadKey {
  seal(iv: Bytes, plaintext: Bytes, aad: Bytes): Promise<Bytes>;
  /** Rejects when the tag does not verify (wrong key, wrong AAD, tampered bytes). */
  open(iv: Bytes, ciphertext: Bytes, aad: Bytes): Promise<Bytes>;
  /** The Web Crypto key behind it, when there is one: it can be posted, and stays unextractable. */
  readonly cryptoKey?: CryptoKey;
}

export interface CryptoBackend {
  readonly name: 'webcrypto' | 'purejs';
  pbkdf2Sha256(password: Bytes, salt: Bytes, iterations: number, length: number): Promise<Bytes>;
  hkdfSha256(ikm: Bytes, salt: Bytes, info: Bytes, length: number): Promise<Bytes>;
  hmacSha256(key: Bytes, message: Bytes): Promise<Bytes>;
  sha256(message: Bytes): Promise<Bytes>;
  aeadKey(raw: Bytes): Promise<AeadKey>;
}

export interface SessionKeys {
  master: Bytes;
  encKey: Bytes;
  authKey: Bytes;
  fingerprint: Fingerprint;
}

/**
 * Derives the session keys from the passphrase. The passphrase and keys stay in this
 * process; only `fingerprint` (a MAC over the session name) is ever sent to the server.
 */
export async function deriveSessionKeys(
  backend: CryptoBackend,
  passphrase: string,
  sessionId: string,
  iterations = PBKDF2_ITERATIONS,
): Promise<SessionKeys> {
  const password = new TextEncoder().encode(passphrase);
  const master = await backend.pbkdf2Sha256(password, kdfSalt(sessionId), iterations, 32);
  const empty = new Uint8Array(0);
  const encKey = await backend.hkdfSha256(master, empty, ENC_INFO, 32);
  const authKey = await backend.hkdfSha256(master, empty, AUTH_INFO, 32);
  const mac = await backend.hmacSha256(authKey, verifierMessage(sessionId));
  return { master, encKey, authKey, fingerprint: { v: FORMAT_VERSION, mac: toBase64(mac) } };
}
