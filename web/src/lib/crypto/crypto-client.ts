/**
 * The page's handle on the crypto engine. Prefers a Web Worker (built by Vite as its own file,
 * allowed by the CSP's `worker-src 'self'`); falls back to running in-thread when Workers are
 * unavailable. Every method resolves to a value or rejects; `AuthError` marks data that did not
 * authenticate, as distinct from any other failure.
 */
import type { Bytes, CryptoEngine, DeriveResult } from './engine';
import { AuthError } from './errors';
import type { WorkerRequest, WorkerResponse } from './protocol';

type Pending = { resolve: (r: WorkerResponse & { ok: true }) => void; reject: (e: Error) => void };

// Distributes an omit over the request union, so each variant keeps its own fields.
type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

export interface CryptoClient {
  derive(passphrase: string, sessionId: string, iterations?: number): Promise<DeriveResult>;
  seal(keyId: number, plaintext: Bytes, aad: string): Promise<{ iv: Bytes; data: Bytes }>;
  open(keyId: number, iv: Bytes, ciphertext: Bytes, aad: string): Promise<Bytes>;
  forget(keyId: number): void;
}

class WorkerCryptoClient implements CryptoClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent<WorkerResponse>) => {
      const p = this.pending.get(e.data.id);
      if (!p) return;
      this.pending.delete(e.data.id);
      if (e.data.ok) p.resolve(e.data);
      else p.reject(e.data.auth ? new AuthError() : new Error(e.data.message));
    };
    worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(e.message || 'crypto worker failed'));
      this.pending.clear();
    };
  }

  private call(req: RequestBody, transfer: Transferable[] = []) {
    const id = this.nextId++;
    return new Promise<WorkerResponse & { ok: true }>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  async derive(passphrase: string, sessionId: string, iterations?: number) {
    const r = await this.call({ op: 'derive', passphrase, sessionId, iterations });
    if (!r.derive) throw new Error('bad worker reply');
    return r.derive;
  }

  async seal(keyId: number, plaintext: Bytes, aad: string) {
    // Copy into a buffer we may transfer: the caller's view could be part of something larger.
    const data = plaintext.slice().buffer;
    const r = await this.call({ op: 'seal', keyId, data, aad }, [data]);
    if (!r.iv || !r.data) throw new Error('bad worker reply');
    return { iv: r.iv, data: new Uint8Array(r.data) };
  }

  async open(keyId: number, iv: Bytes, ciphertext: Bytes, aad: string) {
    const data = ciphertext.slice().buffer;
    const r = await this.call({ op: 'open', keyId, iv, data, aad }, [data]);
    if (!r.data) throw new Error('bad worker reply');
    return new Uint8Array(r.data);
  }

  forget(keyId: number) {
    void this.call({ op: 'forget', keyId });
  }
}

/**
 * Runs the engine on the page's own thread, for environments without module Workers (tests,
 * very old browsers). Loaded on demand, so the pure-JS crypto is not in the main bundle.
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
  async open(keyId: number, iv: Bytes, ciphertext: Bytes, aad: string) {
    return (await this.get()).open(keyId, iv, ciphertext, aad);
  }
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
