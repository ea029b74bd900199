/**
 * The sender's file reads: every chunk gets exactly its bytes, the browser is asked once per
 * block (not once per chunk), only a few blocks are held, and a failed read is not kept.
 */
import { describe, expect, it } from 'vitest';
import { chunkRange } from '../chunking';
import { CHUNK_SIZE } from './format';
import { READ_BLOCK, SourceFiles } from './sources';

/** A Blob that counts the reads asked of it and can be made to fail them. */
class CountingBlob extends Blob {
  reads: [number, number][] = [];
  failing = false;

  override slice(start = 0, end = this.size): Blob {
    this.reads.push([start, end]);
    if (this.failing) return { arrayBuffer: () => Promise.reject(new DOMException('gone', 'NotReadableError')) } as Blob;
    return super.slice(start, end);
  }
}

/** Bytes whose value says where they are, so a chunk from the wrong offset shows. */
function pattern(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096) % 251;
  for (let i = 0; i < size; i++) bytes[i] ^= i % 7;
  return bytes;
}

/**
 * Where two byte arrays first differ (-1: nowhere). `toEqual` on megabytes compares element by
 * element through its generic path and takes a minute; this says the same in milliseconds.
 */
function firstDifference(got: Uint8Array, want: Uint8Array): number {
  if (got.length !== want.length) return Math.min(got.length, want.length);
  if (Buffer.from(got.buffer, got.byteOffset, got.length).equals(want)) return -1;
  return got.findIndex((b, i) => b !== want[i]);
}

describe('SourceFiles', () => {
  const size = 2 * READ_BLOCK + 3 * CHUNK_SIZE + 123;
  const bytes = pattern(size);
  const chunks = Math.ceil(size / CHUNK_SIZE);

  it('gives every chunk its bytes, reading each block once', async () => {
    const blob = new CountingBlob([bytes]);
    const sources = new SourceFiles();
    sources.add(1, blob);
    for (let i = 0; i < chunks; i++) {
      const [start, end] = chunkRange(i, size);
      expect(firstDifference(await sources.read(1, start, end), bytes.subarray(start, end))).toBe(-1);
    }
    expect(blob.reads).toEqual([
      [0, READ_BLOCK],
      [READ_BLOCK, 2 * READ_BLOCK],
      [2 * READ_BLOCK, size],
    ]);
  });

  it('serves chunks asked for at once from one read', async () => {
    const blob = new CountingBlob([bytes]);
    const sources = new SourceFiles();
    sources.add(1, blob);
    const ranges = Array.from({ length: READ_BLOCK / CHUNK_SIZE }, (_, i) => chunkRange(i, size));
    const got = await Promise.all(ranges.map(([start, end]) => sources.read(1, start, end)));
    got.forEach((chunk, i) => expect(firstDifference(chunk, bytes.subarray(...ranges[i]))).toBe(-1));
    expect(blob.reads).toHaveLength(1);
  });

  it('holds a few blocks only, across sources, and forgets a removed source', async () => {
    const blobs = [1, 2, 3].map(() => new CountingBlob([bytes]));
    const sources = new SourceFiles();
    blobs.forEach((b, i) => sources.add(i + 1, b));
    for (const source of [1, 2, 3]) await sources.read(source, 0, CHUNK_SIZE);
    // The oldest block went when the third came: reading it again asks the browser again.
    await sources.read(1, CHUNK_SIZE, 2 * CHUNK_SIZE);
    expect(blobs[0].reads).toHaveLength(2);
    await sources.read(3, CHUNK_SIZE, 2 * CHUNK_SIZE);
    expect(blobs[2].reads).toHaveLength(1);
    sources.remove(3);
    await expect(sources.read(3, 0, CHUNK_SIZE)).rejects.toThrow('unknown source');
  });

  it('does not keep a failed read: the next ask reads again', async () => {
    const blob = new CountingBlob([bytes]);
    const sources = new SourceFiles();
    sources.add(1, blob);
    blob.failing = true;
    await expect(sources.read(1, 0, CHUNK_SIZE)).rejects.toThrow('gone');
    blob.failing = false;
    expect(firstDifference(await sources.read(1, 0, CHUNK_SIZE), bytes.subarray(0, CHUNK_SIZE))).toBe(-1);
    expect(blob.reads).toHaveLength(2);
  });
});
