// Issue 23, point 1: nothing the server sees lets anyone test a passphrase guess offline.
//
// A recording proxy keeps every byte between the clients and the real release server, which
// logs at trace level and keeps its inbox on disk. Then an attacker holding all of it and a
// dictionary that contains the passphrase tries every offline test the passphrase allows:
// format 2's fingerprint, each passphrase-derived key of either format as an access key, a
// join proof's key or a value anywhere in what was seen, and the passphrase itself in any
// encoding. Against a format 2 session (the control) the dictionary finds the passphrase at
// once; against format 3, where the passphrase only enters the members' CPace run (whose
// transcript is an exchange of random-looking points: a passive observer gets no equation in
// the passphrase, an active one one guess per run, counted by the members), nothing confirms
// any guess.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { NATIVE_BIN, freePort, io, routeKey, waitFor } from '../deploy/lib.mjs';
import { PASS, cli, cliRun, cliSays, newStore } from './lib.mjs';

const pbkdf2 = promisify(crypto.pbkdf2);
const ITERATIONS = 600000;
const tag = Date.now().toString(36);
const DICTIONARY = ['correct horse battery staple', 'letmein-2026', PASS, 'amber-comet-lake-seven-violet', 'hunter2'];

const owned = [];
let server;
let recorder;
let inboxDir;

before(async () => {
  inboxDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharethings-guess-inbox-'));
  server = await traceServer(inboxDir);
  recorder = await recordingProxy(server.port);
});

after(() => {
  for (const p of owned) p.kill('SIGKILL');
  recorder?.close();
  fs.rmSync(inboxDir, { recursive: true, force: true });
});

/** The release server at trace level with its inbox on disk; its whole log is kept. */
async function traceServer(dir) {
  const port = await freePort();
  const child = spawn(NATIVE_BIN, ['--host', '127.0.0.1', '--port', String(port)], {
    env: { ...process.env, LOG_LEVEL: 'trace', INBOX_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  owned.push(child);
  const log = [];
  child.stdout.on('data', (d) => log.push(d));
  child.stderr.on('data', (d) => log.push(d));
  await waitFor('the server to listen', () => Buffer.concat(log).includes('listening on'), { timeout: 30000 });
  return { port, log: () => Buffer.concat(log) };
}

/** A loopback TCP proxy to `port` that keeps every byte of every connection, both ways. */
async function recordingProxy(port) {
  const connections = [];
  const proxy = net.createServer((client) => {
    const record = { up: [], down: [] };
    connections.push(record);
    const upstream = net.connect(port, '127.0.0.1');
    client.on('data', (d) => { record.up.push(d); upstream.write(d); });
    upstream.on('data', (d) => { record.down.push(d); client.write(d); });
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${proxy.address().port}`,
    connections: () => connections.map((c) => ({ up: Buffer.concat(c.up), down: Buffer.concat(c.down) })),
    close: () => proxy.close(),
  };
}

/** The payloads of the WebSocket frames in one direction of a connection (unmasked). */
function framePayloads(stream) {
  const end = stream.indexOf('\r\n\r\n');
  if (!stream.subarray(0, 4).equals(Buffer.from('GET ')) && !stream.subarray(0, 4).equals(Buffer.from('HTTP'))) return [];
  let buf = stream.subarray(end + 4);
  const out = [];
  while (buf.length >= 2) {
    const masked = (buf[1] & 0x80) !== 0;
    let len = buf[1] & 0x7f;
    let off = 2;
    if (len === 126) { len = buf.readUInt16BE(2); off = 4; }
    if (len === 127) { len = Number(buf.readBigUInt64BE(2)); off = 10; }
    const mask = masked ? buf.subarray(off, off + 4) : null;
    if (masked) off += 4;
    if (buf.length < off + len) break;
    const payload = Buffer.from(buf.subarray(off, off + len));
    if (mask) for (let i = 0; i < payload.length; i += 1) payload[i] ^= mask[i % 4];
    out.push(payload);
    buf = buf.subarray(off + len);
  }
  return out;
}

/** Every JSON value of every Socket.IO packet in a list of frame payloads. */
function packets(payloads) {
  const out = [];
  for (const p of payloads) {
    const m = /^4[0-6](?:\d+-)?(?:\/[^,]*,)?\d*/.exec(p.toString('latin1'));
    if (!m) continue;
    try { out.push(JSON.parse(p.toString('utf8').slice(m[0].length))); } catch { /* not JSON */ }
  }
  return out;
}

const hkdf = (ikm, info) => Buffer.from(crypto.hkdfSync('sha256', ikm, Buffer.alloc(0), info, 32));
const lv = (b) => {
  const bytes = Buffer.from(b);
  const len = [];
  let n = bytes.length;
  do { len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>= 7; } while (n > 0);
  return Buffer.concat([Buffer.from(len), bytes]);
};
const lvCat = (...parts) => Buffer.concat(parts.map(lv));

/** Format 2's keys and fingerprint for a guess, as docs/protocol.md specifies them. */
async function v2Derived(sessionId, guess) {
  const master = await pbkdf2(guess, `sharethings/v2/${sessionId}`, ITERATIONS, 32, 'sha256');
  const authKey = hkdf(master, 'sharethings/v2/auth');
  const encKey = hkdf(master, 'sharethings/v2/enc');
  const mac = crypto.createHmac('sha256', authKey).update(`verifier:${sessionId}`).digest('base64');
  return { keys: [master, authKey, encKey], mac };
}

/** Format 3's one passphrase-derived value (the CPace password), as docs/protocol.md says. */
async function v3Prs(sessionId, guess) {
  return pbkdf2(guess.normalize('NFC'), `sharethings/v3/pake/${sessionId}`, ITERATIONS, 32, 'sha256');
}

/**
 * The attacker: every offline test of `guess` against what the server saw. Returns the tests
 * that confirmed it (an empty list: the guess is neither confirmed nor refuted).
 */
async function offlineTests(seen, guess) {
  const confirmed = [];
  const everything = Buffer.concat([seen.log, ...seen.files, ...seen.connections.flatMap((c) => [c.up, c.down, ...c.frames])]);
  for (const encoding of ['utf8', 'base64', 'base64url', 'hex']) {
    if (everything.includes(Buffer.from(guess, 'utf8').toString(encoding === 'utf8' ? 'utf8' : encoding))) confirmed.push(`the passphrase itself (${encoding})`);
  }
  for (const join of seen.joins) {
    const { sessionId } = join.request;
    const v2 = await v2Derived(sessionId, guess);
    if (join.request.fingerprint?.mac === v2.mac) confirmed.push(`format 2 fingerprint of ${sessionId}`);
    const candidates = [...v2.keys, await v3Prs(sessionId, guess)];
    for (const key of candidates) {
      for (const encoding of ['base64', 'base64url', 'hex']) {
        if (everything.includes(key.toString(encoding))) confirmed.push(`a derived key of ${sessionId} in what was seen (${encoding})`);
      }
      if (everything.includes(key)) confirmed.push(`a derived key of ${sessionId} in what was seen (bytes)`);
      if (join.request.proof && join.nonce) {
        const message = lvCat('sharethings/v3/join', sessionId, Buffer.from(join.nonce, 'base64'));
        if (crypto.createHmac('sha256', key).update(message).digest('base64') === join.request.proof) confirmed.push(`a join proof of ${sessionId}`);
      }
    }
  }
  return confirmed;
}

/** What the server saw: every connection's bytes and frames, its log, its inbox files, and the joins with the nonce each was made over. */
function whatTheServerSaw() {
  const connections = recorder.connections().map((c) => ({ ...c, frames: [...framePayloads(c.up), ...framePayloads(c.down)] }));
  const joins = [];
  for (const c of connections) {
    let nonce = null;
    const up = packets(framePayloads(c.up));
    const down = packets(framePayloads(c.down));
    for (const ack of down) if (Array.isArray(ack) && ack[0]?.nonce) nonce = ack[0].nonce;
    for (const p of up) if (Array.isArray(p) && p[0] === 'join') joins.push({ request: p[1], nonce });
  }
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f); else files.push(fs.readFileSync(f));
    }
  };
  walk(inboxDir);
  return { connections, joins, files, log: server.log() };
}

test('with every byte the server saw, a dictionary confirms a format 2 passphrase and no format 3 one', { timeout: 300000 }, async () => {
  // Format 3: Alpha creates a session with an inbox; Beta knows only the name and the
  // passphrase, is admitted by Alpha (CPace through the server), and sends text and a file.
  const v3Session = `guess-v3-${tag}`;
  const opts = (name, store) => ({ server: recorder.url, session: v3Session, name, store });
  const received = fs.mkdtempSync(path.join(os.tmpdir(), 'sharethings-guess-received-'));
  const alpha = cli(['receive', '--create', '--inbox', '--dir', received], opts('Alpha', newStore()));
  await cliSays(alpha, /receiving in session/);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sharethings-guess-')), 'notes.txt');
  fs.writeFileSync(file, 'what the server must not read\n');
  const beta = newStore();
  const text = await cliRun(['send', '--text', 'a secret only members read'], opts('Beta', beta));
  assert.equal(text.code, 0, text.describe());
  const sent = await cliRun(['send', file], opts('Beta', beta));
  assert.equal(sent.code, 0, sent.describe());
  await waitFor('Alpha to print the text', () => alpha.out().includes('a secret only members read'));
  assert.equal(await alpha.stop(), 0, alpha.describe());
  fs.rmSync(received, { recursive: true, force: true });

  // Format 2, the control: a client of the second release joins with its fingerprint.
  const v2Session = `guess-v2-${tag}`;
  const { mac } = await v2Derived(v2Session, PASS);
  const socket = io(recorder.url, { query: { route: routeKey(v2Session) }, transports: ['websocket'] });
  try {
    const ack = await new Promise((resolve) => socket.on('connect', () =>
      socket.emit('join', { sessionId: v2Session, clientName: 'Old', fingerprint: { v: 2, mac } }, resolve)));
    assert.equal(ack.success, true, JSON.stringify(ack));
  } finally {
    socket.close();
  }

  const seen = whatTheServerSaw();
  const v3Joins = seen.joins.filter((j) => j.request.sessionId === v3Session);
  assert.ok(v3Joins.some((j) => j.request.apply), 'Beta applied through the recorded server');
  assert.ok(v3Joins.some((j) => j.request.proof && j.nonce), 'a member join over a nonce was recorded');
  assert.ok(seen.files.length > 0, 'the inbox kept something on disk');

  const results = new Map();
  for (const guess of DICTIONARY) results.set(guess, await offlineTests(seen, guess));
  // The control: format 2's fingerprint confirms the passphrase, and only it.
  assert.deepEqual(results.get(PASS), [`format 2 fingerprint of ${v2Session}`]);
  for (const guess of DICTIONARY.filter((g) => g !== PASS)) assert.deepEqual(results.get(guess), [], guess);
});
