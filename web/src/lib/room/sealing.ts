/**
 * How one room seals and opens what it sends, so that the sender and receiver do not care which
 * format their session speaks: format v2 seals in the crypto worker under the passphrase's key
 * (`v2Sealing`); format v3 seals under the room's content key, signs with this device's key,
 * counts and pads (`membership/v3-sealing.ts`). Both cut an item into chunks the same way once
 * its wire size is known; v3's wire size is the padded one.
 */
import { chunkCount, chunkRange } from '../chunking';
import type { CryptoClient } from '../crypto/crypto-client';
import type { Bytes } from '../crypto/engine';
import { chunkAad, fromBase64, toBase64 } from '../crypto/format';
import type { ChunkPayload, ControlMessage, SealedMeta } from '../../types/protocol';
import { type SealedEnvelope, sealEnvelope } from './envelopes';
import { newContentId } from './ids';
import type { Sink } from './sinks';

/** A sealed chunk as it goes on the wire (the `chunk` payload's sealed fields). */
export interface SealedChunk {
  iv: string;
  encryptedData: Bytes;
  /** Format v3: the sender's signature. */
  sig?: string;
}

/** An item being sent: its id and its file. */
export interface ItemSource {
  id: string;
  blob: Blob;
  size: number;
}

export interface RoomSealing {
  /** Chunks of an item of `size` bytes. */
  chunkCount(size: number): number;
  /** Seals item metadata (`totalChunks > 0`) or a control message (`0`). */
  envelope(value: SealedMeta, contentId: string, totalChunks: number): Promise<SealedEnvelope>;
  /**
   * Takes up the file of an item about to be sent, until `release`: format v2 hands it to the
   * crypto worker once, which reads it there; format v3 reads it on the page as it seals.
   */
  take(item: ItemSource): void;
  sealChunk(item: ItemSource, index: number, totalChunks: number): Promise<SealedChunk>;
  /** The item is gone from this device: what was kept to read its file goes too. */
  release(item: ItemSource): void;
  /** Checks and opens chunk `c` of an item of `size` bytes into `sink`; resolves to the plaintext bytes kept. */
  openChunk(sink: Sink, c: ChunkPayload, size: number): Promise<number>;
  /**
   * Format v3: the device that signed item `contentId`'s metadata, whose signature its chunks
   * must carry. Kept with an unfinished item's record (`disk/partials.ts`), so that a page
   * after this one opens the chunks that come before the sender's offer does.
   */
  senderOf(contentId: string): string | undefined;
  /** Format v3: an earlier page of this device verified that `sender` sent item `contentId`. */
  rememberSender(contentId: string, sender: string): void;
}

/** A control message travels as an item of zero chunks with a fresh id. */
export const sealControlWith = (sealing: RoomSealing, msg: ControlMessage) => sealing.envelope(msg, newContentId(), 0);

export function v2Sealing(crypto: CryptoClient, keyId: number): RoomSealing {
  /** The crypto worker's handle on each taken item's file, by item id. */
  const sources = new Map<string, number>();
  return {
    chunkCount: (size) => chunkCount(size),
    envelope: (value, contentId, totalChunks) => sealEnvelope(crypto, keyId, value, contentId, totalChunks),
    take(item) {
      sources.set(item.id, crypto.openSource(item.blob));
    },
    async sealChunk(item, index, totalChunks) {
      const source = sources.get(item.id);
      if (source === undefined) throw new Error('unknown source');
      const [start, end] = chunkRange(index, item.size);
      const sealed = await crypto.sealSlice(keyId, source, start, end, chunkAad(item.id, index, totalChunks));
      return { iv: toBase64(sealed.iv), encryptedData: sealed.data };
    },
    release(item) {
      const source = sources.get(item.id);
      if (source === undefined) return;
      sources.delete(item.id);
      crypto.closeSource(source);
    },
    openChunk: (sink, c) => sink.write(c.chunkIndex, fromBase64(c.iv), c.encryptedData, chunkAad(c.contentId, c.chunkIndex, c.totalChunks)),
    // Format v2 has one key for every member: a chunk does not name its sender.
    senderOf: () => undefined,
    rememberSender: () => {},
  };
}
