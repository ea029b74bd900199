import { describe, expect, it } from 'vitest';
import { describeDuration } from './duration';

describe('describeDuration', () => {
  it('says a length of time in the largest unit that reads well', () => {
    expect(describeDuration(3_600_000)).toBe('1 hour');
    expect(describeDuration(1_000)).toBe('1 second');
    expect(describeDuration(4_000)).toBe('4 seconds');
    expect(describeDuration(60_000)).toBe('60 seconds');
    expect(describeDuration(600_000)).toBe('10 minutes');
    expect(describeDuration(90 * 60_000)).toBe('90 minutes');
    expect(describeDuration(2 * 3_600_000)).toBe('2 hours');
    expect(describeDuration(86_400_000)).toBe('24 hours');
    expect(describeDuration(3 * 86_400_000)).toBe('3 days');
  });
});
