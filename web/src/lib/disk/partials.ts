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
type StoreName = 'partials' | 'unsent';
/**
 * Records older than this are let go (and their folders swept): nobody resumes a week-old
 * transfer, and a received file left unsaved that long is not kept in the browser's storage.
 */
export const PARTIAL_MAX_AGE_MS = 7 * 24 * 3600_000;

let db: Promise<IDBDatabase> | undefined;

function open(): Promise<IDBDatabase> {
  db ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('partials', { keyPath: 'id' });
      req.result.createObjectStore('unsent', { keyPath: 'id' });
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

export async function deletePartial(id: string): Promise<void> {
  if (available()) await run('partials', 'readwrite', (s) => s.delete(id)).catch(() => undefined);
}

async function all(): Promise<PartialItem[]> {
  if (!available()) return [];
  return run<PartialItem[]>('partials', 'readonly', (s) => s.getAll()).catch(() => []);
}

/** The items of `sessionId` an earlier page received, whole or in part. */
export async function partialsOf(sessionId: string, now = Date.now()): Promise<PartialItem[]> {
  return (await all()).filter((p) => p.sessionId === sessionId && now - p.savedAt < PARTIAL_MAX_AGE_MS);
}

/** Folders that hold a file a later page may show or resume (the start-up sweep keeps them). */
export async function resumableFolders(now = Date.now()): Promise<Set<string>> {
  const keep = new Set<string>();
  for (const p of await all()) {
    if (now - p.savedAt < PARTIAL_MAX_AGE_MS) keep.add(p.folder);
    else await deletePartial(p.id);
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
