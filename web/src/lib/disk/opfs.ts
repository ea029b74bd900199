/**
 * Received files on disk: the Origin Private File System, written through synchronous access
 * handles, which exist only in dedicated workers (so this runs in the crypto worker, which is
 * handed each chunk's plaintext as the page opens it, see `crypto-client.ts`). Layout:
 * `sharethings/<folder>/<name>`, one folder per joined room, so leaving removes it whole.
 *
 * A tab that crashes or is killed never leaves its room, so its folder stays behind. Each
 * folder is therefore guarded by a Web Lock held by the worker writing it (taken before the
 * folder exists, released when it is removed); the browser drops a lock when its worker dies
 * with its tab. `sweepStaleFolders` deletes every folder whose lock is free, and never one a
 * live tab is writing.
 */
import { DiskError } from '../crypto/errors';
import type { DiskTarget } from '../crypto/protocol';

const ROOT = 'sharethings';
const LOCK_PREFIX = 'sharethings-disk:';

/** Web Locks exist in secure contexts (like the OPFS itself); without them nothing is swept. */
const locks = (): LockManager | undefined => (typeof navigator !== 'undefined' ? navigator.locks : undefined);

/** Deletes the folders of tabs that are gone (their lock is free). Runs at the app's start. */
export async function sweepStaleFolders(): Promise<string[]> {
  const manager = locks();
  if (!manager || typeof navigator.storage?.getDirectory !== 'function') return [];
  let root: FileSystemDirectoryHandle;
  try {
    root = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT);
  } catch {
    return []; // nothing was ever stored here
  }
  const names: string[] = [];
  for await (const [name, h] of root.entries()) if (h.kind === 'directory') names.push(name);
  const swept: string[] = [];
  for (const name of names) {
    await manager.request(`${LOCK_PREFIX}${name}`, { ifAvailable: true }, async (lock) => {
      if (!lock) return; // a live tab holds it
      await root.removeEntry(name, { recursive: true }).then(
        () => swept.push(name),
        () => undefined,
      );
    });
  }
  return swept;
}

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
  /** Per folder we created: resolves to the release of its lock once the lock is held. */
  private readonly held = new Map<string, Promise<() => void>>();

  /** Takes the folder's lock (kept until the folder is removed), before the folder exists. */
  private hold(folder: string): Promise<unknown> {
    const manager = locks();
    if (!manager) return Promise.resolve();
    let h = this.held.get(folder);
    if (!h) {
      h = new Promise((granted) => {
        void manager.request(`${LOCK_PREFIX}${folder}`, () => new Promise<void>((release) => granted(release)));
      });
      this.held.set(folder, h);
    }
    return h;
  }

  private async folder(folder: string, create: boolean): Promise<FileSystemDirectoryHandle> {
    if (create) await this.hold(folder);
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT, { create });
    return root.getDirectoryHandle(folder, { create });
  }

  /**
   * The open handle of `folder/name`. A new file takes `size` bytes at once: the browser's
   * quota is asked once for the whole item (not again as every chunk grows it), and a device
   * without room for it says so before anything is written, not halfway.
   */
  private handle(folder: string, name: string, size?: number): Promise<SyncHandle> {
    const key = `${folder}/${name}`;
    let h = this.handles.get(key);
    if (!h) {
      h = this.folder(folder, true)
        .then((d) => d.getFileHandle(name, { create: true }))
        .then((f) => f.createSyncAccessHandle())
        .then((sync) => {
          if (size !== undefined && sync.getSize() < size) {
            try {
              sync.truncate(size);
            } catch (err) {
              sync.close();
              throw err;
            }
          }
          return sync;
        });
      this.handles.set(key, h);
      h.catch(() => this.handles.delete(key));
    }
    return h;
  }

  /** Writes `bytes` at `offset`; a short write (a full disk on some systems) is an error too. */
  async write({ folder, name, offset, size }: DiskTarget, bytes: Uint8Array): Promise<void> {
    try {
      const h = await this.handle(folder, name, size);
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
    if (name === undefined) {
      const release = this.held.get(folder);
      this.held.delete(folder);
      (await release)?.();
    }
  }
}
