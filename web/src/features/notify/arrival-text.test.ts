import { describe, expect, test } from 'vitest';
import { arrivalText } from './arrival-text';

describe('arrivalText', () => {
  test('one item: sender and kind', () => {
    expect(arrivalText([{ kind: 'image', senderName: 'Laptop' }])).toEqual({ title: 'Laptop sent an image', body: 'Open ShareThings to see it.' });
    expect(arrivalText([{ kind: 'text', senderName: 'Phone' }]).title).toBe('Phone sent a text');
    expect(arrivalText([{ kind: 'file', senderName: 'Phone' }]).title).toBe('Phone sent a file');
  });
  test('several items: count and every sender once', () => {
    const items = [
      { kind: 'file', senderName: 'Laptop' },
      { kind: 'text', senderName: 'Phone' },
      { kind: 'image', senderName: 'Laptop' },
      { kind: 'text', senderName: 'Tablet' },
    ] as const;
    expect(arrivalText([...items])).toEqual({ title: '4 new items', body: 'From Laptop, Phone and Tablet. Open ShareThings to see them.' });
    expect(arrivalText([...items.slice(0, 1), ...items.slice(2, 3)]).body).toBe('From Laptop. Open ShareThings to see them.');
  });
});
