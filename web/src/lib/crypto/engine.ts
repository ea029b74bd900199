/**
 * The crypto engine: holds derived keys by id and seals/opens blobs with format v2 AAD.
 * Runs inside the Web Worker (see `crypto.worker.ts`); also usable in-thread where Workers
 * are missing (tests). Key bytes never leave it: callers get a key id, the fingerprint and, with
 * Web Crypto, the chunk key as an unextractable `CryptoKey`.
 */
import { type AeadKey, type CryptoBackend, deriveSessionKeys } from './backend';
import { AuthError, ReadError } from './errors';
import { encodeUtf8, type Fingerprint, IV_BYTES } from './format';
import { createPureJsBackend } from './purejs';
import { createWebCryptoBackend, webCryptoAvailable } from './webcrypto';

export type Bytes = Uint8Array<ArrayBuffer>;
export { AuthError, ReadError };

export interface DeriveResult {
  keyId: number;
  fingerprint: Fingerprint;
  backend: CryptoBackend['name'];
  /** The key as Web Crypto holds it (unextractable), where the backend is Web Crypto. */
  chunkKey?: CryptoKey;
}

export function pickBackend(): CryptoBackend {
  return webCryptoAvailable() ? createWebCryptoBackend() : createPureJsBackend();
}

export class CryptoEngine {
  private readonly keys = new Map<number, AeadKey>();
  private nextId = 1;

  constructor(private readonly backend: CryptoBackend = pickBackend()) {}

  async derive(passphrase: string, sessionId: string, iterations?: number): Promise<DeriveResult> {
    const k = await deriveSessionKeys(this.backend, passphrase, sessionId, iterations);
    const keyId = this.nextId++;
    const aead = await this.backend.aeadKey(k.encKey);
    this.keys.set(keyId, aead);
    return { keyId, fingerprint: k.fingerprint, backend: this.backend.name, chunkKey: aead.cryptoKey };
  }

  forget(keyId: number): void {
    this.keys.delete(keyId);
  }

  /** Encrypts with a fresh random IV, returned beside the ciphertext. */
  async seal(keyId: number, plaintext: Bytes, aad: string, iv?: Bytes): Promise<{ iv: Bytes; data: Bytes }> {
    const key = this.key(keyId);
    const nonce = iv ?? crypto.getRandomValues(new Uint8Array(IV_BYTES));
    return { iv: nonce, data: await key.seal(nonce, plaintext, encodeUtf8(aad)) };
  }

  /** Seals what `read` gives; a read that fails is a ReadError (the source file is unreadable). */
  async sealRead(keyId: number, read: () => Promise<Bytes>, aad: string): Promise<{ iv: Bytes; data: Bytes }> {
    let plain: Bytes;
    try {
      plain = await read();
    } catch (err) {
      throw new ReadError(err instanceof Error ? err.message : String(err));
    }
    return this.seal(keyId, plain, aad);
  }

  async open(keyId: number, iv: Bytes, ciphertext: Bytes, aad: string): Promise<Bytes> {
    const key = this.key(keyId);
    try {
      return await key.open(iv, ciphertext, encodeUtf8(aad));
    } catch {
      throw new AuthError();
    }
  }

  private key(keyId: number): AeadKey {
    const key = this.keys.get(keyId);
    if (!key) throw new Error('unknown key');
    return key;
  }
}
