import { describe, expect, test } from 'vitest';
import type { FailedJoins } from '../../../types/protocol';
import { describeJoinFailure } from './use-join';

const wrong = (failedJoins?: unknown) =>
  describeJoinFailure({ ok: false, code: 'invalid_passphrase', message: 'wrong passphrase for this session', failedJoins: failedJoins as FailedJoins }).detail;

describe('a wrong passphrase warns of the lockout by the server’s count', () => {
  test('quiet below five, then the count and the server’s limit, then the lockout', () => {
    expect(wrong({ count: 4, limit: 10 })).not.toMatch(/wrong tries/);
    expect(wrong({ count: 5, limit: 10 })).toMatch(/That is 5 wrong tries this minute: after 10, the server refuses joins/);
    expect(wrong({ count: 7, limit: 8 })).toMatch(/That is 7 wrong tries this minute: after 8,/);
    expect(wrong({ count: 10, limit: 10 })).toMatch(/That is 10 wrong tries this minute: the server now refuses joins/);
  });
  test('no count, or one that is not a whole number, says nothing of a lockout', () => {
    for (const failed of [undefined, null, 'ten', { count: '7', limit: 10 }, { count: 7 }, { count: 1e300, limit: 10 }, { count: 7.5, limit: 10 }]) {
      expect(wrong(failed)).not.toMatch(/wrong tries/);
    }
  });
});
