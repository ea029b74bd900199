/**
 * How much a device's history keeps, and what goes when it is over: the oldest unpinned
 * entries first. Pinned entries are never let go to make room; instead, pinning stops where
 * the pinned entries alone would fill the bound, so the history stays within it. Pure.
 */

export interface HistoryBounds {
  /** Entries kept at most, pinned ones included; 0 keeps nothing new (pinned ones stay). */
  items: number;
  /** Their stored size at most (ciphertext), pinned ones included. */
  bytes: number;
}

export interface Bounded {
  id: string;
  at: number;
  pinned: boolean;
  bytes: number;
}

/** The ids to let go so that `entries` fit `bounds`: oldest unpinned first, never a pinned one. */
export function overBound(entries: readonly Bounded[], bounds: HistoryBounds): string[] {
  let count = entries.length;
  let bytes = entries.reduce((sum, e) => sum + e.bytes, 0);
  const out: string[] = [];
  const oldestFirst = entries.filter((e) => !e.pinned).sort((a, b) => a.at - b.at);
  for (const e of oldestFirst) {
    if (count <= bounds.items && bytes <= bounds.bytes) break;
    out.push(e.id);
    count -= 1;
    bytes -= e.bytes;
  }
  return out;
}

/** Whether one more entry of `bytes` may be pinned, beside the pinned ones in `entries`. */
export function canPin(entries: readonly Bounded[], bytes: number, bounds: HistoryBounds): boolean {
  const pinned = entries.filter((e) => e.pinned);
  return pinned.length + 1 <= bounds.items && pinned.reduce((sum, e) => sum + e.bytes, bytes) <= bounds.bytes;
}
