// The history's bounds as settings: the default when nothing is stored, a stored choice, and
// the default again for a value that is not one of the choices (a hand-edited one).
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_HISTORY_ITEMS, DEFAULT_HISTORY_MIB, settings } from './settings';

const stored = new Map<string, string>();
globalThis.localStorage = {
  getItem: (k: string) => stored.get(k) ?? null,
  setItem: (k: string, v: string) => void stored.set(k, v),
} as Storage;

afterEach(() => stored.clear());

describe('history bounds', () => {
  it('are the defaults when nothing is stored', () => {
    expect(settings.historyItems()).toBe(DEFAULT_HISTORY_ITEMS);
    expect(settings.historyMiB()).toBe(DEFAULT_HISTORY_MIB);
  });

  it('keep a choice, 0 (pinned only) included', () => {
    settings.setHistoryItems(0);
    settings.setHistoryMiB(16);
    expect(settings.historyItems()).toBe(0);
    expect(settings.historyMiB()).toBe(16);
  });

  it('fall back to the default for anything that is not a choice', () => {
    for (const v of ['', 'abc', '-1', '1e9', '20.5']) {
      stored.set('sharethings.historyItems', v);
      stored.set('sharethings.historyMiB', v);
      expect(settings.historyItems()).toBe(DEFAULT_HISTORY_ITEMS);
      expect(settings.historyMiB()).toBe(DEFAULT_HISTORY_MIB);
    }
  });
});
