/** One item this device receives, as the receiver (`receiver.ts`) keeps it while it comes. */
import type { ChunkTracker } from '../chunking';
import type { ItemMeta } from '../../types/protocol';
import { type ChunkPace, newPace } from './pace';
import type { Item } from './items';
import type { Sink } from './sinks';

export interface Incoming {
  id: string;
  /** The sender's current clientId (it changes when the relay restarts). */
  from: string;
  meta: ItemMeta;
  tracker: ChunkTracker;
  sink: Sink;
  /** Chunks being decrypted and written. */
  writing: Set<number>;
  bytes: number;
  late: boolean;
  /** Fetched from the session's inbox (not from its sender), and how many chunks were asked for. */
  inbox?: { asked: number };
  /** When its chunks came and its sender was asked: when silence means a stall. */
  pace: ChunkPace;
  asks: number;
  /** When it last paused (undefined while it runs). */
  pausedAt?: number;
  /** A chunk is written (the later ones need not wait for `free`). */
  written?: boolean;
  /** The browser's answer to how much it lets us store, asked as the item started. */
  free?: Promise<number | undefined>;
  /** The folder its file is in (this room's, or an earlier page's for a resumed item). */
  folder?: string;
  /**
   * Stopped because its sender went away (or this page did): it goes on by itself as soon as
   * they send or offer it again. Not so for an item the user stopped.
   */
  autoResume?: boolean;
}

/**
 * An item about to receive chunks at `now`, counted by `tracker` (the room's format sets how
 * many chunks a size takes; a resumed item's tracker already has some).
 */
export function newIncoming(
  fields: Pick<Incoming, 'id' | 'from' | 'meta' | 'sink' | 'late' | 'inbox' | 'folder' | 'free' | 'autoResume'>,
  now: number,
  tracker: ChunkTracker,
  bytes = 0,
): Incoming {
  return { ...fields, tracker, bytes, writing: new Set(), pace: newPace(now), asks: 0 };
}

/** How a received item first shows, before its state is set. */
export function receivedItem(id: string, from: string, meta: ItemMeta): Item {
  return {
    id,
    from,
    senderName: meta.senderName,
    mine: false,
    kind: meta.kind,
    name: meta.name,
    mime: meta.mime,
    size: meta.size,
    width: meta.width,
    height: meta.height,
    files: meta.files,
    createdAt: meta.createdAt,
    state: 'receiving',
    transferred: 0,
    bytesPerSecond: 0,
  };
}
