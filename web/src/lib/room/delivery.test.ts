/**
 * What a person on either end sees of a delivery, against fake sockets with real crypto: Get
 * after stopping goes on where it stopped and asks only for what is missing, at full pace; a
 * closing sender ends the item on receivers at once; receivers confirm, so the sender lists who
 * has it; and an item this device would keep in memory waits, saying so, until asked for.
 */
import { describe, expect, it } from 'vitest';
import { CHUNK_SIZE } from '../crypto/format';
import { type FakeSocket, joinFake, until } from './fake-socket.test-kit';
import type { RoomClient } from './room-client';
import { REPORT_SILENCE_MS } from './sender';

/** Relays `from`'s content and chunks to `to` as the server would, acking them; returns how many chunks it relayed. */
function relay(from: FakeSocket, to: FakeSocket) {
  let done = 0;
  const counter = { chunks: 0, step: () => {} };
  counter.step = () => {
    for (const e of from.emitted.slice(done)) {
      done++;
      if (e.event === 'content' || e.event === 'chunk') {
        if (e.event === 'chunk') counter.chunks++;
        to.fire(e.event, { ...e.payload, from: 'peer' });
        e.ack?.({ success: true });
      }
    }
  };
  return counter;
}

const first = (room: RoomClient) => room.store.get().items[0];
const file = (size: number) => new Blob([new Uint8Array(size).map((_, i) => i % 251)]);
const same = async (a: Blob, b: Blob) => Buffer.from(await a.arrayBuffer()).equals(Buffer.from(await b.arrayBuffer()));

async function pair() {
  const s = await joinFake();
  const r = await joinFake();
  const toR = relay(s.socket, r.socket);
  const toS = relay(r.socket, s.socket);
  const step = () => {
    toR.step();
    toS.step();
  };
  const run = (cond: () => boolean) =>
    until(() => {
      step();
      return cond();
    });
  return { s, r, toR, run };
}

describe('deliveries', () => {
  it('Get after stopping goes on where it stopped, asks only for the missing chunks and is not held back', async () => {
    const { s, r, toR, run } = await pair();
    const total = 200;
    const data = file(total * CHUNK_SIZE);
    await s.room.share(data, { kind: 'file', name: 'g.bin', mime: 'application/octet-stream' });
    // Two progress reports (sealed, to the sender): 32 chunks are written.
    const reports = () => r.socket.emitted.filter((e) => e.event === 'content' && e.payload.to === 'peer').length;
    await run(() => reports() >= 2);
    r.room.cancel(first(r.room).id);
    expect(first(r.room).state).toBe('offered');
    expect(first(r.room).note).toMatch(/^Stopped on this device at \d/);
    // The rest of the first delivery reaches the relay and is dropped here; then the sender is done.
    // The rest of the first delivery reaches this device and is dropped; the sender is done.
    await run(() => first(s.room)?.state === 'done');
    const before = toR.chunks;
    const t0 = Date.now();
    r.room.fetch(first(r.room).id);
    // It shows what it kept at once, and that is what it does not ask for again.
    const kept = first(r.room).transferred;
    expect(kept).toBeGreaterThanOrEqual(32 * CHUNK_SIZE);
    await run(() => first(r.room)?.state === 'done');
    // Only what was missing came again, and without waiting out the flow control's silence.
    expect(toR.chunks - before).toBe(total - kept / CHUNK_SIZE);
    // Held back a window behind, it would wait out the silence of reports at least once (160 > 96 chunks).
    expect(Date.now() - t0).toBeLessThan(REPORT_SILENCE_MS);
    expect(await same(first(r.room).blob!, data)).toBe(true);
  });

  it('a sender closing its page tells receivers at once; they keep what arrived and go on when it is offered again', async () => {
    // The sender's page: its `pagehide` listener is kept, to close that page alone.
    const g = globalThis as unknown as { addEventListener: (type: string, fn: () => void) => void };
    const listen = g.addEventListener;
    const hide: (() => void)[] = [];
    g.addEventListener = (type, fn) => void (type === 'pagehide' && hide.push(fn));
    const { s, r, toR, run } = await pair();
    g.addEventListener = listen;
    const data = file(100 * CHUNK_SIZE);
    await s.room.share(data, { kind: 'file', name: 'bye.bin', mime: 'application/octet-stream' });
    await run(() => first(r.room)?.state === 'receiving');
    expect(s.room.sending()).toBe(true);
    // The page closes: its goodbye goes out before the socket's own, and is the last thing relayed.
    hide[0]();
    expect(s.socket.connected).toBe(false);
    toR.step();
    await until(() => first(r.room)?.state === 'offered');
    expect(first(r.room).note).toBe('Me closed ShareThings before sending all of it; it goes on if they open the session again');
    expect(first(r.room).resumable).toBe(true);
    // The sender is back (here the same page reconnecting; a reopened page announces the
    // same item once its file is picked again): the item goes on by itself.
    s.socket.connect();
    await run(() => first(r.room)?.state === 'done');
    expect(await same(first(r.room).blob!, data)).toBe(true);
  });

  it('receivers confirm; the sender lists who has the item', async () => {
    const { s, r, run } = await pair();
    await s.room.share(file(3 * CHUNK_SIZE + 5), { kind: 'file', name: 'd.bin', mime: 'application/octet-stream' });
    await run(() => first(r.room)?.state === 'done' && (first(s.room).deliveredTo?.length ?? 0) > 0);
    expect(first(s.room).deliveredTo).toEqual([{ id: 'peer', name: 'Peer' }]);
    expect(s.room.sending()).toBe(false);
  });

  it('an item larger than the memory budget waits, saying it would be kept in memory, until asked for', async () => {
    const s = await joinFake();
    const r = await joinFake({ memoryBudget: 4 * CHUNK_SIZE });
    const toR = relay(s.socket, r.socket);
    const toS = relay(r.socket, s.socket);
    const data = file(6 * CHUNK_SIZE);
    await s.room.share(data, { kind: 'file', name: 'm.bin', mime: 'application/octet-stream' });
    const run = (cond: () => boolean) =>
      until(() => {
        toR.step();
        toS.step();
        return cond();
      });
    await run(() => first(s.room)?.state === 'done' && first(r.room)?.state === 'offered');
    expect(first(r.room).note).toMatch(/would keep this one in memory: more than 1\.0 MB \(a quarter of this device's memory\)/);
    r.room.fetch(first(r.room).id);
    await run(() => first(r.room)?.state === 'done');
    expect(await same(first(r.room).blob!, data)).toBe(true);
  });
});
