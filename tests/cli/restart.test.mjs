// A server killed mid-transfer (SIGKILL, as a crash; systemd's `Restart=on-failure` starts it
// again, here the test does) and started again on the same port and INBOX_DIR: a CLI sender
// and a CLI receiver of a format 3 session both get back in by themselves, each waits for the
// other (whichever is back first), and the file arrives byte-identical (issue 26, point 8).
// The session kept nothing on disk (no inbox), so the restarted server gives both new ids:
// each knows the other again by its device's hello. Before this, the receiver that was back
// first failed the item ("the sender is gone"), and a sender back first finished into an empty
// room and left.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { startServer, tempDir } from '../deploy/lib.mjs';
import { bytesIn, randomFile, sha256File } from '../files.mjs';
import { cli, cliSays, cliShows, MiB, newStore } from './lib.mjs';

const SIZE = 256 * MiB;
// Killed once this much of the file is on the receiver's disk: well under way, far from done.
const KILL_AT = 16 * MiB;

const work = tempDir('sharethings-cli-restart-');
const procs = [];
after(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

test('a server killed mid-transfer and started again: the CLIs get back in and the file arrives whole', { timeout: 300000 }, async () => {
  const env = { LOG_LEVEL: 'warn', INBOX_DIR: path.join(work, 'server-inbox') };
  let server = await startServer({ env });
  procs.push(server.proc);
  const session = `restart-${Date.now().toString(36)}`;
  const opts = (name) => ({ server: server.base, session, name, store: newStore() });
  const file = randomFile(work, 'big.bin', SIZE);
  const dir = path.join(work, 'received');
  fs.mkdirSync(dir);

  const receiver = cli(['receive', '--create', '--dir', dir], opts('Recv'));
  procs.push(receiver);
  await cliSays(receiver, /receiving in session/);
  const sender = cli(['send', file.path], opts('Send'));
  procs.push(sender);
  await cliShows(receiver, `${KILL_AT} bytes on the receiver's disk`, () => bytesIn(dir) >= KILL_AT, 120000);

  await server.proc.stop('SIGKILL');
  const killedAt = Date.now();
  const onDisk = bytesIn(dir);
  assert.ok(onDisk < SIZE, `killed mid-transfer: ${onDisk} of ${SIZE} bytes on disk`);
  assert.doesNotMatch(receiver.err(), /saved/, 'killed before the file was saved');
  server = await startServer({ port: server.port, env });
  procs.push(server.proc);

  await cliShows(receiver, 'the file saved', () => /saved .*big\.bin from Send/.test(receiver.err()), 120000);
  console.log(`killed with ${(onDisk / MiB).toFixed(0)} MiB of ${SIZE / MiB} on disk; saved ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
  assert.equal(await sha256File(path.join(dir, 'big.bin')), file.hash);
  assert.doesNotMatch(receiver.err(), /transfer failed|did not come back/, receiver.describe());
  // Both lost the connection and came back; whichever was back first waited for the other.
  for (const c of [receiver, sender]) assert.match(c.err(), /back in the session/, c.describe());
  assert.ok(
    [[receiver, 'Send'], [sender, 'Recv']].some(([c, other]) => new RegExp(`waiting up to 30 s for ${other} to come back[\\s\\S]*\\n${other} is back`).test(c.err())),
    `${receiver.describe()}\n${sender.describe()}`,
  );
  assert.equal(await sender.exited, 0, sender.describe());
  assert.match(sender.err(), /sent big\.bin/);
  assert.doesNotMatch(sender.err(), /did not come back/, sender.describe());
  // The new server relays what the receiver missed and little more: chunks in flight at the
  // kill that had arrived after all, sent again by the delivery to everyone, and those a
  // resend covers up to where that delivery reached the receiver (each at most a window of
  // 8 chunks of 256 KiB), and the envelopes. Four windows leave room for a slow machine; the
  // rest of the file sent twice (a member back under a new id taken for a late joiner and
  // given the whole item) is 250 MiB more.
  const metrics = await (await fetch(`${server.base}/metrics`)).text();
  const relayed = Number(metrics.split('\n').find((l) => l.startsWith('sharethings_bytes_relayed_total '))?.split(' ')[1]);
  console.log(`relayed after the restart: ${(relayed / MiB).toFixed(1)} MiB`);
  const bound = SIZE - onDisk + 8 * MiB;
  assert.ok(relayed <= bound, `relayed ${relayed} bytes after the restart; ${SIZE - onDisk} were missing`);
});
