/**
 * Format v3's `RoomSealing` (docs/protocol.md, "Sealed blobs"): metadata and controls through the
 * session's `RoomCodec` (padded, counted, signed); an item's body padded with zeros to its
 * Padmé size and cut into 256 KiB chunks, read a block at a time, each sealed and signed on the
 * page; a received chunk checked on its item's sender's signature before it opens, and its
 * padding checked to be zero before only the item's own bytes are kept.
 */
import { ChunkError } from '../chunking';
import { AuthError, ReadError } from '../crypto/errors';
import { BlockReader } from '../crypto/sources';
import type { Bytes } from '../crypto/v3/lv';
import { chunkCountV3, paddedChunkRange } from '../crypto/v3/padding';
import type { RoomSealing } from '../room/sealing';
import { type RoomCodec } from './room-codec';

/**
 * Bytes `[start, end)` of `blob` padded with zeros past its end, read through `reader` (a block
 * at a time, `crypto/sources.ts`). A read that fails is a `ReadError`: the source file went
 * away, which the sender says as such (not as a sealing failure), and its receivers are told
 * the file could not be read.
 */
async function paddedSlice(reader: BlockReader, blob: Blob, start: number, end: number): Promise<Bytes> {
  if (start >= blob.size) return new Uint8Array(end - start);
  let read: Bytes;
  try {
    read = await reader.read(blob, start, Math.min(end, blob.size));
  } catch (err) {
    throw new ReadError(err instanceof Error ? err.message : String(err));
  }
  if (read.length === end - start) return read;
  const out = new Uint8Array(end - start);
  out.set(read);
  return out;
}

export function v3Sealing(codec: RoomCodec): RoomSealing {
  const reader = new BlockReader();
  return {
    chunkCount: (size) => chunkCountV3(size),
    async envelope(value, contentId, totalChunks) {
      const meta: Record<string, unknown> = { ...value };
      // The roster names the sender; the sealed metadata does not.
      delete meta.senderName;
      return codec.sealContent(meta, contentId, totalChunks);
    },
    async sealChunk(item, index, totalChunks) {
      const [start, end] = paddedChunkRange(index, item.size);
      const sealed = await codec.sealChunk(item.id, index, totalChunks, await paddedSlice(reader, item.blob, start, end));
      return { iv: sealed.iv, encryptedData: sealed.encryptedData, sig: sealed.sig };
    },
    // Read on the page, through `reader`: nothing to hand over, only its blocks to drop.
    take: () => {},
    release: (item) => reader.forget(item.blob),
    async openChunk(sink, c, size) {
      const sender = codec.senderOf(c.contentId);
      if (!sender) throw new AuthError();
      const [start, end] = paddedChunkRange(c.chunkIndex, size);
      let plain: Bytes;
      try {
        plain = await codec.openChunk(c, sender);
      } catch {
        throw new AuthError();
      }
      if (plain.length !== end - start) throw new ChunkError('chunk does not fit its item');
      const keep = Math.max(0, Math.min(size, end) - start);
      if (plain.subarray(keep).some((b) => b !== 0)) throw new ChunkError('its padding is not zero');
      // A copy of exactly the kept bytes: a disk write transfers the whole buffer.
      return sink.writePlain(c.chunkIndex, keep === plain.length ? plain : plain.slice(0, keep));
    },
    senderOf: (contentId) => codec.senderOf(contentId),
    rememberSender: (contentId, sender) => codec.rememberSender(contentId, sender),
  };
}
