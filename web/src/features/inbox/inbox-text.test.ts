import { describe, expect, it } from 'vitest';
import { nextInboxWindow } from '../../lib/room/inbox';
import { fetchedByOf, withFetcher } from '../../lib/room/fetched-by';
import { fetchedByText, inboxDetail, inboxSummary, refusalTitle } from './inbox-text';

describe('inbox text', () => {
  it('tells every member the inbox is on and for how long', () => {
    const terms = { ttlMs: 3_600_000, maxBytes: 32 * 1024 * 1024 };
    expect(inboxSummary(terms)).toBe('Inbox on — items wait 1 hour');
    expect(inboxDetail(terms)).toContain('1 hour');
    expect(inboxDetail(terms)).toContain('never has the key');
  });

  it('names which cap refused an item', () => {
    expect(refusalTitle('inbox_full')).toMatch(/session's inbox is full/);
    expect(refusalTitle('server_inbox_full')).toMatch(/server's inbox/);
  });
});

describe('fetching from the inbox', () => {
  it('asks for a window of 8 and the next once fewer than 4 asked-for chunks are due', () => {
    expect(nextInboxWindow(0, 0, 20)).toEqual({ fromChunk: 0, count: 8 });
    expect(nextInboxWindow(8, 4, 20)).toBeNull();
    expect(nextInboxWindow(8, 5, 20)).toEqual({ fromChunk: 8, count: 8 });
    expect(nextInboxWindow(16, 13, 20)).toEqual({ fromChunk: 16, count: 4 });
    expect(nextInboxWindow(20, 19, 20)).toBeNull();
    expect(nextInboxWindow(0, 0, 1)).toEqual({ fromChunk: 0, count: 1 });
  });

  it('never has more than 12 chunks asked for and not yet arrived', () => {
    let asked = 0;
    for (let received = 0; received <= 100; received++) {
      const next = nextInboxWindow(asked, received, 100);
      if (next) asked = next.fromChunk + next.count;
      expect(asked - received).toBeLessThanOrEqual(12);
      if (received < 100) expect(asked).toBeGreaterThan(received);
    }
    expect(asked).toBe(100);
  });

  it('names who fetched a kept item: members by name, this device, the ones gone as a count', () => {
    const members = [
      { id: 'a', name: 'Laptop' },
      { id: 'b', name: 'Phone' },
      { id: 'me', name: 'Desk' },
    ];
    expect(fetchedByText([], members, 'me')).toBe('No device has fetched it from the inbox yet');
    expect(fetchedByText(['b'], members, 'me')).toBe('Fetched from the inbox by Phone');
    expect(fetchedByText(['a', 'me', 'x', 'y'], members, 'me')).toBe('Fetched from the inbox by Laptop, this device and 2 devices no longer here');
    expect(fetchedByText(['x'], members, 'me')).toBe('Fetched from the inbox by 1 device no longer here');
  });

  it('takes from the server only a list of short ids, each once, 64 at most', () => {
    expect(fetchedByOf(undefined)).toBeUndefined();
    expect(fetchedByOf('a')).toBeUndefined();
    expect(fetchedByOf(['a', 'a', 7, null, '', 'x'.repeat(65), 'b'])).toEqual(['a', 'b']);
    expect(fetchedByOf(Array.from({ length: 1000 }, (_, i) => `id${i}`))).toHaveLength(64);
    const one = ['a'];
    expect(withFetcher(one, 'a')).toBe(one);
    expect(withFetcher(one, 42)).toBe(one);
    expect(withFetcher(one, 'b')).toEqual(['a', 'b']);
    expect(withFetcher(undefined, 'b')).toEqual(['b']);
    const full = Array.from({ length: 64 }, (_, i) => `id${i}`);
    expect(withFetcher(full, 'more')).toBe(full);
  });
});
