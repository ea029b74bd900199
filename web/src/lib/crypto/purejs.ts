/**
 * Format v2 and v3 primitives in pure JavaScript (@noble/hashes, @noble/ciphers), for pages that are
 * not a secure context and so have no `crypto.subtle` (plain HTTP from a LAN address). Same
 * bytes as Web Crypto; slower, which is one reason all of this runs in a Web Worker.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { pbkdf2Async } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { AeadKey, Bytes, CryptoBackend } from './backend';

const own = (u: Uint8Array): Bytes => new Uint8Array(u);

export function createPureJsBackend(): CryptoBackend {
  return {
    name: 'purejs',
    async pbkdf2Sha256(password, salt, iterations, length) {
      return own(await pbkdf2Async(sha256, password, salt, { c: iterations, dkLen: length, asyncTick: 50 }));
    },
    async hkdfSha256(ikm, salt, info, length) {
      // An empty salt means "HashLen zeros" in RFC 5869; noble treats empty/undefined that way too.
      return own(hkdf(sha256, ikm, salt.length === 0 ? undefined : salt, info, length));
    },
    async hmacSha256(key, message) {
      return own(hmac(sha256, key, message));
    },
    async sha256(message) {
      return own(sha256(message));
    },
    async aeadKey(raw): Promise<AeadKey> {
      const key = own(raw);
      return {
        seal: async (iv, plaintext, aad) => own(gcm(key, iv, aad).encrypt(plaintext)),
        open: async (iv, ciphertext, aad) => own(gcm(key, iv, aad).decrypt(ciphertext)),
      };
    },
  };
}
