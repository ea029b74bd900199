/**
 * Web Worker running the crypto engine, so 600 000 PBKDF2 rounds and AES-GCM over large files
 * never freeze the page, and writing received files to disk (synchronous OPFS handles exist
 * only in workers, and a stream written here keeps its bytes off the page; the chunks are opened on the page, see `crypto-client.ts`). Messages are
 * batches of `WorkerRequest` in and of `WorkerResponse` out; byte buffers are transferred, not
 * copied, and file slices are read here, so the page never touches them.
 */
import { OpfsFiles } from '../disk/opfs';
import { CryptoEngine } from './engine';
import { errorKind } from './errors';
import { release } from './release';
import type { WorkerRequest, WorkerResponse } from './protocol';
import { SourceFiles } from './sources';

const engine = new CryptoEngine();
const disk = new OpfsFiles();
const sources = new SourceFiles();
const scope = self as unknown as DedicatedWorkerGlobalScope;

type Reply = { res: WorkerResponse; transfer?: Transferable[] };

async function handle(req: WorkerRequest): Promise<Reply> {
  const ok = (fields: Omit<WorkerResponse & { ok: true }, 'id' | 'ok'> = {}, transfer?: Transferable[]): Reply => ({
    res: { id: req.id, ok: true, ...fields },
    transfer,
  });
  try {
    switch (req.op) {
      case 'derive':
        return ok({ derive: await engine.derive(req.passphrase, req.sessionId, req.iterations) });
      case 'seal': {
        const r = await engine.seal(req.keyId, new Uint8Array(req.data), req.aad);
        return ok({ iv: r.iv, data: r.data.buffer }, [r.data.buffer]);
      }
      case 'source-add':
        sources.add(req.source, req.blob);
        return ok();
      case 'source-remove':
        sources.remove(req.source);
        return ok();
      case 'seal-slice': {
        const r = await engine.sealRead(req.keyId, () => sources.read(req.source, req.start, req.end), req.aad);
        return ok({ iv: r.iv, data: r.data.buffer }, [r.data.buffer]);
      }
      case 'open': {
        const data = await engine.open(req.keyId, new Uint8Array(req.iv), new Uint8Array(req.data), req.aad);
        return ok({ data: data.buffer }, [data.buffer]);
      }
      case 'disk-write':
        try {
          await disk.write(req.target, new Uint8Array(req.data));
        } finally {
          release(req.data);
        }
        return ok();
      case 'disk-probe':
        return ok({ storage: await disk.probe() });
      case 'disk-finish':
        return ok({ file: await disk.finish(req.folder, req.name, req.size) });
      case 'disk-remove':
        await disk.remove(req.folder, req.name);
        return ok();
      case 'forget':
        engine.forget(req.keyId);
        return ok();
    }
  } catch (err) {
    return { res: { id: req.id, ok: false, kind: errorKind(err), message: err instanceof Error ? err.message : String(err) } };
  }
}

// A batch is started in order (so a `source-add` precedes the seals that read it) and answered
// in one message once all of it is done: every message wakes the page's thread.
scope.onmessage = async (event: MessageEvent<WorkerRequest[]>) => {
  const replies = await Promise.all(event.data.map(handle));
  scope.postMessage(
    replies.map((r) => r.res),
    replies.flatMap((r) => r.transfer ?? []),
  );
};
