/**
 * The sealed part of a `content` event: an item's metadata, or a control message (resend,
 * cancel, clear). Sealing them under the session key is what lets a receiver trust them: the
 * server relays them but can neither read nor forge one (PROTOCOL.md, "Sealed control
 * messages"). Opening checks the shape too, because a member's bytes are still hostile input.
 */
import type { CryptoClient } from '../crypto/crypto-client';
import { fromBase64, metaAad, toBase64 } from '../crypto/format';
import type { CancelNotice, ContentEnvelope, ContentEvent, ControlMessage, ItemMeta, SealedMeta } from '../../types/protocol';
import { newContentId } from './ids';

export interface SealedEnvelope {
  content: ContentEnvelope;
  data: Uint8Array;
}

const encodeJson = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

export async function sealEnvelope(crypto: CryptoClient, keyId: number, meta: SealedMeta, contentId: string, totalChunks: number): Promise<SealedEnvelope> {
  const sealed = await crypto.seal(keyId, encodeJson(meta), metaAad(contentId));
  return { content: { contentId, format: 2, totalChunks, iv: toBase64(sealed.iv) }, data: sealed.data };
}

/** A control message travels as an item of zero chunks with a fresh id. */
export const sealControl = (crypto: CryptoClient, keyId: number, msg: ControlMessage) =>
  sealEnvelope(crypto, keyId, msg, newContentId(), 0);

export type Opened = { kind: 'item'; meta: ItemMeta } | { kind: 'control'; msg: ControlMessage };

/** Opens a `content` event; undefined when it does not authenticate or makes no sense. */
export async function openEnvelope(crypto: CryptoClient, keyId: number, e: ContentEvent): Promise<Opened | undefined> {
  const env = e.content;
  if (!env || env.format !== 2 || typeof env.contentId !== 'string' || typeof env.iv !== 'string') return undefined;
  let value: unknown;
  try {
    const plain = await crypto.open(keyId, fromBase64(env.iv), e.data, metaAad(env.contentId));
    value = JSON.parse(new TextDecoder().decode(plain));
  } catch {
    return undefined;
  }
  return classify(value);
}

const CANCEL_REASONS: readonly CancelNotice['reason'][] = ['cancelled', 'unreadable', 'failed', 'left'];

const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

export function classify(value: unknown): Opened | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  switch (v.kind) {
    case 'text':
    case 'image':
    case 'file':
      if (!isString(v.name) || !isString(v.mime) || !isCount(v.size) || !isString(v.senderName) || typeof v.createdAt !== 'number') return undefined;
      return { kind: 'item', meta: value as ItemMeta };
    case 'resend': {
      if (!isString(v.contentId) || !isCount(v.fromChunk)) return undefined;
      const ranges = Array.isArray(v.ranges) ? v.ranges.filter((r): r is [number, number] => Array.isArray(r) && r.length === 2 && r.every(isCount)).slice(0, 256) : undefined;
      return { kind: 'control', msg: { kind: 'resend', contentId: v.contentId, fromChunk: v.fromChunk, ...(ranges ? { ranges } : {}) } };
    }
    case 'cancel':
      if (!isString(v.contentId) || !CANCEL_REASONS.includes(v.reason as CancelNotice['reason'])) return undefined;
      return { kind: 'control', msg: { kind: 'cancel', contentId: v.contentId, reason: v.reason as CancelNotice['reason'] } };
    case 'progress':
      if (!isString(v.contentId) || !isCount(v.have)) return undefined;
      return { kind: 'control', msg: { kind: 'progress', contentId: v.contentId, have: v.have } };
    case 'clear':
      if (typeof v.at !== 'number') return undefined;
      return { kind: 'control', msg: { kind: 'clear', at: v.at } };
    default:
      return undefined;
  }
}

/** How far a clear's clock may be from ours; outside it, a replay by the server is refused. */
export const CLEAR_WINDOW_MS = 5 * 60_000;

/**
 * Accepts each sealed clear once and only near its time, so the server cannot replay an old
 * one later: it can only delay or drop messages, never invent them.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  accept(controlId: string, at: number, now = Date.now()): boolean {
    for (const [id, t] of this.seen) if (now - t > 2 * CLEAR_WINDOW_MS) this.seen.delete(id);
    if (Math.abs(now - at) > CLEAR_WINDOW_MS || this.seen.has(controlId)) return false;
    this.seen.set(controlId, now);
    return true;
  }
}
