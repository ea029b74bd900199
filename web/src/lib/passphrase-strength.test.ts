import { describe, expect, it } from 'vitest';
import { generatePassphrase } from './names';
import { judgePassphrase } from './passphrase-strength';

describe('judgePassphrase', () => {
  it.each(['1234', 'password', 'Password1!', 'correcthorse', 'qwertyuiop', 'iloveyou2024'])('refuses %s', async (p) => {
    expect((await judgePassphrase(p)).acceptable).toBe(false);
  });

  it('refuses the session name as its passphrase', async () => {
    expect((await judgePassphrase('quiet-harbor-17')).acceptable).toBe(true);
    expect((await judgePassphrase('quiet-harbor-17', ['quiet-harbor-17'])).acceptable).toBe(false);
  });

  it('accepts generated passphrases and long unusual ones', async () => {
    for (let i = 0; i < 5; i++) expect((await judgePassphrase(generatePassphrase())).acceptable).toBe(true);
    expect((await judgePassphrase('violet tractor sings under 9 moons')).acceptable).toBe(true);
  });

  it('judges the NFC form, as the key schedule uses it', async () => {
    const nfd = 'Cafe\u0301 cre\u0300me sky lantern orbit';
    const [a, b] = await Promise.all([judgePassphrase(nfd), judgePassphrase(nfd.normalize('NFC'))]);
    expect(a).toEqual(b);
  });

  it('says why a passphrase is weak', async () => {
    const verdict = await judgePassphrase('password');
    expect(verdict.warning ?? verdict.suggestions.join(' ')).not.toBe('');
  });
});
