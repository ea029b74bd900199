/**
 * Web Worker running the crypto engine, so 600 000 PBKDF2 rounds and AES-GCM over large files
 * never freeze the page, and writing received files to disk (synchronous OPFS handles exist
 * only in workers). Messages are `WorkerRequest` in, `WorkerResponse` out; byte buffers are
 * transferred, not copied, and file slices are read here, so the page never touches them.
 */
import { opfsAvailable, OpfsFiles } from '../disk/opfs';
import { CryptoEngine } from './engine';
import { errorKind } from './errors';
import type { WorkerRequest, WorkerResponse } from './protocol';

const engine = new CryptoEngine();
const disk = new OpfsFiles();
const scope = self as unknown as DedicatedWorkerGlobalScope;

async function probeDisk(): Promise<boolean> {
  if (!opfsAvailable()) return false;
  try {
    const folder = `probe-${Math.random().toString(36).slice(2)}`;
    await disk.write({ folder, name: 'probe', offset: 0, size: 1 }, new Uint8Array(1));
    await disk.remove(folder);
    return true;
  } catch {
    return false;
  }
}

scope.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const req = event.data;
  const reply = (res: WorkerResponse, transfer: Transferable[] = []) => scope.postMessage(res, transfer);
  try {
    switch (req.op) {
      case 'derive': {
        const r = await engine.derive(req.passphrase, req.sessionId, req.iterations);
        reply({ id: req.id, ok: true, derive: r });
        break;
      }
      case 'seal': {
        const r = await engine.seal(req.keyId, new Uint8Array(req.data), req.aad);
        reply({ id: req.id, ok: true, iv: r.iv, data: r.data.buffer }, [r.data.buffer]);
        break;
      }
      case 'seal-slice': {
        const r = await engine.sealSlice(req.keyId, req.blob, req.start, req.end, req.aad);
        reply({ id: req.id, ok: true, iv: r.iv, data: r.data.buffer }, [r.data.buffer]);
        break;
      }
      case 'open': {
        const data = await engine.open(req.keyId, new Uint8Array(req.iv), new Uint8Array(req.data), req.aad);
        reply({ id: req.id, ok: true, data: data.buffer }, [data.buffer]);
        break;
      }
      case 'open-to-disk': {
        const data = await engine.open(req.keyId, new Uint8Array(req.iv), new Uint8Array(req.data), req.aad);
        await disk.write(req.target, data);
        reply({ id: req.id, ok: true, length: data.length });
        break;
      }
      case 'disk-probe':
        reply({ id: req.id, ok: true, disk: await probeDisk() });
        break;
      case 'disk-finish':
        reply({ id: req.id, ok: true, file: await disk.finish(req.folder, req.name, req.size) });
        break;
      case 'disk-remove':
        await disk.remove(req.folder, req.name);
        reply({ id: req.id, ok: true });
        break;
      case 'forget':
        engine.forget(req.keyId);
        reply({ id: req.id, ok: true });
        break;
    }
  } catch (err) {
    reply({ id: req.id, ok: false, kind: errorKind(err), message: err instanceof Error ? err.message : String(err) });
  }
};
