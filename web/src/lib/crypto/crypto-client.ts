/**
 * The page's handle on the crypto engine. Prefers a Web Worker (built by Vite as its own file,
 * allowed by the CSP's `worker-src 'self'`); falls back to running in-thread when Workers are
 * unavailable. Every method resolves to a value or rejects with one of `errors.ts`: `AuthError`
 * for data that did not authenticate, `ReadError` for a source file that cannot be read,
 * `DiskError` for storage that refused a write.
 *
 * Bytes are moved, never copied, across the worker boundary: files to send are read in the
 * worker (registered there once, see `sources.ts`) and their ciphertexts transferred back.
 * A received chunk goes the other way in plaintext (`openToDisk`): the page opens it with the
 * worker's unextractable Web Crypto key, straight from the socket's buffer, and transfers the
 * result to the worker that writes it to disk. Moving a buffer the socket made costs Chromium
 * a copy, and the page faults of fresh memory for it; one the page's own decrypt made moves
 * free.
 */
import type { Bytes, CryptoEngine, DeriveResult } from './engine';
import type { StorageMode } from '../disk/opfs';
import type { AeadKey } from './backend';
import { AuthError, errorFromKind } from './errors';
import { encodeUtf8 } from './format';
import type { DiskTarget, WorkerRequest, WorkerResponse } from './protocol';
import { SourceFiles } from './sources';
import { webCryptoAead } from './webcrypto';

type Ok = WorkerResponse & { ok: true };
type Pending = { resolve: (r: Ok) => void; reject: (e: Error) => void };
type Outbox = { requests: WorkerRequest[]; transfer: Transferable[] };

// Distributes an omit over the request union, so each variant keeps its own fields.
type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

export type Sealed = { iv: Bytes; data: Bytes };

export interface CryptoClient {
  derive(passphrase: string, sessionId: string, iterations?: number): Promise<DeriveResult>;
  seal(keyId: number, plaintext: Bytes, aad: string): Promise<Sealed>;
  /** Registers a file to send; `sealSlice` reads it by the id this returns, until `closeSource`. */
  openSource(blob: Blob): number;
  /** Seals `[start, end)` of a source; rejects with `ReadError` when it cannot be read. */
  sealSlice(keyId: number, source: number, start: number, end: number, aad: string): Promise<Sealed>;
  closeSource(source: number): void;
  /** Opens a ciphertext; an ArrayBuffer (or a view of a whole one) is transferred, not copied. */
  open(keyId: number, iv: Bytes, ciphertext: ArrayBuffer | Uint8Array, aad: string): Promise<Bytes>;
  /**
   * How received files are kept here: on disk through a sync handle or a stream (then
   * `openToDisk` and the disk calls work), or in memory (no worker, no OPFS, not a secure context).
   */
  storage(): Promise<StorageMode>;
  /** Opens a ciphertext (on the page) and has the worker write the plaintext to disk; resolves to its length. */
  openToDisk(keyId: number, iv: Bytes, ciphertext: ArrayBuffer | Uint8Array, aad: string, target: DiskTarget): Promise<number>;
  /** Writes plaintext opened already (format v3's chunks) to disk; resolves to its length. */
  writeToDisk(plain: Bytes, target: DiskTarget): Promise<number>;
  /** Closes a file written by `openToDisk` and returns it as a disk-backed File. */
  diskFinish(folder: string, name: string, size: number): Promise<File>;
  /** Deletes a file, or a whole folder when `name` is omitted. */
  diskRemove(folder: string, name?: string): Promise<void>;
  forget(keyId: number): void;
}

/** The buffer to transfer for `bytes`: its own when it spans all of it, else a copy. */
function movable(bytes: ArrayBuffer | Uint8Array): ArrayBuffer {
  if (bytes instanceof ArrayBuffer) return bytes;
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer;
  }
  return bytes.slice().buffer as ArrayBuffer;
}

/**
 * Opened chunks sent to the worker together (one message, see `call`): a chunk waits for this
 * many, or until no other chunk is being opened, whichever comes first.
 */
const WRITE_BATCH = 4;

export class WorkerCryptoClient implements CryptoClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private disk?: Promise<StorageMode>;
  /** The keys `openToDisk` opens chunks with here, by key id. */
  private readonly chunkKeys = new Map<number, AeadKey>();
  private outbox?: Outbox;
  /** Opened chunks waiting to go to the worker, and how many are still being opened. */
  private writes: { data: ArrayBuffer; target: DiskTarget; written: Pending }[] = [];
  private opening = 0;

  constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent<WorkerResponse[]>) => {
      for (const res of e.data) {
        const p = this.pending.get(res.id);
        if (!p) continue;
        this.pending.delete(res.id);
        if (res.ok) p.resolve(res);
        else p.reject(errorFromKind(res.kind, res.message));
      }
    };
    worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(e.message || 'crypto worker failed'));
      this.pending.clear();
    };
  }

  /**
   * Requests made in one task go to the worker as one message at its end, and come back as one
   * (see `crypto.worker.ts`): each message wakes the other thread, which under load cost about
   * a third of a millisecond a chunk on each side.
   */
  private call(req: RequestBody, transfer: Transferable[] = []) {
    const id = this.nextId++;
    return new Promise<Ok>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (!this.outbox) {
        const batch: Outbox = { requests: [], transfer: [] };
        this.outbox = batch;
        queueMicrotask(() => {
          this.outbox = undefined;
          this.worker.postMessage(batch.requests, batch.transfer);
        });
      }
      this.outbox.requests.push({ ...req, id } as WorkerRequest);
      this.outbox.transfer.push(...transfer);
    });
  }

  async derive(passphrase: string, sessionId: string, iterations?: number) {
    const r = await this.call({ op: 'derive', passphrase, sessionId, iterations });
    if (!r.derive) throw new Error('bad worker reply');
    if (r.derive.chunkKey) this.chunkKeys.set(r.derive.keyId, webCryptoAead(r.derive.chunkKey));
    return r.derive;
  }

  private static sealed(r: Ok): Sealed {
    if (!r.iv || !r.data) throw new Error('bad worker reply');
    return { iv: r.iv, data: new Uint8Array(r.data) };
  }

  async seal(keyId: number, plaintext: Bytes, aad: string) {
    // Copy into a buffer we may transfer: the caller keeps its own.
    const data = plaintext.slice().buffer;
    return WorkerCryptoClient.sealed(await this.call({ op: 'seal', keyId, data, aad }, [data]));
  }

  openSource(blob: Blob) {
    const source = this.nextId++;
    // Handled in order: every later `seal-slice` finds it.
    void this.call({ op: 'source-add', source, blob });
    return source;
  }

  async sealSlice(keyId: number, source: number, start: number, end: number, aad: string) {
    return WorkerCryptoClient.sealed(await this.call({ op: 'seal-slice', keyId, source, start, end, aad }));
  }

  closeSource(source: number) {
    void this.call({ op: 'source-remove', source });
  }

  async open(keyId: number, iv: Bytes, ciphertext: ArrayBuffer | Uint8Array, aad: string) {
    const data = movable(ciphertext);
    const r = await this.call({ op: 'open', keyId, iv, data, aad }, [data]);
    if (!r.data) throw new Error('bad worker reply');
    return new Uint8Array(r.data);
  }

  storage() {
    this.disk ??= this.call({ op: 'disk-probe' }).then(
      (r) => r.storage ?? 'memory',
      (): StorageMode => 'memory',
    );
    return this.disk;
  }

  async openToDisk(keyId: number, iv: Bytes, ciphertext: ArrayBuffer | Uint8Array, aad: string, target: DiskTarget) {
    const key = this.chunkKeys.get(keyId);
    // Disk storage needs a secure context, and so does Web Crypto: one never comes without the other.
    if (!key) throw new Error('no Web Crypto key to open chunks with');
    let plain: Bytes;
    this.opening++;
    try {
      plain = await key.open(iv, ciphertext instanceof ArrayBuffer ? new Uint8Array(ciphertext) : (ciphertext as Bytes), encodeUtf8(aad));
    } catch {
      // The chunks waiting for this one to be opened go now.
      if (--this.opening === 0) this.flushWrites();
      throw new AuthError();
    }
    this.opening--;
    return this.writeToDisk(plain, target);
  }

  async writeToDisk(plain: Bytes, target: DiskTarget) {
    // Read before the buffer is transferred: that leaves `plain` empty.
    const length = plain.length;
    await new Promise<Ok>((resolve, reject) => {
      this.writes.push({ data: plain.buffer, target, written: { resolve, reject } });
      if (this.writes.length >= WRITE_BATCH || this.opening === 0) this.flushWrites();
    });
    return length;
  }

  /** Sends the waiting writes, together: they share one message (see `call`). */
  private flushWrites() {
    for (const { data, target, written } of this.writes.splice(0)) {
      this.call({ op: 'disk-write', data, target }, [data]).then(written.resolve, written.reject);
    }
  }

  async diskFinish(folder: string, name: string, size: number) {
    const r = await this.call({ op: 'disk-finish', folder, name, size });
    if (!r.file) throw new Error('bad worker reply');
    return r.file;
  }

  async diskRemove(folder: string, name?: string) {
    await this.call({ op: 'disk-remove', folder, name });
  }

  forget(keyId: number) {
    this.chunkKeys.delete(keyId);
    void this.call({ op: 'forget', keyId });
  }
}

const noDisk = () => Promise.reject(new Error('no disk storage in this context'));

/**
 * Runs the engine on the page's own thread, for environments without module Workers (tests,
 * very old browsers). Loaded on demand, so the pure-JS crypto is not in the main bundle.
 * Synchronous OPFS handles need a worker, so received files stay in memory here.
 */
export class InThreadCryptoClient implements CryptoClient {
  private engine?: Promise<CryptoEngine>;
  private readonly sources = new SourceFiles();
  private nextSource = 1;

  private get(): Promise<CryptoEngine> {
    this.engine ??= import('./engine').then((m) => new m.CryptoEngine());
    return this.engine;
  }
  async derive(passphrase: string, sessionId: string, iterations?: number) {
    return (await this.get()).derive(passphrase, sessionId, iterations);
  }
  async seal(keyId: number, plaintext: Bytes, aad: string) {
    return (await this.get()).seal(keyId, plaintext, aad);
  }
  openSource(blob: Blob) {
    const source = this.nextSource++;
    this.sources.add(source, blob);
    return source;
  }
  async sealSlice(keyId: number, source: number, start: number, end: number, aad: string) {
    return (await this.get()).sealRead(keyId, () => this.sources.read(source, start, end), aad);
  }
  closeSource(source: number) {
    this.sources.remove(source);
  }
  async open(keyId: number, iv: Bytes, ciphertext: ArrayBuffer | Uint8Array, aad: string) {
    return (await this.get()).open(keyId, iv, new Uint8Array(ciphertext), aad);
  }
  storage() {
    return Promise.resolve<StorageMode>('memory');
  }
  openToDisk = noDisk;
  writeToDisk = noDisk;
  diskFinish = noDisk;
  diskRemove = noDisk;
  forget(keyId: number) {
    void this.get().then((e) => e.forget(keyId));
  }
}

export function createCryptoClient(): CryptoClient {
  if (typeof Worker === 'undefined') return new InThreadCryptoClient();
  try {
    const worker = new Worker(new URL('./crypto.worker.ts', import.meta.url), { type: 'module' });
    return new WorkerCryptoClient(worker);
  } catch {
    return new InThreadCryptoClient();
  }
}
