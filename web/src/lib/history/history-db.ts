/**
 * The history's IndexedDB database: the device key (one record) and the sealed entries. A
 * record shows only what it must to be found and bounded — the item's random id, whether it
 * is pinned — and its ciphertext; the text, who sent it, the session and the time are inside.
 */
import type { Bytes, StoredKey } from './device-key';

export interface SealedEntry {
  id: string;
  pinned: boolean;
  iv: Bytes;
  ct: Bytes;
}

export const HISTORY_DB = 'sharethings-history';
const KEYS = 'keys';
const ENTRIES = 'entries';
const DEVICE_KEY = 'device';

function done(req: IDBRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function finished(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
  });
}

export class HistoryDb {
  private constructor(private readonly db: IDBDatabase) {}

  static open(factory: IDBFactory): Promise<HistoryDb> {
    return new Promise((resolve, reject) => {
      const req = factory.open(HISTORY_DB, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(KEYS);
        req.result.createObjectStore(ENTRIES, { keyPath: 'id' });
      };
      req.onsuccess = () => resolve(new HistoryDb(req.result));
      req.onerror = () => reject(req.error ?? new Error('IndexedDB unavailable'));
      req.onblocked = () => reject(new Error('IndexedDB blocked'));
    });
  }

  /**
   * The device's key: the kept one, or one `make` makes, kept now. Two pages opening at once
   * agree on one: `add` refuses the second, which then reads the first's.
   */
  async deviceKey(make: () => Promise<StoredKey>): Promise<StoredKey> {
    const kept = await this.get<StoredKey>(KEYS, DEVICE_KEY);
    if (kept) return kept;
    const made = await make();
    const tx = this.db.transaction(KEYS, 'readwrite');
    tx.objectStore(KEYS).add(made, DEVICE_KEY);
    const added = await finished(tx).then(
      () => true,
      () => false,
    );
    if (added) return made;
    const other = await this.get<StoredKey>(KEYS, DEVICE_KEY);
    if (!other) throw new Error('the history key could not be kept');
    return other;
  }

  all(): Promise<SealedEntry[]> {
    const req = this.db.transaction(ENTRIES, 'readonly').objectStore(ENTRIES).getAll();
    return done(req).then(() => req.result as SealedEntry[]);
  }

  /** Adds `entry` unless one with its id is kept already; says which. */
  async addNew(entry: SealedEntry): Promise<boolean> {
    const tx = this.db.transaction(ENTRIES, 'readwrite');
    tx.objectStore(ENTRIES).add(entry);
    return finished(tx).then(
      () => true,
      (err: unknown) => {
        if (err instanceof DOMException && err.name === 'ConstraintError') return false;
        throw err;
      },
    );
  }

  async setPinned(id: string, pinned: boolean): Promise<void> {
    const tx = this.db.transaction(ENTRIES, 'readwrite');
    const store = tx.objectStore(ENTRIES);
    const req = store.get(id);
    req.onsuccess = () => {
      const entry = req.result as SealedEntry | undefined;
      if (entry) store.put({ ...entry, pinned });
    };
    await finished(tx);
  }

  async delete(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const tx = this.db.transaction(ENTRIES, 'readwrite');
    const store = tx.objectStore(ENTRIES);
    for (const id of ids) store.delete(id);
    await finished(tx);
  }

  /** Every entry, pinned ones too. The key stays, for what is kept from now on. */
  async clear(): Promise<void> {
    const tx = this.db.transaction(ENTRIES, 'readwrite');
    tx.objectStore(ENTRIES).clear();
    await finished(tx);
  }

  close() {
    this.db.close();
  }

  private get<T>(store: string, key: string): Promise<T | undefined> {
    const req = this.db.transaction(store, 'readonly').objectStore(store).get(key);
    return done(req).then(() => req.result as T | undefined);
  }
}
