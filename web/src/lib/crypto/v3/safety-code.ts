/**
 * The safety code (docs/protocol.md, "Safety code"): two devices that show the same code hold
 * the same room secret and see the same members, so no one sits in the middle. It is a MAC
 * under the room's safety key over the members' public keys, sorted bytewise so that every
 * device computes it alike, shown as six groups of five digits.
 */
import type { Bytes, CryptoBackend } from '../backend';
import { compareBytes, lvCat } from './lv';

export const SAFETY_GROUPS = 6;

export async function safetyCode(backend: CryptoBackend, safetyKey: Bytes, publicKeys: Uint8Array[]): Promise<string> {
  const sorted = [...publicKeys].sort(compareBytes);
  const mac = await backend.hmacSha256(safetyKey, lvCat('sharethings/v3/safety', ...sorted));
  const view = new DataView(mac.buffer, mac.byteOffset, mac.byteLength);
  const groups: string[] = [];
  for (let i = 0; i < SAFETY_GROUPS; i++) groups.push(String(view.getUint32(4 * i) % 100_000).padStart(5, '0'));
  return groups.join(' ');
}
