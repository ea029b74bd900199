// A server killed mid-transfer (SIGKILL, as a crash; systemd's `Restart=on-failure` starts it
// again, here the test does) and started again on the same port and INBOX_DIR: a CLI sender
// and the CLI receivers of a format 3 session all get back in by themselves, each waits for
// the others (whichever is back first), and the file arrives byte-identical (issue 26, point 8).
// The session kept nothing on disk (no inbox), so the restarted server gives everyone new ids:
// each knows the others again by their devices' hellos. Before this, the receiver that was
// back first failed the item ("the sender is gone"), and a sender back first finished into an
// empty room and left. `send --to` is the second test: its addressee is known again by its
// device too, so the item still goes to it alone. The third and fourth are the first two in a
// format 2 session (a browser creates it: the CLI creates only format 3 ones), which has no
// devices: there each member, the addressee too, is known again by its name.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { startServer, tempDir, waitFor } from '../deploy/lib.mjs';
import { browserSuite, join, joined, leave } from '../e2e/harness.mjs';
import { bytesIn, randomFile, sha256File } from '../files.mjs';
import { cli, cliSays, cliShows, MiB, newStore, PASS } from './lib.mjs';

const SIZE = 256 * MiB;
// Killed once this much of the file is on the receiver's disk: well under way, far from done.
const KILL_AT = 16 * MiB;

const suite = browserSuite({ name: 'cli-restart', server: false });
const work = tempDir('sharethings-cli-restart-');
const procs = [];
after(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

/**
 * `sharethings-cli send ...sendArgs big.bin` (256 MiB) from `Send` to a format 3 session whose
 * receivers are `names` (the first creates it; each saves into a folder of its own), or with
 * `legacy` to a format 2 session a browser creates and leaves once they are in, with the
 * server killed once KILL_AT bytes are on the first one's disk and started again. Checks what
 * the header says of the first receiver and the sender, and what the new server relayed;
 * returns the receivers ({name, dir, c}), the new server and the session.
 */
async function sendAcrossRestart(names, sendArgs, { legacy = false } = {}) {
  const base = fs.mkdtempSync(path.join(work, 'run-'));
  const env = { LOG_LEVEL: 'warn', INBOX_DIR: path.join(base, 'server-inbox') };
  let server = await startServer({ env });
  procs.push(server.proc);
  const session = `restart-${Date.now().toString(36)}`;
  const opts = (name) => ({ server: server.base, session, name, store: newStore() });
  const file = randomFile(base, 'big.bin', SIZE);
  const web = legacy ? await suite.device() : undefined;
  if (web) {
    await web.page.goto(server.base);
    await join(web.page, { session, name: 'Web', passphrase: PASS, legacy: true });
    await joined(web.page);
  }
  const receivers = [];
  for (const [i, name] of names.entries()) {
    const dir = path.join(base, name);
    fs.mkdirSync(dir);
    const c = cli(['receive', ...(i === 0 && !legacy ? ['--create'] : []), '--dir', dir], opts(name));
    procs.push(c);
    await cliSays(c, /receiving in session/);
    receivers.push({ name, dir, c });
  }
  // The server counts relayed bytes per receiver: the browser goes before the file does.
  if (web) await leave(web.page);
  const [first] = receivers;
  const sender = cli(['send', ...sendArgs, file.path], opts('Send'));
  procs.push(sender);
  await cliShows(first.c, `${KILL_AT} bytes on the receiver's disk`, () => bytesIn(first.dir) >= KILL_AT, 120000);

  await server.proc.stop('SIGKILL');
  const killedAt = Date.now();
  const onDisk = bytesIn(first.dir);
  assert.ok(onDisk < SIZE, `killed mid-transfer: ${onDisk} of ${SIZE} bytes on disk`);
  assert.doesNotMatch(first.c.err(), /saved/, 'killed before the file was saved');
  server = await startServer({ port: server.port, env });
  procs.push(server.proc);

  // A sender that fails says why at once, not when the receiver's wait is over.
  const senderFailed = sender.exited.then((code) => {
    if (code !== 0) throw new Error(`the sender failed:\n${sender.describe()}`);
    return new Promise(() => {});
  });
  await Promise.race([
    cliShows(first.c, 'the file saved', () => /saved .*big\.bin from Send/.test(first.c.err()), 120000),
    senderFailed,
  ]);
  console.log(`killed with ${(onDisk / MiB).toFixed(0)} MiB of ${SIZE / MiB} on disk; saved ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
  assert.equal(await sha256File(path.join(first.dir, 'big.bin')), file.hash);
  assert.doesNotMatch(first.c.err(), /transfer failed|did not come back/, first.c.describe());
  // Everyone lost the connection and came back; of the sender and the receiver, whichever was
  // back first waited for the other (among whoever else was not back yet).
  const all = [...receivers.map((r) => r.c), sender];
  for (const c of all) assert.match(c.err(), /back in the session/, c.describe());
  const waited = (c, other) => new RegExp(`waiting up to 30 s for (\\w+, )*${other}(, \\w+)* to come back[\\s\\S]*\\n${other} is back`).test(c.err());
  assert.ok(waited(first.c, 'Send') || waited(sender, first.name), all.map((c) => c.describe()).join('\n'));
  assert.equal(await sender.exited, 0, sender.describe());
  assert.match(sender.err(), /sent big\.bin/);
  assert.doesNotMatch(sender.err(), /did not come back/, sender.describe());
  // The new server relays what the receiver missed and little more: chunks in flight at the
  // kill that had arrived after all, sent again by the delivery to everyone, and those a
  // resend covers up to where that delivery reached the receiver (each at most a window of
  // 8 chunks of 256 KiB), and the envelopes. Four windows leave room for a slow machine; the
  // rest of the file sent twice (a member back under a new id taken for a late joiner and
  // given the whole item, or a second receiver given an item addressed to the first) is
  // 250 MiB more.
  const metrics = await (await fetch(`${server.base}/metrics`)).text();
  const relayed = Number(metrics.split('\n').find((l) => l.startsWith('sharethings_bytes_relayed_total '))?.split(' ')[1]);
  console.log(`relayed after the restart: ${(relayed / MiB).toFixed(1)} MiB`);
  const bound = SIZE - onDisk + 8 * MiB;
  assert.ok(relayed <= bound, `relayed ${relayed} bytes after the restart; ${SIZE - onDisk} were missing`);
  return { receivers, server, session };
}

test('a server killed mid-transfer and started again: the CLIs get back in and the file arrives whole', { timeout: 300000 }, async () => {
  await sendAcrossRestart(['Recv'], []);
});

test('send --to across a restart: the addressee back under a new id gets the file, the other receiver never does', { timeout: 300000 }, async () => {
  const { receivers: [, other], server, session } = await sendAcrossRestart(['Recv', 'Other'], ['--to', 'Recv']);
  assert.doesNotMatch(other.c.err(), /big\.bin|transfer failed/, other.c.describe());
  // One for everyone, sent after the sender ended: once Other has it, it is not still to get
  // the file.
  const forAll = 'for everyone, after big.bin';
  const late = cli(['send', '--text', forAll], { server: server.base, session, name: 'Late' });
  procs.push(late);
  assert.equal(await late.exited, 0, late.describe());
  await waitFor('Other to print the text for everyone', () => other.c.out().includes(`${forAll}\n`), { timeout: 60000 });
  assert.equal(other.c.out(), `${forAll}\n`, other.c.describe());
  assert.deepEqual(fs.readdirSync(other.dir), [], 'Other never got the file addressed to Recv');
});

test('a format 2 session: the CLIs know each other again by their names and the file arrives whole', { timeout: 300000 }, async () => {
  const { receivers: [recv] } = await sendAcrossRestart(['Recv'], [], { legacy: true });
  assert.match(recv.c.err(), /a legacy \(format 2\) session/, 'the session is a format 2 one');
});

test('a format 2 session: send --to across a restart follows its addressee back by its name', { timeout: 300000 }, async () => {
  const { receivers: [recv, other] } = await sendAcrossRestart(['Recv', 'Other'], ['--to', 'Recv'], { legacy: true });
  assert.match(recv.c.err(), /a legacy \(format 2\) session/, 'the session is a format 2 one');
  assert.doesNotMatch(other.c.err(), /big\.bin|transfer failed/, other.c.describe());
  assert.deepEqual(fs.readdirSync(other.dir), [], 'Other never got the file addressed to Recv');
});
