/**
 * Encryption format v2 (docs/protocol.md, "Client-side encryption"): the constants, salts and
 * associated-data strings every implementation must agree on. Pure values; no crypto calls,
 * no React. The server never sees anything derived here except the fingerprint, which is a
 * MAC it can compare but cannot turn back into a key.
 */

export const FORMAT_VERSION = 2;
export const PBKDF2_ITERATIONS = 600_000;
/** Plaintext bytes per chunk; the last chunk may be shorter. */
export const CHUNK_SIZE = 256 * 1024;
/** Chunks a sender may have on the wire without an ack (flow control). */
export const MAX_UNACKED_CHUNKS = 8;
export const IV_BYTES = 12;

const utf8 = new TextEncoder();

export const encodeUtf8 = (s: string): Uint8Array<ArrayBuffer> => utf8.encode(s);

export const kdfSalt = (sessionId: string): Uint8Array<ArrayBuffer> =>
  encodeUtf8(`sharethings/v2/${sessionId}`);
export const ENC_INFO = encodeUtf8('sharethings/v2/enc');
export const AUTH_INFO = encodeUtf8('sharethings/v2/auth');
export const verifierMessage = (sessionId: string): Uint8Array<ArrayBuffer> =>
  encodeUtf8(`verifier:${sessionId}`);

/** Associated data binding a metadata blob to its item. */
export const metaAad = (contentId: string): string => `${contentId}:meta`;
/** Associated data binding a chunk to its item, position and count (detects reordering). */
export const chunkAad = (contentId: string, chunkIndex: number, totalChunks: number): string =>
  `${contentId}:${chunkIndex}:${totalChunks}`;

/** What `join` presents; the server binds a new session to it and compares later joins. */
export interface Fingerprint {
  v: 2;
  mac: string;
}

export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export const toHex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
