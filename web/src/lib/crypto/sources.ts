/**
 * Files being sent, as the crypto worker reads them. Each is registered once: a Blob is only a
 * handle, but posting one costs a round trip to the browser's blob registry, which per chunk
 * was a quarter of a millisecond on the page and more in the browser process. Reads then go in
 * blocks of READ_BLOCK bytes, each serving the chunks inside it, so that the browser answers
 * one read per block instead of one per 256 KiB chunk. At most CACHED_BLOCKS blocks are held,
 * across every source: the chunks sealed ahead of the ack window come from one or two of them.
 */
import type { Bytes } from './engine';
import { CHUNK_SIZE } from './format';

export const READ_BLOCK = 32 * CHUNK_SIZE;
const CACHED_BLOCKS = 2;

/** Reads `[start, end)` of `blob`. */
async function readSlice(blob: Blob, start: number, end: number): Promise<Bytes> {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

export class SourceFiles {
  private readonly sources = new Map<number, Blob>();
  /** Blocks by `source:start`, oldest first (a hit moves a block to the end). */
  private readonly blocks = new Map<string, { source: number; bytes: Promise<Bytes> }>();

  add(source: number, blob: Blob) {
    this.sources.set(source, blob);
  }

  remove(source: number) {
    this.sources.delete(source);
    for (const [key, block] of this.blocks) if (block.source === source) this.blocks.delete(key);
  }

  /** Reads `[start, end)` of a registered source; rejects when it is unknown or unreadable. */
  async read(source: number, start: number, end: number): Promise<Bytes> {
    const blob = this.sources.get(source);
    if (!blob) throw new Error('unknown source');
    const first = Math.floor(start / READ_BLOCK) * READ_BLOCK;
    const last = Math.min(blob.size, first + READ_BLOCK);
    if (end > last) return readSlice(blob, start, end);
    const key = `${source}:${first}`;
    let block = this.blocks.get(key);
    if (block) {
      this.blocks.delete(key);
    } else {
      const made = { source, bytes: readSlice(blob, first, last) };
      // A failed read is not kept: the next ask reads again (and fails again if it must).
      made.bytes.catch(() => this.blocks.get(key) === made && this.blocks.delete(key));
      block = made;
    }
    this.blocks.set(key, block);
    while (this.blocks.size > CACHED_BLOCKS) this.blocks.delete(this.blocks.keys().next().value!);
    return (await block.bytes).subarray(start - first, end - first);
  }
}
