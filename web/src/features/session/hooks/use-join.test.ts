import { describe, expect, test } from 'vitest';
import type { FailedJoins } from '../../../types/protocol';
import { describeJoinFailure } from './use-join';

const wrong = (failedJoins?: unknown) =>
  describeJoinFailure({ ok: false, code: 'invalid_passphrase', message: 'wrong passphrase for this session', failedJoins: failedJoins as FailedJoins }).detail;

describe('a wrong passphrase warns of the lockout by the server’s count', () => {
  test('quiet below five, then the count, the server’s limit and window, then the lockout', () => {
    expect(wrong({ count: 4, limit: 10, windowMs: 60_000 })).not.toMatch(/wrong tries/);
    expect(wrong({ count: 5, limit: 10, windowMs: 60_000 })).toMatch(
      /That is 5 wrong tries within 60 seconds: after 10, the server refuses joins from this device until 60 seconds after the first of them/,
    );
    expect(wrong({ count: 7, limit: 8, windowMs: 600_000 })).toMatch(/That is 7 wrong tries within 10 minutes: after 8,.* until 10 minutes after/);
    expect(wrong({ count: 10, limit: 10, windowMs: 3_600_000 })).toMatch(/That is 10 wrong tries within 1 hour: the server now refuses joins/);
  });
  test('no count, or a field that is not a whole number, says nothing of a lockout', () => {
    for (const failed of [
      undefined,
      null,
      'ten',
      { count: '7', limit: 10, windowMs: 60_000 },
      { count: 7, windowMs: 60_000 },
      { count: 7, limit: 10 },
      { count: 7, limit: 10, windowMs: '60000' },
      { count: 7, limit: 10, windowMs: 0 },
      { count: 7, limit: 10, windowMs: 1e300 },
      { count: 1e300, limit: 10, windowMs: 60_000 },
      { count: 7.5, limit: 10, windowMs: 60_000 },
    ]) {
      expect(wrong(failed)).not.toMatch(/wrong tries/);
    }
  });
});
