/** Sealed envelopes: shapes a member could send are checked; a clear is taken once, near its time. */
import { describe, expect, it } from 'vitest';
import { InThreadCryptoClient } from '../crypto/crypto-client';
import { CLEAR_WINDOW_MS, classify, openEnvelope, ReplayGuard, sealControl } from './envelopes';
import { ItemBoard, type Item } from './items';

describe('envelopes', () => {
  it('round-trips a control message and refuses one sealed under another key', async () => {
    const crypto = new InThreadCryptoClient();
    const a = await crypto.derive('pass', 'room', 1000);
    const b = await crypto.derive('other', 'room', 1000);
    const env = await sealControl(crypto, a.keyId, { kind: 'clear', at: 5 });
    expect(env.content.totalChunks).toBe(0);
    expect(await openEnvelope(crypto, a.keyId, { sessionId: 'room', ...env })).toEqual({ kind: 'control', msg: { kind: 'clear', at: 5 } });
    expect(await openEnvelope(crypto, b.keyId, { sessionId: 'room', ...env })).toBeUndefined();
  });

  it('checks the shape of what opened', () => {
    expect(classify({ kind: 'cancel', contentId: 'x', reason: 'because' })).toBeUndefined();
    expect(classify({ kind: 'resend', contentId: 'x', fromChunk: -1 })).toBeUndefined();
    expect(classify({ kind: 'file', name: 'n', mime: '', size: 1.5, senderName: 's', createdAt: 1 })).toBeUndefined();
    expect(classify({ kind: 'wipe' })).toBeUndefined();
    expect(classify(null)).toBeUndefined();
    // Bad ranges are dropped, the rest kept.
    expect(classify({ kind: 'resend', contentId: 'x', fromChunk: 0, ranges: [[0, 2], ['a', 3], [1]] })).toEqual({
      kind: 'control',
      msg: { kind: 'resend', contentId: 'x', fromChunk: 0, ranges: [[0, 2]] },
    });
  });

  it('takes each clear once, and only near its time', () => {
    const guard = new ReplayGuard();
    const now = 1_000_000_000;
    expect(guard.accept('c1', now - 1000, now)).toBe(true);
    expect(guard.accept('c1', now - 1000, now + 10)).toBe(false);
    expect(guard.accept('c2', now - CLEAR_WINDOW_MS - 1, now)).toBe(false);
    expect(guard.accept('c3', now + CLEAR_WINDOW_MS + 1, now)).toBe(false);
  });
});

describe('ItemBoard', () => {
  it('lets progress through at most every 500 ms, and endings at once', () => {
    let items: Item[] = [];
    const writes: boolean[] = [];
    const board = new ItemBoard(
      () => items,
      (next, soon) => {
        items = next;
        writes.push(soon);
      },
    );
    board.add({ id: 'a', from: 'x', senderName: 'X', mine: false, kind: 'file', name: 'a', mime: '', size: 100, createdAt: 1, state: 'receiving', transferred: 0, bytesPerSecond: 0 });
    for (let t = 0; t < 1000; t += 10) board.progress('a', t / 10, t);
    expect(writes.filter((soon) => soon)).toHaveLength(2);
    board.patch('a', { state: 'done', transferred: 100 });
    expect(items[0].state).toBe('done');
    expect(writes.at(-1)).toBe(false);
  });
});
