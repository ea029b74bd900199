/**
 * Web Worker running the crypto engine, so 600 000 PBKDF2 rounds and AES-GCM over large files
 * never freeze the page. Messages are `WorkerRequest` in, `WorkerResponse` out; byte buffers
 * are transferred, not copied.
 */
import { AuthError, CryptoEngine } from './engine';
import type { WorkerRequest, WorkerResponse } from './protocol';

const engine = new CryptoEngine();
const scope = self as unknown as DedicatedWorkerGlobalScope;

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
      case 'open': {
        const data = await engine.open(req.keyId, new Uint8Array(req.iv), new Uint8Array(req.data), req.aad);
        reply({ id: req.id, ok: true, data: data.buffer }, [data.buffer]);
        break;
      }
      case 'forget':
        engine.forget(req.keyId);
        reply({ id: req.id, ok: true });
        break;
    }
  } catch (err) {
    reply({ id: req.id, ok: false, auth: err instanceof AuthError, message: String(err) });
  }
};
