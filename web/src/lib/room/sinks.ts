/**
 * Where a received item's plaintext goes. On disk (the OPFS, written by the worker that
 * decrypts it) wherever the browser allows, so a file larger than free memory can arrive;
 * in memory only where it does not (a page that is not a secure context, no Worker).
 */
import type { CryptoClient } from '../crypto/crypto-client';
import type { Bytes } from '../crypto/engine';
import { DiskError } from '../crypto/errors';
import { CHUNK_SIZE } from '../crypto/format';

export interface Sink {
  /** Opens one chunk and stores its plaintext; resolves to its length. */
  write(index: number, iv: Bytes, ciphertext: ArrayBuffer | Uint8Array, aad: string): Promise<number>;
  /** Stores the plaintext of chunk `index`, opened already (format v3 opens on the page). */
  writePlain(index: number, plain: Bytes): Promise<number>;
  /** Everything is written: the content, typed. */
  finish(): Promise<Blob>;
  /** Frees what it holds (deletes the file). */
  discard(): Promise<void>;
}

export class DiskSink implements Sink {
  /** Writes under way: removing the file waits for them, or one would make it again. */
  private readonly writes = new Set<Promise<number>>();
  private discarded = false;

  constructor(
    private readonly crypto: CryptoClient,
    private readonly keyId: number,
    private readonly folder: string,
    private readonly name: string,
    private readonly size: number,
    private readonly mime: string,
  ) {}

  write(index: number, iv: Bytes, ciphertext: ArrayBuffer | Uint8Array, aad: string) {
    return this.track(() => this.crypto.openToDisk(this.keyId, iv, ciphertext, aad, this.target(index)));
  }

  writePlain(index: number, plain: Bytes) {
    return this.track(() => this.crypto.writeToDisk(plain, this.target(index)));
  }

  private track(write: () => Promise<number>) {
    if (this.discarded) return Promise.reject(new DiskError('the item was discarded', false));
    const written = write();
    this.writes.add(written);
    const settled = () => this.writes.delete(written);
    written.then(settled, settled);
    return written;
  }

  private target(index: number) {
    return { folder: this.folder, name: this.name, offset: index * CHUNK_SIZE, size: this.size };
  }

  async finish() {
    const file = await this.crypto.diskFinish(this.folder, this.name, this.size);
    // A typed view of the same disk-backed file: no bytes are copied.
    return new Blob([file], { type: this.mime });
  }

  /**
   * Deletes the file once the writes under way have settled (the worker opens the file for
   * each, and an item fails or is removed while up to a window of chunks is being written);
   * no write starts after this.
   */
  async discard() {
    this.discarded = true;
    await Promise.allSettled(this.writes);
    await this.crypto.diskRemove(this.folder, this.name).catch(() => undefined);
  }
}

export class MemorySink implements Sink {
  private parts: Blob[] = [];

  constructor(
    private readonly crypto: CryptoClient,
    private readonly keyId: number,
    private readonly mime: string,
  ) {}

  async write(index: number, iv: Bytes, ciphertext: ArrayBuffer | Uint8Array, aad: string) {
    return this.writePlain(index, await this.crypto.open(this.keyId, iv, ciphertext, aad));
  }

  async writePlain(index: number, plain: Bytes) {
    this.parts[index] = new Blob([plain]);
    return plain.length;
  }

  async finish() {
    return new Blob(this.parts, { type: this.mime });
  }

  async discard() {
    this.parts = [];
  }
}
