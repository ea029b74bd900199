/**
 * An item for one member (docs/protocol.md, `to`), against a fake socket with real crypto:
 * its metadata, chunks and cancel carry `to`; a folder's count is sealed in its metadata; it is
 * not offered to a member who joins later; and it fails when its one receiver leaves. And a
 * folder whose manifest a receiver must refuse ends refused there, never done.
 */
import { describe, expect, it } from 'vitest';
import { joinFake, until } from './fake-socket.test-kit';

const members = { clients: [{ id: 'me', name: 'Me' }, { id: 'peer', name: 'Peer' }, { id: 'other', name: 'Other' }] };
const joinThree = () => joinFake({ joinAck: members });
const ackAll = (socket: Awaited<ReturnType<typeof joinThree>>['socket']) => {
  for (const e of socket.emitted) e.ack?.({ success: true });
};

describe('an item for one member', () => {
  it('goes with `to` on its metadata and every chunk, and is shown as for them', async () => {
    const { room, socket } = await joinThree();
    const id = await room.share(new Blob([new Uint8Array(600_000)]), { kind: 'file', name: 'f.bin', mime: 'application/octet-stream' }, undefined, 'peer');
    await until(() => {
      ackAll(socket);
      return room.store.get().items[0]?.state === 'done';
    });
    const sent = socket.emitted.filter((e) => e.event === 'content' || e.event === 'chunk');
    expect(sent.filter((e) => e.event === 'chunk')).toHaveLength(3);
    expect(sent.every((e) => e.payload.to === 'peer')).toBe(true);
    expect(room.store.get().items[0]).toMatchObject({ id, toName: 'Peer' });

    // A member who joins later is not offered it.
    const before = socket.emitted.length;
    socket.fire('client-joined', { sessionId: 'room', clientId: 'late', clientName: 'Late' });
    await new Promise((r) => setTimeout(r, 50));
    expect(socket.emitted.slice(before).filter((e) => e.payload.to === 'late')).toHaveLength(0);
    room.leave();
  });

  it('refuses a member who is not here, and fails when its receiver leaves before it is all there', async () => {
    const { room, socket } = await joinThree();
    await expect(room.share(new Blob(['x']), { kind: 'text', name: 'Text', mime: 'text/plain' }, 'x', 'gone')).rejects.toThrow(/not in the session/);
    await room.share(new Blob([new Uint8Array(2_000_000)]), { kind: 'file', name: 'g.bin', mime: 'application/octet-stream' }, undefined, 'peer');
    await until(() => socket.chunks().length > 0);
    socket.fire('client-left', { sessionId: 'room', clientId: 'peer', clientName: 'Peer' });
    expect(room.store.get().items[0]).toMatchObject({ state: 'failed', error: 'Peer left before receiving all of it' });
    room.leave();
  });

  it('announces a folder with its number of entries before any of its body', async () => {
    const { room, socket } = await joinThree();
    const r = await joinFake();
    await room.share(new Blob([new Uint8Array(10)]), { kind: 'folder', name: 'trip', mime: 'inode/directory', files: 7 });
    await until(() => socket.emitted.some((e) => e.event === 'content'));
    const content = socket.emitted.find((e) => e.event === 'content');
    r.socket.fire('content', { ...content!.payload, from: 'peer' });
    await until(() => r.room.store.get().items.length > 0);
    expect(r.room.store.get().items[0]).toMatchObject({ kind: 'folder', name: 'trip', files: 7, size: 10, state: 'receiving' });
    room.leave();
    r.room.leave();
  });

  it('a received folder with a hostile manifest is refused, and says why', async () => {
    const { room, socket } = await joinThree();
    const r = await joinFake();
    const manifest = new TextEncoder().encode(JSON.stringify({ entries: [{ path: '../../.bashrc', size: 3, mtime: 0 }] }));
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, manifest.length);
    const body = new Blob([length, manifest, 'pwn']);
    await room.share(body, { kind: 'folder', name: 'evil', mime: 'inode/directory', files: 1 });
    let relayed = 0;
    await until(() => {
      for (const e of socket.emitted.slice(relayed)) {
        relayed++;
        if (e.event === 'content' || e.event === 'chunk') r.socket.fire(e.event, { ...e.payload, from: 'peer' });
        e.ack?.({ success: true });
      }
      const state = r.room.store.get().items[0]?.state;
      return state === 'failed' || state === 'done';
    });
    expect(r.room.store.get().items[0]).toMatchObject({ state: 'failed', error: expect.stringMatching(/^refused: .*"\.\."/) as unknown });
    room.leave();
    r.room.leave();
  });
});
