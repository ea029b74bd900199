/**
 * The cryptography of one admission run (docs/protocol.md, "Admission by a member"): CPace
 * between an applicant (initiator A) and a member (responder B) keyed on the passphrase's `prs`,
 * then `admitKey` from the run's ISK, which seals the applicant's name (step 3) and the room
 * secret (step 4). All of it is synchronous (`@noble`), so the admission state machines call it
 * directly and stay free of I/O and of time.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { IV_BYTES } from '../format';
import { calculateGenerator, confirmationTag, deriveIsk, macKey, sampleScalar, scalarMult, tagMatches } from './cpace';
import { type Bytes, lvCat, utf8Bytes } from './lv';

export const SID_BYTES = 16;
const own = (u: Uint8Array): Bytes => new Uint8Array(u);
type Random = (n: number) => Uint8Array;
const systemRandom: Random = (n) => crypto.getRandomValues(new Uint8Array(n));

export const admitChannel = (sessionId: string): Bytes => lvCat('sharethings/v3/admit', sessionId);
export const applicantAad = (sessionId: string, sid: Uint8Array): Bytes => lvCat('sharethings/v3/admit/applicant', sessionId, sid);
export const bundleAad = (sessionId: string, sid: Uint8Array): Bytes => lvCat('sharethings/v3/admit/bundle', sessionId, sid);

export const admitKeyFrom = (isk: Uint8Array, sid: Uint8Array): Bytes =>
  own(hkdf(sha256, isk, sid, utf8Bytes('sharethings/v3/admit'), 32));

/** The applicant's first message and what it keeps to finish. */
export interface ApplicantRun {
  sid: Bytes;
  ya: bigint;
  Ya: Bytes;
  ada: Bytes;
}

export function applicantStart(prs: Uint8Array, sessionId: string, applicantId: string, random: Random = systemRandom): ApplicantRun {
  const sid = own(random(SID_BYTES));
  const ya = sampleScalar(random);
  const Ya = scalarMult(ya, calculateGenerator(prs, admitChannel(sessionId), sid));
  return { sid, ya, Ya, ada: utf8Bytes(applicantId) };
}

export interface ApplicantFinish {
  /** Whether the member's tag verified: false means another passphrase (or a forged run). */
  memberConfirmed: boolean;
  Ta: Bytes;
  admitKey: Bytes;
}

/** Throws `CpaceError` when `Yb` is not a valid point. */
export function applicantFinish(run: ApplicantRun, memberId: string, Yb: Uint8Array, Tb: Uint8Array): ApplicantFinish {
  const adb = utf8Bytes(memberId);
  const isk = deriveIsk(run.ya, Yb, run.sid, { ya: run.Ya, ada: run.ada, yb: Yb, adb });
  const key = macKey(run.sid, isk);
  return {
    memberConfirmed: tagMatches(key, Yb, adb, Tb),
    Ta: confirmationTag(key, run.Ya, run.ada),
    admitKey: admitKeyFrom(isk, run.sid),
  };
}

/** The member's answer, and what it checks the applicant's step 3 against. */
export interface MemberRun {
  Yb: Bytes;
  Tb: Bytes;
  admitKey: Bytes;
  /** Whether `Ta` is the applicant's confirmation (its passphrase is the room's). */
  confirms(Ta: Uint8Array): boolean;
}

/** Throws `CpaceError` when `Ya` is not a valid point. */
export function memberRespond(
  prs: Uint8Array,
  sessionId: string,
  sid: Uint8Array,
  Ya: Uint8Array,
  applicantId: string,
  memberId: string,
  random: Random = systemRandom,
): MemberRun {
  const ada = utf8Bytes(applicantId);
  const adb = utf8Bytes(memberId);
  const yb = sampleScalar(random);
  const Yb = scalarMult(yb, calculateGenerator(prs, admitChannel(sessionId), sid));
  const isk = deriveIsk(yb, Ya, sid, { ya: Ya, ada, yb: Yb, adb });
  const key = macKey(sid, isk);
  return {
    Yb,
    Tb: confirmationTag(key, Yb, adb),
    admitKey: admitKeyFrom(isk, sid),
    confirms: (Ta) => tagMatches(key, Ya, ada, Ta),
  };
}

export interface AdmitSealed {
  iv: Bytes;
  sealed: Bytes;
}

export function sealAdmit(admitKey: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, random: Random = systemRandom): AdmitSealed {
  const iv = own(random(IV_BYTES));
  return { iv, sealed: own(gcm(admitKey, iv, aad).encrypt(plaintext)) };
}

/** Throws when the blob does not authenticate under `admitKey` and `aad`. */
export const openAdmit = (admitKey: Uint8Array, blob: AdmitSealed, aad: Uint8Array): Bytes =>
  own(gcm(admitKey, blob.iv, aad).decrypt(blob.sealed));
