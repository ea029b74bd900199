/**
 * The room client with a session inbox, against the fake Socket.IO connection: it lists the
 * inbox after joining, fetches a kept item window by window from the inbox (not its sender,
 * who is gone) byte for byte, marks what is kept, reports a refusal to the sender, deletes,
 * and clears the inbox with the session.
 */
import { describe, expect, it } from 'vitest';
import { CHUNK_SIZE } from '../../lib/crypto/format';
import { INBOX_FETCH_CHUNKS } from '../../lib/room/inbox';
import { joinFake, until } from '../../lib/room/fake-socket.test-kit';
import type { Notice } from '../../lib/room/room-client';

const INBOX = { inbox: { ttlMs: 3_600_000, maxBytes: 1 << 25 } };

describe('RoomClient with an inbox', () => {
  it('a late joiner lists the inbox and fetches a kept item from it, byte for byte', async () => {
    const sender = await joinFake({ joinAck: INBOX });
    const data = new Uint8Array(20 * CHUNK_SIZE + 5).map((_, i) => (i * 7) % 253);
    await sender.room.share(new Blob([data]), { kind: 'file', name: 'kept.bin', mime: 'application/octet-stream' });
    // What the server keeps: the item's envelopes exactly as relayed.
    await until(() => sender.socket.emitted.some((e) => e.event === 'content'));
    const content = sender.socket.emitted.find((e) => e.event === 'content')!;
    content.ack?.({ success: true, inbox: { kept: true } });
    let acked = 0;
    await until(() => {
      for (const c of sender.socket.chunks().slice(acked)) {
        acked++;
        c.ack?.({ success: true });
      }
      return acked === 21;
    });
    expect(sender.room.store.get().items[0].inInbox).toBe(true);
    const kept = sender.socket.chunks().map((c) => c.payload);
    sender.room.leave();

    const late = await joinFake({ joinAck: INBOX });
    await until(() => late.socket.emitted.some((e) => e.event === 'inbox-list'));
    expect(late.room.store.get().inbox).toEqual(INBOX.inbox);
    late.socket.fire('inbox-item', { ...content.payload, from: 'gone' });
    // The inbox answers each window the client asks for; never more than 8 chunks at a time.
    let answered = 0;
    await until(() => {
      for (const ask of late.socket.emitted.filter((e) => e.event === 'inbox-fetch').slice(answered)) {
        answered++;
        const { contentId, fromChunk, count } = ask.payload as { contentId: string; fromChunk: number; count: number };
        expect(contentId).toBe((content.payload.content as { contentId: string }).contentId);
        expect(count).toBeLessThanOrEqual(INBOX_FETCH_CHUNKS);
        for (const chunk of kept.slice(fromChunk, fromChunk + count)) late.socket.fire('chunk', { ...chunk, from: 'gone' });
      }
      return late.room.store.get().items[0]?.state === 'done';
    });
    const item = late.room.store.get().items[0];
    expect(item.inInbox).toBe(true);
    expect(late.socket.emitted.some((e) => e.event === 'content')).toBe(false);
    expect(Buffer.from(await item.blob!.arrayBuffer()).equals(Buffer.from(data))).toBe(true);

    late.socket.fire('inbox-removed', { sessionId: 'room', contentId: item.id, reason: 'deleted' });
    await until(() => late.room.store.get().items[0].inInbox === false);
    expect(late.room.store.get().items[0].state).toBe('done');
    late.room.leave();
  }, 60_000);

  it('the sender is told when the inbox refuses an item, and clear empties the inbox too', async () => {
    const { room, socket } = await joinFake({ joinAck: INBOX });
    const notices: Notice[] = [];
    room.onNotice((n) => notices.push(n));
    await room.share(new Blob(['hello']), { kind: 'text', name: 'Text', mime: 'text/plain' }, 'hello');
    await until(() => socket.emitted.some((e) => e.event === 'content'));
    socket.emitted.find((e) => e.event === 'content')?.ack?.({ success: true, inbox: { kept: false, code: 'inbox_full', error: 'full' } });
    await until(() => notices.some((n) => n.kind === 'inbox-refused'));
    expect(notices.find((n) => n.kind === 'inbox-refused')).toMatchObject({ code: 'inbox_full', message: 'full' });
    expect(room.store.get().items[0]).toMatchObject({ inInbox: false, inboxError: 'full' });

    room.clearAll();
    expect(socket.emitted.some((e) => e.event === 'clear-all-content')).toBe(true);
    room.leave();
  }, 60_000);

  it('deleting from the inbox asks the server and unmarks the item', async () => {
    const { room, socket } = await joinFake({ joinAck: INBOX });
    await room.share(new Blob(['x']), { kind: 'text', name: 'Text', mime: 'text/plain' }, 'x');
    await until(() => socket.emitted.some((e) => e.event === 'content'));
    socket.emitted.find((e) => e.event === 'content')?.ack?.({ success: true, inbox: { kept: true } });
    await until(() => room.store.get().items[0]?.inInbox === true);
    const id = room.store.get().items[0].id;
    const deleting = room.deleteFromInbox(id);
    const ask = socket.emitted.find((e) => e.event === 'inbox-delete');
    expect(ask?.payload).toMatchObject({ sessionId: 'room', contentId: id });
    ask?.ack?.({ success: true });
    await deleting;
    expect(room.store.get().items[0].inInbox).toBe(false);
    room.leave();
  }, 60_000);

  it('a member alone in the session still sends its items, for the inbox to keep', async () => {
    const { room, socket } = await joinFake({ joinAck: { ...INBOX, clients: [{ id: 'me', name: 'Me' }] } });
    await room.share(new Blob(['for later']), { kind: 'text', name: 'Text', mime: 'text/plain' }, 'for later');
    await until(() => socket.emitted.some((e) => e.event === 'content'));
    socket.emitted.find((e) => e.event === 'content')?.ack?.({ success: true, inbox: { kept: true } });
    await until(() => socket.chunks().length === 1);
    socket.chunks()[0].ack?.({ success: true });
    await until(() => room.store.get().items[0]?.state === 'done');
    expect(room.store.get().items[0].inInbox).toBe(true);
    room.leave();
  }, 60_000);

  it('the listing goes on page by page, and a fetch the server cut short goes on where its ack says', async () => {
    const sender = await joinFake({ joinAck: INBOX });
    const data = new Uint8Array(12 * CHUNK_SIZE).map((_, i) => i % 251);
    await sender.room.share(new Blob([data]), { kind: 'file', name: 'paged.bin', mime: 'application/octet-stream' });
    await until(() => sender.socket.emitted.some((e) => e.event === 'content'));
    const content = sender.socket.emitted.find((e) => e.event === 'content')!;
    content.ack?.({ success: true, inbox: { kept: true } });
    let acked = 0;
    await until(() => {
      for (const c of sender.socket.chunks().slice(acked)) {
        acked++;
        c.ack?.({ success: true });
      }
      return acked === 12;
    });
    const kept = sender.socket.chunks().map((c) => c.payload);
    sender.room.leave();

    const late = await joinFake({ joinAck: INBOX });
    const lists = () => late.socket.emitted.filter((e) => e.event === 'inbox-list');
    await until(() => lists().length === 1);
    expect(lists()[0].payload).toMatchObject({ from: 0 });
    late.socket.fire('inbox-item', { ...content.payload, from: 'gone' });
    lists()[0].ack?.({ success: true, items: [{ contentId: 'x', expiresInMs: 1000 }], next: 7 });
    await until(() => lists().length === 2);
    expect(lists()[1].payload).toMatchObject({ from: 7 });
    lists()[1].ack?.({ success: true, items: [] });

    // The first window is answered with 3 chunks only: the next ask starts at the 4th.
    const fetches = () => late.socket.emitted.filter((e) => e.event === 'inbox-fetch');
    await until(() => fetches().length === 1);
    expect(fetches()[0].payload).toMatchObject({ fromChunk: 0, count: INBOX_FETCH_CHUNKS });
    for (const chunk of kept.slice(0, 3)) late.socket.fire('chunk', { ...chunk, from: 'gone' });
    fetches()[0].ack?.({ success: true, sent: 3, next: 3 });
    await until(() => fetches().length === 2);
    expect(fetches()[1].payload).toMatchObject({ fromChunk: 3 });
    let answered = 1;
    await until(() => {
      for (const ask of fetches().slice(answered)) {
        answered++;
        const { fromChunk, count } = ask.payload as { fromChunk: number; count: number };
        for (const chunk of kept.slice(fromChunk, fromChunk + count)) late.socket.fire('chunk', { ...chunk, from: 'gone' });
        ask.ack?.({ success: true, sent: Math.min(count, 12 - fromChunk) });
      }
      return late.room.store.get().items[0]?.state === 'done';
    });
    expect(lists()).toHaveLength(2);
    late.room.leave();
  }, 60_000);

  it('a session without an inbox never lists one nor sends clear-all-content', async () => {
    const { room, socket } = await joinFake();
    expect(room.store.get().inbox).toBeNull();
    room.clearAll();
    expect(socket.emitted.map((e) => e.event)).not.toContain('inbox-list');
    expect(socket.emitted.map((e) => e.event)).not.toContain('clear-all-content');
    room.leave();
  }, 60_000);
});
