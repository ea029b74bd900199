import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW, ReplayWindows } from './replay-windows';

describe('ReplayWindows', () => {
  it('takes each counter once, in any order within the window', () => {
    const w = new ReplayWindows();
    expect(w.accept('a', 5)).toBe(true);
    expect(w.accept('a', 5)).toBe(false);
    expect(w.accept('a', 3)).toBe(true);
    expect(w.accept('a', 3)).toBe(false);
    expect(w.accept('a', 4)).toBe(true);
    expect(w.accept('b', 5)).toBe(true);
  });

  it('refuses counters older than the window, and zero or odd values', () => {
    const w = new ReplayWindows();
    expect(w.accept('a', 1)).toBe(true);
    expect(w.accept('a', 1 + REPLAY_WINDOW)).toBe(true);
    expect(w.accept('a', 1)).toBe(false);
    expect(w.accept('a', 2)).toBe(true);
    expect(w.accept('a', 0)).toBe(false);
    expect(w.accept('a', -1)).toBe(false);
    expect(w.accept('a', 2.5)).toBe(false);
  });

  it('does not mistake a counter for one a window earlier after a jump', () => {
    const w = new ReplayWindows();
    expect(w.accept('a', 10)).toBe(true);
    // 10 + 4096 falls in the same slot as 10: the jump must clear it, not report it seen.
    expect(w.accept('a', 10 + REPLAY_WINDOW)).toBe(true);
    expect(w.accept('a', 11)).toBe(true);
    expect(w.accept('a', 10 + REPLAY_WINDOW)).toBe(false);
    expect(w.accept('a', 3 * REPLAY_WINDOW)).toBe(true);
    expect(w.accept('a', 3 * REPLAY_WINDOW - 1)).toBe(true);
    expect(w.accept('a', 2 * REPLAY_WINDOW)).toBe(false);
  });

  it('survives storage, and forgets the sender heard from longest ago past its bound', () => {
    const w = new ReplayWindows(3);
    for (const d of ['a', 'b', 'c']) w.accept(d, 7);
    w.accept('a', 8);
    w.accept('d', 1);
    expect(w.size).toBe(3);
    const back = ReplayWindows.from(structuredClone(w.toStored()), 3);
    expect(back.accept('a', 7)).toBe(false);
    expect(back.accept('c', 7)).toBe(false);
    expect(back.accept('d', 1)).toBe(false);
    // 'b' was forgotten: its counter is new again (bounded memory, at the cost of this).
    expect(back.accept('b', 7)).toBe(true);
  });
});
