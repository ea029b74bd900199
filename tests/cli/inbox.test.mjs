// The session's inbox and the CLI on the real release server (issue 28, point 5), the inbox
// on disk (INBOX_DIR): a CLI alone in a session that keeps an inbox sends into it and
// leaves; a CLI `receive` that joins afterwards (with an invite link) lists the inbox and
// fetches what it missed, oldest first and byte-identical, a file of many fetch windows
// included; its next run does not fetch it again; and what was kept comes back from disk
// after the server restarts. And from the web app: a file a browser left in its (format 2)
// session's inbox reaches a CLI that joins afterwards with the passphrase.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, tempDir } from '../deploy/lib.mjs';
import { browserSuite, doneItem, join, joined, leave, randomFile, sha256File } from '../e2e/harness.mjs';
import { cli, cliRun, cliSays, cliShows, MiB, newStore, PASS } from './lib.mjs';

const TTL_MS = 600000;
const suite = browserSuite({ name: 'cli-inbox', server: false });

describe('the inbox and the CLI', () => {
  const session = `cli-inbox-${Date.now().toString(36)}`;
  const work = tempDir('sharethings-cli-inbox-');
  const inboxDir = path.join(work, 'server-inbox');
  const stores = { sender: newStore(), receiver: newStore() };
  let server;
  let port;

  const startKeeping = async () => {
    server = await startServer({ port, env: { LOG_LEVEL: 'warn', INBOX_TTL: String(TTL_MS), INBOX_DIR: inboxDir } });
    port = server.port;
  };
  const opts = (who) => ({ server: server.base, session, name: who, store: stores[who] });
  const send = (args) => cliRun(['send', ...args], opts('sender'));
  const newDir = (name) => {
    const d = path.join(work, name);
    fs.mkdirSync(d);
    return d;
  };
  /** The order of the receiver's notes that match `re`, by their first capture. */
  const saved = (c, re) => [...c.err().matchAll(new RegExp(re, 'g'))].map((m) => m[1]);

  before(startKeeping);

  after(async () => {
    await server?.proc.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a file the web app left in the inbox reaches a CLI that joins afterwards', { timeout: 300000 }, async () => {
    const webSession = `${session}-web`;
    const f = randomFile(work, 'from-the-phone.bin', 2 * MiB + 3);
    const phone = await suite.device();
    await phone.page.goto(server.base);
    await phone.page.getByTestId('keep-items').click();
    // Legacy (format 2): a device that joins a format 3 session with the passphrase waits
    // for a member to admit it, and here none is online when the laptop comes.
    await join(phone.page, { session: webSession, name: 'Phone', passphrase: PASS, legacy: true });
    await joined(phone.page);
    await phone.page.getByTestId('file-input').setInputFiles(f.path);
    const sent = await doneItem(phone.page, '[data-name="from-the-phone.bin"]', 120000);
    // Every chunk acked by the server and kept: only then may the phone go.
    await sent.getByTestId('in-inbox').waitFor({ timeout: 60000 });
    await leave(phone.page);

    const dir = newDir('from-web');
    const r = await cliRun(['receive', '--once', '--dir', dir], { server: server.base, session: webSession, name: 'laptop' });
    assert.equal(r.code, 0, r.describe());
    assert.match(r.err, /saved .*from-the-phone\.bin from Phone/);
    assert.equal(sha256File(path.join(dir, 'from-the-phone.bin')), f.hash);
  });

  test('a receive that joins after the sender left gets what it missed, oldest first', { timeout: 300000 }, async () => {
    // 3 MiB is 13 chunks: more than one fetch window of 8.
    const big = randomFile(work, 'big.bin', 3 * MiB + 5);
    const small = randomFile(work, 'small.txt', 100);
    const first = await cliRun(['--create', '--inbox', 'send', big.path, small.path], opts('sender'));
    assert.equal(first.code, 0, first.describe());
    const text = await send(['--text', 'kept for later']);
    assert.equal(text.code, 0, text.describe());
    const invite = await cliRun(['invite'], opts('sender'));
    assert.equal(invite.code, 0, invite.describe());

    const dir = newDir('first-run');
    const receiver = cli(['--invite', '-', 'receive', '--dir', dir], { ...opts('receiver'), input: invite.out, session: undefined, server: undefined });
    try {
      // The sender left before this device ever saw its signed card, so it is "an unknown
      // device" here: names come from the roster alone.
      await cliShows(receiver, 'the text from the inbox', () => receiver.out().includes('kept for later\n'), 120000);
      assert.deepEqual(saved(receiver, /saved \S*\/(\S+) from /), ['big.bin', 'small.txt']);
      assert.ok(receiver.err().indexOf('small.txt from') < receiver.err().indexOf('text from'), receiver.describe());
      assert.equal(sha256File(path.join(dir, 'big.bin')), big.hash);
      assert.equal(sha256File(path.join(dir, 'small.txt')), small.hash);
    } finally {
      await receiver.stop();
    }

    // The next run of the same machine fetches none of it again: the first item it prints is
    // one sent live afterwards.
    const again = newDir('second-run');
    const next = cli(['receive', '--dir', again], opts('receiver'));
    try {
      await cliSays(next, /receiving in session/);
      const live = await send(['--text', 'sent live']);
      assert.equal(live.code, 0, live.describe());
      await cliShows(next, 'the live text', () => next.out().includes('sent live\n'));
      assert.equal(next.out(), 'sent live\n', next.describe());
      assert.deepEqual(fs.readdirSync(again), []);
      // The inbox listed what it kept to this device too, which had it: nothing to say.
      assert.doesNotMatch(next.err(), /ignored a message/, next.describe());
    } finally {
      await next.stop();
    }
  });

  test('what the inbox kept on disk comes back after the server restarts', { timeout: 300000 }, async () => {
    const f = randomFile(work, 'across.bin', 600 * 1024);
    const sent = await send([f.path]);
    assert.equal(sent.code, 0, sent.describe());
    await server.proc.stop();
    await startKeeping();

    const dir = newDir('after-restart');
    const receiver = cli(['receive', '--dir', dir], opts('receiver'));
    try {
      await cliSays(receiver, /saved .*across\.bin from /, 120000);
      assert.equal(sha256File(path.join(dir, 'across.bin')), f.hash);
      // Only what it missed: the live text of the first test went before.
      const live = await send(['--text', 'after the restart']);
      assert.equal(live.code, 0, live.describe());
      await cliShows(receiver, 'the live text', () => receiver.out().includes('after the restart\n'));
      assert.equal(receiver.out(), 'after the restart\n', receiver.describe());
      assert.deepEqual(fs.readdirSync(dir), ['across.bin']);
    } finally {
      await receiver.stop();
    }
  });
});
