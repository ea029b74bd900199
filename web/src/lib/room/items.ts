/**
 * The items a room shows, and the one place that changes them: the sender and the receiver
 * both go through an `ItemBoard`, which also throttles progress so that a fast transfer costs
 * a few renders a second, not one per chunk.
 */
import type { ItemMeta } from '../../types/protocol';
import { SpeedMeter } from './speed';

/**
 * How an item's transfer stands. Every transfer ends in `done` (verified), `cancelled`
 * (by its sender, or here), or `failed` (with a reason); `paused` waits for a sender who left
 * and resumes when they are back; `offered` is an item a late joiner may ask for.
 */
export type TransferState = 'sending' | 'receiving' | 'paused' | 'offered' | 'done' | 'failed' | 'cancelled';

export interface Item {
  id: string;
  from: string;
  senderName: string;
  mine: boolean;
  kind: ItemMeta['kind'];
  name: string;
  mime: string;
  size: number;
  width?: number;
  height?: number;
  createdAt: number;
  state: TransferState;
  /** Bytes sent (acknowledged) or received so far. */
  transferred: number;
  bytesPerSecond: number;
  /** The content once complete (or the original, for our own items); received files live on disk. */
  blob?: Blob;
  text?: string;
  /** Why it failed, or who cancelled it. */
  error?: string;
  /** Why it is paused. */
  note?: string;
  /** The session's inbox keeps it for devices that join later. */
  inInbox?: boolean;
  /** Why the session's inbox did not keep our item (it still reached the members online). */
  inboxError?: string;
  /** Stopped or interrupted with part of it here: Get goes on from there. */
  resumable?: boolean;
  /** Our item from an earlier page: its file must be picked again to go on sending it. */
  repick?: boolean;
  /** Our item: the members who confirmed they have all of it. */
  deliveredTo?: { id: string; name: string }[];
}

/** Progress reaches the store at most this often per item. */
const PROGRESS_INTERVAL_MS = 500;

export class ItemBoard {
  private readonly meters = new Map<string, { meter: SpeedMeter; last: number }>();

  constructor(
    private readonly read: () => Item[],
    private readonly write: (items: Item[], soon: boolean) => void,
  ) {}

  all(): Item[] {
    return this.read();
  }

  get(id: string): Item | undefined {
    return this.read().find((i) => i.id === id);
  }

  /** Adds an item, newest first. */
  add(item: Item) {
    this.write([item, ...this.read()].sort((a, b) => b.createdAt - a.createdAt), false);
  }

  patch(id: string, p: Partial<Item>) {
    if (p.state !== undefined && p.state !== 'sending' && p.state !== 'receiving') this.meters.delete(id);
    this.update(id, p, false);
  }

  /** Records progress; reaches the store only every PROGRESS_INTERVAL_MS. */
  progress(id: string, transferred: number, now = performance.now()) {
    let m = this.meters.get(id);
    if (!m) {
      m = { meter: new SpeedMeter(), last: -Infinity };
      this.meters.set(id, m);
    }
    const bytesPerSecond = m.meter.update(now, transferred);
    if (now - m.last < PROGRESS_INTERVAL_MS) return;
    m.last = now;
    this.update(id, { transferred, bytesPerSecond }, true);
  }

  remove(id: string) {
    this.meters.delete(id);
    this.write(this.read().filter((i) => i.id !== id), false);
  }

  clear() {
    this.meters.clear();
    this.write([], false);
  }

  private update(id: string, p: Partial<Item>, soon: boolean) {
    const items = this.read();
    const at = items.findIndex((i) => i.id === id);
    if (at === -1) return;
    const next = items.slice();
    next[at] = { ...items[at], ...p };
    this.write(next, soon);
  }
}
