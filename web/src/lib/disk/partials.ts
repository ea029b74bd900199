/**
 * Received files that outlive their page: a tab reloaded, closed, killed or frozen by a locked
 * phone. The bytes are already on disk (the OPFS file is written in place, see `opfs.ts`);
 * this keeps, in IndexedDB, what it takes to go on: the item's metadata, which folder and file
 * hold it, and which chunks are written (as ranges). When the page joins the same session
 * again it offers Resume or Discard for each unfinished item, and Resume asks the sender for
 * the missing chunks only; a finished one shows received, its file read where it lies, so a
 * file that arrived whole is not lost with the page that received it (its sender may be gone).
 *
 * Items being sent are remembered too (`UnsentItem`), by name, size and date, not bytes.
 *
 * Written after chunks are on disk, never before: a record may lag what the file holds (those
 * chunks come again), never run ahead of it. An unfinished item is recorded only where files
 * are written in place: a writable stream commits its file when it closes, so a page that dies
 * mid-item has nothing to go on from. A record goes with its item: removed here, discarded,
 * cleared, the session left, or `PARTIAL_MAX_AGE_MS` after it was written.
 *
 * A record is its page's: keyed by folder and item, since two tabs of one browser in one
 * session receive the same item into two folders. A later page takes up only records whose
 * folder no live tab holds (`opfs.ts`'s locks), and of two for one item the one further on.
 */
import type { ChunkRanges } from '../chunking';
import type { ItemMeta } from '../../types/protocol';

export interface PartialItem {
  /** The item's id (also its file's name). */
  id: string;
  sessionId: string;
  /** The OPFS folder its file is in. */
  folder: string;
  meta: ItemMeta;
  totalChunks: number;
  /** Chunks written to the file, as half-open ranges. */
  have: ChunkRanges;
  /** Format v3: the device that signed its metadata (and must have signed its chunks). */
  sender?: string;
  /** Every chunk is written and the file closed at its size: nothing to resume, only to show. */
  finished?: boolean;
  savedAt: number;
}

const DB = 'sharethings-partials';
/** 2: records keyed by [folder, id] (version 1 keyed them by id alone). */
const VERSION = 2;
type StoreName = 'partials' | 'unsent';
/**
 * Records older than this are let go (and their folders swept): nobody resumes a week-old
 * transfer, and a received file left unsaved that long is not kept in the browser's storage.
 */
export const PARTIAL_MAX_AGE_MS = 7 * 24 * 3600_000;

let db: Promise<IDBDatabase> | undefined;

function open(): Promise<IDBDatabase> {
  db ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = (e) => {
      const base = req.result;
      if (e.oldVersion < 1) base.createObjectStore('unsent', { keyPath: 'id' });
      const rekey = (kept: PartialItem[]) => {
        const store = base.createObjectStore('partials', { keyPath: ['folder', 'id'] });
        store.createIndex('id', 'id');
        for (const p of kept) store.put(p);
      };
      const upgrade = req.transaction;
      if (e.oldVersion < 1 || !upgrade) return rekey([]);
      // Version 1's records move over as they are: each names its folder already.
      const old = upgrade.objectStore('partials').getAll();
      old.onsuccess = () => {
        base.deleteObjectStore('partials');
        rekey(old.result as PartialItem[]);
      };
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB unavailable'));
  });
  db.catch(() => (db = undefined));
  return db;
}

async function run<T>(name: StoreName, mode: IDBTransactionMode, step: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const store = (await open()).transaction(name, mode).objectStore(name);
  return new Promise((resolve, reject) => {
    const req = step(store);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

const available = () => typeof indexedDB !== 'undefined';

export async function savePartial(p: PartialItem): Promise<void> {
  if (available()) await run('partials', 'readwrite', (s) => s.put(p)).catch(() => undefined);
}

/** The record of item `id` in `folder`: one page's. */
export async function deletePartial(folder: string, id: string): Promise<void> {
  if (available()) await run('partials', 'readwrite', (s) => s.delete([folder, id])).catch(() => undefined);
}

/** Every record of item `id`, whichever page made it: the item is gone from this device. */
export async function deletePartials(id: string): Promise<void> {
  if (!available()) return;
  const keys = await run('partials', 'readonly', (s) => s.index('id').getAllKeys(id)).catch(() => []);
  for (const key of keys) await run('partials', 'readwrite', (s) => s.delete(key)).catch(() => undefined);
}

async function all(): Promise<PartialItem[]> {
  if (!available()) return [];
  return run<PartialItem[]>('partials', 'readonly', (s) => s.getAll()).catch(() => []);
}

/**
 * The items of `sessionId` an earlier page received, whole or in part, except those in a folder
 * a live tab holds (`held`, its own): whole ones first, then the furthest on, so that of two
 * records of one item the better is taken up.
 */
export async function partialsOf(sessionId: string, held: ReadonlySet<string>, now = Date.now()): Promise<PartialItem[]> {
  const mine = (await all()).filter((p) => p.sessionId === sessionId && !held.has(p.folder) && now - p.savedAt < PARTIAL_MAX_AGE_MS);
  const further = (p: PartialItem) => (p.finished ? p.totalChunks + 1 : p.have.reduce((n, [from, to]) => n + to - from, 0));
  return mine.sort((a, b) => further(b) - further(a));
}

/** Folders that hold a file a later page may show or resume (the start-up sweep keeps them). */
export async function resumableFolders(now = Date.now()): Promise<Set<string>> {
  const keep = new Set<string>();
  for (const p of await all()) {
    if (now - p.savedAt < PARTIAL_MAX_AGE_MS) keep.add(p.folder);
    else await deletePartial(p.folder, p.id);
  }
  return keep;
}

/**
 * An item this device was sending when its page went away. Only what names it: the file itself
 * is not copied (that would double the disk's work for every large item), so a page that comes
 * back asks for it to be picked again, and checks that it is the same file.
 */
export interface UnsentItem {
  id: string;
  sessionId: string;
  meta: ItemMeta;
  totalChunks: number;
  /** The picked file's last-modified time, to know it again. */
  lastModified: number;
  savedAt: number;
}

export async function saveUnsent(u: UnsentItem): Promise<void> {
  if (available()) await run('unsent', 'readwrite', (s) => s.put(u)).catch(() => undefined);
}

export async function deleteUnsent(id: string): Promise<void> {
  if (available()) await run('unsent', 'readwrite', (s) => s.delete(id)).catch(() => undefined);
}

export async function unsentOf(sessionId: string, now = Date.now()): Promise<UnsentItem[]> {
  if (!available()) return [];
  const all = await run<UnsentItem[]>('unsent', 'readonly', (s) => s.getAll()).catch(() => []);
  return all.filter((u) => u.sessionId === sessionId && now - u.savedAt < PARTIAL_MAX_AGE_MS);
}
