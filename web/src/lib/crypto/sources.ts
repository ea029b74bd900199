/**
 * Files being sent, as the sender reads them. A Blob is only a handle, and each read is a
 * round trip to the browser's blob registry: per 256 KiB chunk that was a quarter of a
 * millisecond on the page and more in the browser process. Reads therefore go in blocks of
 * READ_BLOCK bytes, each serving the chunks inside it, so that the browser answers one read per
 * block. At most CACHED_BLOCKS blocks are held, across every file: the chunks sealed ahead of
 * the ack window come from one or two of them.
 *
 * `BlockReader` reads a Blob it is given (format v3 seals on the page); `SourceFiles` is the
 * crypto worker's registry of the files format v2 posts to it once per item, by number, since
 * posting a Blob with every seal request costs that round trip too.
 */
import type { Bytes } from './engine';
import { CHUNK_SIZE } from './format';

export const READ_BLOCK = 32 * CHUNK_SIZE;
const CACHED_BLOCKS = 2;

/** Reads `[start, end)` of `blob`. */
async function readSlice(blob: Blob, start: number, end: number): Promise<Bytes> {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

interface Block {
  blob: Blob;
  first: number;
  bytes: Promise<Bytes>;
}

export class BlockReader {
  /** Oldest first (a hit moves a block to the end). */
  private blocks: Block[] = [];

  /** Reads `[start, end)` of `blob`; rejects when the browser cannot read it. */
  async read(blob: Blob, start: number, end: number): Promise<Bytes> {
    const first = Math.floor(start / READ_BLOCK) * READ_BLOCK;
    const last = Math.min(blob.size, first + READ_BLOCK);
    if (end > last) return readSlice(blob, start, end);
    let block = this.blocks.find((b) => b.blob === blob && b.first === first);
    if (block) {
      this.blocks = this.blocks.filter((b) => b !== block);
    } else {
      const made: Block = { blob, first, bytes: readSlice(blob, first, last) };
      // A failed read is not kept: the next ask reads again (and fails again if it must).
      made.bytes.catch(() => (this.blocks = this.blocks.filter((b) => b !== made)));
      block = made;
    }
    this.blocks.push(block);
    if (this.blocks.length > CACHED_BLOCKS) this.blocks = this.blocks.slice(-CACHED_BLOCKS);
    return (await block.bytes).subarray(start - first, end - first);
  }

  /** Drops the blocks read from `blob`. */
  forget(blob: Blob) {
    this.blocks = this.blocks.filter((b) => b.blob !== blob);
  }
}

export class SourceFiles {
  private readonly sources = new Map<number, Blob>();
  private readonly reader = new BlockReader();

  add(source: number, blob: Blob) {
    this.sources.set(source, blob);
  }

  remove(source: number) {
    const blob = this.sources.get(source);
    this.sources.delete(source);
    if (blob) this.reader.forget(blob);
  }

  /** Reads `[start, end)` of a registered source; rejects when it is unknown or unreadable. */
  async read(source: number, start: number, end: number): Promise<Bytes> {
    const blob = this.sources.get(source);
    if (!blob) throw new Error('unknown source');
    return this.reader.read(blob, start, end);
  }
}
