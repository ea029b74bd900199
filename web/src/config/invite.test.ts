import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildInviteLink, parseInvite } from './invite';

const v3 = JSON.parse(readFileSync(new URL('../../../tests/vectors/format-v3.json', import.meta.url), 'utf8')) as {
  room: { sessionId: string };
  invite: Record<'withoutPrs' | 'withPrs', { link: string }>;
};

describe('invite links', () => {
  it('build and read a v3 link exactly as the vectors, with the secret and no passphrase', () => {
    for (const { link } of Object.values(v3.invite)) {
      const url = new URL(link);
      const invite = parseInvite(url.hash);
      expect(invite?.sessionId).toBe(v3.room.sessionId);
      expect(invite?.passphrase).toBeUndefined();
      expect(buildInviteLink(url.origin, { sessionId: v3.room.sessionId, key: invite?.key, passphrase: 'never' })).toBe(link);
    }
  });

  it('keep the legacy form for v2 sessions', () => {
    const link = buildInviteLink('https://pi.local', { sessionId: 'quiet harbor', passphrase: 'p w', token: 't' });
    expect(parseInvite(new URL(link).hash)).toEqual({ sessionId: 'quiet harbor', passphrase: 'p w', token: 't' });
  });
});
