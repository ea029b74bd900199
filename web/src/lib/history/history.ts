/**
 * A device's history of the text and links it sent and received (issue 28, point 3): kept in
 * IndexedDB across reloads and sessions, each entry sealed under the device's own key
 * (`device-key.ts`), read back and searched in memory, with pin and delete, within bounds the
 * page sets (`bounds.ts`). It is this device's alone: nothing here is sent anywhere, and
 * clearing it touches no other copy.
 *
 * One owner for the entries: every change goes through a queue, in order, so a search never
 * sees half a change and two changes never interleave. Other tabs of the same browser are told
 * of a change over a BroadcastChannel and read the database again.
 */
import { Store } from '../room/store';
import { type Bounded, canPin, type HistoryBounds, overBound } from './bounds';
import { type Bytes, type HistoryCipher, historyCipher, type KeyProtection, newDeviceKey } from './device-key';
import { HistoryDb, type SealedEntry } from './history-db';

export type { HistoryBounds } from './bounds';
export type { KeyProtection } from './device-key';

export interface HistoryEntry extends Bounded {
  text: string;
  /** The sender's display name as it was then. */
  from: string;
  /** Sent from this device. */
  mine: boolean;
  sessionId: string;
}

export type NewEntry = Omit<HistoryEntry, 'pinned' | 'bytes'>;

export type HistoryState =
  | { status: 'opening' }
  | { status: 'ready'; protection: KeyProtection; entries: readonly HistoryEntry[] }
  | { status: 'unavailable'; reason: string };

/**
 * `off`: the bound keeps nothing new; `too-large`: the entry alone is larger than the bound;
 * `full`: pinned entries fill the bound, so the new one went at once.
 */
export type AddResult = 'kept' | 'known' | 'off' | 'too-large' | 'full' | 'unavailable';
/** `limit`: the pinned entries alone would fill the bound. */
export type PinResult = 'done' | 'limit' | 'gone';

export interface HistoryOptions {
  bounds: () => HistoryBounds;
  /** Defaults to the page's. */
  indexedDB?: IDBFactory;
  /** Defaults to the page's `crypto.subtle`; `null` is a page without Web Crypto. */
  subtle?: SubtleCrypto | null;
  /** Tabs of one browser tell each other of changes on this channel; `null` for none. */
  channel?: string | null;
}

const FORMAT = 1;
const AAD_PREFIX = 'sharethings.history.v1:';

/** Binds each ciphertext to its record: one moved to another id does not open. */
const aadFor = (id: string): Bytes => new TextEncoder().encode(AAD_PREFIX + id);

function encode(e: NewEntry): Bytes {
  return new TextEncoder().encode(JSON.stringify({ v: FORMAT, text: e.text, from: e.from, mine: e.mine, sessionId: e.sessionId, at: e.at }));
}

function decode(sealed: SealedEntry, plain: Bytes): HistoryEntry | null {
  const v: unknown = JSON.parse(new TextDecoder().decode(plain));
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (o.v !== FORMAT || typeof o.text !== 'string' || typeof o.from !== 'string' || typeof o.mine !== 'boolean') return null;
  if (typeof o.sessionId !== 'string' || typeof o.at !== 'number') return null;
  return { id: sealed.id, pinned: sealed.pinned === true, bytes: storedBytes(sealed), text: o.text, from: o.from, mine: o.mine, sessionId: o.sessionId, at: o.at };
}

const storedBytes = (s: { iv: Bytes; ct: Bytes }) => s.iv.byteLength + s.ct.byteLength;

const newestFirst = (a: HistoryEntry, b: HistoryEntry) => b.at - a.at;

/**
 * The entries that match every word of `query`, in the text, the sender's name or the
 * session's, ignoring case; all of them for an empty query. Pure.
 */
export function searchHistory(entries: readonly HistoryEntry[], query: string): HistoryEntry[] {
  const words = query.toLocaleLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...entries];
  return entries.filter((e) => {
    const hay = `${e.text}\n${e.from}\n${e.sessionId}`.toLocaleLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

export class History {
  readonly store = new Store<HistoryState>({ status: 'opening' });
  private queue: Promise<unknown>;
  private db: HistoryDb | undefined;
  private cipher: HistoryCipher | undefined;
  private readonly channel: BroadcastChannel | undefined;

  constructor(private readonly opts: HistoryOptions) {
    const name = opts.channel === undefined ? 'sharethings-history' : opts.channel;
    if (name !== null && typeof BroadcastChannel !== 'undefined') {
      this.channel = new BroadcastChannel(name);
      this.channel.onmessage = () => void this.reload();
    }
    this.queue = this.open();
  }

  /** The entries, once open; none otherwise. */
  entries(): readonly HistoryEntry[] {
    const s = this.store.get();
    return s.status === 'ready' ? s.entries : [];
  }

  /** Keeps `entry` (sealed) unless it is known, off, or larger than the bound; then applies the bound. */
  add(entry: NewEntry): Promise<AddResult> {
    return this.run(async () => {
      const { db, cipher } = this;
      if (!db || !cipher) return 'unavailable';
      if (this.entries().some((e) => e.id === entry.id)) return 'known';
      const bounds = this.opts.bounds();
      if (bounds.items <= 0) return 'off';
      const sealed = { id: entry.id, pinned: false, ...(await cipher.seal(encode(entry), aadFor(entry.id))) };
      const bytes = storedBytes(sealed);
      if (bytes > bounds.bytes) return 'too-large';
      if (!(await db.addNew(sealed))) return 'known';
      this.setEntries([...this.entries(), { ...entry, pinned: false, bytes }]);
      await this.trim();
      this.changed();
      return this.entries().some((e) => e.id === entry.id) ? 'kept' : 'full';
    });
  }

  /** Pins or unpins one entry. Pinning stops where the pinned entries alone would fill the bound. */
  pin(id: string, pinned: boolean): Promise<PinResult> {
    return this.run(async () => {
      const entry = this.entries().find((e) => e.id === id);
      if (!this.db || !entry) return 'gone';
      if (pinned && !entry.pinned && !canPin(this.entries(), entry.bytes, this.opts.bounds())) return 'limit';
      await this.db.setPinned(id, pinned);
      this.setEntries(this.entries().map((e) => (e.id === id ? { ...e, pinned } : e)));
      if (!pinned) await this.trim();
      this.changed();
      return 'done';
    });
  }

  /** Deletes entries from this device's history (nothing else). */
  remove(ids: readonly string[]): Promise<void> {
    return this.run(async () => {
      const gone = new Set(ids);
      const here = this.entries().filter((e) => gone.has(e.id));
      if (!this.db || here.length === 0) return;
      await this.db.delete(here.map((e) => e.id));
      this.setEntries(this.entries().filter((e) => !gone.has(e.id)));
      this.changed();
    });
  }

  /** Deletes every entry of this device's history, pinned ones too. */
  clear(): Promise<void> {
    return this.run(async () => {
      if (!this.db) return;
      await this.db.clear();
      this.setEntries([]);
      this.changed();
    });
  }

  /** Applies the bounds again (after they changed). */
  applyBounds(): Promise<void> {
    return this.run(async () => {
      if (await this.trim()) this.changed();
    });
  }

  /** Reads the database again (another tab changed it). */
  reload(): Promise<void> {
    return this.run(() => this.readAll());
  }

  close() {
    this.channel?.close();
    void this.run(async () => {
      this.db?.close();
      this.db = undefined;
    });
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async open() {
    try {
      const factory = this.opts.indexedDB ?? globalThis.indexedDB;
      if (!factory) throw new Error('this browser keeps no database for this page (private browsing may turn it off)');
      const subtle = this.opts.subtle === undefined ? globalThis.crypto?.subtle : (this.opts.subtle ?? undefined);
      const db = await HistoryDb.open(factory);
      const cipher = historyCipher(await db.deviceKey(() => newDeviceKey(subtle)), subtle);
      if (!cipher) throw new Error('it was kept under a Web Crypto key, and this page has no Web Crypto');
      this.db = db;
      this.cipher = cipher;
      await this.readAll();
      await this.trim();
    } catch (err) {
      this.store.set({ status: 'unavailable', reason: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Opens every record; one that does not open (changed, or not ours) can never be read, and goes. */
  private async readAll() {
    const { db, cipher } = this;
    if (!db || !cipher) return;
    const entries: HistoryEntry[] = [];
    const unreadable: string[] = [];
    for (const sealed of await db.all()) {
      const entry = await cipher
        .open(sealed, aadFor(sealed.id))
        .then((plain) => decode(sealed, plain))
        .catch(() => null);
      if (entry) entries.push(entry);
      else unreadable.push(sealed.id);
    }
    await db.delete(unreadable);
    this.store.set({ status: 'ready', protection: cipher.protection, entries: entries.sort(newestFirst) });
  }

  /** Lets the oldest unpinned entries go until the history fits its bounds; says whether any went. */
  private async trim(): Promise<boolean> {
    const out = overBound(this.entries(), this.opts.bounds());
    if (!this.db || out.length === 0) return false;
    await this.db.delete(out);
    const gone = new Set(out);
    this.setEntries(this.entries().filter((e) => !gone.has(e.id)));
    return true;
  }

  private setEntries(entries: HistoryEntry[]) {
    const s = this.store.get();
    if (s.status === 'ready') this.store.set({ ...s, entries: entries.sort(newestFirst) });
  }

  private changed() {
    this.channel?.postMessage('changed');
  }
}
