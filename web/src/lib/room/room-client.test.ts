/**
 * The room client against a fake Socket.IO connection: flow control (never more than 8 chunks
 * without an ack), the routing key, and resuming a transfer after a reconnect from the first
 * chunk without an ack — plus a receiver that reassembles what the sender produced.
 */
import type { Socket } from 'socket.io-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { InThreadCryptoClient } from '../crypto/crypto-client';
import { CHUNK_SIZE, MAX_UNACKED_CHUNKS } from '../crypto/format';
import { routeKey } from '../realtime/route';
import { RoomClient } from './room-client';

type Handler = (...args: unknown[]) => void;

/** Just enough of a socket.io-client Socket; records emits and lets the test answer acks. */
class FakeSocket {
  connected = false;
  handlers = new Map<string, Handler[]>();
  emitted: { event: string; payload: Record<string, unknown>; ack?: Handler }[] = [];
  io = { on: () => undefined };
  constructor(readonly options: Record<string, unknown>) {}
  on(event: string, h: Handler) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), h]);
    return this;
  }
  once(event: string, h: Handler) {
    const w: Handler = (...a) => {
      this.off(event, w);
      h(...a);
    };
    return this.on(event, w);
  }
  off(event: string, h: Handler) {
    this.handlers.set(event, (this.handlers.get(event) ?? []).filter((x) => x !== h));
    return this;
  }
  fire(event: string, ...args: unknown[]) {
    for (const h of [...(this.handlers.get(event) ?? [])]) h(...args);
  }
  connect() {
    this.connected = true;
    queueMicrotask(() => this.fire('connect'));
    return this;
  }
  disconnect() {
    if (this.connected) {
      this.connected = false;
      this.fire('disconnect', 'transport close');
    }
    return this;
  }
  timeout() {
    return { emit: (event: string, payload: Record<string, unknown>, cb: Handler) => this.emit(event, payload, (ack: unknown) => cb(null, ack)) };
  }
  emit(event: string, payload: Record<string, unknown>, ack?: Handler) {
    this.emitted.push({ event, payload, ack });
    if (event === 'join') {
      ack?.({ success: true, token: 't', clientId: 'me', clients: [{ id: 'me', name: 'Me' }, { id: 'peer', name: 'Peer' }], created: false });
    }
    return this;
  }
  chunks() {
    return this.emitted.filter((e) => e.event === 'chunk');
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));
async function until(cond: () => boolean) {
  for (let i = 0; i < 2000 && !cond(); i++) await tick();
  expect(cond()).toBe(true);
}

beforeAll(() => {
  // The Node test environment has no window/document; the client only listens on them.
  const g = globalThis as Record<string, unknown>;
  g.addEventListener ??= () => undefined;
  g.removeEventListener ??= () => undefined;
  if (typeof navigator === 'undefined') g.navigator = { onLine: true };
  g.document ??= { addEventListener: () => undefined, removeEventListener: () => undefined, visibilityState: 'visible' };
});

async function joinFake(crypto = new InThreadCryptoClient()) {
  let socket: FakeSocket | undefined;
  const r = await RoomClient.join({
    sessionId: 'room',
    clientName: 'Me',
    passphrase: 'pass',
    crypto,
    recentWindowMs: () => 30 * 60_000,
    connect: (_url, options) => {
      socket = new FakeSocket(options as Record<string, unknown>);
      return socket as unknown as Socket;
    },
  });
  if (!r.ok || !socket) throw new Error('join failed');
  return { room: r.room, socket, crypto };
}

describe('RoomClient', () => {
  it('connects with the routing key and sends at most 8 chunks without an ack', async () => {
    const { socket, room } = await joinFake();
    expect(socket.options.query).toEqual({ route: routeKey('room') });
    const size = 20 * CHUNK_SIZE + 7;
    await room.share(new Blob([new Uint8Array(size)]), { kind: 'file', name: 'f.bin', mime: 'application/octet-stream' });
    await until(() => socket.emitted.some((e) => e.event === 'content'));
    socket.emitted.find((e) => e.event === 'content')?.ack?.({ success: true });
    await until(() => socket.chunks().length === MAX_UNACKED_CHUNKS);
    await tick();
    expect(socket.chunks()).toHaveLength(MAX_UNACKED_CHUNKS);
    // Acking one lets exactly one more go.
    socket.chunks()[0].ack?.({ success: true });
    await until(() => socket.chunks().length === MAX_UNACKED_CHUNKS + 1);
    await tick();
    expect(socket.chunks()).toHaveLength(MAX_UNACKED_CHUNKS + 1);
    room.leave();
  }, 60_000);

  it('resumes after a reconnect from the first chunk without an ack', async () => {
    const { socket, room } = await joinFake();
    const size = 12 * CHUNK_SIZE;
    await room.share(new Blob([new Uint8Array(size)]), { kind: 'file', name: 'f.bin', mime: 'application/octet-stream' });
    await until(() => socket.emitted.some((e) => e.event === 'content'));
    socket.emitted.find((e) => e.event === 'content')?.ack?.({ success: true });
    await until(() => socket.chunks().length === MAX_UNACKED_CHUNKS);
    for (const c of socket.chunks().slice(0, 3)) c.ack?.({ success: true });
    await until(() => socket.chunks().length === MAX_UNACKED_CHUNKS + 3);
    // The connection drops: chunks 3.. had no ack. On reconnect the client rejoins with its token.
    socket.disconnect();
    const before = socket.emitted.length;
    socket.connect();
    await until(() => socket.emitted.slice(before).some((e) => e.event === 'join'));
    const rejoin = socket.emitted.slice(before).find((e) => e.event === 'join');
    expect(rejoin?.payload.token).toBe('t');
    await until(() => socket.emitted.slice(before).some((e) => e.event === 'content'));
    socket.emitted.slice(before).find((e) => e.event === 'content')?.ack?.({ success: true });
    // Chunks 3..10 had no ack; 11 was sealed ahead and waiting. Each goes exactly once more.
    const sentAgain = () => socket.emitted.slice(before).filter((e) => e.event === 'chunk');
    await until(() => sentAgain().length === MAX_UNACKED_CHUNKS);
    for (const e of sentAgain()) e.ack?.({ success: true });
    await until(() => sentAgain().length === 9);
    sentAgain()[8].ack?.({ success: true });
    const resent = sentAgain().map((e) => (e.payload.chunk as { chunkIndex: number }).chunkIndex);
    expect(resent.sort((x, y) => x - y)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    await until(() => room.store.get().items[0].state === 'done');
    room.leave();
  }, 60_000);

  it('a receiver with the same passphrase reassembles what a sender produced', async () => {
    const sender = await joinFake();
    const receiver = await joinFake();
    const data = new Uint8Array(3 * CHUNK_SIZE + 100).map((_, i) => (i * 31) % 251);
    await sender.room.share(new Blob([data]), { kind: 'file', name: 'x.bin', mime: 'application/octet-stream' });
    // Relay everything the sender emits to the receiver, acking as the server would.
    let relayed = 0;
    await until(() => {
      for (const e of sender.socket.emitted.slice(relayed)) {
        relayed++;
        if (e.event === 'content' || e.event === 'chunk') {
          receiver.socket.fire(e.event, { ...e.payload, from: 'peer' });
          e.ack?.({ success: true });
        }
      }
      return receiver.room.store.get().items[0]?.state === 'done';
    });
    const item = receiver.room.store.get().items[0];
    expect(item.name).toBe('x.bin');
    expect(item.senderName).toBe('Me');
    // Buffer comparison: a deep-equal over 800 000 elements is needlessly slow.
    expect(Buffer.from(await item.blob!.arrayBuffer()).equals(Buffer.from(data))).toBe(true);
    sender.room.leave();
    receiver.room.leave();
  }, 60_000);
});
