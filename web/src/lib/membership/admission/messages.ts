/**
 * The `admit` messages of an admission run (docs/protocol.md, "Admission by a member"): their
 * JSON shapes, read strictly, since they come from a device that is not yet trusted (or from
 * the server pretending to be one). Binary fields are base64; every length is checked.
 */
import { fromBase64, toBase64 } from '../../crypto/format';
import { type AdmissionRecord, type Card, devicePublicKey, validName } from '../../crypto/v3/cards';
import type { Bytes } from '../../crypto/v3/lv';
import { PRS_BYTES, PUBLIC_KEY_BYTES, ROOM_KEY_BYTES } from '../../crypto/v3/room-keys';

export const SID_BYTES = 16;
const POINT_BYTES = 32;
const TAG_BYTES = 32;
const IV_BYTES = 12;
/** Larger sealed parts are refused unread (16 cards and a record fit in well under this). */
export const MAX_SEALED_BYTES = 16 * 1024;
/** A member's longest announced wait (docs: `min(300, 2^(n−3))` seconds). */
export const MAX_WAIT_MS = 300_000;
/** Cards a member sends in step 4. */
export const MAX_BUNDLE_CARDS = 16;

export type StepData = Record<string, unknown>;

function bytes(value: unknown, length?: number, max = MAX_SEALED_BYTES): Bytes | undefined {
  if (typeof value !== 'string' || value.length > Math.ceil(max / 3) * 4) return undefined;
  try {
    const b = fromBase64(value);
    if (length !== undefined ? b.length !== length : b.length === 0 || b.length > max) return undefined;
    return b;
  } catch {
    return undefined;
  }
}

const record = (data: unknown): StepData | undefined =>
  typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as StepData) : undefined;

export interface Step1 {
  sid: Bytes;
  Ya: Bytes;
}
export const step1 = (m: Step1): StepData => ({ sid: toBase64(m.sid), Ya: toBase64(m.Ya) });
export function parseStep1(data: unknown): Step1 | undefined {
  const d = record(data);
  const sid = bytes(d?.sid, SID_BYTES);
  const Ya = bytes(d?.Ya, POINT_BYTES);
  return sid && Ya ? { sid, Ya } : undefined;
}

export const step0 = (waitMs: number): StepData => ({ waitMs });
export function parseStep0(data: unknown): number | undefined {
  const w = record(data)?.waitMs;
  return typeof w === 'number' && Number.isInteger(w) && w >= 0 && w <= MAX_WAIT_MS ? w : undefined;
}

export interface Step2 {
  Yb: Bytes;
  Tb: Bytes;
}
export const step2 = (m: Step2): StepData => ({ Yb: toBase64(m.Yb), Tb: toBase64(m.Tb) });
export function parseStep2(data: unknown): Step2 | undefined {
  const d = record(data);
  const Yb = bytes(d?.Yb, POINT_BYTES);
  const Tb = bytes(d?.Tb, TAG_BYTES);
  return Yb && Tb ? { Yb, Tb } : undefined;
}

export interface SealedPart {
  iv: Bytes;
  sealed: Bytes;
}
const sealedPart = (d: StepData | undefined): SealedPart | undefined => {
  const iv = bytes(d?.iv, IV_BYTES);
  const sealed = bytes(d?.sealed);
  return iv && sealed ? { iv, sealed } : undefined;
};
const sealedFields = (p: SealedPart): StepData => ({ iv: toBase64(p.iv), sealed: toBase64(p.sealed) });

export interface Step3 extends SealedPart {
  Ta: Bytes;
}
export const step3 = (m: Step3): StepData => ({ Ta: toBase64(m.Ta), ...sealedFields(m) });
export function parseStep3(data: unknown): Step3 | undefined {
  const d = record(data);
  const Ta = bytes(d?.Ta, TAG_BYTES);
  const part = sealedPart(d);
  return Ta && part ? { Ta, ...part } : undefined;
}

export const step4 = (m: SealedPart): StepData => sealedFields(m);
export const parseStep4 = (data: unknown): SealedPart | undefined => sealedPart(record(data));

/**
 * What the applicant seals in step 3: the device it will be, the name it asks for, and its
 * signature over both for this run (checked by the member's shell before step 4).
 */
export interface ApplicantIntro {
  device: string;
  name: string;
  sig: string;
}
export function parseIntro(value: unknown): ApplicantIntro | undefined {
  const d = record(value);
  if (!d || !devicePublicKey(d.device) || !validName(d.name) || typeof d.sig !== 'string' || d.sig.length !== 88) return undefined;
  return { device: d.device as string, name: d.name, sig: d.sig };
}

/**
 * What the member seals in step 4: the room secret, cards of members it knows and its record of
 * this admission. Cards and the record are checked on their signatures by the receiver later
 * (it needs the epoch, which this bundle gives); here only their count and the secret's sizes.
 */
export interface AdmissionBundle {
  roomKey: Bytes;
  creatorPk: Bytes;
  prs?: Bytes;
  cards: unknown[];
  admitted: unknown;
}
export interface BundleFields {
  roomKey: Uint8Array;
  creatorPk: Uint8Array;
  prs?: Uint8Array;
  cards: Card[];
  admitted: AdmissionRecord;
}
export const bundleJson = (b: BundleFields) => ({
  roomKey: toBase64(b.roomKey),
  creatorPk: toBase64(b.creatorPk),
  ...(b.prs ? { prs: toBase64(b.prs) } : {}),
  cards: b.cards.slice(0, MAX_BUNDLE_CARDS),
  admitted: b.admitted,
});
export function parseBundle(value: unknown): AdmissionBundle | undefined {
  const d = record(value);
  const roomKey = bytes(d?.roomKey, ROOM_KEY_BYTES);
  const creatorPk = bytes(d?.creatorPk, PUBLIC_KEY_BYTES);
  const prs = d?.prs === undefined ? undefined : bytes(d.prs, PRS_BYTES);
  if (!d || !roomKey || !creatorPk || (d.prs !== undefined && !prs)) return undefined;
  if (!Array.isArray(d.cards) || d.cards.length > MAX_BUNDLE_CARDS || record(d.admitted) === undefined) return undefined;
  return { roomKey, creatorPk, prs, cards: d.cards, admitted: d.admitted };
}
