/**
 * What format v3's sealed JSON may say (docs/protocol.md, "Sealed blobs" and "Control messages
 * (v3)"): an item's metadata (no sender name: the roster gives it), the controls shared with
 * format v2 (resend, cancel, progress, clear), and the controls that keep the roster and the
 * admission state (hello, roster, admitted, admission-failed, policy). Shapes only; signatures
 * of the cards and records inside are checked by the codec with the session's epoch.
 */
import { classify } from '../room/envelopes';
import type { ControlMessage, ItemMeta } from '../../types/protocol';

export type RoomControl =
  | { kind: 'hello'; clientId: string; card: unknown }
  | { kind: 'roster'; cards: unknown[]; admitted: unknown[] }
  | { kind: 'admitted'; record: unknown }
  | { kind: 'admission-failed'; at: number }
  | { kind: 'policy'; anyoneMayClear: boolean };

/** Cards and records one `roster` message may carry. */
export const MAX_ROSTER_ENTRIES = 64;

export type ItemMetaV3 = Omit<ItemMeta, 'senderName'>;

export type Classified =
  | { kind: 'item'; meta: ItemMetaV3 }
  | { kind: 'control'; msg: ControlMessage }
  | { kind: 'room'; msg: RoomControl };

const isString = (v: unknown): v is string => typeof v === 'string';
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function classifyV3(value: unknown): Classified | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  switch (v.kind) {
    case 'hello':
      return isString(v.clientId) && v.clientId.length <= 64 ? { kind: 'room', msg: { kind: 'hello', clientId: v.clientId, card: v.card } } : undefined;
    case 'roster': {
      const cards = Array.isArray(v.cards) ? v.cards : [];
      const admitted = Array.isArray(v.admitted) ? v.admitted : [];
      if (cards.length > MAX_ROSTER_ENTRIES || admitted.length > MAX_ROSTER_ENTRIES) return undefined;
      return { kind: 'room', msg: { kind: 'roster', cards, admitted } };
    }
    case 'admitted':
      return { kind: 'room', msg: { kind: 'admitted', record: v.record } };
    case 'admission-failed':
      return isTime(v.at) ? { kind: 'room', msg: { kind: 'admission-failed', at: v.at } } : undefined;
    case 'policy':
      return typeof v.anyoneMayClear === 'boolean' ? { kind: 'room', msg: { kind: 'policy', anyoneMayClear: v.anyoneMayClear } } : undefined;
    case 'text':
    case 'image':
    case 'file':
    case 'folder': {
      // Format v2's item check, with the sender's name that v3 leaves out put in for it.
      const opened = classify({ ...v, senderName: '' });
      if (opened?.kind !== 'item') return undefined;
      const meta: ItemMetaV3 & { senderName?: string } = { ...opened.meta };
      delete meta.senderName;
      return { kind: 'item', meta };
    }
    default: {
      const opened = classify(value);
      return opened?.kind === 'control' ? opened : undefined;
    }
  }
}
