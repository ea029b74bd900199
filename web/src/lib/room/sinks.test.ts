/**
 * DiskSink's removal against writes still under way: an item that fails or is removed while
 * chunks are being written must not leave its file behind (the worker makes the file for
 * each write, so a write that lands after the removal would make it again).
 */
import { describe, expect, it } from 'vitest';
import type { CryptoClient } from '../crypto/crypto-client';
import { DiskError } from '../crypto/errors';
import { DiskSink } from './sinks';

/** The disk calls of a crypto client, in the order the worker would run them; writes settle when told. */
function fakeDisk() {
  const calls: string[] = [];
  const pending: (() => void)[] = [];
  const write = () =>
    new Promise<number>((resolve) => {
      calls.push('write');
      pending.push(() => {
        calls.push('written');
        resolve(1);
      });
    });
  const crypto = {
    openToDisk: write,
    writeToDisk: write,
    diskRemove: async () => void calls.push('remove'),
  } as unknown as CryptoClient;
  return { crypto, calls, settleAll: () => pending.splice(0).forEach((settle) => settle()) };
}

describe('DiskSink', () => {
  it('removes its file only after the writes under way, and refuses writes after that', async () => {
    const disk = fakeDisk();
    const sink = new DiskSink(disk.crypto, 1, 'room', 'item', 3, 'application/octet-stream');
    const first = sink.writePlain(0, new Uint8Array([1]));
    const second = sink.write(1, new Uint8Array(12), new Uint8Array(17), 'aad');
    const discarded = sink.discard();
    await Promise.resolve();
    expect(disk.calls).toEqual(['write', 'write']);
    disk.settleAll();
    await Promise.all([first, second, discarded]);
    expect(disk.calls).toEqual(['write', 'write', 'written', 'written', 'remove']);
    await expect(sink.writePlain(2, new Uint8Array([3]))).rejects.toBeInstanceOf(DiskError);
    expect(disk.calls.filter((c) => c === 'write')).toHaveLength(2);
  });
});
