/**
 * Format v3's item bodies between two devices: padded to their Padmé size, cut into 256 KiB
 * chunks, each signed by the sender; the receiver keeps exactly the item's bytes and refuses a
 * chunk whose padding is not zero or that is not signed by the item's sender.
 */
import { describe, expect, it } from 'vitest';
import { ChunkError } from '../chunking';
import { AuthError, ReadError } from '../crypto/errors';
import { createWebCryptoBackend } from '../crypto/webcrypto';
import { createDeviceKey, webCryptoVerifier } from '../crypto/v3/device-key';
import { toBase64Url } from '../crypto/v3/lv';
import { chunkCountV3, paddedSize } from '../crypto/v3/padding';
import { deriveRoomKeys, newRoomKey, type RoomSecret } from '../crypto/v3/room-keys';
import { sealBlob, chunkAad } from '../crypto/v3/sealing';
import { CHUNK_SIZE, fromBase64, toBase64 } from '../crypto/format';
import { READ_BLOCK } from '../crypto/sources';
import { MemorySink } from '../room/sinks';
import type { CryptoClient } from '../crypto/crypto-client';
import { ReplayWindows } from './replay-windows';
import { RoomCodec } from './room-codec';
import { Roster } from './roster';
import { v3Sealing } from './v3-sealing';

const backend = createWebCryptoBackend();

async function member(secret: RoomSecret) {
  const keys = await deriveRoomKeys(backend, secret);
  const device = await createDeviceKey(true);
  let seq = 0;
  const blobKeys = { backend, content: await backend.aeadKey(keys.contentKey), epoch: keys.epoch, verifier: webCryptoVerifier() };
  const codec = new RoomCodec({
    keys: blobKeys,
    device,
    nextSeq: async () => ++seq,
    replay: new ReplayWindows(),
    roster: new Roster(toBase64Url(secret.creatorPk)),
    policy: { anyoneMayClear: false },
    changed: () => {},
  });
  return { codec, sealing: v3Sealing(codec), device, blobKeys };
}

const noWorker = {} as CryptoClient;

async function pair() {
  const creator = await createDeviceKey(true);
  const secret: RoomSecret = { sessionId: 'quiet-harbor', roomKey: newRoomKey(), creatorPk: creator.publicKey };
  return { sender: await member(secret), receiver: await member(secret), secret };
}

async function send(size: number) {
  const { sender, receiver, secret } = await pair();
  const body = new Uint8Array(size).map((_, i) => (i * 7919) % 251);
  const blob = new Blob([body]);
  const id = '0123456789abcdef0123456789abcdef';
  const totalChunks = sender.sealing.chunkCount(size);
  const meta = await sender.sealing.envelope({ kind: 'file', name: 'a.bin', mime: 'application/octet-stream', size, senderName: 'Laptop', createdAt: 1 }, id, totalChunks);
  const opened = await receiver.codec.openContent('laptop', meta.content, meta.data);
  const chunks = [];
  for (let i = 0; i < totalChunks; i++) chunks.push({ contentId: id, chunkIndex: i, totalChunks, ...(await sender.sealing.sealChunk({ id, blob, size }, i, totalChunks)) });
  return { sender, receiver, body, chunks, opened, id, totalChunks, secret };
}

describe('v3 item bodies', () => {
  it.each([0, 1, 300_001, 1_100_000])('a %i-byte item arrives as exactly its bytes, its metadata without a sender name', async (size) => {
    const { receiver, body, chunks, opened, totalChunks } = await send(size);
    expect(totalChunks).toBe(chunkCountV3(size));
    expect(opened.kind === 'item' && 'senderName' in opened.meta).toBe(false);
    expect(chunks.reduce((n, c) => n + c.encryptedData.length - 16, 0)).toBe(paddedSize(size));
    const sink = new MemorySink(noWorker, 0, 'application/octet-stream');
    let kept = 0;
    for (const c of chunks) kept += await receiver.sealing.openChunk(sink, c, size);
    expect(kept).toBe(size);
    expect(new Uint8Array(await (await sink.finish()).arrayBuffer())).toEqual(body);
  });

  it('refuses padding that is not zero, though signed by the sender', async () => {
    const { sender, receiver, chunks, id, totalChunks } = await send(1000);
    const plain = new Uint8Array(paddedSize(1000)).fill(7);
    const aad = chunkAad(sender.blobKeys.epoch, id, sender.device.publicKey, 0, totalChunks);
    const blob = await sealBlob(sender.blobKeys, sender.device, plain, aad);
    const forged = { ...chunks[0], iv: toBase64(blob.iv), sig: toBase64(blob.signature), encryptedData: blob.ciphertext };
    const sink = new MemorySink(noWorker, 0, 'application/octet-stream');
    await expect(receiver.sealing.openChunk(sink, forged, 1000)).rejects.toBeInstanceOf(ChunkError);
  });

  it('refuses a chunk signed by another device, and one of an item it never opened', async () => {
    const { receiver, chunks } = await send(1000);
    const sink = new MemorySink(noWorker, 0, 'application/octet-stream');
    const sig = fromBase64(chunks[0].sig ?? '');
    sig[0] ^= 1;
    await expect(receiver.sealing.openChunk(sink, { ...chunks[0], sig: toBase64(sig) }, 1000)).rejects.toBeInstanceOf(AuthError);
    await expect(receiver.sealing.openChunk(sink, { ...chunks[0], contentId: 'f'.repeat(32) }, 1000)).rejects.toBeInstanceOf(AuthError);
  });

  it("a reloaded page opens an unfinished item's chunks with the sender its record names, before any new metadata", async () => {
    const { receiver, chunks, id, secret, body } = await send(1000);
    const sender = receiver.sealing.senderOf(id);
    expect(sender).toBeDefined();
    // The page after a reload: same room, nothing opened yet.
    const reloaded = await member(secret);
    const sink = new MemorySink(noWorker, 0, 'application/octet-stream');
    await expect(reloaded.sealing.openChunk(sink, chunks[0], 1000)).rejects.toBeInstanceOf(AuthError);
    // A record naming another device opens nothing; metadata verified on this page would win.
    reloaded.sealing.rememberSender(id, reloaded.device.id);
    await expect(reloaded.sealing.openChunk(sink, chunks[0], 1000)).rejects.toBeInstanceOf(AuthError);
    const again = await member(secret);
    again.sealing.rememberSender(id, sender ?? '');
    expect(await again.sealing.openChunk(sink, chunks[0], 1000)).toBe(1000);
    expect(new Uint8Array(await (await sink.finish()).arrayBuffer())).toEqual(body);
  });

  it('reads the file a block at a time, not once per chunk', async () => {
    const { sender, receiver } = await pair();
    const size = 2 * READ_BLOCK + 3 * CHUNK_SIZE + 123;
    const body = new Uint8Array(size).map((_, i) => (i * 7919) % 251);
    const blob = new Blob([body]);
    const reads: [number, number][] = [];
    const slice = blob.slice.bind(blob);
    blob.slice = (start?: number, end?: number) => (reads.push([start ?? 0, end ?? size]), slice(start, end));
    const id = '0123456789abcdef0123456789abcdef';
    const totalChunks = sender.sealing.chunkCount(size);
    const meta = await sender.sealing.envelope({ kind: 'file', name: 'a.bin', mime: 'application/octet-stream', size, senderName: 'Laptop', createdAt: 1 }, id, totalChunks);
    await receiver.codec.openContent('laptop', meta.content, meta.data);
    const sink = new MemorySink(noWorker, 0, 'application/octet-stream');
    for (let i = 0; i < totalChunks; i++) {
      const sealed = await sender.sealing.sealChunk({ id, blob, size }, i, totalChunks);
      await receiver.sealing.openChunk(sink, { contentId: id, chunkIndex: i, totalChunks, ...sealed }, size);
    }
    expect(reads).toEqual([[0, READ_BLOCK], [READ_BLOCK, 2 * READ_BLOCK], [2 * READ_BLOCK, size]]);
    // Compared as Buffers: `toEqual` on 17 MB goes element by element and runs out of memory.
    expect(Buffer.from(await (await sink.finish()).arrayBuffer()).equals(body)).toBe(true);
    // Still cached: the last block serves its chunks again without a read.
    await sender.sealing.sealChunk({ id, blob, size }, totalChunks - 1, totalChunks);
    expect(reads.length).toBe(3);
    // Released, the item's blocks are gone: a chunk sealed again reads its block again.
    sender.sealing.release({ id, blob, size });
    await sender.sealing.sealChunk({ id, blob, size }, totalChunks - 1, totalChunks);
    expect(reads.at(-1)).toEqual([2 * READ_BLOCK, size]);
    expect(reads.length).toBe(4);
  });

  it('a source file that can no longer be read fails as unreadable, not as a sealing error', async () => {
    const { sender } = await pair();
    // What a File whose file on disk was deleted does: its slices fail to read.
    const gone = new Blob([new Uint8Array(1000)]);
    gone.slice = () => ({ arrayBuffer: () => Promise.reject(new DOMException('A requested file or directory could not be found', 'NotFoundError')) }) as unknown as Blob;
    const item = { id: '0123456789abcdef0123456789abcdef', blob: gone, size: 1000 };
    await expect(sender.sealing.sealChunk(item, 0, 1)).rejects.toBeInstanceOf(ReadError);
  });
});
