/**
 * Device keys (docs/protocol.md, "Devices, cards and the roster"): each device makes an Ed25519
 * key pair for each session it is in, and signs every item, control and card with it. Where the
 * engine has Ed25519 in Web Crypto, the private key is a non-extractable `CryptoKey`: IndexedDB
 * stores it as such and script cannot read its bytes. Elsewhere (pages that are not a secure
 * context, engines without Ed25519) `@noble/curves` (audited) signs with a 32-byte seed.
 * Verification follows RFC 8032 strictly on both paths (noble with ZIP-215 off).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Bytes } from './lv';
import { toBase64Url } from './lv';

export type StoredDeviceKey =
  | { kind: 'webcrypto'; publicKey: Bytes; privateKey: CryptoKey }
  | { kind: 'noble'; publicKey: Bytes; seed: Bytes };

export interface DeviceKey {
  readonly publicKey: Bytes;
  /** `b64url(publicKey)`: the device's id within its session. */
  readonly id: string;
  sign(message: Bytes): Promise<Bytes>;
  /** What the secret store keeps (a structured-cloneable value). */
  readonly stored: StoredDeviceKey;
}

export interface SignatureVerifier {
  readonly kind: 'webcrypto' | 'noble';
  verify(publicKey: Uint8Array, message: Bytes, signature: Uint8Array): Promise<boolean>;
}

export const SIGNATURE_BYTES = 64;
const ED25519 = { name: 'Ed25519' } as const;
const own = (u: Uint8Array): Bytes => new Uint8Array(u);

let webCryptoProbe: Promise<boolean> | undefined;

/** Whether this engine signs with Ed25519 in Web Crypto (asked once: a key is made and used). */
export function webCryptoHasEd25519(): Promise<boolean> {
  webCryptoProbe ??= (async () => {
    if (typeof globalThis.crypto?.subtle === 'undefined') return false;
    try {
      const pair = (await crypto.subtle.generateKey(ED25519, false, ['sign', 'verify'])) as CryptoKeyPair;
      const sig = await crypto.subtle.sign(ED25519, pair.privateKey, new Uint8Array(1));
      return await crypto.subtle.verify(ED25519, pair.publicKey, sig, new Uint8Array(1));
    } catch {
      return false;
    }
  })();
  return webCryptoProbe;
}

export function deviceKeyFrom(stored: StoredDeviceKey): DeviceKey {
  const publicKey = stored.publicKey;
  const sign =
    stored.kind === 'webcrypto'
      ? async (message: Bytes) => new Uint8Array(await crypto.subtle.sign(ED25519, stored.privateKey, message))
      : async (message: Bytes) => own(ed25519.sign(message, stored.seed));
  return { publicKey, id: toBase64Url(publicKey), sign, stored };
}

/** A new device key: in Web Crypto (non-extractable) where `webCrypto` allows, else in noble. */
export async function createDeviceKey(webCrypto: boolean): Promise<DeviceKey> {
  if (webCrypto) {
    const pair = (await crypto.subtle.generateKey(ED25519, false, ['sign', 'verify'])) as CryptoKeyPair;
    const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    return deviceKeyFrom({ kind: 'webcrypto', publicKey, privateKey: pair.privateKey });
  }
  const { secretKey, publicKey } = ed25519.keygen();
  return deviceKeyFrom({ kind: 'noble', publicKey: own(publicKey), seed: own(secretKey) });
}

export const nobleVerifier: SignatureVerifier = {
  kind: 'noble',
  async verify(publicKey, message, signature) {
    if (publicKey.length !== 32 || signature.length !== SIGNATURE_BYTES) return false;
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};

/** How many imported public keys a Web Crypto verifier keeps (a roster holds at most 256). */
const IMPORTED_KEYS = 512;

/** Verifies with Web Crypto, importing each public key once. */
export function webCryptoVerifier(): SignatureVerifier {
  const keys = new Map<string, Promise<CryptoKey>>();
  const imported = (publicKey: Uint8Array) => {
    const id = toBase64Url(publicKey);
    let key = keys.get(id);
    if (!key) {
      if (keys.size >= IMPORTED_KEYS) keys.delete(keys.keys().next().value as string);
      key = crypto.subtle.importKey('raw', own(publicKey), ED25519, false, ['verify']);
      keys.set(id, key);
    }
    return key;
  };
  return {
    kind: 'webcrypto',
    async verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== SIGNATURE_BYTES) return false;
      try {
        return await crypto.subtle.verify(ED25519, await imported(publicKey), own(signature), message);
      } catch {
        return false;
      }
    },
  };
}

export async function pickVerifier(): Promise<SignatureVerifier> {
  return (await webCryptoHasEd25519()) ? webCryptoVerifier() : nobleVerifier;
}
