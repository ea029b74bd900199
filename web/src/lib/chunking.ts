/**
 * Splitting items into format-v2 chunks and putting them back together. Pure: no I/O, no
 * crypto. The reassembler refuses anything that does not fit (an index out of range, a chunk
 * count that disagrees with the item's) and reports what is still missing, so loss is
 * detectable; reordering is caught earlier, by the AAD each chunk is sealed with.
 */
import { CHUNK_SIZE } from './crypto/format';

/** Number of chunks for `size` bytes; an empty item still has one (empty) chunk. */
export const chunkCount = (size: number, chunkSize = CHUNK_SIZE): number =>
  Math.max(1, Math.ceil(size / chunkSize));

/** Byte range [start, end) of chunk `index`. */
export function chunkRange(index: number, size: number, chunkSize = CHUNK_SIZE): [number, number] {
  const start = index * chunkSize;
  return [start, Math.min(size, start + chunkSize)];
}

export type AcceptResult = 'added' | 'duplicate';

export class ChunkError extends Error {
  override name = 'ChunkError';
}

export class Reassembler<Part> {
  private readonly parts: (Part | undefined)[];
  private received = 0;

  constructor(readonly totalChunks: number) {
    if (!Number.isInteger(totalChunks) || totalChunks < 1) throw new ChunkError('bad chunk count');
    this.parts = new Array<Part | undefined>(totalChunks).fill(undefined);
  }

  accept(index: number, totalChunks: number, part: Part): AcceptResult {
    if (totalChunks !== this.totalChunks) throw new ChunkError('chunk count changed');
    if (!Number.isInteger(index) || index < 0 || index >= this.totalChunks) {
      throw new ChunkError('chunk index out of range');
    }
    if (this.parts[index] !== undefined) return 'duplicate';
    this.parts[index] = part;
    this.received++;
    return 'added';
  }

  has(index: number): boolean {
    return this.parts[index] !== undefined;
  }

  get receivedCount(): number {
    return this.received;
  }

  get complete(): boolean {
    return this.received === this.totalChunks;
  }

  /** The first index not yet received, or `totalChunks` when complete. */
  firstMissing(): number {
    const i = this.parts.findIndex((p) => p === undefined);
    return i === -1 ? this.totalChunks : i;
  }

  missing(): number[] {
    const out: number[] = [];
    this.parts.forEach((p, i) => {
      if (p === undefined) out.push(i);
    });
    return out;
  }

  /** All parts in order; throws if any is missing (loss is an error, never a silent gap). */
  assemble(): Part[] {
    if (!this.complete) throw new ChunkError(`missing chunks: ${this.missing().join(', ')}`);
    return this.parts as Part[];
  }
}
