/**
 * Received files on disk: the Origin Private File System, written in the crypto worker, which
 * is handed each chunk's plaintext as the page opens it (see `crypto-client.ts`). Layout:
 * `sharethings/<folder>/<name>`, one folder per joined room, so leaving removes it whole.
 *
 * Two ways to write, whichever the browser offers (`probeStorage` finds out, in this order): a
 * synchronous access handle (Chromium, Firefox, Safari on Apple's systems), written in place;
 * or a writable stream (`createWritable`), which WebKit outside Apple's systems has where its
 * sync handles throw "Backend does not support this operation". The stream writes into a swap
 * file that becomes the file when it closes: on disk all the same, never in memory.
 *
 * A tab that crashes or is killed never leaves its room, so its folder stays behind. Each
 * folder is therefore guarded by a Web Lock held by the worker writing it (taken before the
 * folder exists, released when it is removed); the browser drops a lock when its worker dies
 * with its tab. `sweepStaleFolders` deletes every folder whose lock is free, and never one a
 * live tab is writing.
 */
import { DiskError } from '../crypto/errors';
import type { DiskTarget } from '../crypto/protocol';
import { resumableFolders } from './partials';

const ROOT = 'sharethings';
const LOCK_PREFIX = 'sharethings-disk:';

/** Web Locks exist in secure contexts (like the OPFS itself); without them nothing is swept. */
const locks = (): LockManager | undefined => (typeof navigator !== 'undefined' ? navigator.locks : undefined);

/**
 * Deletes the folders of tabs that are gone (their lock is free), except those holding an
 * unfinished item a later page may resume (`disk/partials.ts`). Runs at the app's start.
 */
export async function sweepStaleFolders(): Promise<string[]> {
  const keep = await resumableFolders();
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
  for (const name of names.filter((n) => !keep.has(n))) {
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

/** The folders live tabs are writing (their locks are held): no other page takes them up. */
export async function heldFolders(): Promise<Set<string>> {
  let held: LockInfo[] = [];
  try {
    held = (await locks()?.query())?.held ?? [];
  } catch {
    // No way to ask: no folder is known to be held.
  }
  return new Set(held.flatMap((l) => (l.name?.startsWith(LOCK_PREFIX) ? [l.name.slice(LOCK_PREFIX.length)] : [])));
}

/**
 * A received file an earlier page finished (`disk/partials.ts`), read where it lies, on the
 * page: a disk-backed File, or undefined when it is gone or not its expected size.
 */
export async function keptFile(folder: string, name: string, size: number): Promise<File | undefined> {
  if (typeof navigator === 'undefined' || typeof navigator.storage?.getDirectory !== 'function') return undefined;
  try {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT);
    const file = await (await (await root.getDirectoryHandle(folder)).getFileHandle(name)).getFile();
    return file.size === size ? file : undefined;
  } catch {
    return undefined;
  }
}

/** How this browser writes received files: in place, through a stream, or not at all. */
export type StorageMode = 'sync' | 'writable' | 'memory';

/** One file being written. `await` on every call: Safari before 17 made some of them async. */
interface OpenFile {
  write(bytes: Uint8Array, at: number): Promise<void>;
  /** Cuts or extends it to `size` bytes and closes it. */
  finish(size: number): Promise<void>;
  /** Closes it without keeping what a stream had not committed. */
  abandon(): Promise<void>;
}

async function openSync(file: FileSystemFileHandle, size?: number): Promise<OpenFile> {
  const sync = await file.createSyncAccessHandle();
  if (size !== undefined) {
    try {
      // Awaited: Safari before 17 returns promises here; today's browsers return values.
      if ((await sync.getSize()) < size) await sync.truncate(size);
    } catch (err) {
      await sync.close();
      throw err;
    }
  }
  return {
    async write(bytes, at) {
      const n = sync.write(bytes, { at });
      if (n !== bytes.length) throw new DOMException('short write', 'QuotaExceededError');
    },
    async finish(length) {
      // An empty item never wrote; truncating also makes sure nothing lies beyond `length`.
      // No flush(): that is an fsync, seconds for a large file on a busy disk, and a received
      // item need not survive a power cut (its sender still has it).
      await sync.truncate(length);
      await sync.close();
    },
    async abandon() {
      await sync.close();
    },
  };
}

async function openWritable(file: FileSystemFileHandle, size?: number): Promise<OpenFile> {
  const stream = await file.createWritable({ keepExistingData: true });
  if (size !== undefined) {
    try {
      await stream.truncate(size);
    } catch (err) {
      await stream.abort();
      throw err;
    }
  }
  // One write at a time, in order: the stream's own queue is per writer, and each call takes one.
  let last: Promise<void> = Promise.resolve();
  const queued = (step: () => Promise<void>) => {
    const next = last.then(step);
    last = next.catch(() => undefined);
    return next;
  };
  return {
    write: (bytes, at) => queued(() => stream.write({ type: 'write', position: at, data: bytes as Uint8Array<ArrayBuffer> })),
    finish: (length) =>
      queued(async () => {
        await stream.truncate(length);
        await stream.close();
      }),
    abandon: () => queued(() => stream.abort()),
  };
}

const OPENERS: Record<Exclude<StorageMode, 'memory'>, (f: FileSystemFileHandle, size?: number) => Promise<OpenFile>> = {
  sync: openSync,
  writable: openWritable,
};

/** Whether this context has the OPFS and the file handle's `method` (secure context, modern browser). */
function has(method: 'createSyncAccessHandle' | 'createWritable'): boolean {
  return (
    typeof navigator !== 'undefined' &&
    typeof navigator.storage?.getDirectory === 'function' &&
    typeof FileSystemFileHandle !== 'undefined' &&
    method in FileSystemFileHandle.prototype
  );
}

function diskError(err: unknown): DiskError {
  const name = err instanceof DOMException ? err.name : '';
  if (name === 'QuotaExceededError') return new DiskError('not enough free space on this device', true);
  return new DiskError(`could not write to this device's storage (${err instanceof Error ? err.message : String(err)})`, false);
}

export class OpfsFiles {
  /** Open files by `folder/name`; a promise so that concurrent first writes share one. */
  private readonly files = new Map<string, Promise<OpenFile>>();
  /** Per folder we created: resolves to the release of its lock once the lock is held. */
  private readonly held = new Map<string, Promise<() => void>>();

  constructor(private mode: Exclude<StorageMode, 'memory'> = 'sync') {}

  /**
   * Finds how this browser can write a file (a sync handle, else a stream), by writing a byte
   * of each in a folder of its own, which is deleted (and its lock released) whatever happened.
   * From then on files are written that way.
   */
  async probe(): Promise<StorageMode> {
    for (const mode of ['sync', 'writable'] as const) {
      if (!has(mode === 'sync' ? 'createSyncAccessHandle' : 'createWritable')) continue;
      this.mode = mode;
      const folder = `probe-${Math.random().toString(36).slice(2)}`;
      try {
        await this.write({ folder, name: 'probe', offset: 0, size: 1 }, new Uint8Array(1));
        await this.finish(folder, 'probe', 1);
        return mode;
      } catch {
        // Next way, if any.
      } finally {
        await this.remove(folder).catch(() => undefined);
      }
    }
    return 'memory';
  }

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
   * The open file `folder/name`. A new file takes `size` bytes at once: the browser's quota is
   * asked once for the whole item (not again as every chunk grows it), and a device without
   * room for it says so before anything is written, not halfway.
   */
  private file(folder: string, name: string, size?: number): Promise<OpenFile> {
    const key = `${folder}/${name}`;
    let f = this.files.get(key);
    if (!f) {
      const open = OPENERS[this.mode];
      f = this.folder(folder, true)
        .then((d) => d.getFileHandle(name, { create: true }))
        .then((h) => open(h, size));
      this.files.set(key, f);
      f.catch(() => this.files.delete(key));
    }
    return f;
  }

  /** Writes `bytes` at `offset`; a short write (a full disk on some systems) is an error too. */
  async write({ folder, name, offset, size }: DiskTarget, bytes: Uint8Array): Promise<void> {
    try {
      await (await this.file(folder, name, size)).write(bytes, offset);
    } catch (err) {
      throw diskError(err);
    }
  }

  /** Closes the file at `size` bytes and returns it: a disk-backed File the page can download. */
  async finish(folder: string, name: string, size: number): Promise<File> {
    try {
      const key = `${folder}/${name}`;
      await (await this.file(folder, name)).finish(size);
      this.files.delete(key);
      return await (await (await this.folder(folder, false)).getFileHandle(name)).getFile();
    } catch (err) {
      throw diskError(err);
    }
  }

  /** Deletes one file, or the whole folder when `name` is omitted. Missing is fine. */
  async remove(folder: string, name?: string): Promise<void> {
    for (const [key, f] of this.files) {
      if (key === `${folder}/${name}` || (name === undefined && key.startsWith(`${folder}/`))) {
        this.files.delete(key);
        await f.then((x) => x.abandon()).catch(() => undefined);
      }
    }
    try {
      const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT);
      if (name === undefined) await root.removeEntry(folder, { recursive: true });
      else await (await root.getDirectoryHandle(folder)).removeEntry(name);
    } catch (err) {
      if (!(err instanceof DOMException && err.name === 'NotFoundError')) throw diskError(err);
    } finally {
      if (name === undefined) {
        const release = this.held.get(folder);
        this.held.delete(folder);
        (await release)?.();
      }
    }
  }
}
