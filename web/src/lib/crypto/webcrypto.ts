/**
 * Format v2 and v3 primitives on Web Crypto (`crypto.subtle`), available only in secure contexts
 * (HTTPS or localhost). Non-extractable keys where the API allows it.
 */
import type { AeadKey, Bytes, CryptoBackend } from './backend';

export function webCryptoAvailable(): boolean {
  return typeof globalThis.crypto !== 'undefined' && typeof globalThis.crypto.subtle !== 'undefined';
}

export function createWebCryptoBackend(subtle: SubtleCrypto = globalThis.crypto.subtle): CryptoBackend {
  return {
    name: 'webcrypto',
    async pbkdf2Sha256(password, salt, iterations, length) {
      const base = await subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
      const bits = await subtle.deriveBits(
        { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
        base,
        length * 8,
      );
      return new Uint8Array(bits);
    },
    async hkdfSha256(ikm, salt, info, length) {
      const base = await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
      const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, base, length * 8);
      return new Uint8Array(bits);
    },
    async hmacSha256(key, message) {
      const k = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      return new Uint8Array(await subtle.sign('HMAC', k, message));
    },
    async sha256(message) {
      return new Uint8Array(await subtle.digest('SHA-256', message));
    },
    async aeadKey(raw): Promise<AeadKey> {
      return webCryptoAead(await subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']), subtle);
    },
  };
}

/** AES-256-GCM with a Web Crypto key (one imported here, or one the crypto worker posted). */
export function webCryptoAead(key: CryptoKey, subtle: SubtleCrypto = globalThis.crypto.subtle): AeadKey {
  return {
    cryptoKey: key,
    seal: async (iv: Bytes, plaintext: Bytes, aad: Bytes) =>
      new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, plaintext)),
    open: async (iv: Bytes, ciphertext: Bytes, aad: Bytes) =>
      new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, ciphertext)),
  };
}
