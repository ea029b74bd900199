// `send --to NAME` on the real release server (issue 28, point 4): with two other members
// online, an item addressed to one reaches that one and never the other, which a later item
// for everyone proves (it arrives after any copy of the earlier one would have); a name that
// nobody has is exit 11, with the members there named and nothing sent.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, tempDir, waitFor } from '../deploy/lib.mjs';
import { sha256, sha256File } from '../e2e/harness.mjs';
import { cli, cliRun, cliSays, newStore } from './lib.mjs';

describe('send --to NAME', () => {
  const session = `send-to-${Date.now().toString(36)}`;
  const work = tempDir('sharethings-send-to-');
  const dirs = { alice: path.join(work, 'alice'), bob: path.join(work, 'bob') };
  const senderStore = newStore();
  let server;
  let alice;
  let bob;
  const send = (args) => cliRun(['send', ...args], { server: server.base, session, name: 'sender', store: senderStore });

  before(async () => {
    server = await startServer({ env: { LOG_LEVEL: 'warn' } });
    for (const d of Object.values(dirs)) fs.mkdirSync(d);
    alice = cli(['receive', '--create', '--dir', dirs.alice], { server: server.base, session, name: 'alice' });
    await cliSays(alice, /receiving in session/);
    bob = cli(['receive', '--dir', dirs.bob], { server: server.base, session, name: 'bob' });
    await cliSays(bob, /receiving in session/);
  });

  after(async () => {
    for (const c of [alice, bob]) await c?.stop();
    await server?.proc.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('only the named member receives; the other never does', { timeout: 240000 }, async () => {
    const forAlice = 'for alice alone';
    const r1 = await send(['--to', 'alice', '--text', forAlice]);
    assert.equal(r1.code, 0, r1.describe());
    // Admitted by a member, it hears that member announce its admission: nothing to note.
    assert.doesNotMatch(r1.err, /ignored a message/);
    await waitFor('alice to print it', () => alice.out().includes(`${forAlice}\n`), { timeout: 60000 });

    const bytes = randomBytes(300 * 1024);
    const file = path.join(work, 'for-bob.bin');
    fs.writeFileSync(file, bytes);
    const r2 = await send(['--to', 'bob', file]);
    assert.equal(r2.code, 0, r2.describe());
    await cliSays(bob, /saved .*for-bob\.bin from sender/);
    assert.equal(sha256File(path.join(dirs.bob, 'for-bob.bin')), sha256(bytes));

    // One for everyone, sent after both: once each has it, neither is still to get the other's.
    const forAll = 'for everyone';
    const r3 = await send(['--text', forAll]);
    assert.equal(r3.code, 0, r3.describe());
    for (const [c, who] of [[alice, 'alice'], [bob, 'bob']]) {
      await waitFor(`${who} to print the text for everyone`, () => c.out().includes(`${forAll}\n`), { timeout: 60000 });
    }
    assert.equal(alice.out(), `${forAlice}\n${forAll}\n`, alice.describe());
    assert.equal(bob.out(), `${forAll}\n`, bob.describe());
    assert.deepEqual(fs.readdirSync(dirs.alice), [], 'alice never got bob’s file');
    assert.deepEqual(fs.readdirSync(dirs.bob), ['for-bob.bin']);
  });

  test('a name nobody has is exit 11, naming who is there; nothing is sent', { timeout: 120000 }, async () => {
    const r = await send(['--to', 'carol', '--wait', '2', '--text', 'for nobody']);
    assert.equal(r.code, 11, r.describe());
    assert.match(r.err, /nobody called "carol" in the session \(members: alice, bob\)/);
    // The next item is the first either prints after the earlier test's.
    const r2 = await send(['--text', 'after carol']);
    assert.equal(r2.code, 0, r2.describe());
    for (const c of [alice, bob]) await waitFor('the next text', () => c.out().endsWith('after carol\n'), { timeout: 60000 });
    assert.ok(!alice.out().includes('for nobody') && !bob.out().includes('for nobody'));
  });
});
