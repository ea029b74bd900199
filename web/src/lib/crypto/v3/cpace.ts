/**
 * CPace, cipher suite CPACE-RISTR255-SHA512, composed exactly as draft-irtf-cfrg-cpace-21
 * specifies, in initiator–responder mode with its explicit key confirmation
 * ("Key confirmation": `mac_key = H(b"CPaceMac" || sid || ISK)`, `T = MAC(mac_key,
 * lv_cat(Y, AD))`; docs/protocol.md pins the MAC to HMAC-SHA256, as everywhere in format v3). The group and hashes are
 * `@noble/curves` and `@noble/hashes` (both audited); nothing here is a primitive of its own,
 * only the draft's composition. Synchronous, so the admission state machine stays sans-IO.
 *
 * K is never returned: a leaked K would let an observer test passphrase guesses offline.
 */
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { type Bytes, bytesEqual, concat, lv, lvCat, utf8Bytes } from './lv';

type Point = InstanceType<typeof ristretto255.Point>;

export const DSI = utf8Bytes('CPaceRistretto255');
/** SHA-512's input block size, the generator string's zero padding fills the first block. */
const S_IN_BYTES = 128;
const FIELD_BYTES = 32;
const ISK_DSI = utf8Bytes('CPaceRistretto255_ISK');
const MAC_LABEL = utf8Bytes('CPaceMac');

const own = (u: Uint8Array): Bytes => new Uint8Array(u);

/** A message that CPace refuses: an encoding that is not a point, or the identity. */
export class CpaceError extends Error {
  override name = 'CpaceError';
}

export function generatorString(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Bytes {
  const zpad = Math.max(0, S_IN_BYTES - 1 - lv(prs).length - lv(DSI).length);
  return lvCat(DSI, prs, new Uint8Array(zpad), ci, sid);
}

/** The session's generator: element derivation (RFC 9496) of the generator string's hash. */
export function calculateGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Point {
  const hash = sha512(generatorString(prs, ci, sid)).subarray(0, 2 * FIELD_BYTES);
  // Optional in noble's generic hasher type; ristretto255's always has it.
  const derive = ristretto255_hasher.deriveToCurve;
  if (!derive) throw new Error('@noble/curves has no ristretto255 element derivation');
  return derive(hash);
}

/** The draft's recommended sampling: 32 random bytes, cut to 252 bits, little-endian. */
export function scalarFromBytes(bytes: Uint8Array): bigint {
  if (bytes.length !== 32) throw new RangeError('a scalar is 32 bytes');
  let value = 0n;
  for (let i = 31; i >= 0; i--) value = (value << 8n) | BigInt(i === 31 ? bytes[i] & 0x0f : bytes[i]);
  return value;
}

export function sampleScalar(random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): bigint {
  for (;;) {
    const y = scalarFromBytes(random(32));
    // Zero has probability 2^-252; multiplying by it is refused by the group, so draw again.
    if (y !== 0n) return y;
  }
}

export const scalarMult = (y: bigint, g: Point): Bytes => own(g.multiply(y).toBytes());

/** `y * decode(X)`, or the identity's encoding when X does not decode. */
export function scalarMultVfy(y: bigint, encoded: Uint8Array): Bytes {
  let point: Point;
  try {
    point = ristretto255.Point.fromBytes(encoded);
  } catch {
    return new Uint8Array(FIELD_BYTES);
  }
  if (point.is0()) return new Uint8Array(FIELD_BYTES);
  return own(point.multiply(y).toBytes());
}

const isIdentity = (encoded: Uint8Array): boolean => encoded.every((b) => b === 0);

export const transcriptIr = (ya: Uint8Array, ada: Uint8Array, yb: Uint8Array, adb: Uint8Array): Bytes =>
  concat(lvCat(ya, ada), lvCat(yb, adb));

/** The shared key of a run; throws `CpaceError` when the peer's share is not a valid point. */
export function deriveIsk(
  y: bigint,
  peerShare: Uint8Array,
  sid: Uint8Array,
  shares: { ya: Uint8Array; ada: Uint8Array; yb: Uint8Array; adb: Uint8Array },
): Bytes {
  const k = scalarMultVfy(y, peerShare);
  if (isIdentity(k)) throw new CpaceError('the peer sent an invalid or identity point');
  return own(sha512(concat(lvCat(ISK_DSI, sid, k), transcriptIr(shares.ya, shares.ada, shares.yb, shares.adb))));
}

export const macKey = (sid: Uint8Array, isk: Uint8Array): Bytes => own(sha512(concat(MAC_LABEL, sid, isk)));

/** A party's key-confirmation tag over the message it sent. */
export const confirmationTag = (key: Uint8Array, share: Uint8Array, ad: Uint8Array): Bytes =>
  own(hmac(sha256, key, lvCat(share, ad)));

export const tagMatches = (key: Uint8Array, share: Uint8Array, ad: Uint8Array, tag: Uint8Array): boolean =>
  bytesEqual(confirmationTag(key, share, ad), tag);
