import { describe, expect, test } from 'vitest';
import { splitLinks } from './linkify';

const links = (text: string) => splitLinks(text).filter((p) => p.href).map((p) => p.href);

describe('splitLinks', () => {
  test('keeps the text whole and marks http and https links', () => {
    const parts = splitLinks('see https://example.com/a?b=1 and http://pi.local:8080/x');
    expect(parts.map((p) => p.text).join('')).toBe('see https://example.com/a?b=1 and http://pi.local:8080/x');
    expect(links('see https://example.com/a?b=1 and http://pi.local:8080/x')).toEqual([
      'https://example.com/a?b=1',
      'http://pi.local:8080/x',
    ]);
  });

  test('never links other schemes', () => {
    expect(links('javascript:alert(1) data:text/html,hi file:///etc/passwd ftp://x.y')).toEqual([]);
    expect(links('xhttps://example.com')).toEqual([]);
  });

  test('leaves sentence punctuation outside the link', () => {
    expect(links('Look: https://example.com/page.')).toEqual(['https://example.com/page']);
    expect(links('(https://example.com/x), then')).toEqual(['https://example.com/x']);
    expect(links('“https://example.com/q?”')).toEqual(['https://example.com/q']);
  });

  test('keeps brackets that belong to the URL', () => {
    expect(links('https://en.wikipedia.org/wiki/Pi_(disambiguation)')).toEqual([
      'https://en.wikipedia.org/wiki/Pi_(disambiguation)',
    ]);
  });

  test('skips what does not parse as a URL', () => {
    expect(links('http://[bad')).toEqual([]);
    expect(splitLinks('')).toEqual([]);
    expect(splitLinks('no links here')).toEqual([{ text: 'no links here' }]);
  });
});
