/**
 * Cards and admission records (docs/protocol.md, "Devices, cards and the roster"). A card is a
 * device naming itself, signed with its own key and bound to the session's epoch; a record is a
 * member saying, under its signature, that it admitted a device under a name; an applicant's
 * intro (step 3 of admission) proves it holds its device key, bound to one run. Names are shown
 * only from these: never from anything the server says. Parsing checks every field, because a
 * card comes from another member or through the server, both hostile input.
 */
import { fromBase64, toBase64 } from '../format';
import type { DeviceKey, SignatureVerifier } from './device-key';
import { type Bytes, fromBase64Url, lvCat } from './lv';
import { PUBLIC_KEY_BYTES } from './room-keys';

export interface Card {
  device: string;
  name: string;
  at: number;
  sig: string;
}

export interface AdmissionRecord {
  device: string;
  name: string;
  by: string;
  at: number;
  sig: string;
}

export const NAME_MAX_CHARS = 32;

/** A display name as cards carry it: 1–32 characters, no control characters. */
export function validName(name: unknown): name is string {
  if (typeof name !== 'string') return false;
  const chars = [...name].length;
  return chars >= 1 && chars <= NAME_MAX_CHARS && !/\p{Cc}/u.test(name);
}

/** The public key a device id names, or undefined when it is not one. */
export function devicePublicKey(device: unknown): Bytes | undefined {
  if (typeof device !== 'string' || device.length !== 43) return undefined;
  try {
    const pk = fromBase64Url(device);
    return pk.length === PUBLIC_KEY_BYTES ? pk : undefined;
  } catch {
    return undefined;
  }
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isSig = (v: unknown): v is string => typeof v === 'string' && v.length === 88;
const sigBytes = (sig: string): Bytes | undefined => {
  try {
    return fromBase64(sig);
  } catch {
    return undefined;
  }
};

export const cardMessage = (epoch: Uint8Array, devicePk: Uint8Array, name: string, at: number): Bytes =>
  lvCat('sharethings/v3/card', epoch, devicePk, name, at);

export const recordMessage = (epoch: Uint8Array, devicePk: Uint8Array, name: string, byPk: Uint8Array, at: number): Bytes =>
  lvCat('sharethings/v3/admitted', epoch, devicePk, name, byPk, at);

/** What an applicant signs in step 3: its key, for this run of this session, under this name. */
export const introMessage = (sessionId: string, sid: Uint8Array, devicePk: Uint8Array, name: string): Bytes =>
  lvCat('sharethings/v3/applicant', sessionId, sid, devicePk, name);

/** The applicant's proof that it holds the key of the device it asks to be admitted as. */
export async function signIntro(device: DeviceKey, sessionId: string, sid: Uint8Array, name: string): Promise<string> {
  return toBase64(await device.sign(introMessage(sessionId, sid, device.publicKey, name)));
}

/** Whether an applicant's intro is signed by the device it names, for this run. */
export async function introVerifies(
  verifier: SignatureVerifier,
  sessionId: string,
  sid: Uint8Array,
  intro: { device: string; name: string; sig: string },
): Promise<boolean> {
  const pk = devicePublicKey(intro.device);
  const sig = isSig(intro.sig) ? sigBytes(intro.sig) : undefined;
  return !!pk && !!sig && verifier.verify(pk, introMessage(sessionId, sid, pk, intro.name), sig);
}

export async function makeCard(epoch: Uint8Array, device: DeviceKey, name: string, at: number): Promise<Card> {
  const sig = await device.sign(cardMessage(epoch, device.publicKey, name, at));
  return { device: device.id, name, at, sig: toBase64(sig) };
}

export async function makeRecord(epoch: Uint8Array, by: DeviceKey, device: string, name: string, at: number): Promise<AdmissionRecord> {
  const pk = devicePublicKey(device);
  if (!pk) throw new Error('not a device id');
  const sig = await by.sign(recordMessage(epoch, pk, name, by.publicKey, at));
  return { device, name, by: by.id, at, sig: toBase64(sig) };
}

/** The card `value` is, if it has a card's shape and its device's signature verifies. */
export async function verifiedCard(verifier: SignatureVerifier, epoch: Uint8Array, value: unknown): Promise<Card | undefined> {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const pk = devicePublicKey(v.device);
  if (!pk || !validName(v.name) || !isTime(v.at) || !isSig(v.sig)) return undefined;
  const sig = sigBytes(v.sig);
  if (!sig || !(await verifier.verify(pk, cardMessage(epoch, pk, v.name, v.at), sig))) return undefined;
  return { device: v.device as string, name: v.name, at: v.at, sig: v.sig };
}

/** The record `value` is, if it has a record's shape and its admitter's signature verifies. */
export async function verifiedRecord(verifier: SignatureVerifier, epoch: Uint8Array, value: unknown): Promise<AdmissionRecord | undefined> {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const pk = devicePublicKey(v.device);
  const byPk = devicePublicKey(v.by);
  if (!pk || !byPk || !validName(v.name) || !isTime(v.at) || !isSig(v.sig)) return undefined;
  const sig = sigBytes(v.sig);
  if (!sig || !(await verifier.verify(byPk, recordMessage(epoch, pk, v.name, byPk, v.at), sig))) return undefined;
  return { device: v.device as string, name: v.name, by: v.by as string, at: v.at, sig: v.sig };
}
