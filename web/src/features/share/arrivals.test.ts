import { describe, expect, test } from 'vitest';
import { ArrivalBatcher, summarizeArrivals, WINDOW_MS } from './arrivals';

describe('summarizeArrivals', () => {
  test('one item names its sender and itself', () => {
    expect(summarizeArrivals([{ name: 'holiday.pdf', from: 'Laptop' }])).toEqual({ title: 'Received from Laptop', description: 'holiday.pdf' });
  });

  test('several items from one sender are counted, newest names first', () => {
    const s = summarizeArrivals(['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, from: 'Laptop' })));
    expect(s).toEqual({ title: '5 items from Laptop', description: 'e, d, c and 2 more' });
  });

  test('repeated names are listed once with their count', () => {
    const s = summarizeArrivals([{ name: 'Text', from: 'L' }, { name: 'a.pdf', from: 'L' }, { name: 'Text', from: 'L' }]);
    expect(s.description).toBe('Text (2), a.pdf');
  });

  test('two senders are named, more are counted', () => {
    expect(summarizeArrivals([{ name: 'a', from: 'Laptop' }, { name: 'b', from: 'Desk PC' }]).title).toBe('2 items from Laptop and Desk PC');
    expect(summarizeArrivals([{ name: 'a', from: 'A' }, { name: 'b', from: 'B' }, { name: 'c', from: 'C' }]).title).toBe('3 items from 3 devices');
  });
});

describe('ArrivalBatcher', () => {
  const open = () => true;

  test('arrivals close together form one batch', () => {
    const b = new ArrivalBatcher();
    const first = b.add({ name: 'a', from: 'L' }, 0, open);
    const second = b.add({ name: 'b', from: 'L' }, WINDOW_MS - 1, open);
    const third = b.add({ name: 'c', from: 'L' }, 2 * WINDOW_MS - 2, open);
    expect(first.fresh).toBe(true);
    expect([second.fresh, third.fresh]).toEqual([false, false]);
    expect(third.batchId).toBe(first.batchId);
    expect(third.summary.title).toBe('3 items from L');
  });

  test('a pause or a dismissed toast starts a new batch', () => {
    const b = new ArrivalBatcher();
    const first = b.add({ name: 'a', from: 'L' }, 0, open);
    const late = b.add({ name: 'b', from: 'L' }, WINDOW_MS, open);
    expect(late.fresh).toBe(true);
    expect(late.batchId).not.toBe(first.batchId);
    const afterDismiss = b.add({ name: 'c', from: 'L' }, WINDOW_MS + 10, () => false);
    expect(afterDismiss.fresh).toBe(true);
    expect(afterDismiss.summary.title).toBe('Received from L');
  });
});
