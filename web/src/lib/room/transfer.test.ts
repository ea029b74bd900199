/**
 * How transfers end, against fake sockets with real crypto: a sender's sealed cancel reaches
 * receivers with a reason, an unreadable source fails everywhere, unsealed remove/clear are
 * ignored, a chunk count that disagrees with the sealed size is refused, late joiners are
 * offered large items and fetch them when asked, and encryption runs ahead of the ack window.
 */
import { describe, expect, it } from 'vitest';
import { InThreadCryptoClient } from '../crypto/crypto-client';
import { CHUNK_SIZE, MAX_UNACKED_CHUNKS } from '../crypto/format';
import { READ_BLOCK } from '../crypto/sources';
import { sealControl, sealEnvelope } from './envelopes';
import { type FakeSocket, joinFake, tick, until } from './fake-socket.test-kit';
import type { RoomClient } from './room-client';
import { PIPELINE_CHUNKS, RECEIVER_WINDOW, SEAL_BATCH } from './sender';

type Peer = Awaited<ReturnType<typeof joinFake>>;

/**
 * Forwards what `from` emits to `to` as the server would (with `from: 'peer'`), acking it;
 * `done` emits are taken as relayed already.
 */
function relay(from: FakeSocket, to: FakeSocket, done = 0) {
  return () => {
    for (const e of from.emitted.slice(done)) {
      done++;
      if (e.event === 'content' || e.event === 'chunk') {
        to.fire(e.event, { ...e.payload, from: 'peer' });
        e.ack?.({ success: true });
      }
    }
  };
}

async function pumpUntil(step: () => void, cond: () => boolean) {
  await until(() => {
    step();
    return cond();
  });
}

const first = (room: RoomClient) => room.store.get().items[0];
const file = (size: number) => new Blob([new Uint8Array(size).map((_, i) => i % 251)]);

describe('transfer endings', () => {
  it('a sender cancel reaches the receiver, who keeps the item with who cancelled it', async () => {
    const s = await joinFake();
    const r = await joinFake();
    // Long enough that it cannot finish between seeing it arrive and cancelling, however the
    // machine's load spreads the relay's steps.
    const id = await s.room.share(file(100 * CHUNK_SIZE), { kind: 'file', name: 'c.bin', mime: 'application/octet-stream' });
    const step = relay(s.socket, r.socket);
    await pumpUntil(step, () => first(r.room)?.state === 'receiving');
    s.room.cancel(id);
    await pumpUntil(step, () => first(r.room)?.state === 'cancelled');
    expect(first(r.room).error).toBe('Cancelled by Me');
    expect(first(s.room).state).toBe('cancelled');
  });

  it('an unreadable source fails the item on the sender and on the receiver, with a reason', async () => {
    const s = await joinFake();
    const r = await joinFake();
    let reads = 0;
    // A Blob that stops being readable after its first block, as a file deleted from disk does.
    class VanishingBlob extends Blob {
      override slice(start?: number, end?: number): Blob {
        if (++reads <= 1) return super.slice(start, end);
        return { arrayBuffer: () => Promise.reject(new DOMException('gone', 'NotReadableError')) } as Blob;
      }
    }
    const vanishing = new VanishingBlob([new Uint8Array(READ_BLOCK + 8 * CHUNK_SIZE)]);
    await s.room.share(vanishing, { kind: 'file', name: 'v.bin', mime: 'application/octet-stream' });
    const step = relay(s.socket, r.socket);
    await pumpUntil(step, () => first(r.room) !== undefined);
    await pumpUntil(step, () => first(s.room)?.state === 'failed' && first(r.room)?.state === 'failed');
    expect(first(s.room).error).toBe('the file could not be read any more');
    expect(first(r.room).error).toBe("Me's device could not read the file any more");
  });

  it('ignores unsealed remove and clear; refuses a chunk count that disagrees with the sealed size', async () => {
    const s = await joinFake();
    const r = await joinFake();
    await s.room.share(file(10), { kind: 'text', name: 'Text', mime: 'text/plain' }, 'hello');
    const step = relay(s.socket, r.socket);
    await pumpUntil(step, () => first(r.room)?.state === 'done');
    const id = first(r.room).id;
    r.socket.fire('content-removed', { sessionId: 'room', contentId: id, from: 'peer' });
    r.socket.fire('all-content-cleared', { sessionId: 'room', from: 'peer' });
    await tick();
    expect(r.room.store.get().items.map((i) => i.id)).toEqual([id]);
    const meta = { kind: 'file' as const, name: 'bogus', mime: '', size: 1000, senderName: 'X', createdAt: Date.now() };
    const env = await sealEnvelope(r.crypto, 1, meta, 'bogus-id', 1_000_000_000);
    r.socket.fire('content', { sessionId: 'room', ...env, from: 'peer' });
    await until(() => r.room.store.get().items.some((i) => i.id === 'bogus-id'));
    const bogus = r.room.store.get().items.find((i) => i.id === 'bogus-id');
    expect(bogus?.state).toBe('failed');
    expect(bogus?.error).toMatch(/chunk count does not match/);
  });

  it('keeps every chunk that comes before its item is opened, from a sender that does not wait', async () => {
    const s = await joinFake();
    const r = await joinFake();
    const data = file(3 * 32 * CHUNK_SIZE);
    await s.room.share(data, { kind: 'file', name: 'burst.bin', mime: 'application/octet-stream' });
    // The server takes it all before the receiver hears of it, as from the CLI (which sends
    // without waiting for receivers, and is gone when it is done: nothing is sent again).
    await until(() => {
      for (const e of s.socket.emitted) e.ack?.({ success: true });
      return s.socket.chunks().length === 3 * 32;
    });
    // Then it reaches the receiver in one burst: the chunks before its metadata is opened.
    for (const e of s.socket.emitted) if (e.event === 'content' || e.event === 'chunk') r.socket.fire(e.event, { ...e.payload, from: 'peer' });
    await until(() => first(r.room)?.state === 'done');
    expect(Buffer.from(await first(r.room).blob!.arrayBuffer()).equals(Buffer.from(await data.arrayBuffer()))).toBe(true);
  });

  it('offers large items to a late joiner, who fetches them when asked', async () => {
    const s = await joinFake();
    const late: Peer = await joinFake({ autoFetchBytes: 2 * CHUNK_SIZE });
    // Shared while alone in the session as the sender sees it: done at once, nothing sent.
    s.socket.fire('client-left', { sessionId: 'room', clientId: 'peer', clientName: 'Peer' });
    const data = file(5 * CHUNK_SIZE + 3);
    await s.room.share(data, { kind: 'file', name: 'big.bin', mime: 'application/octet-stream' });
    await s.room.share(file(100), { kind: 'file', name: 'small.bin', mime: 'application/octet-stream' });
    expect(s.socket.chunks()).toHaveLength(0);
    s.socket.fire('client-joined', { sessionId: 'room', clientId: 'peer', clientName: 'Late' });
    const toSender = relay(late.socket, s.socket);
    const toLate = relay(s.socket, late.socket);
    const step = () => {
      toLate();
      toSender();
    };
    const byName = (n: string) => late.room.store.get().items.find((i) => i.name === n);
    await pumpUntil(step, () => byName('small.bin')?.state === 'done' && byName('big.bin')?.state === 'offered');
    expect(s.socket.chunks()).toHaveLength(1);
    late.room.fetch(byName('big.bin')!.id);
    await pumpUntil(step, () => byName('big.bin')?.state === 'done');
    expect(Buffer.from(await byName('big.bin')!.blob!.arrayBuffer()).equals(Buffer.from(await data.arrayBuffer()))).toBe(true);
  });

  it('a late joiner keeps the offers that come in the same payload as its join ack', async () => {
    const s = await joinFake();
    s.socket.fire('client-left', { sessionId: 'room', clientId: 'peer', clientName: 'Peer' });
    await s.room.share(file(100), { kind: 'file', name: 'small.bin', mime: 'application/octet-stream' });
    s.socket.fire('client-joined', { sessionId: 'room', clientId: 'peer', clientName: 'Late' });
    const offered = () => s.socket.emitted.find((e) => e.event === 'content' && e.payload.to === 'peer');
    await until(() => offered() !== undefined);
    // An offer sealed before is sent the moment the joiner is announced, which the server does
    // right after writing its ack: over long polling both come in one response.
    const offer = { ...offered()!.payload, from: 'peer' };
    const late = await joinFake({ withJoinAck: (socket) => socket.fire('content', offer) });
    const toSender = relay(late.socket, s.socket);
    const toLate = relay(s.socket, late.socket, s.socket.emitted.length);
    await pumpUntil(
      () => {
        toLate();
        toSender();
      },
      () => first(late.room)?.state === 'done',
    );
    expect(first(late.room).name).toBe('small.bin');
  });

  it('seals chunks ahead while the ack window is full', async () => {
    const crypto = new InThreadCryptoClient();
    let slices = 0;
    const sealSlice = crypto.sealSlice.bind(crypto);
    crypto.sealSlice = (...args) => {
      slices++;
      return sealSlice(...args);
    };
    const { socket, room } = await joinFake({ crypto });
    await room.share(file(40 * CHUNK_SIZE), { kind: 'file', name: 'p.bin', mime: 'application/octet-stream' });
    await until(() => socket.chunks().length === MAX_UNACKED_CHUNKS && slices === MAX_UNACKED_CHUNKS + PIPELINE_CHUNKS);
    await tick();
    expect(socket.chunks()).toHaveLength(MAX_UNACKED_CHUNKS);
    // An ack lets a chunk go at once (it was sealed already); sealing resumes once SEAL_BATCH
    // places are free, for that many chunks together.
    socket.chunks()[0].ack?.({ success: true });
    await until(() => socket.chunks().length === MAX_UNACKED_CHUNKS + 1);
    await tick();
    expect(slices).toBe(MAX_UNACKED_CHUNKS + PIPELINE_CHUNKS);
    for (const c of socket.chunks().slice(1, SEAL_BATCH)) c.ack?.({ success: true });
    await until(() => socket.chunks().length === MAX_UNACKED_CHUNKS + SEAL_BATCH && slices === MAX_UNACKED_CHUNKS + PIPELINE_CHUNKS + SEAL_BATCH);
  });
});

describe('receiver flow control', () => {
  it('never runs more than a window ahead of what a reporting receiver has written', async () => {
    const { socket, room, crypto } = await joinFake();
    const id = await room.share(file(200 * CHUNK_SIZE), { kind: 'file', name: 'w.bin', mime: 'application/octet-stream' });
    // The server acks at once (queued), as it does for a fast network and a slow receiver.
    const ackAll = () => {
      for (const e of socket.emitted) e.ack?.({ success: true });
    };
    await until(() => {
      ackAll();
      return socket.chunks().length === RECEIVER_WINDOW;
    });
    for (let i = 0; i < 20; i++) {
      ackAll();
      await tick();
    }
    expect(socket.chunks()).toHaveLength(RECEIVER_WINDOW);
    const report = await sealControl(crypto, 1, { kind: 'progress', contentId: id, have: 32 });
    socket.fire('content', { sessionId: 'room', ...report, from: 'peer' });
    await until(() => {
      ackAll();
      return socket.chunks().length === RECEIVER_WINDOW + 32;
    });
  });
});
