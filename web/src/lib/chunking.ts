/**
 * Splitting items into format-v2 chunks and keeping track of which have arrived. Pure: no I/O,
 * no crypto. The tracker refuses anything that does not fit (an index out of range, a chunk
 * count that disagrees with the item's) and reports what is still missing, as ranges a
 * receiver can ask for; reordering is caught earlier, by the AAD each chunk is sealed with.
 */
import { CHUNK_SIZE } from './crypto/format';

/** Largest item a receiver accepts (its tracker costs one byte per 256 KiB chunk). */
export const MAX_ITEM_BYTES = 2 ** 40;

/** Number of chunks for `size` bytes; an empty item still has one (empty) chunk. */
export const chunkCount = (size: number, chunkSize = CHUNK_SIZE): number =>
  Math.max(1, Math.ceil(size / chunkSize));

/** Byte range [start, end) of chunk `index`. */
export function chunkRange(index: number, size: number, chunkSize = CHUNK_SIZE): [number, number] {
  const start = index * chunkSize;
  return [start, Math.min(size, start + chunkSize)];
}

/** Half-open chunk index ranges `[from, to)`, as a resend request carries them. */
export type ChunkRanges = [number, number][];

/**
 * The chunk indices named by `ranges`, clipped to `[0, totalChunks)`, ascending and without
 * repeats. Whatever a peer sent, the result is at most `totalChunks` long.
 */
export function rangeIndices(ranges: ChunkRanges, totalChunks: number): number[] {
  const want = new Uint8Array(totalChunks);
  for (const [from, to] of ranges) {
    const a = Math.max(0, Math.floor(from));
    const b = Math.min(totalChunks, Math.floor(to));
    if (a < b) want.fill(1, a, b);
  }
  const out: number[] = [];
  want.forEach((w, i) => {
    if (w) out.push(i);
  });
  return out;
}

export type AcceptResult = 'added' | 'duplicate';

export class ChunkError extends Error {
  override name = 'ChunkError';
}

/** Which chunks of one item have arrived: one byte per chunk, nothing else is kept. */
export class ChunkTracker {
  private readonly seen: Uint8Array;
  private received = 0;

  constructor(readonly totalChunks: number) {
    if (!Number.isInteger(totalChunks) || totalChunks < 1 || totalChunks > chunkCount(MAX_ITEM_BYTES)) {
      throw new ChunkError('bad chunk count');
    }
    this.seen = new Uint8Array(totalChunks);
  }

  accept(index: number, totalChunks: number): AcceptResult {
    if (totalChunks !== this.totalChunks) throw new ChunkError('chunk count changed');
    if (!Number.isInteger(index) || index < 0 || index >= this.totalChunks) {
      throw new ChunkError('chunk index out of range');
    }
    if (this.seen[index]) return 'duplicate';
    this.seen[index] = 1;
    this.received++;
    return 'added';
  }

  has(index: number): boolean {
    return this.seen[index] === 1;
  }

  get receivedCount(): number {
    return this.received;
  }

  get complete(): boolean {
    return this.received === this.totalChunks;
  }

  /** What has arrived, as half-open ranges (to keep, see `disk/partials.ts`). */
  receivedRanges(): ChunkRanges {
    const out: ChunkRanges = [];
    let i = this.seen.indexOf(1);
    while (i !== -1) {
      let j = this.seen.indexOf(0, i);
      if (j === -1) j = this.totalChunks;
      out.push([i, j]);
      i = this.seen.indexOf(1, j);
    }
    return out;
  }

  /** A tracker that has the chunks of `ranges` (as `receivedRanges` gave them; out-of-range parts are ignored). */
  static restore(totalChunks: number, ranges: ChunkRanges): ChunkTracker {
    const t = new ChunkTracker(totalChunks);
    for (const i of rangeIndices(ranges, totalChunks)) t.accept(i, totalChunks);
    return t;
  }

  /** The first index not yet received, or `totalChunks` when complete. */
  firstMissing(): number {
    const i = this.seen.indexOf(0);
    return i === -1 ? this.totalChunks : i;
  }

  /**
   * What is still missing, as at most `limit` ranges; when there are more gaps, the last
   * range runs to the end (a little extra is resent, nothing is forgotten).
   */
  missingRanges(limit = 64): ChunkRanges {
    const out: ChunkRanges = [];
    let i = this.seen.indexOf(0);
    while (i !== -1 && i < this.totalChunks) {
      if (out.length === limit - 1) {
        out.push([i, this.totalChunks]);
        break;
      }
      let j = this.seen.indexOf(1, i);
      if (j === -1) j = this.totalChunks;
      out.push([i, j]);
      i = this.seen.indexOf(0, j);
    }
    return out;
  }
}
