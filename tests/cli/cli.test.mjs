// The command-line client against the real things: the release server (which serves the
// web app), Debian's Chromium running that web app, and the real haproxy/haproxy.cfg with a
// throwaway CA in front of two server processes. Text, an image and a 200 MiB file go each
// way, directly and through HAProxy with TLS; a receiver whose connection is cut resumes;
// wrong passphrase, rate limiting, an unreachable server and an empty session give their
// exit codes.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  deriveHaproxyConfig, freePort, makeCert, membersMetric, request, startHaproxy, startServer,
  waitFor, waitHealthy,
} from '../deploy/lib.mjs';
import { browserSuite, doneItem, downloadHash, drawPng, sha256, sha256File } from '../e2e/harness.mjs';
import { browserIn, cli, cliRun, cliSays, cuttableProxy, MiB, seesMember } from './lib.mjs';

const suite = browserSuite({ name: 'cli', server: false });
const dir = suite.work;
const BIG = 200 * MiB;
/** The receiving CLI's peak RSS while it writes 200 MiB to disk stays below this. */
const RSS_LIMIT_KIB = 48 * 1024;
let servers = [];
let front;
let cert;
let bigFile;
let pngFile;

function file(name, bytes) {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return { path: p, hash: sha256(bytes), size: bytes.length };
}

/** A PNG drawn by the browser (so the web app shows it as an image), written to a file. */
async function drawnPngFile(page) {
  return file('drawing.png', await drawPng(page, { width: 240, height: 160, fill: ['#14b8a6'], label: 'from the CLI' }));
}

const device = (base, session, name, opts) => browserIn(suite, base, session, name, opts);

before(async () => {
  servers = [await startServer({ env: { LOG_LEVEL: 'warn' } }), await startServer({ env: { LOG_LEVEL: 'warn' } })];
  for (const s of servers) suite.own(s.proc);
  cert = makeCert(dir);
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const cfg = deriveHaproxyConfig({
    httpPort, httpsPort, pem: cert.pem, caFile: cert.caFile, adminSocket: path.join(dir, 'admin.sock'), serverPorts: servers.map((s) => s.port),
  });
  const proc = suite.own(await startHaproxy(cfg, { dir, httpPort, httpsPort }));
  front = { url: `https://127.0.0.1:${httpsPort}`, proc };
  await waitHealthy(`${front.url}/health`, proc, { ca: cert.ca });
  bigFile = file('big.bin', randomBytes(BIG));
});

/** Members joined on each server, from /metrics. */
async function membersPerServer() {
  return Promise.all(servers.map(async (s) => membersMetric((await request(`${s.base}/metrics`)).body)));
}

for (const via of ['direct', 'haproxy']) {
  describe(`${via === 'direct' ? 'directly' : 'through HAProxy with TLS'}`, () => {
    const base = () => (via === 'direct' ? servers[0].base : front.url);
    const opts = (session, name) => ({ server: base(), session, name, ca: via === 'haproxy' ? path.join(dir, 'sharethings-ca.crt') : undefined });
    const insecureCert = via === 'haproxy';

    describe('CLI → web app', () => {
      const session = `cli-to-web-${via}-${Date.now().toString(36)}`;
      let web;

      before(async () => {
        web = await device(base(), session, 'Browser', { insecureCert });
        pngFile ??= await drawnPngFile(web.page);
      });

      test('text', { timeout: 120000 }, async () => {
        const text = `Hello from a terminal 👋 (${via})\nsecond line`;
        const r = await cliRun(['send', '--text', text], opts(session, 'nas'));
        assert.equal(r.code, 0, r.describe());
        const item = await doneItem(web.page, '[data-kind=text]');
        assert.equal(await item.getByTestId('item-text').innerText(), text);
        assert.equal(await item.getByTestId('item-sender').innerText(), 'nas');
      });

      test('an image', { timeout: 120000 }, async () => {
        const r = await cliRun(['send', pngFile.path], opts(session, 'nas'));
        assert.equal(r.code, 0, r.describe());
        const item = await doneItem(web.page, '[data-kind=image][data-name="drawing.png"]');
        await item.getByTestId('item-image').waitFor();
        assert.equal((await downloadHash(web.page, item)).hash, pngFile.hash);
      });

      test('a 200 MiB file, byte-identical', { timeout: 600000 }, async () => {
        const r = await cliRun(['send', bigFile.path], opts(session, 'nas'));
        assert.equal(r.code, 0, r.describe());
        const item = await doneItem(web.page, '[data-name="big.bin"]', 300000);
        const got = await downloadHash(web.page, item);
        assert.equal(got.name, 'big.bin');
        assert.equal(got.hash, bigFile.hash);
        console.log(`# CLI → web ${via}: ${r.err.match(/sent big\.bin.*/)?.[0]}`);
      });
    });

    describe('web app → CLI', () => {
      const session = `web-to-cli-${via}-${Date.now().toString(36)}`;
      const inbox = path.join(dir, `inbox-${via}`);
      let web;
      let receiver;
      let joinedPerServer;

      before(async () => {
        fs.mkdirSync(inbox);
        const before = await membersPerServer();
        web = await device(base(), session, 'Browser', { insecureCert });
        receiver = cli(['receive', '--dir', inbox], opts(session, 'inbox'));
        await cliSays(receiver, /receiving in session/);
        // Seeing each other means one process holds both (the session lives in one).
        await seesMember(web.page, 'inbox');
        joinedPerServer = (await membersPerServer()).map((n, i) => n - before[i]);
      });

      after(async () => {
        await receiver?.stop();
      });

      if (via === 'haproxy') {
        test('the route key puts the CLI on the browser’s server process', () => {
          assert.deepEqual([...joinedPerServer].sort(), [0, 2]);
        });
      }

      test('text goes to stdout', { timeout: 120000 }, async () => {
        const text = `to the terminal ✓ ${via}`;
        const box = web.page.getByLabel('Text to share');
        await box.fill(text);
        await box.press('Control+Enter');
        await waitFor('the text on stdout', () => receiver.out().includes(`${text}\n`));
      });

      test('an image is saved under its name', { timeout: 120000 }, async () => {
        await web.page.getByTestId('file-input').setInputFiles(pngFile.path);
        await cliSays(receiver, /saved .*drawing\.png from Browser/);
        assert.equal(sha256File(path.join(inbox, 'drawing.png')), pngFile.hash);
      });

      test('a 200 MiB file is streamed to disk with bounded memory', { timeout: 600000 }, async () => {
        await web.page.getByTestId('file-input').setInputFiles(bigFile.path);
        await cliSays(receiver, /saved .*big\.bin from Browser/, 540000);
        assert.equal(sha256File(path.join(inbox, 'big.bin')), bigFile.hash);
        const peak = receiver.peakRssKiB();
        console.log(`# web → CLI ${via}: receiver peak RSS ${(peak / 1024).toFixed(1)} MiB for 200 MiB`);
        assert.ok(peak > 0 && peak < RSS_LIMIT_KIB, `peak RSS ${peak} KiB`);
        assert.deepEqual(fs.readdirSync(inbox).sort(), ['big.bin', 'drawing.png'], 'no part files left');
      });

      test('the same name again is saved beside it, not over it', { timeout: 120000 }, async () => {
        await web.page.getByTestId('file-input').setInputFiles(pngFile.path);
        await cliSays(receiver, /saved .*drawing \(1\)\.png from Browser/);
        assert.equal(sha256File(path.join(inbox, 'drawing (1).png')), pngFile.hash);
      });
    });
  });
}

describe('resuming', () => {
  /**
   * Starts a 120 MiB transfer to a CLI receiver behind a cuttable proxy, cuts its connection
   * once 10 MiB are on disk, and checks that it rejoins and completes byte-identical.
   * `startSending(file, session)` starts the sender and returns a cleanup function.
   */
  async function cutMidTransfer(name, startSending, { before = async () => {}, create = [] } = {}) {
    const session = `resume-${name}-${Date.now().toString(36)}`;
    const inbox = path.join(dir, `inbox-resume-${name}`);
    fs.mkdirSync(inbox);
    const f = file(`resume-${name}.bin`, randomBytes(120 * MiB));
    const proxy = await cuttableProxy(servers[0].port);
    const first = await before(session);
    const receiver = cli(['receive', '--dir', inbox, '--once', ...create], { server: proxy.url, session, name: 'flaky' });
    let stopSender = async () => {};
    try {
      await cliSays(receiver, /receiving in session/);
      stopSender = await startSending(f, session, first);
      const partSize = () => fs.readdirSync(inbox).filter((n) => n.endsWith('.part'))
        .map((n) => fs.statSync(path.join(inbox, n)).size)[0] ?? 0;
      await waitFor('10 MiB to arrive', () => partSize() >= 10 * MiB, { timeout: 300000, every: 10 });
      proxy.cut();
      assert.ok(partSize() < f.size, 'cut before the end');
      assert.equal(await receiver.exited, 0, receiver.describe());
      assert.match(receiver.err(), /connection lost/);
      assert.match(receiver.err(), /back in the session/);
      assert.ok(proxy.accepted() >= 2, 'it reconnected');
      assert.equal(sha256File(path.join(inbox, `resume-${name}.bin`)), f.hash);
    } finally {
      await stopSender();
      await receiver.stop();
      await proxy.close();
    }
  }

  // The web app makes a legacy (format 2) session here, which the CLI joins with the
  // passphrase's v2 key: the CLI's format 2 path stays tested (the CLI sender below is format 3).
  test('a CLI receiver cut off mid-transfer from the web app rejoins and completes', { timeout: 600000 }, () =>
    cutMidTransfer('web', async (f, session, web) => {
      await seesMember(web.page, 'flaky');
      await web.page.getByTestId('file-input').setInputFiles(f.path);
      return async () => {};
    }, { before: (session) => device(servers[0].base, session, 'Browser', { legacy: true }) }));

  test('a CLI receiver cut off mid-transfer from a CLI sender rejoins and completes', { timeout: 600000 }, () =>
    cutMidTransfer('cli', async (f, session) => {
      // --linger keeps the sender there to answer the receiver's resend request.
      const sender = cli(['send', f.path, '--linger', '300'], { server: servers[0].base, session, name: 'sender' });
      await cliSays(sender, /joined .* \(1 other member/);
      return async () => {
        assert.equal(sender.child.exitCode, null, `the sender stayed:\n${sender.describe()}`);
        assert.equal(await sender.stop(), 130, sender.describe());
      };
    }, { create: ['--create'] }));
});

describe('a CLI sender that lingers', () => {
  test('gives a member who joins later what it sent, and leaves on SIGTERM', { timeout: 120000 }, async () => {
    const session = `linger-${Date.now().toString(36)}`;
    const f = file('linger.bin', randomBytes(3 * MiB + 5));
    const server = servers[0].base;
    const inboxes = ['early', 'late'].map((n) => { const d = path.join(dir, `inbox-${n}`); fs.mkdirSync(d); return d; });
    // early makes the session; sender and late are let in by the passphrase (early admits
    // sender, sender admits late).
    const early = cli(['receive', '--once', '--create', '--dir', inboxes[0]], { server, session, name: 'early' });
    await cliSays(early, /receiving in session/);
    const sender = cli(['send', f.path, '--linger', '300'], { server, session, name: 'sender' });
    try {
      assert.equal(await early.exited, 0, early.describe());
      await cliSays(sender, /sent linger\.bin/);
      const late = await cliRun(['receive', '--once', '--dir', inboxes[1]], { server, session, name: 'late' });
      assert.equal(late.code, 0, late.describe());
      for (const inbox of inboxes) assert.equal(sha256File(path.join(inbox, 'linger.bin')), f.hash);
      assert.equal(await sender.stop(), 130, sender.describe());
      assert.match(sender.err(), /interrupted/);
    } finally {
      await sender.stop();
    }
  });
});

describe('exit codes', () => {
  let limited;
  before(async () => {
    limited = await startServer({ env: { LOG_LEVEL: 'warn', JOIN_LIMIT_PER_ADDRESS: '2' } });
    suite.own(limited.proc);
  });

  test('wrong passphrase is 3, then rate limited is 5', { timeout: 120000 }, async () => {
    const session = 'guarded';
    const holder = cli(['receive', '--create'], { server: limited.base, session, name: 'holder' });
    await cliSays(holder, /receiving in session/);
    const wrong = await cliRun(['send', '--text', 'x'], { server: limited.base, session, passphrase: 'not it' });
    assert.equal(wrong.code, 3, wrong.describe());
    assert.match(wrong.err, /wrong passphrase/);
    await cliSays(holder, /a device tried to join with a wrong passphrase/);
    let r;
    for (let i = 0; i < 4; i += 1) {
      r = await cliRun(['send', '--text', 'x'], { server: limited.base, session, passphrase: 'not it' });
      if (r.code !== 3) break;
    }
    assert.equal(r.code, 5, r.describe());
    assert.match(r.err, /rate limited/);
    await holder.stop();
  });

  test('unreachable server is 4', async () => {
    const port = await freePort();
    const r = await cliRun(['send', '--text', 'x'], { server: `http://127.0.0.1:${port}`, session: 's' });
    assert.equal(r.code, 4, r.describe());
  });

  test('nobody to send to is 8; a non-loopback http URL is a usage error (2)', async () => {
    const r = await cliRun(['send', '--create', '--text', 'x', '--wait', '1'], { server: servers[0].base, session: `empty-${Date.now()}` });
    assert.equal(r.code, 8, r.describe());
    const u = await cliRun(['send', '--text', 'x'], { server: 'http://192.0.2.1:3001', session: 's' });
    assert.equal(u.code, 2, u.describe());
  });

  test('--help lists the exit codes', async () => {
    const r = await cliRun(['--help'], {});
    assert.equal(r.code, 0);
    for (const code of [3, 4, 5, 6, 8, 9, 10]) assert.match(r.out, new RegExp(`^  ${code}  `, 'm'));
  });
});
