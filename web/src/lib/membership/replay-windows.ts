/**
 * No replay (docs/protocol.md, "No replay"): per session and per sender device, the highest
 * `seq` seen and which of the 4096 counters up to it were seen. A `content` event is taken once;
 * one whose counter was seen, or is older than the window, is dropped. The windows are saved
 * with the room secret (see `secret-store.ts`), so a reload does not reopen them. Bounded: at
 * most `maxSenders` devices, the one heard from longest ago forgotten first.
 */
import { fromBase64, toBase64 } from '../crypto/format';

export const REPLAY_WINDOW = 4096;
export const MAX_SENDERS = 256;

interface Window {
  highest: number;
  /** Bit `seq % REPLAY_WINDOW` is set when `seq` (within the window) was seen. */
  seen: Uint8Array;
}

/** How a window is stored: plain values only (IndexedDB's structured clone). */
export interface StoredWindow {
  device: string;
  highest: number;
  seen: string;
}

export class ReplayWindows {
  /** In order of last use: the first is the one heard from longest ago. */
  private readonly windows = new Map<string, Window>();

  constructor(private readonly maxSenders = MAX_SENDERS) {}

  static from(stored: readonly StoredWindow[], maxSenders = MAX_SENDERS): ReplayWindows {
    const windows = new ReplayWindows(maxSenders);
    for (const w of stored.slice(-maxSenders)) {
      const seen = fromBase64(w.seen);
      if (seen.length === REPLAY_WINDOW / 8 && Number.isSafeInteger(w.highest) && w.highest >= 0) {
        windows.windows.set(w.device, { highest: w.highest, seen });
      }
    }
    return windows;
  }

  /** Records `seq` from `device`; false when it was seen or is older than the window. */
  accept(device: string, seq: number): boolean {
    if (!Number.isSafeInteger(seq) || seq < 1) return false;
    let w = this.windows.get(device);
    if (w) this.windows.delete(device);
    else w = { highest: 0, seen: new Uint8Array(REPLAY_WINDOW / 8) };
    // Re-inserted last, whatever the verdict: this device was just heard from.
    this.windows.set(device, w);
    if (this.windows.size > this.maxSenders) this.windows.delete(this.windows.keys().next().value as string);
    if (seq > w.highest) {
      const gap = Math.min(seq - w.highest, REPLAY_WINDOW);
      // Counters that the window now covers afresh were not seen.
      for (let s = seq - gap + 1; s <= seq; s++) clearBit(w.seen, s);
      w.highest = seq;
      setBit(w.seen, seq);
      return true;
    }
    if (seq <= w.highest - REPLAY_WINDOW || hasBit(w.seen, seq)) return false;
    setBit(w.seen, seq);
    return true;
  }

  get size(): number {
    return this.windows.size;
  }

  toStored(): StoredWindow[] {
    return [...this.windows].map(([device, w]) => ({ device, highest: w.highest, seen: toBase64(w.seen) }));
  }
}

const slot = (seq: number) => seq % REPLAY_WINDOW;
const hasBit = (bits: Uint8Array, seq: number) => (bits[slot(seq) >> 3] & (1 << (slot(seq) & 7))) !== 0;
const setBit = (bits: Uint8Array, seq: number) => {
  bits[slot(seq) >> 3] |= 1 << (slot(seq) & 7);
};
const clearBit = (bits: Uint8Array, seq: number) => {
  bits[slot(seq) >> 3] &= ~(1 << (slot(seq) & 7));
};
