import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { routeKey } from './route';

/** The key every implementation (server, CLI, web client, test helpers) must compute. */
const vector = JSON.parse(readFileSync(new URL('../../../../tests/vectors/route-key.json', import.meta.url), 'utf8')) as {
  sessionId: string;
  route: string;
};

describe('routing key', () => {
  it('is the one of tests/vectors/route-key.json', () => {
    expect(routeKey(vector.sessionId)).toBe(vector.route);
  });
});
