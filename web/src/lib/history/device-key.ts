/**
 * The key a device keeps for its history (see `history.ts`), and AES-256-GCM under it.
 *
 * Where Web Crypto exists (a secure context: HTTPS or localhost) the key is a non-extractable
 * `CryptoKey`, made here and stored in IndexedDB as the object itself: the browser keeps its
 * bytes where page scripts, and the history's own records, never see them. Where it does not
 * (plain HTTP from a LAN address) there is no such key to be had: the fallback makes 32 random
 * bytes, stores them in the same database, and seals with @noble/ciphers. That is the same
 * AES-GCM, but the key sits beside the ciphertext: it keeps the history from being read as
 * plain text, not from anyone who can read the browser's profile. `protection` says which one
 * a device has, so the page can say so. The pure-JS AES is loaded only by pages that need it.
 */
export type Bytes = Uint8Array<ArrayBuffer>;

/** `device-key`: a non-extractable Web Crypto key. `stored-key`: raw bytes next to the data. */
export type KeyProtection = 'device-key' | 'stored-key';

/** The key as IndexedDB keeps it. */
export type StoredKey = { kind: 'webcrypto'; key: CryptoKey } | { kind: 'raw'; key: Bytes };

export interface Sealed {
  iv: Bytes;
  ct: Bytes;
}

export interface HistoryCipher {
  readonly protection: KeyProtection;
  seal(plaintext: Bytes, aad: Bytes): Promise<Sealed>;
  /** Rejects when the tag does not verify (another key, another record's AAD, changed bytes). */
  open(sealed: Sealed, aad: Bytes): Promise<Bytes>;
}

const IV_BYTES = 12;

/** `crypto.getRandomValues` exists in every context, secure or not; only `subtle` does not. */
const randomBytes = (n: number): Bytes => crypto.getRandomValues(new Uint8Array(n));

/** A new key: a non-extractable CryptoKey when `subtle` is there, 32 random bytes otherwise. */
export async function newDeviceKey(subtle: SubtleCrypto | undefined): Promise<StoredKey> {
  if (subtle) return { kind: 'webcrypto', key: await subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']) };
  return { kind: 'raw', key: randomBytes(32) };
}

/** The cipher for a kept key, or `null` for a Web Crypto key on a page without Web Crypto. */
export function historyCipher(stored: StoredKey, subtle: SubtleCrypto | undefined): HistoryCipher | null {
  if (stored.kind === 'webcrypto') {
    if (!subtle) return null;
    const key = stored.key;
    return {
      protection: 'device-key',
      async seal(plaintext, aad) {
        const iv = randomBytes(IV_BYTES);
        return { iv, ct: new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, plaintext)) };
      },
      async open({ iv, ct }, aad) {
        return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, ct));
      },
    };
  }
  const key = stored.key;
  const aes = import('@noble/ciphers/aes.js');
  return {
    protection: 'stored-key',
    async seal(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      return { iv, ct: new Uint8Array((await aes).gcm(key, iv, aad).encrypt(plaintext)) };
    },
    async open({ iv, ct }, aad) {
      return new Uint8Array((await aes).gcm(key, iv, aad).decrypt(ct));
    },
  };
}
