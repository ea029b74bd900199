/**
 * The page's handle on the crypto engine. Prefers a Web Worker (built by Vite as its own file,
 * allowed by the CSP's `worker-src 'self'`); falls back to running in-thread when Workers are
 * unavailable. Every method resolves to a value or rejects with one of `errors.ts`: `AuthError`
 * for data that did not authenticate, `ReadError` for a source file that cannot be read,
 * `DiskError` for storage that refused a write.
 *
 * Bytes are moved, never copied, across the worker boundary: file slices are read in the
 * worker (a Blob is a handle), ciphertexts are transferred, and received plaintext can be
 * written to disk there (`openToDisk`) so it never comes back to the page at all.
 */
import type { Bytes, CryptoEngine, DeriveResult } from './engine';
import { errorFromKind } from './errors';
import type { DiskTarget, WorkerRequest, WorkerResponse } from './protocol';

type Ok = WorkerResponse & { ok: true };
type Pending = { resolve: (r: Ok) => void; reject: (e: Error) => void };

// Distributes an omit over the request union, so each variant keeps its own fields.
type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

export type Sealed = { iv: Bytes; data: Bytes };

export interface CryptoClient {
  derive(passphrase: string, sessionId: string, iterations?: number): Promise<DeriveResult>;
  seal(keyId: number, plaintext: Bytes, aad: string): Promise<Sealed>;
  /** Seals `[start, end)` of `blob`; rejects with `ReadError` when the source is unreadable. */
  sealSlice(keyId: number, blob: Blob, start: number, end: number, aad: string): Promise<Sealed>;
  /** Opens a ciphertext; an ArrayBuffer (or a view of a whole one) is transferred, not copied. */
  open(keyId: number, iv: Bytes, ciphertext: ArrayBuffer | Uint8Array, aad: string): Promise<Bytes>;
  /** Whether `openToDisk` and the disk calls work here (a worker with OPFS). */
  diskAvailable(): Promise<boolean>;
  /** Opens a ciphertext and writes the plaintext to disk; resolves to its length. */
  openToDisk(keyId: number, iv: Bytes, ciphertext: ArrayBuffer | Uint8Array, aad: string, target: DiskTarget): Promise<number>;
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

class WorkerCryptoClient implements CryptoClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private disk?: Promise<boolean>;

  constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent<WorkerResponse>) => {
      const p = this.pending.get(e.data.id);
      if (!p) return;
      this.pending.delete(e.data.id);
      if (e.data.ok) p.resolve(e.data);
      else p.reject(errorFromKind(e.data.kind, e.data.message));
    };
    worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(e.message || 'crypto worker failed'));
      this.pending.clear();
    };
  }

  private call(req: RequestBody, transfer: Transferable[] = []) {
    const id = this.nextId++;
    return new Promise<Ok>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  async derive(passphrase: string, sessionId: string, iterations?: number) {
    const r = await this.call({ op: 'derive', passphrase, sessionId, iterations });
    if (!r.derive) throw new Error('bad worker reply');
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

  async sealSlice(keyId: number, blob: Blob, start: number, end: number, aad: string) {
    return WorkerCryptoClient.sealed(await this.call({ op: 'seal-slice', keyId, blob, start, end, aad }));
  }

  async open(keyId: number, iv: Bytes, ciphertext: ArrayBuffer | Uint8Array, aad: string) {
    const data = movable(ciphertext);
    const r = await this.call({ op: 'open', keyId, iv, data, aad }, [data]);
    if (!r.data) throw new Error('bad worker reply');
    return new Uint8Array(r.data);
  }

  diskAvailable() {
    this.disk ??= this.call({ op: 'disk-probe' }).then(
      (r) => r.disk === true,
      () => false,
    );
    return this.disk;
  }

  async openToDisk(keyId: number, iv: Bytes, ciphertext: ArrayBuffer | Uint8Array, aad: string, target: DiskTarget) {
    const data = movable(ciphertext);
    const r = await this.call({ op: 'open-to-disk', keyId, iv, data, aad, target }, [data]);
    return r.length ?? 0;
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
  async sealSlice(keyId: number, blob: Blob, start: number, end: number, aad: string) {
    return (await this.get()).sealSlice(keyId, blob, start, end, aad);
  }
  async open(keyId: number, iv: Bytes, ciphertext: ArrayBuffer | Uint8Array, aad: string) {
    return (await this.get()).open(keyId, iv, new Uint8Array(ciphertext), aad);
  }
  diskAvailable() {
    return Promise.resolve(false);
  }
  openToDisk = noDisk;
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
