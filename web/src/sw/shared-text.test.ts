import { describe, expect, test } from 'vitest';
import { sharedText } from './shared-text';

describe('sharedText', () => {
  test('joins title, text and link one per line', () => {
    expect(sharedText('A page', 'Look at this', 'https://example.org/a')).toBe('A page\nLook at this\nhttps://example.org/a');
  });
  test('drops a part contained in another', () => {
    expect(sharedText('A page', 'A page https://example.org/a', 'https://example.org/a')).toBe('A page https://example.org/a');
    expect(sharedText('', 'https://example.org/a', 'https://example.org/a')).toBe('https://example.org/a');
  });
  test('trims and skips empty parts', () => {
    expect(sharedText('  ', '\nhello\n', '')).toBe('hello');
    expect(sharedText('', '', '')).toBe('');
  });
});
