import { describe, expect, it } from 'vitest';
import { estimateStrength, generatePassphrase, generateSessionName } from './names';
import { routeKey } from './realtime/route';
import { createHash } from 'node:crypto';

describe('generators', () => {
  it('makes readable session names and strong passphrases', () => {
    expect(generateSessionName()).toMatch(/^[a-z]+-[a-z]+-\d{2}$/);
    const p = generatePassphrase();
    expect(p.split('-')).toHaveLength(7);
    expect(estimateStrength(p).level).toBe(3);
    expect(estimateStrength('1234').level).toBe(0);
    expect(estimateStrength('').label).toBe('Empty');
  });
});

describe('routing key', () => {
  it('is the first 16 hex digits of SHA-256 of the prefixed session name', () => {
    const id = 'Café ☕';
    const expected = createHash('sha256').update(`sharethings/route/${id}`, 'utf8').digest('hex').slice(0, 16);
    expect(routeKey(id)).toBe(expected);
  });
});
