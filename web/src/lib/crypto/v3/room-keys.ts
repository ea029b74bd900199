/**
 * Format v3's key schedule (docs/protocol.md, "The room secret"): a session's content keys come
 * from a random room key made by the device that creates it, never from the passphrase. The
 * passphrase only yields `prs`, the input of the members' PAKE, which never leaves the devices.
 * The server gets `accessKey` (high entropy; it derives nothing else) and proofs made with it.
 */
import type { Bytes, CryptoBackend } from '../backend';
import { PBKDF2_ITERATIONS } from '../format';
import { concat, fromBase64Url, lvCat, toBase64Url, utf8Bytes } from './lv';

export const ROOM_KEY_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const PRS_BYTES = 32;
export const EPOCH_BYTES = 16;

/** What a member keeps to rejoin with no passphrase and no member online. */
export interface RoomSecret {
  sessionId: string;
  roomKey: Bytes;
  /** The creator's device public key: it fixes the epoch and says who the creator is. */
  creatorPk: Bytes;
  /** The passphrase's PAKE input, present when the session admits by passphrase. */
  prs?: Bytes;
}

export interface RoomKeys {
  epoch: Bytes;
  contentKey: Bytes;
  accessKey: Bytes;
  safetyKey: Bytes;
}

export const newRoomKey = (): Bytes => crypto.getRandomValues(new Uint8Array(ROOM_KEY_BYTES));

/** The passphrase's PAKE input: PBKDF2 of its NFC form, so two keyboards' forms agree. */
export function derivePrs(
  backend: CryptoBackend,
  passphrase: string,
  sessionId: string,
  iterations = PBKDF2_ITERATIONS,
): Promise<Bytes> {
  const password = utf8Bytes(passphrase.normalize('NFC'));
  return backend.pbkdf2Sha256(password, utf8Bytes(`sharethings/v3/pake/${sessionId}`), iterations, PRS_BYTES);
}

export async function epochOf(backend: CryptoBackend, creatorPk: Bytes): Promise<Bytes> {
  return (await backend.sha256(lvCat('sharethings/v3/epoch', creatorPk))).slice(0, EPOCH_BYTES);
}

export async function deriveRoomKeys(backend: CryptoBackend, secret: RoomSecret): Promise<RoomKeys> {
  const epoch = await epochOf(backend, secret.creatorPk);
  const key = (label: string) =>
    backend.hkdfSha256(secret.roomKey, epoch, lvCat(`sharethings/v3/${label}`, secret.sessionId), 32);
  const [contentKey, accessKey, safetyKey] = await Promise.all([key('content'), key('access'), key('safety')]);
  return { epoch, contentKey, accessKey, safetyKey };
}

/**
 * What the creator's device signs to act on the server's inbox (docs/protocol.md, "Inbox
 * authority"): `lv_cat("sharethings/v3/inbox", sessionId, nonce, action…)`, with `action` one of
 * `["clear"]`, `["delete", contentId]`, `["policy", "anyone" | "creator"]`.
 */
export const inboxMessage = (sessionId: string, nonce: Bytes, action: readonly string[]): Bytes =>
  lvCat('sharethings/v3/inbox', sessionId, nonce, ...action);

/** The server's challenge answered: `HMAC(accessKey, lv_cat("sharethings/v3/join", sessionId, nonce))`. */
export const joinProof = (backend: CryptoBackend, accessKey: Bytes, sessionId: string, nonce: Bytes): Promise<Bytes> =>
  backend.hmacSha256(accessKey, lvCat('sharethings/v3/join', sessionId, nonce));

/** The secret as an invite link's fragment carries it: `roomKey || creatorPk || prs?`, base64url. */
export function encodeSecretKey(secret: RoomSecret): string {
  return toBase64Url(concat(secret.roomKey, secret.creatorPk, secret.prs ?? new Uint8Array(0)));
}

/** Reads an invite's key; throws on any length but 64 or 96 bytes. */
export function decodeSecretKey(sessionId: string, key: string): RoomSecret {
  const bytes = fromBase64Url(key);
  const base = ROOM_KEY_BYTES + PUBLIC_KEY_BYTES;
  if (bytes.length !== base && bytes.length !== base + PRS_BYTES) throw new Error('an invite key is 64 or 96 bytes');
  return {
    sessionId,
    roomKey: bytes.slice(0, ROOM_KEY_BYTES),
    creatorPk: bytes.slice(ROOM_KEY_BYTES, base),
    prs: bytes.length > base ? bytes.slice(base) : undefined,
  };
}
