/**
 * The room-secret store (docs/protocol.md, "The room secret"): what a member keeps in this
 * browser's IndexedDB so that a reload, a restart of the server or the next day needs no
 * passphrase and no member online. Per session: the room secret, this device's key (a
 * non-extractable `CryptoKey` where Web Crypto has Ed25519), its name, its `seq` counter, the
 * roster, the replay windows and the creator's policy. Never the passphrase. Bounded: at most
 * `maxRooms` sessions, the one used longest ago dropped first. Leaving a session deletes it.
 */
import type { StoredDeviceKey } from '../crypto/v3/device-key';
import type { Bytes } from '../crypto/v3/lv';
import type { StoredWindow } from './replay-windows';
import type { ContentEnvelopeV3 } from './room-codec';
import type { StoredRoster } from './roster';

export const MAX_ROOMS = 64;
const DB_NAME = 'sharethings-rooms';
const STORE = 'rooms';

export interface RoomPolicy {
  anyoneMayClear: boolean;
  /**
   * The creator's newest `policy` as it came (its `content` envelope and sealed `data`, base64):
   * forwarded unchanged to newcomers, who check the creator's signature themselves. Its `seq`
   * orders policies, so an older one replayed never undoes a newer one.
   */
  signed?: { content: ContentEnvelopeV3; data: string };
}

export interface StoredRoom {
  sessionId: string;
  roomKey: Bytes;
  creatorPk: Bytes;
  prs?: Bytes;
  device: StoredDeviceKey;
  name: string;
  /** Every counter up to this one may have been used; a new page starts past it. */
  seqReserved: number;
  roster: StoredRoster;
  replay: StoredWindow[];
  policy: RoomPolicy;
  lastUsed: number;
}

const request = <T>(r: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });

const done = (tx: IDBTransaction) =>
  new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });

export class RoomStore {
  private constructor(
    private readonly db: IDBDatabase,
    private readonly maxRooms: number,
  ) {}

  static async open(factory: IDBFactory = indexedDB, maxRooms = MAX_ROOMS, name = DB_NAME): Promise<RoomStore> {
    const open = factory.open(name, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'sessionId' });
    return new RoomStore(await request(open), maxRooms);
  }

  async get(sessionId: string): Promise<StoredRoom | undefined> {
    const tx = this.db.transaction(STORE, 'readonly');
    return (await request(tx.objectStore(STORE).get(sessionId))) as StoredRoom | undefined;
  }

  /**
   * Saves a room; past the bound, drops the rooms used longest ago (never this one). The `seq`
   * reservation kept is the higher of the stored one and this one: another tab of this browser
   * in the same session may have reserved counters since this page last saved.
   */
  async put(room: StoredRoom): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    const kept = (await request(store.get(room.sessionId))) as StoredRoom | undefined;
    store.put(kept && kept.seqReserved > room.seqReserved ? { ...room, seqReserved: kept.seqReserved } : room);
    const all = (await request(store.getAll())) as StoredRoom[];
    const others = all.filter((r) => r.sessionId !== room.sessionId).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const old of others.slice(0, Math.max(0, others.length + 1 - this.maxRooms))) store.delete(old.sessionId);
    await done(tx);
  }

  /**
   * Reserves the next `SEQ_BLOCK` counters of `sessionId` for the caller, in one transaction, so
   * two tabs of this browser in the same session never get the same block; returns the block's
   * last counter. Throws when the room is no longer kept.
   */
  async reserveSeq(sessionId: string): Promise<number> {
    const tx = this.db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    const room = (await request(store.get(sessionId))) as StoredRoom | undefined;
    if (!room) throw new Error('this browser no longer keeps the session');
    room.seqReserved += SEQ_BLOCK;
    store.put(room);
    await done(tx);
    return room.seqReserved;
  }

  async delete(sessionId: string): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).delete(sessionId);
    await done(tx);
  }

  async sessions(): Promise<{ sessionId: string; name: string; lastUsed: number }[]> {
    const tx = this.db.transaction(STORE, 'readonly');
    const all = (await request(tx.objectStore(STORE).getAll())) as StoredRoom[];
    return all.map((r) => ({ sessionId: r.sessionId, name: r.name, lastUsed: r.lastUsed })).sort((a, b) => b.lastUsed - a.lastUsed);
  }

  close(): void {
    this.db.close();
  }
}

/** Counters are reserved in storage this many at a time, so most sends write nothing. */
export const SEQ_BLOCK = 64;

/**
 * This device's `seq` for one session: rising, and never a value twice, across reloads and
 * across tabs of the same browser too. Each page takes blocks of `SEQ_BLOCK` counters that
 * storage hands out (`reserve` gives a block's last counter) before it uses any of them; a
 * reload skips what is left of its block, and another tab gets other blocks.
 */
export class SeqCounter {
  private last = 0;
  private reserved = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly reserve: () => Promise<number>) {}

  next(): Promise<number> {
    const result = this.chain.then(async () => {
      if (this.last + 1 > this.reserved) {
        const reserved = await this.reserve();
        this.last = reserved - SEQ_BLOCK;
        this.reserved = reserved;
      }
      return ++this.last;
    });
    this.chain = result.catch(() => undefined);
    return result;
  }
}

/** Whether this browser keeps the secret of `sessionId` (false where IndexedDB is missing or refused). */
export async function hasStoredRoom(sessionId: string, factory: IDBFactory | undefined = globalThis.indexedDB): Promise<boolean> {
  if (!factory) return false;
  try {
    const store = await RoomStore.open(factory);
    try {
      return (await store.get(sessionId)) !== undefined;
    } finally {
      store.close();
    }
  } catch {
    return false;
  }
}
