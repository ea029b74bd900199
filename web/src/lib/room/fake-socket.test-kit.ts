/**
 * Test kit for the room client: a fake Socket.IO connection that records emits and lets a
 * test answer acks and fire server events, and a join through it. Used by the *.test.ts files.
 */
import type { Socket } from 'socket.io-client';
import { beforeAll, expect } from 'vitest';
import { type CryptoClient, InThreadCryptoClient } from '../crypto/crypto-client';
import { RoomClient } from './room-client';

export type Handler = (...args: unknown[]) => void;

/** Just enough of a socket.io-client Socket; records emits and lets the test answer acks. */
export class FakeSocket {
  connected = false;
  handlers = new Map<string, Handler[]>();
  emitted: { event: string; payload: Record<string, unknown>; ack?: Handler }[] = [];
  io = { on: () => undefined };
  /**
   * `joinAck`: fields the join ack adds or overrides (an inbox's terms, say). `withJoinAck`:
   * events the server sends right behind the ack, fired in the same task, as socket.io-client
   * does with the packets of one long-polling response.
   */
  constructor(
    readonly options: Record<string, unknown>,
    readonly joinAck: Record<string, unknown> = {},
    readonly withJoinAck: (s: FakeSocket) => void = () => undefined,
  ) {}
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
      ack?.({ success: true, token: 't', clientId: 'me', clients: [{ id: 'me', name: 'Me' }, { id: 'peer', name: 'Peer' }], created: false, ...this.joinAck });
      this.withJoinAck(this);
    }
    return this;
  }
  chunks() {
    return this.emitted.filter((e) => e.event === 'chunk');
  }
}

export const tick = () => new Promise((r) => setTimeout(r, 5));
export async function until(cond: () => boolean) {
  for (let i = 0; i < 6000 && !cond(); i++) await tick();
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

export interface FakeJoin {
  crypto?: CryptoClient;
  autoFetchBytes?: number;
  joinAck?: Record<string, unknown>;
  withJoinAck?: (s: FakeSocket) => void;
  /** The largest item kept in memory without asking (the fake's crypto keeps items in memory). */
  memoryBudget?: number;
}

export async function joinFake({ crypto = new InThreadCryptoClient(), autoFetchBytes = 16 * 1024 * 1024, joinAck = {}, withJoinAck, memoryBudget = 1 << 30 }: FakeJoin = {}) {
  let socket: FakeSocket | undefined;
  const r = await RoomClient.join({
    sessionId: 'room',
    clientName: 'Me',
    passphrase: 'pass',
    crypto,
    recentWindowMs: () => 30 * 60_000,
    autoFetchBytes: () => autoFetchBytes,
    memoryBudget: () => memoryBudget,
    connect: (_url, options) => {
      socket = new FakeSocket(options as Record<string, unknown>, joinAck, withJoinAck);
      return socket as unknown as Socket;
    },
  });
  if (!r.ok || !socket) throw new Error('join failed');
  return { room: r.room, socket, crypto };
}
