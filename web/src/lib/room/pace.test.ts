/**
 * When a receiver asks again, on virtual time: a watchdog looks every 2 s (as the receiver's
 * does) and asks once a silence lasts `stallAfter`. Slow links whose chunks come seconds apart
 * get no ask between chunks; a link that goes quiet gets one within a few of its gaps, and
 * within LONGEST_STALL_MS however slow it was.
 */
import { describe, expect, it } from 'vitest';
import { chunkCame, LONGEST_STALL_MS, newPace, quietFor, restarted, STALL_GAPS, STALL_MS, stallAfter } from './pace';

const WATCHDOG_MS = 2000;

/**
 * Chunks coming at the times `arrivals` (ms from the item's start), watched until `end`:
 * the times the watchdog asked.
 */
function asksOver(arrivals: number[], end: number): number[] {
  const pace = newPace(0);
  const asks: number[] = [];
  let next = 0;
  for (let now = WATCHDOG_MS; now <= end; now += WATCHDOG_MS) {
    while (next < arrivals.length && arrivals[next] <= now) chunkCame(pace, arrivals[next++]);
    if (quietFor(pace, now) >= stallAfter(pace)) {
      pace.lastAsk = now;
      asks.push(now);
    }
  }
  return asks;
}

/** `count` chunks, one every `every` ms after the first at `first`. */
const evenly = (first: number, every: number, count: number) => Array.from({ length: count }, (_, i) => first + i * every);

describe('a receiver asks again', () => {
  it('never between the chunks of a slow link: 256 KiB every 4.2 s (0.5 Mbit/s), the first after 9 s', () => {
    const arrivals = evenly(9000, 4200, 32);
    expect(asksOver(arrivals, arrivals.at(-1)!)).toEqual([]);
  });

  it('nor when one chunk of a slow link comes late, as after a TCP retransmission timeout', () => {
    const arrivals = evenly(4000, 4200, 32).map((t, i) => (i >= 10 ? t + 5000 : t));
    expect(asksOver(arrivals, arrivals.at(-1)!)).toEqual([]);
  });

  it('within a few of its gaps once a slow link stops: 256 KiB every 3 s (0.7 Mbit/s)', () => {
    const arrivals = evenly(4000, 3000, 20);
    const last = arrivals.at(-1)!;
    const [first] = asksOver(arrivals, last + 60_000);
    expect(first - last).toBeGreaterThanOrEqual(STALL_GAPS * 3000 - 1000);
    expect(first - last).toBeLessThanOrEqual(STALL_GAPS * 3000 + 1000 + WATCHDOG_MS);
  });

  it('within LONGEST_STALL_MS once a very slow link stops, and again STALL_MS after an unanswered ask', () => {
    const arrivals = evenly(4000, 8000, 10);
    const last = arrivals.at(-1)!;
    const asks = asksOver(arrivals, last + 18_000);
    expect(asks[0] - last).toBeGreaterThanOrEqual(LONGEST_STALL_MS);
    expect(asks[0] - last).toBeLessThanOrEqual(LONGEST_STALL_MS + WATCHDOG_MS);
    expect(asks[1] - asks[0]).toBeGreaterThanOrEqual(STALL_MS);
    expect(asks[1] - asks[0]).toBeLessThanOrEqual(STALL_MS + WATCHDOG_MS);
  });

  it('after STALL_MS at full speed, and again after as long once the ask goes unanswered', () => {
    const arrivals = evenly(50, 3, 400);
    const last = arrivals.at(-1)!;
    const asks = asksOver(arrivals, last + 9000);
    expect(asks.length).toBe(2);
    expect(asks[0] - last).toBeGreaterThanOrEqual(STALL_MS);
    expect(asks[0] - last).toBeLessThanOrEqual(STALL_MS + WATCHDOG_MS);
    expect(asks[1] - asks[0]).toBeGreaterThanOrEqual(STALL_MS);
  });

  it('before the first chunk, after LONGEST_STALL_MS', () => {
    const [first] = asksOver([], 30_000);
    expect(first).toBeGreaterThanOrEqual(LONGEST_STALL_MS);
    expect(first).toBeLessThanOrEqual(LONGEST_STALL_MS + WATCHDOG_MS);
  });

  it('at full speed again once an item that paused goes on: the pause is not a gap of its link', () => {
    const pace = newPace(0);
    for (let t = 10; t <= 100; t += 10) chunkCame(pace, t);
    pace.lastAsk = 5000; // silent: asked, then paused
    chunkCame(pace, 60_000); // its sender is back
    expect(stallAfter(pace)).toBe(STALL_MS);
  });

  it('counts a silence from when the item went on, not from its last chunk before', () => {
    const pace = newPace(0);
    chunkCame(pace, 100);
    restarted(pace, 50_000);
    expect(quietFor(pace, 52_000)).toBe(2000);
  });
});
