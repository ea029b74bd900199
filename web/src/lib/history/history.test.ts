// The device history against fake-indexeddb (a full IndexedDB in memory, structured clone
// included): what it keeps across a reopen, its bounds, pins, search, and what IndexedDB holds,
// which must be ciphertext, under a non-extractable key where Web Crypto exists.
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { type HistoryBounds, History, type HistoryEntry, type NewEntry, searchHistory } from './history';
import { HISTORY_DB } from './history-db';

const ROOMY: HistoryBounds = { items: 100, bytes: 1 << 20 };

type Backend = { name: string; subtle: SubtleCrypto | null };
const BACKENDS: Backend[] = [
  { name: 'Web Crypto', subtle: globalThis.crypto.subtle },
  { name: 'pure JS (plain HTTP)', subtle: null },
];

let seq = 0;
function entry(text: string, p: Partial<NewEntry> = {}): NewEntry {
  seq += 1;
  return { id: `item-${seq}`, text, from: 'Phone', mine: false, sessionId: 'family', at: 1_000_000 + seq, ...p };
}

function opened(factory: IDBFactory, subtle: SubtleCrypto | null, bounds: () => HistoryBounds = () => ROOMY, channel: string | null = null) {
  const h = new History({ indexedDB: factory, subtle, bounds, channel });
  return h.reload().then(() => h);
}

const texts = (h: History) => h.entries().map((e) => e.text);

/** Every record of one object store, as IndexedDB keeps it. */
function rawRecords(factory: IDBFactory, store: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const req = factory.open(HISTORY_DB);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const all = req.result.transaction(store, 'readonly').objectStore(store).getAll();
      all.onsuccess = () => {
        req.result.close();
        resolve(all.result);
      };
      all.onerror = () => reject(all.error);
    };
  });
}

function rewrite(factory: IDBFactory, change: (records: Record<string, unknown>[]) => Record<string, unknown>[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = factory.open(HISTORY_DB);
    req.onsuccess = () => {
      const tx = req.result.transaction('entries', 'readwrite');
      const store = tx.objectStore('entries');
      const all = store.getAll();
      all.onsuccess = () => {
        store.clear();
        for (const r of change(all.result as Record<string, unknown>[])) store.put(r);
      };
      tx.oncomplete = () => {
        req.result.close();
        resolve();
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}

const bytesOf = (v: unknown) => new TextDecoder('latin1').decode(v as Uint8Array);

describe.each(BACKENDS)('device history ($name)', ({ subtle }) => {
  it('keeps entries across a reopen (a reload, a new session), newest first', async () => {
    const factory = new IDBFactory();
    const h = await opened(factory, subtle);
    expect(await h.add(entry('first'))).toBe('kept');
    expect(await h.add(entry('second https://example.org/a', { mine: true, from: 'Laptop' }))).toBe('kept');
    h.close();
    const again = await opened(factory, subtle);
    expect(texts(again)).toEqual(['second https://example.org/a', 'first']);
    expect(again.entries()[0]).toMatchObject({ mine: true, from: 'Laptop', sessionId: 'family', pinned: false });
  });

  it('keeps ciphertext only: the text, the sender and the session are not in IndexedDB', async () => {
    const factory = new IDBFactory();
    const h = await opened(factory, subtle);
    await h.add(entry('the wifi password is hunter2', { from: 'Grandma', sessionId: 'secret-family' }));
    const [record] = (await rawRecords(factory, 'entries')) as Record<string, unknown>[];
    expect(Object.keys(record).sort()).toEqual(['ct', 'id', 'iv', 'pinned']);
    const stored = `${bytesOf(record.ct)}${bytesOf(record.iv)}${JSON.stringify(record)}`;
    for (const secret of ['hunter2', 'wifi', 'Grandma', 'secret-family']) expect(stored).not.toContain(secret);
    const [key] = (await rawRecords(factory, 'keys')) as { kind: string; key: unknown }[];
    if (subtle) {
      // The key IndexedDB holds is the CryptoKey object, which no script can read out.
      expect(key.kind).toBe('webcrypto');
      expect(key.key).toBeInstanceOf(CryptoKey);
      expect((key.key as CryptoKey).extractable).toBe(false);
      await expect(subtle.exportKey('raw', key.key as CryptoKey)).rejects.toThrow();
    } else {
      expect(key.kind).toBe('raw');
      expect((key.key as Uint8Array).byteLength).toBe(32);
    }
  });

  it('lets a record that was changed or moved to another id go, and keeps the rest', async () => {
    const factory = new IDBFactory();
    const h = await opened(factory, subtle);
    await h.add(entry('alpha'));
    await h.add(entry('beta'));
    await h.add(entry('gamma'));
    h.close();
    await rewrite(factory, (records) => {
      const [a, b, c] = records;
      const flipped = new Uint8Array(c.ct as Uint8Array);
      flipped[0] ^= 1;
      // a's ciphertext under b's id (the AAD binds it to a), and a bit flipped in c.
      return [a, { ...b, iv: a.iv, ct: a.ct }, { ...c, ct: flipped }];
    });
    const again = await opened(factory, subtle);
    expect(texts(again)).toEqual(['alpha']);
    expect(await rawRecords(factory, 'entries')).toHaveLength(1);
  });

  it('bounds the count: the oldest unpinned go first, pinned ones stay', async () => {
    const factory = new IDBFactory();
    const bounds = { ...ROOMY, items: 3 };
    const h = await opened(factory, subtle, () => bounds);
    await h.add(entry('one'));
    await h.add(entry('two'));
    expect(await h.pin(h.entries().find((e) => e.text === 'one')!.id, true)).toBe('done');
    await h.add(entry('three'));
    await h.add(entry('four'));
    await h.add(entry('five'));
    expect(texts(h)).toEqual(['five', 'four', 'one']);
    h.close();
    const again = await opened(factory, subtle, () => bounds);
    expect(texts(again)).toEqual(['five', 'four', 'one']);
    expect(again.entries().find((e) => e.text === 'one')?.pinned).toBe(true);

    // Lowered to nothing: every unpinned entry goes, the pinned one stays, nothing new is kept.
    bounds.items = 0;
    await again.applyBounds();
    expect(texts(again)).toEqual(['one']);
    expect(await again.add(entry('six'))).toBe('off');
    expect(await rawRecords(factory, 'entries')).toHaveLength(1);
  });

  it('bounds the bytes, and keeps nothing larger than the bound', async () => {
    const factory = new IDBFactory();
    const bounds = { items: 100, bytes: 3 * 1200 };
    const h = await opened(factory, subtle, () => bounds);
    for (const name of ['a', 'b', 'c', 'd']) await h.add(entry(name.repeat(1000)));
    expect(h.entries().map((e) => e.text[0])).toEqual(['d', 'c', 'b']);
    expect(h.entries().reduce((s, e) => s + e.bytes, 0)).toBeLessThanOrEqual(bounds.bytes);
    expect(await h.add(entry('x'.repeat(4000)))).toBe('too-large');
    expect(h.entries()).toHaveLength(3);
  });

  it('pins no more than the bound holds, and unpinning lets the bound apply again', async () => {
    const factory = new IDBFactory();
    const bounds = { ...ROOMY, items: 2 };
    const h = await opened(factory, subtle, () => bounds);
    await h.add(entry('p1'));
    await h.add(entry('p2'));
    const [p2, p1] = h.entries();
    expect(await h.pin(p1.id, true)).toBe('done');
    expect(await h.pin(p2.id, true)).toBe('done');
    // Both pinned fill the bound: a new entry cannot stay, and a third pin is refused.
    expect(await h.add(entry('p3'))).toBe('full');
    expect(texts(h)).toEqual(['p2', 'p1']);
    expect(await h.pin(p1.id, false)).toBe('done');
    expect(await h.add(entry('p4'))).toBe('kept');
    expect(texts(h)).toEqual(['p4', 'p2']);
    expect(await h.pin(h.entries()[0].id, true)).toBe('done');
    expect(await h.pin('no-such-id', true)).toBe('gone');
    expect(await h.add(entry('p5'))).toBe('full');
  });

  it('deletes one entry, and clears all (pinned too), for good', async () => {
    const factory = new IDBFactory();
    const h = await opened(factory, subtle);
    await h.add(entry('keep'));
    await h.add(entry('drop'));
    await h.remove([h.entries().find((e) => e.text === 'drop')!.id]);
    h.close();
    const again = await opened(factory, subtle);
    expect(texts(again)).toEqual(['keep']);
    await again.pin(again.entries()[0].id, true);
    await again.clear();
    expect(again.entries()).toEqual([]);
    again.close();
    expect(texts(await opened(factory, subtle))).toEqual([]);
  });

  it('records an item once, however often it is offered', async () => {
    const h = await opened(new IDBFactory(), subtle);
    const e = entry('twice');
    expect(await h.add(e)).toBe('kept');
    expect(await h.add({ ...e, text: 'changed' })).toBe('known');
    expect(texts(h)).toEqual(['twice']);
  });
});

describe('the device key', () => {
  it('is made once and kept: a page with another backend finds the one there', async () => {
    const factory = new IDBFactory();
    const h = await opened(factory, null);
    await h.add(entry('made over plain HTTP'));
    h.close();
    // The same origin later with Web Crypto reads what the pure-JS fallback kept (and its key).
    const again = await opened(factory, globalThis.crypto.subtle);
    expect(texts(again)).toEqual(['made over plain HTTP']);
    expect(again.store.get()).toMatchObject({ status: 'ready', protection: 'stored-key' });
  });

  it('a history under a Web Crypto key on a page without Web Crypto is unavailable, not lost', async () => {
    const factory = new IDBFactory();
    const h = await opened(factory, globalThis.crypto.subtle);
    await h.add(entry('kept'));
    h.close();
    const without = await opened(factory, null);
    expect(without.store.get()).toMatchObject({ status: 'unavailable' });
    expect(await without.add(entry('more'))).toBe('unavailable');
    expect(await rawRecords(factory, 'entries')).toHaveLength(1);
  });

  it('says so when there is no IndexedDB', async () => {
    const h = new History({ indexedDB: undefined as unknown as IDBFactory, subtle: null, bounds: () => ROOMY, channel: null });
    const saved = globalThis.indexedDB;
    expect(saved).toBeUndefined();
    await h.reload();
    expect(h.store.get()).toMatchObject({ status: 'unavailable' });
  });
});

describe('two tabs', () => {
  it('a change in one reaches the other', async () => {
    const factory = new IDBFactory();
    const channel = `history-test-${Math.random()}`;
    const a = await opened(factory, null, () => ROOMY, channel);
    const b = await opened(factory, null, () => ROOMY, channel);
    await a.add(entry('from tab a'));
    await expect.poll(() => texts(b)).toEqual(['from tab a']);
    await b.clear();
    await expect.poll(() => texts(a)).toEqual([]);
    a.close();
    b.close();
  });
});

describe('searchHistory', () => {
  const e = (text: string, from = 'Phone', sessionId = 'family'): HistoryEntry => ({ id: text, text, from, sessionId, mine: false, at: 0, pinned: false, bytes: 0 });
  const all = [e('Train tickets https://rail.example/booking/42'), e('shopping: milk, EGGS'), e('door code 4711', 'Laptop', 'office')];

  it('matches every word, in any case, in the text, the sender or the session', () => {
    expect(searchHistory(all, 'rail.example').map((x) => x.id)).toEqual([all[0].id]);
    expect(searchHistory(all, '  eggs   MILK ').map((x) => x.id)).toEqual([all[1].id]);
    expect(searchHistory(all, 'laptop').map((x) => x.id)).toEqual([all[2].id]);
    expect(searchHistory(all, 'office 4711').map((x) => x.id)).toEqual([all[2].id]);
    expect(searchHistory(all, 'eggs office')).toEqual([]);
    expect(searchHistory(all, '')).toEqual(all);
  });
});
