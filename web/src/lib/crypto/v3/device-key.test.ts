/** Device keys on both paths: made, used, stored (structured clone) and checked by either verifier. */
import { describe, expect, it } from 'vitest';
import { createDeviceKey, deviceKeyFrom, nobleVerifier, webCryptoHasEd25519, webCryptoVerifier } from './device-key';
import { fromBase64Url, utf8Bytes } from './lv';

describe('device keys', () => {
  it('finds Ed25519 in this engine’s Web Crypto', async () => {
    expect(await webCryptoHasEd25519()).toBe(true);
  });

  it.each([true, false])('signs so that both verifiers agree (Web Crypto: %s)', async (webCrypto) => {
    const key = await createDeviceKey(webCrypto);
    expect(key.stored.kind).toBe(webCrypto ? 'webcrypto' : 'noble');
    expect(fromBase64Url(key.id)).toEqual(key.publicKey);
    const message = utf8Bytes('sharethings');
    const sig = await key.sign(message);
    for (const verifier of [webCryptoVerifier(), nobleVerifier]) {
      expect(await verifier.verify(key.publicKey, message, sig)).toBe(true);
      expect(await verifier.verify(key.publicKey, utf8Bytes('sharethingz'), sig)).toBe(false);
      const tampered = sig.slice();
      tampered[0] ^= 1;
      expect(await verifier.verify(key.publicKey, message, tampered)).toBe(false);
      expect(await verifier.verify(key.publicKey.subarray(1), message, sig)).toBe(false);
      expect(await verifier.verify(new Uint8Array(32), message, sig)).toBe(false);
    }
  });

  it('keeps the Web Crypto private key unextractable through a structured clone', async () => {
    const key = await createDeviceKey(true);
    if (key.stored.kind !== 'webcrypto') throw new Error('expected a Web Crypto key');
    expect(key.stored.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('pkcs8', key.stored.privateKey)).rejects.toThrow();
    const restored = deviceKeyFrom(structuredClone(key.stored));
    const message = utf8Bytes('after a reload');
    expect(await nobleVerifier.verify(key.publicKey, message, await restored.sign(message))).toBe(true);
  });

  it('refuses a signature whose S is not reduced (RFC 8032 strict) on both paths', async () => {
    const key = await createDeviceKey(false);
    const message = utf8Bytes('malleable?');
    const sig = await key.sign(message);
    // Adding the group order L to S gives the same point equation but a non-canonical S.
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]);
    s += L;
    const forged = sig.slice();
    for (let i = 32; i < 64; i++) {
      forged[i] = Number(s & 0xffn);
      s >>= 8n;
    }
    expect(await nobleVerifier.verify(key.publicKey, message, forged)).toBe(false);
    expect(await webCryptoVerifier().verify(key.publicKey, message, forged)).toBe(false);
  });
});
