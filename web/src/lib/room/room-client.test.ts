/**
 * The room client against a fake Socket.IO connection: flow control (never more than 8 chunks
 * without an ack), the routing key, and resuming a transfer after a reconnect from the first
 * chunk without an ack — plus a receiver that reassembles what the sender produced.
 */
import { describe, expect, it } from 'vitest';
import { CHUNK_SIZE, MAX_UNACKED_CHUNKS } from '../crypto/format';
import { routeKey } from '../realtime/route';
import { joinFake, tick, until } from './fake-socket.test-kit';

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
    // Chunks sealed together may go out in any order: ack 0, 1 and 2 by their index.
    for (const c of socket.chunks().filter((e) => (e.payload.chunk as { chunkIndex: number }).chunkIndex < 3)) c.ack?.({ success: true });
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
