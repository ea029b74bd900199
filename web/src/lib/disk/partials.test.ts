// The records of received items against fake-indexeddb (a full IndexedDB in memory), one
// fresh database per test: the module opens the global `indexedDB` once.
import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { PartialItem } from './partials';

type Partials = typeof import('./partials');
let partials: Partials;

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  vi.resetModules();
  partials = await import('./partials');
});

const meta = { name: 'video.mp4', size: 10 * 1024 * 1024, mime: 'video/mp4', kind: 'file' } as PartialItem['meta'];

function record(folder: string, id: string, have: [number, number][], more: Partial<PartialItem> = {}): PartialItem {
  return { id, sessionId: 'quiet-harbor', folder, meta, totalChunks: 40, have, savedAt: Date.now(), ...more };
}

describe('records of received items', () => {
  it('two tabs receiving one item keep a record each; a later page gets neither a live tab holds, and the further one first', async () => {
    await partials.savePartial(record('tab-a', 'item-1', [[0, 10]]));
    await partials.savePartial(record('tab-b', 'item-1', [[0, 30]]));
    await partials.savePartial(record('tab-c', 'item-1', [[0, 5]]));
    const none = new Set<string>();
    expect((await partials.partialsOf('quiet-harbor', none)).map((p) => p.folder)).toEqual(['tab-b', 'tab-a', 'tab-c']);
    // tab-b is still open: its record is its own, not a later page's to take up.
    expect((await partials.partialsOf('quiet-harbor', new Set(['tab-b']))).map((p) => p.folder)).toEqual(['tab-a', 'tab-c']);
    await partials.savePartial(record('tab-c', 'item-1', [[0, 40]], { finished: true }));
    expect((await partials.partialsOf('quiet-harbor', none))[0].folder).toBe('tab-c');
  });

  it("deleting one page's record leaves the other's; deleting the item takes every record of it", async () => {
    await partials.savePartial(record('tab-a', 'item-1', [[0, 10]]));
    await partials.savePartial(record('tab-b', 'item-1', [[0, 30]]));
    await partials.savePartial(record('tab-b', 'item-2', [[0, 3]]));
    await partials.deletePartial('tab-a', 'item-1');
    const left = (await partials.partialsOf('quiet-harbor', new Set())).map((p) => `${p.folder}/${p.id}`);
    expect(left).toEqual(['tab-b/item-1', 'tab-b/item-2']);
    await partials.deletePartials('item-1');
    expect((await partials.partialsOf('quiet-harbor', new Set())).map((p) => `${p.folder}/${p.id}`)).toEqual(['tab-b/item-2']);
  });

  it('records an earlier version kept by item id alone are still there after the upgrade', async () => {
    await new Promise<void>((done, fail) => {
      const req = indexedDB.open('sharethings-partials', 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore('partials', { keyPath: 'id' }).put(record('old-tab', 'item-9', [[0, 12]]));
        req.result.createObjectStore('unsent', { keyPath: 'id' });
      };
      req.onsuccess = () => {
        req.result.close();
        done();
      };
      req.onerror = () => fail(req.error);
    });
    const [kept] = await partials.partialsOf('quiet-harbor', new Set());
    expect(kept).toMatchObject({ folder: 'old-tab', id: 'item-9', have: [[0, 12]] });
    await partials.deletePartial('old-tab', 'item-9');
    expect(await partials.partialsOf('quiet-harbor', new Set())).toEqual([]);
  });

  it('a record older than a week is dropped, and its folder is no longer kept from the sweep', async () => {
    const now = Date.now();
    await partials.savePartial(record('tab-old', 'item-1', [[0, 1]], { savedAt: now - partials.PARTIAL_MAX_AGE_MS - 1 }));
    await partials.savePartial(record('tab-new', 'item-2', [[0, 1]], { savedAt: now }));
    expect([...(await partials.resumableFolders(now))]).toEqual(['tab-new']);
    expect((await partials.partialsOf('quiet-harbor', new Set(), now)).map((p) => p.folder)).toEqual(['tab-new']);
  });
});
