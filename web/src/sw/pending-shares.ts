/**
 * What the share sheet handed to the app, kept in IndexedDB until the user sends it to a
 * session or discards it. Written by the service worker (it receives the share-target POST),
 * read and emptied by the page. Plain IndexedDB: no React, usable in both.
 *
 * This is the device's own storage and the content stays on the device: it is encrypted like
 * any item only when the user sends it.
 */

export interface PendingShare {
  id: string;
  receivedAt: number;
  /** Title, text and link of the share, joined (empty when only files were shared). */
  text: string;
  files: File[];
}

export type StoreOutcome = 'stored' | 'full' | 'empty';

/** More than this many shares waiting means something is posting to the app in a loop. */
export const MAX_PENDING_SHARES = 50;

/** Open pages listen here to hear of new or removed shares. */
export const SHARES_CHANNEL = 'sharethings-shares';

const DB_NAME = 'sharethings-share-target';
const STORE = 'pending';

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB open failed'));
  });
}

/** Runs `work` in one transaction and resolves with its result once the transaction commits. */
async function transact<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  } finally {
    db.close();
  }
}

function announce() {
  const channel = new BroadcastChannel(SHARES_CHANNEL);
  channel.postMessage('changed');
  channel.close();
}

export async function addPendingShare(text: string, files: File[]): Promise<StoreOutcome> {
  if (!text && files.length === 0) return 'empty';
  const count = await transact('readonly', (s) => s.count());
  if (count >= MAX_PENDING_SHARES) return 'full';
  const share: PendingShare = { id: crypto.randomUUID(), receivedAt: Date.now(), text, files };
  await transact('readwrite', (s) => s.add(share));
  announce();
  return 'stored';
}

/** Every waiting share, oldest first. */
export async function listPendingShares(): Promise<PendingShare[]> {
  const all = await transact('readonly', (s) => s.getAll() as IDBRequest<PendingShare[]>);
  return all.sort((a, b) => a.receivedAt - b.receivedAt);
}

export async function deletePendingShares(ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const db = await openDb();
  try {
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(STORE, 'readwrite');
      for (const id of ids) tx.objectStore(STORE).delete(id);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB delete failed'));
    });
  } finally {
    db.close();
  }
  announce();
}
