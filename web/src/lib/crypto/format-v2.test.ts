/**
 * Format v2 against vectors computed by an independent implementation
 * (tests/vectors/generate.py: Python hashlib/hmac + `cryptography`), for both backends, and
 * the two backends against each other; chunking against the same file's chunk counts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type CryptoBackend, deriveSessionKeys } from './backend';
import { AuthError, CryptoEngine } from './engine';
import { CHUNK_SIZE, chunkAad, encodeUtf8, fromHex, MAX_UNACKED_CHUNKS, metaAad, toHex } from './format';
import { createPureJsBackend } from './purejs';
import { createWebCryptoBackend } from './webcrypto';
import { classify } from '../room/envelopes';
import { ChunkTracker, chunkCount, chunkRange, MAX_ITEM_BYTES } from '../chunking';

interface Sealed {
  iv: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
}
interface Case {
  sessionId: string;
  passphrase: string;
  iterations: number;
  master: string;
  encKey: string;
  authKey: string;
  fingerprint: { v: 2; mac: string };
  contentId: string;
  metadata: Sealed;
  chunk: Sealed;
  controls: Sealed[];
}

interface Chunking {
  chunkSize: number;
  maxUnackedChunks: number;
  maxItemBytes: number;
  items: { size: number; totalChunks: number; lastChunkBytes: number; accepted: boolean }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../../tests/vectors/format-v2.json', import.meta.url), 'utf8'),
) as { format: number; chunking: Chunking; cases: Case[] };

describe('chunking', () => {
  it('has the sizes and flow-control window of the vectors', () => {
    expect(CHUNK_SIZE).toBe(vectors.chunking.chunkSize);
    expect(MAX_UNACKED_CHUNKS).toBe(vectors.chunking.maxUnackedChunks);
    expect(MAX_ITEM_BYTES).toBe(vectors.chunking.maxItemBytes);
  });

  it.each(vectors.chunking.items.map((item) => [item.size, item] as const))('counts the chunks of %d bytes as the vectors do', (_size, item) => {
    expect(chunkCount(item.size)).toBe(item.totalChunks);
    const [start, end] = chunkRange(item.totalChunks - 1, item.size);
    expect(end - start).toBe(item.lastChunkBytes);
    // The receiver's tracker takes the count of every accepted size and refuses the others.
    if (item.accepted) expect(new ChunkTracker(item.totalChunks).totalChunks).toBe(item.totalChunks);
    else expect(() => new ChunkTracker(item.totalChunks)).toThrow('bad chunk count');
  });
});

const backends: CryptoBackend[] = [createWebCryptoBackend(), createPureJsBackend()];

describe.each(backends.map((b) => [b.name, b] as const))('format v2 on %s', (_name, backend) => {
  it.each(vectors.cases.map((c) => [c.sessionId, c] as const))('derives keys and fingerprint for %s', async (_s, c) => {
    const keys = await deriveSessionKeys(backend, c.passphrase, c.sessionId, c.iterations);
    expect(toHex(keys.master)).toBe(c.master);
    expect(toHex(keys.encKey)).toBe(c.encKey);
    expect(toHex(keys.authKey)).toBe(c.authKey);
    expect(keys.fingerprint).toEqual(c.fingerprint);
  });

  it.each(vectors.cases.map((c) => [c.sessionId, c] as const))('seals and opens metadata and chunk blobs for %s', async (_s, c) => {
    const key = await backend.aeadKey(fromHex(c.encKey));
    expect(c.metadata.aad).toBe(metaAad(c.contentId));
    expect(c.chunk.aad).toBe(chunkAad(c.contentId, 1, 3));
    for (const blob of [c.metadata, c.chunk]) {
      const ct = await key.seal(fromHex(blob.iv), fromHex(blob.plaintext), encodeUtf8(blob.aad));
      expect(toHex(ct)).toBe(blob.ciphertext);
      const pt = await key.open(fromHex(blob.iv), fromHex(blob.ciphertext), encodeUtf8(blob.aad));
      expect(toHex(pt)).toBe(blob.plaintext);
    }
  });

  it.each(vectors.cases.map((c) => [c.sessionId, c] as const))('opens the sealed control messages and offer of %s, which the client understands', async (_s, c) => {
    const key = await backend.aeadKey(fromHex(c.encKey));
    const kinds = [];
    for (const blob of c.controls) {
      const pt = await key.open(fromHex(blob.iv), fromHex(blob.ciphertext), encodeUtf8(blob.aad));
      expect(toHex(pt)).toBe(blob.plaintext);
      const value: unknown = JSON.parse(new TextDecoder().decode(pt));
      expect(classify(value)).toBeDefined();
      kinds.push((value as { kind: string }).kind);
    }
    expect(kinds).toEqual(['resend', 'cancel', 'clear', 'progress', 'file']);
  });

  it('rejects a wrong AAD, a tampered byte and a wrong key', async () => {
    const c = vectors.cases[0];
    const key = await backend.aeadKey(fromHex(c.encKey));
    const iv = fromHex(c.chunk.iv);
    const ct = fromHex(c.chunk.ciphertext);
    await expect(key.open(iv, ct, encodeUtf8(chunkAad(c.contentId, 2, 3)))).rejects.toThrow();
    await expect(key.open(iv, ct, encodeUtf8(chunkAad(c.contentId, 1, 4)))).rejects.toThrow();
    const tampered = ct.slice();
    tampered[10] ^= 1;
    await expect(key.open(iv, tampered, encodeUtf8(c.chunk.aad))).rejects.toThrow();
    const other = await backend.aeadKey(fromHex(c.authKey));
    await expect(other.open(iv, ct, encodeUtf8(c.chunk.aad))).rejects.toThrow();
  });
});

describe('Web Crypto and pure JS agree', () => {
  it('on random keys, IVs, AAD and sizes', async () => {
    const [web, pure] = backends;
    for (const size of [0, 1, 15, 16, 17, 4096, 256 * 1024 + 3]) {
      const raw = crypto.getRandomValues(new Uint8Array(32));
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const aad = encodeUtf8(`id:${size}:9`);
      const plain = new Uint8Array(size);
      for (let i = 0; i < size; i += 65536) crypto.getRandomValues(plain.subarray(i, i + 65536));
      const a = await (await web.aeadKey(raw)).seal(iv, plain, aad);
      const b = await (await pure.aeadKey(raw)).seal(iv, plain, aad);
      expect(toHex(a)).toBe(toHex(b));
      expect(toHex(await (await pure.aeadKey(raw)).open(iv, a, aad))).toBe(toHex(plain));
    }
  });

  it('on key derivation with few iterations', async () => {
    const [web, pure] = backends;
    const a = await deriveSessionKeys(web, 'pass', 'room', 1000);
    const b = await deriveSessionKeys(pure, 'pass', 'room', 1000);
    expect(b).toEqual(a);
  });
});

describe('CryptoEngine', () => {
  it('marks data that does not authenticate as AuthError', async () => {
    const engine = new CryptoEngine(createPureJsBackend());
    const { keyId } = await engine.derive('p', 's', 1000);
    const sealed = await engine.seal(keyId, encodeUtf8('hello'), metaAad('x'));
    expect(new TextDecoder().decode(await engine.open(keyId, sealed.iv, sealed.data, metaAad('x')))).toBe('hello');
    await expect(engine.open(keyId, sealed.iv, sealed.data, metaAad('y'))).rejects.toBeInstanceOf(AuthError);
  });
});
