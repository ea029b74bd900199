/**
 * The page's side of the crypto worker: requests made in one task reach the worker as one
 * message, and its one answer settles each of them; received chunks are opened on the page
 * and handed to the worker together, and one that fails to open holds none of the others.
 */
import { describe, expect, it } from 'vitest';
import { WorkerCryptoClient } from './crypto-client';
import { AuthError } from './errors';
import { encodeUtf8 } from './format';
import type { WorkerRequest, WorkerResponse } from './protocol';

/** Stands in for the Worker: records each message as it arrived, and answers a batch when told to. */
class FakeWorker {
  onmessage: ((e: MessageEvent<WorkerResponse[]>) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  readonly messages: WorkerRequest[][] = [];

  postMessage(batch: WorkerRequest[], transfer: Transferable[]) {
    // As a real one does: the transferred buffers move, and the sender's become empty.
    this.messages.push(structuredClone(batch, { transfer }));
  }

  answer(batch: WorkerRequest[], chunkKey?: CryptoKey) {
    const replies: WorkerResponse[] = batch.map((r) =>
      r.op === 'derive'
        ? { id: r.id, ok: true, derive: { keyId: 7, fingerprint: { v: 2, mac: 'x' }, backend: 'webcrypto', chunkKey } }
        : r.op === 'disk-write'
          ? { id: r.id, ok: true }
          : r.op === 'seal-slice' && r.start > 0
        ? { id: r.id, ok: false, kind: 'read', message: 'gone' }
            : { id: r.id, ok: true, iv: new Uint8Array(12), data: new ArrayBuffer(r.op === 'seal-slice' ? r.end - r.start + 16 : 0) },
    );
    this.onmessage?.({ data: replies } as MessageEvent<WorkerResponse[]>);
  }
}

describe('WorkerCryptoClient', () => {
  it('sends the requests of one task as one message and settles each from its answer', async () => {
    const worker = new FakeWorker();
    const client = new WorkerCryptoClient(worker as unknown as Worker);
    const source = client.openSource(new Blob([new Uint8Array(30)]));
    const sealed = [0, 10, 20].map((start) => client.sealSlice(1, source, start, start + 10, 'aad'));
    await Promise.resolve();
    expect(worker.messages).toHaveLength(1);
    expect(worker.messages[0].map((r) => r.op)).toEqual(['source-add', 'seal-slice', 'seal-slice', 'seal-slice']);
    worker.answer(worker.messages[0]);
    const [first, ...rest] = await Promise.allSettled(sealed);
    expect(first.status === 'fulfilled' && first.value.data.byteLength).toBe(26);
    expect(rest.map((r) => r.status === 'rejected' && (r.reason as Error).name)).toEqual(['ReadError', 'ReadError']);
    // The next task's request is a message of its own.
    void client.sealSlice(1, source, 0, 10, 'aad');
    await Promise.resolve();
    expect(worker.messages).toHaveLength(2);
  });
});

describe('WorkerCryptoClient.openToDisk', () => {
  it('opens chunks on the page, writes them in one message, and a bad one holds none back', async () => {
    const worker = new FakeWorker();
    const client = new WorkerCryptoClient(worker as unknown as Worker);
    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    const derived = client.derive('pass', 'room');
    await Promise.resolve();
    worker.answer(worker.messages[0], key);
    expect((await derived).keyId).toBe(7);
    const iv = new Uint8Array(12);
    const seal = async (text: string, aad: string) =>
      crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encodeUtf8(aad) }, key, encodeUtf8(text));
    const target = (offset: number) => ({ folder: 'f', name: 'n', offset, size: 30 });
    // The third is sealed under other AAD: it does not authenticate.
    const chunks = await Promise.all([seal('one', 'a0'), seal('two', 'a1'), seal('bad', 'x')]);
    const written = chunks.map((c, i) => client.openToDisk(7, iv, c, `a${i}`, target(10 * i)));
    await expect(written[2]).rejects.toThrow(AuthError);
    await Promise.resolve();
    expect(worker.messages).toHaveLength(2);
    const writes = worker.messages[1];
    expect(writes.map((r) => r.op === 'disk-write' && [new TextDecoder().decode(r.data), r.target.offset])).toEqual([
      ['one', 0],
      ['two', 10],
    ]);
    worker.answer(writes);
    expect(await Promise.all(written.slice(0, 2))).toEqual([3, 3]);
  });
});
