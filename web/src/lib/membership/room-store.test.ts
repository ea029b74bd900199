import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { createDeviceKey } from '../crypto/v3/device-key';
import { RoomStore, SEQ_BLOCK, SeqCounter, type StoredRoom } from './room-store';

async function room(sessionId: string, lastUsed: number): Promise<StoredRoom> {
  const device = await createDeviceKey(true);
  return {
    sessionId,
    roomKey: new Uint8Array(32).fill(1),
    creatorPk: device.publicKey,
    device: device.stored,
    name: 'Laptop',
    seqReserved: 0,
    roster: { cards: [], records: [] },
    replay: [],
    policy: { anyoneMayClear: false },
    lastUsed,
  };
}

describe('RoomStore', () => {
  it('keeps a room across a reopen, device key included, and deletes it on leave', async () => {
    const factory = new IDBFactory();
    const store = await RoomStore.open(factory);
    const saved = await room('quiet-harbor', 1);
    await store.put(saved);
    store.close();
    const again = await RoomStore.open(factory);
    const back = await again.get('quiet-harbor');
    expect(back?.roomKey).toEqual(saved.roomKey);
    expect(back?.device.kind).toBe('webcrypto');
    if (back?.device.kind === 'webcrypto') expect(back.device.privateKey.extractable).toBe(false);
    await again.delete('quiet-harbor');
    expect(await again.get('quiet-harbor')).toBeUndefined();
  });

  it('drops the rooms used longest ago past its bound', async () => {
    const store = await RoomStore.open(new IDBFactory(), 3);
    for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) await store.put(await room(id, 10 + i));
    expect((await store.sessions()).map((s) => s.sessionId)).toEqual(['d', 'c', 'b']);
    // Saving an old room again makes it recent; the bound never drops the one being saved.
    await store.put({ ...(await room('b', 20)) });
    await store.put(await room('e', 15));
    expect((await store.sessions()).map((s) => s.sessionId)).toEqual(['b', 'e', 'd']);
  });
});

describe('SeqCounter', () => {
  it('never gives a counter twice, also after a reload that lost unsaved progress', async () => {
    let stored = 0;
    const reserve = async () => (stored += SEQ_BLOCK);
    const first = new SeqCounter(reserve);
    const got = await Promise.all(Array.from({ length: SEQ_BLOCK + 2 }, () => first.next()));
    expect(got).toEqual(Array.from({ length: SEQ_BLOCK + 2 }, (_, i) => i + 1));
    expect(stored).toBe(2 * SEQ_BLOCK);
    // A reload: the page starts from what storage says, past everything it may have used.
    const second = new SeqCounter(reserve);
    expect(await second.next()).toBe(2 * SEQ_BLOCK + 1);
  });

  it('gives two tabs of one browser disjoint counters, through the store', async () => {
    const store = await RoomStore.open(new IDBFactory());
    await store.put(await room('quiet-harbor', 1));
    const [tabA, tabB] = [new SeqCounter(() => store.reserveSeq('quiet-harbor')), new SeqCounter(() => store.reserveSeq('quiet-harbor'))];
    const got = await Promise.all(Array.from({ length: 3 * SEQ_BLOCK }, (_, i) => (i % 2 ? tabA : tabB).next()));
    expect(new Set(got).size).toBe(got.length);
    // A page that saves the room with the reservation it knew never takes back a newer one.
    await store.put({ ...(await room('quiet-harbor', 2)), seqReserved: SEQ_BLOCK });
    expect((await store.get('quiet-harbor'))?.seqReserved).toBe(4 * SEQ_BLOCK);
    await expect(store.reserveSeq('gone')).rejects.toThrow();
  });

  it('gives nothing when storage refuses the reservation, and recovers after', async () => {
    let fail = true;
    const counter = new SeqCounter(async () => {
      if (fail) throw new Error('quota');
      return SEQ_BLOCK;
    });
    await expect(counter.next()).rejects.toThrow('quota');
    fail = false;
    expect(await counter.next()).toBe(1);
  });
});
