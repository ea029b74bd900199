/** Chunking and reassembly: order-independent, loss and tampering detected. */
import { describe, expect, it } from 'vitest';
import { chunkCount, chunkRange, ChunkError, Reassembler } from './chunking';
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

describe('reassembly', () => {
  const data = new Uint8Array(95).map((_, i) => i);

  it('reassembles chunks that arrive in any order, ignoring duplicates', async () => {
    const engine = new CryptoEngine(createWebCryptoBackend());
    const { keyId } = await engine.derive('p', 's', 1000);
    const sealed = await sealAll(engine, keyId, 'item', data);
    const r = new Reassembler<Uint8Array>(sealed.length);
    for (const c of [...sealed].reverse()) {
      const plain = await engine.open(keyId, c.iv, c.data, chunkAad('item', c.index, c.total));
      expect(r.accept(c.index, c.total, plain)).toBe('added');
    }
    expect(r.accept(0, sealed.length, new Uint8Array())).toBe('duplicate');
    expect(r.complete).toBe(true);
    const out = new Uint8Array(r.assemble().flatMap((p) => [...p]));
    expect([...out]).toEqual([...data]);
  });

  it('detects loss', () => {
    const r = new Reassembler<string>(3);
    r.accept(0, 3, 'a');
    r.accept(2, 3, 'c');
    expect(r.complete).toBe(false);
    expect(r.missing()).toEqual([1]);
    expect(r.firstMissing()).toBe(1);
    expect(() => r.assemble()).toThrow(ChunkError);
  });

  it('refuses out-of-range indexes and a changed chunk count', () => {
    const r = new Reassembler<string>(2);
    expect(() => r.accept(2, 2, 'x')).toThrow(ChunkError);
    expect(() => r.accept(-1, 2, 'x')).toThrow(ChunkError);
    expect(() => r.accept(0, 3, 'x')).toThrow(ChunkError);
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
