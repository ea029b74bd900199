/**
 * Chunks that come before their item is ready for them. A sender does not wait for a receiver
 * to open an item's metadata or to start it (the CLI sends all it has and is gone), so what
 * is not kept here must come again, from a sender that may have left.
 */
import type { ChunkEvent } from '../../types/protocol';

/**
 * Chunks of an item nothing announced (they may come before their metadata) are kept for this
 * many items only, and this many chunks of each; an announced item's are all kept.
 */
export const MAX_EARLY_ITEMS = 8;
export const MAX_EARLY_CHUNKS = 32;

export class EarlyChunks {
  private readonly kept = new Map<string, ChunkEvent[]>();
  /**
   * Items between their announcement (metadata being opened) or being taken, and being ready.
   * All their chunks are kept: no more than the page received already, let go once they start.
   */
  private readonly taking = new Set<string>();

  /** Item `id` is announced or being taken: its chunks are kept until `settled`. */
  taken(id: string) {
    this.taking.add(id);
  }

  /** Item `id` is ready, or was offered or refused: unless `ready`, what was kept for it goes. */
  settled(id: string, ready: boolean) {
    this.taking.delete(id);
    if (!ready) this.kept.delete(id);
  }

  isTaken(id: string) {
    return this.taking.has(id);
  }

  /** Keeps a chunk for its item, if there is room (see MAX_EARLY_ITEMS). */
  keep(e: ChunkEvent) {
    const id = e.chunk.contentId;
    const taken = this.taking.has(id);
    const list = this.kept.get(id);
    if (list) {
      if (taken || list.length < MAX_EARLY_CHUNKS) list.push(e);
    } else if (taken || this.kept.size < MAX_EARLY_ITEMS) {
      this.kept.set(id, [e]);
    }
  }

  /** What was kept for item `id`, now ready for it. */
  take(id: string): ChunkEvent[] {
    const list = this.kept.get(id) ?? [];
    this.kept.delete(id);
    return list;
  }

  forget(id: string) {
    this.kept.delete(id);
  }

  clear() {
    this.kept.clear();
  }
}
