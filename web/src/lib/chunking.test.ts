/** Chunking and tracking: order-independent, loss detected and asked for, tampering caught. */
import { describe, expect, it } from 'vitest';
import { chunkCount, chunkRange, ChunkError, ChunkTracker, MAX_ITEM_BYTES, rangeIndices } from './chunking';
import { CryptoEngine } from './crypto/engine';
import { chunkAad, CHUNK_SIZE } from './crypto/format';
import { createWebCryptoBackend } from './crypto/webcrypto';

describe('chunk plan', () => {
  it('counts and ranges chunks', () => {
    expect(chunkCount(0)).toBe(1);
    expect(chunkCount(1)).toBe(1);
    expect(chunkCount(CHUNK_SIZE)).toBe(1);
    expect(chunkCount(CHUNK_SIZE + 1)).toBe(2);
    expect(chunkRange(1, CHUNK_SIZE + 5)).toEqual([CHUNK_SIZE, CHUNK_SIZE + 5]);
  });

  it('turns requested ranges into indices, clipped and without repeats', () => {
    expect(rangeIndices([[2, 4], [3, 6], [-5, 1], [9, 1e12]], 10)).toEqual([0, 2, 3, 4, 5, 9]);
    expect(rangeIndices([[5, 2], [Number.NaN, 3]], 10)).toEqual([]);
  });
});

async function sealAll(engine: CryptoEngine, keyId: number, id: string, data: Uint8Array<ArrayBuffer>, size = 10) {
  const total = chunkCount(data.length, size);
  return Promise.all(
    Array.from({ length: total }, async (_, i) => {
      const [s, e] = chunkRange(i, data.length, size);
      return { index: i, total, ...(await engine.seal(keyId, data.slice(s, e), chunkAad(id, i, total))) };
    }),
  );
}

describe('tracking', () => {
  const data = new Uint8Array(95).map((_, i) => i);

  it('accepts chunks in any order, ignoring duplicates', async () => {
    const engine = new CryptoEngine(createWebCryptoBackend());
    const { keyId } = await engine.derive('p', 's', 1000);
    const sealed = await sealAll(engine, keyId, 'item', data);
    const t = new ChunkTracker(sealed.length);
    const parts: Uint8Array[] = [];
    for (const c of [...sealed].reverse()) {
      parts[c.index] = await engine.open(keyId, c.iv, c.data, chunkAad('item', c.index, c.total));
      expect(t.accept(c.index, c.total)).toBe('added');
    }
    expect(t.accept(0, sealed.length)).toBe('duplicate');
    expect(t.complete).toBe(true);
    expect(t.missingRanges()).toEqual([]);
    expect([...new Uint8Array(parts.flatMap((p) => [...p]))]).toEqual([...data]);
  });

  it('reports loss as ranges, bounded in number', () => {
    const t = new ChunkTracker(10);
    for (const i of [0, 2, 3, 6, 9]) t.accept(i, 10);
    expect(t.complete).toBe(false);
    expect(t.firstMissing()).toBe(1);
    expect(t.missingRanges()).toEqual([[1, 2], [4, 6], [7, 9]]);
    expect(t.missingRanges(2)).toEqual([[1, 2], [4, 10]]);
  });

  it('refuses out-of-range indexes, a changed chunk count and absurd sizes', () => {
    const t = new ChunkTracker(2);
    expect(() => t.accept(2, 2)).toThrow(ChunkError);
    expect(() => t.accept(-1, 2)).toThrow(ChunkError);
    expect(() => t.accept(0, 3)).toThrow(ChunkError);
    expect(() => new ChunkTracker(0)).toThrow(ChunkError);
    expect(() => new ChunkTracker(chunkCount(MAX_ITEM_BYTES) + 1)).toThrow(ChunkError);
  });

  it('detects reordering and tampering through the AAD', async () => {
    const engine = new CryptoEngine(createWebCryptoBackend());
    const { keyId } = await engine.derive('p', 's', 1000);
    const [c0, c1] = await sealAll(engine, keyId, 'item', data);
    // Chunk 1's bytes presented as chunk 0: the AAD no longer matches.
    await expect(engine.open(keyId, c1.iv, c1.data, chunkAad('item', 0, c0.total))).rejects.toThrow();
    // Same position in another item.
    await expect(engine.open(keyId, c0.iv, c0.data, chunkAad('other', 0, c0.total))).rejects.toThrow();
    // A truncated item (fewer total chunks claimed).
    await expect(engine.open(keyId, c0.iv, c0.data, chunkAad('item', 0, c0.total - 1))).rejects.toThrow();
    const bad = c0.data.slice();
    bad[0] ^= 0x80;
    await expect(engine.open(keyId, c0.iv, bad, chunkAad('item', 0, c0.total))).rejects.toThrow();
  });
});

describe('ChunkTracker ranges', () => {
  it('keeps what arrived as ranges and restores it', () => {
    const t = new ChunkTracker(10);
    for (const i of [0, 1, 2, 5, 7, 8]) t.accept(i, 10);
    expect(t.receivedRanges()).toEqual([[0, 3], [5, 6], [7, 9]]);
    const back = ChunkTracker.restore(10, t.receivedRanges());
    expect(back.receivedCount).toBe(6);
    expect(back.missingRanges()).toEqual([[3, 5], [6, 7], [9, 10]]);
    // Hostile or stale records cannot go beyond the item.
    expect(ChunkTracker.restore(4, [[-5, 2], [3, 99]]).receivedRanges()).toEqual([[0, 2], [3, 4]]);
  });
});
