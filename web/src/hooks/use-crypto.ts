/** One crypto worker for the page's lifetime, created on first use. */
import { createCryptoClient, type CryptoClient } from '../lib/crypto/crypto-client';

let client: CryptoClient | undefined;

export function getCryptoClient(): CryptoClient {
  client ??= createCryptoClient();
  return client;
}

/** True when the browser's own crypto is missing and the pure-JS fallback is in use. */
export const usingFallbackCrypto = (): boolean =>
  typeof globalThis.crypto === 'undefined' || typeof globalThis.crypto.subtle === 'undefined';
