/**
 * Received files on disk: the Origin Private File System, written through synchronous access
 * handles, which exist only in dedicated workers (so this runs in the crypto worker, right
 * after each chunk is decrypted: plaintext never crosses back to the page). Layout:
 * `sharethings/<folder>/<name>`, one folder per joined room, so leaving removes it whole.
 */
import { DiskError } from '../crypto/errors';

const ROOT = 'sharethings';

type SyncHandle = FileSystemSyncAccessHandle;

/** True when this context can write files in the OPFS (secure context, worker, modern browser). */
export function opfsAvailable(): boolean {
  return (
    typeof navigator !== 'undefined' &&
    typeof navigator.storage?.getDirectory === 'function' &&
    typeof FileSystemFileHandle !== 'undefined' &&
    'createSyncAccessHandle' in FileSystemFileHandle.prototype
  );
}

function diskError(err: unknown): DiskError {
  const name = err instanceof DOMException ? err.name : '';
  if (name === 'QuotaExceededError') return new DiskError('not enough free space on this device', true);
  return new DiskError(`could not write to this device's storage (${err instanceof Error ? err.message : String(err)})`, false);
}

export class OpfsFiles {
  /** Open handles by `folder/name`; a promise so that concurrent first writes share one. */
  private readonly handles = new Map<string, Promise<SyncHandle>>();

  private async folder(folder: string, create: boolean): Promise<FileSystemDirectoryHandle> {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT, { create });
    return root.getDirectoryHandle(folder, { create });
  }

  private handle(folder: string, name: string): Promise<SyncHandle> {
    const key = `${folder}/${name}`;
    let h = this.handles.get(key);
    if (!h) {
      h = this.folder(folder, true)
        .then((d) => d.getFileHandle(name, { create: true }))
        .then((f) => f.createSyncAccessHandle());
      this.handles.set(key, h);
      h.catch(() => this.handles.delete(key));
    }
    return h;
  }

  /** Writes `bytes` at `offset`; a short write (a full disk on some systems) is an error too. */
  async write(folder: string, name: string, offset: number, bytes: Uint8Array): Promise<void> {
    try {
      const h = await this.handle(folder, name);
      const n = h.write(bytes, { at: offset });
      if (n !== bytes.length) throw new DOMException('short write', 'QuotaExceededError');
    } catch (err) {
      throw diskError(err);
    }
  }

  /** Flushes and closes the file and returns it: a disk-backed File the page can download. */
  async finish(folder: string, name: string, size: number): Promise<File> {
    try {
      const key = `${folder}/${name}`;
      const h = await this.handle(folder, name);
      // An empty item never wrote; truncating also makes sure nothing lies beyond `size`.
      // No flush(): that is an fsync, seconds for a large file on a busy disk, and a received
      // item need not survive a power cut (its sender still has it).
      h.truncate(size);
      h.close();
      this.handles.delete(key);
      return await (await (await this.folder(folder, false)).getFileHandle(name)).getFile();
    } catch (err) {
      throw diskError(err);
    }
  }

  /** Deletes one file, or the whole folder when `name` is omitted. Missing is fine. */
  async remove(folder: string, name?: string): Promise<void> {
    for (const [key, h] of this.handles) {
      if (key === `${folder}/${name}` || (name === undefined && key.startsWith(`${folder}/`))) {
        this.handles.delete(key);
        await h.then((x) => x.close()).catch(() => undefined);
      }
    }
    try {
      const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT);
      if (name === undefined) await root.removeEntry(folder, { recursive: true });
      else await (await root.getDirectoryHandle(folder)).removeEntry(name);
    } catch (err) {
      if (!(err instanceof DOMException && err.name === 'NotFoundError')) throw diskError(err);
    }
  }
}
