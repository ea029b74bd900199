import { describe, expect, it } from 'vitest';
import { estimateStrength, generatePassphrase, generateSessionName } from './names';

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
