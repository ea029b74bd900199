// Shared helpers of the deployment suite: processes, free ports, waiting on conditions,
// HTTP(S) requests, socket.io-client members, and the HAProxy config derived from the real
// haproxy/haproxy.cfg. Every address used is on the loopback range; nothing here ever
// sends traffic anywhere else.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
export { io };

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * What the deploy suite builds once per machine and reuses across clones (the VM image, the
 * cross builds' cargo directories): outside the work tree, so a fresh clone on the same machine
 * (as CI makes) does not pay for them again. Rebuilt whenever their inputs change.
 */
export const TEST_CACHE = process.env.SHARETHINGS_TEST_CACHE || '/var/cache/sharethings-tests';
export const CROSS_DIST = process.env.CROSS_DIST || path.join(REPO, 'target/cross/dist');
// The Debian packages of packaging/build-deb.sh, and the version they carry.
export const DEB_DIR = process.env.DEB_DIR || path.join(REPO, 'target/cross/deb');
export const VERSION = fs.readFileSync(path.join(REPO, 'Cargo.toml'), 'utf8').match(/^version = "(.*)"$/m)[1];
// The x86_64 server used behind HAProxy; run.sh builds it (or SHARETHINGS_BIN names one).
export const NATIVE_BIN = process.env.SHARETHINGS_BIN || path.join(REPO, 'target/release/sharethings');

/** A fresh private temporary directory, removed when the test process exits. */
export function tempDir(prefix = 'sharethings-deploy-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A TCP port that was free a moment ago (the OS picks it; we bind it right after). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Waits until `check()` returns a truthy value (or a promise of one) and returns it.
 * Polls every `every` ms; after `timeout` ms throws, naming `what` and the last error.
 * An error with `fatal: true` thrown by `check` ends the wait at once.
 */
export async function waitFor(what, check, { timeout = 20000, every = 50 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      if (err.fatal) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Resolves after `ms`; only for deliberate idle periods that are the thing under test. */
export const idle = (ms) => new Promise((r) => setTimeout(r, ms));

const children = new Set();
process.on('exit', () => {
  for (const child of children) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

/**
 * Starts a child process and keeps the tail of its output for failure messages.
 * Returns { child, output(), stop(signal), exited } where `exited` resolves with the code.
 */
export function start(name, cmd, args, { env = {}, cwd = REPO } = {}) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let log = '';
  const keep = (chunk) => { log = (log + chunk.toString()).slice(-20000); };
  if (process.env.DEPLOY_VERBOSE) child.stderr.pipe(process.stderr);
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => { children.delete(child); resolve(code ?? signal); });
    child.on('error', (err) => { keep(`spawn error: ${err.message}\n`); children.delete(child); resolve('spawn-error'); });
  });
  let done = false;
  exited.then(() => { done = true; });
  return {
    name,
    child,
    exited,
    get running() { return !done; },
    output: () => `--- ${name} (${cmd} ${args.join(' ')}) ---\n${log}`,
    async stop(signal = 'SIGTERM') {
      if (done) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One HTTP(S) request; resolves { status, headers, body } (body as a string). */
export function request(url, { method = 'GET', headers = {}, body, agent, ca, localAddress, timeout = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(u, { method, headers, agent, ca, localAddress, timeout }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Waits until GET `url` answers 200, while `proc` keeps running. */
export async function waitHealthy(url, proc, opts = {}) {
  return waitFor(`${url} to answer 200`, async () => {
    if (proc && !proc.running) throw Object.assign(new Error(`process exited early\n${proc.output()}`), { fatal: true });
    const res = await request(url, { timeout: 2000, ...opts });
    return res.status === 200 ? res : false;
  }, { timeout: opts.deadline ?? 30000, every: 100 });
}

/** Starts a sharethings server (optionally under qemu-user) on a free loopback port. */
export async function startServer({ bin = NATIVE_BIN, qemu, port, env = {}, name = 'sharethings' } = {}) {
  port ??= await freePort();
  const args = ['--host', '127.0.0.1', '--port', String(port)];
  const proc = qemu
    ? start(name, qemu.cmd, [...qemu.args, bin, ...args], { env })
    : start(name, bin, args, { env });
  const base = `http://127.0.0.1:${port}`;
  await waitHealthy(`${base}/health`, proc, { deadline: 60000 });
  return { proc, port, base };
}

export const EM_ARM = 40;
export const EM_AARCH64 = 183;
export const EM_X86_64 = 62;
export const EF_ARM_ABI_FLOAT_HARD = 0x400;
const PT_INTERP = 3;

/** The few ELF header facts we check: class, machine, ARM float ABI, PT_INTERP present. */
export function elfFacts(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 0, 4) !== '\x7fELF') throw new Error(`${file} is not ELF`);
  const is64 = b[4] === 2;
  const machine = b.readUInt16LE(18);
  const flags = b.readUInt32LE(is64 ? 48 : 36);
  const phoff = is64 ? Number(b.readBigUInt64LE(32)) : b.readUInt32LE(28);
  const phentsize = b.readUInt16LE(is64 ? 54 : 42);
  const phnum = b.readUInt16LE(is64 ? 56 : 44);
  let interp = false;
  for (let i = 0; i < phnum; i += 1) {
    if (b.readUInt32LE(phoff + i * phentsize) === PT_INTERP) interp = true;
  }
  return { is64, machine, flags, interp, size: b.length };
}

/** The routing key of docs/deploy.md ("Several processes") and docs/protocol.md: 16 hex digits of SHA-256. */
export function routeKey(sessionId) {
  return crypto.createHash('sha256').update(`sharethings/route/${sessionId}`, 'utf8').digest('hex').slice(0, 16);
}

/** An opaque fingerprint in the v2 shape; the server only compares it. */
export function fingerprint(sessionId, passphrase = 'correct horse') {
  const mac = crypto.createHmac('sha256', passphrase).update(`verifier:${sessionId}`).digest('base64');
  return { v: 2, mac };
}

/**
 * A ShareThings member: a socket.io-client connection that (re)joins `sessionId` on every
 * connect, as the web client does, and records what it hears.
 * opts: url, sessionId, name, route (bool), transports, ca, servername (the name the TLS
 * certificate must carry, when the URL names a forwarded port on 127.0.0.1), localAddress,
 * reconnection...
 */
export function member({ url, sessionId, name, route = true, transports, ca, servername, localAddress, reconnectionDelay = 200, reconnectionDelayMax = 1000 }) {
  const agent = url.startsWith('https') ? new https.Agent({ ca, servername, localAddress, keepAlive: true }) : new http.Agent({ localAddress, keepAlive: true });
  const socket = io(url, {
    query: route ? { route: routeKey(sessionId) } : {},
    transports,
    agent,
    ca,
    localAddress,
    reconnectionDelay,
    reconnectionDelayMax,
    timeout: 10000,
  });
  const m = {
    name,
    sessionId,
    socket,
    clientId: null,
    peers: new Set(), // clientIds of the other members, as this member currently knows them
    joins: 0,
    disconnects: 0,
    received: [],
    lastAck: null,
    joinError: null,
    close() { socket.close(); agent.destroy(); },
  };
  const fp = fingerprint(sessionId);
  socket.on('connect', () => {
    socket.emit('join', { sessionId, clientName: name, fingerprint: fp }, (ack) => {
      m.lastAck = ack;
      if (!ack || ack.success !== true) { m.joinError = ack; return; }
      m.clientId = ack.clientId;
      m.peers = new Set(ack.clients.map((c) => c.id).filter((id) => id !== ack.clientId));
      m.joins += 1;
    });
  });
  socket.on('disconnect', () => { m.disconnects += 1; });
  socket.on('client-joined', (e) => { if (e.clientId !== m.clientId) m.peers.add(e.clientId); });
  socket.on('client-left', (e) => m.peers.delete(e.clientId));
  socket.on('content', (e) => m.received.push(e));
  return m;
}

/** Waits until member `m` has joined `n` times (first join: n = 1). */
export function joined(m, n = 1, timeout = 20000) {
  return waitFor(`${m.name} to join ${m.sessionId}`, () => {
    if (m.joinError) throw new Error(`join refused: ${JSON.stringify(m.joinError)}`);
    return m.joins >= n && m.socket.connected;
  }, { timeout });
}

/** Waits until `a` and `b` have both joined and each lists the other. */
export async function pairJoined(a, b, timeout = 20000) {
  await joined(a, 1, timeout);
  await joined(b, 1, timeout);
  await waitFor('members to see each other', () => a.peers.has(b.clientId) && b.peers.has(a.clientId), { timeout });
}

/**
 * Two members named `names` (at most 32 characters each, as the server requires; by default
 * `<sessionId>-a` and `-b`) join `sessionId` at `url`, see each other and relay both ways,
 * each step within `timeout`; they are closed afterwards either way. `opts` go to member()
 * (transports, ca, servername, ...).
 */
export async function twoMembersRelay(url, sessionId, { timeout = 20000, names = [`${sessionId}-a`, `${sessionId}-b`], ...opts } = {}) {
  const a = member({ url, sessionId, name: names[0], ...opts });
  const b = member({ url, sessionId, name: names[1], ...opts });
  try {
    await pairJoined(a, b, timeout);
    await relay(a, [b], timeout);
    await relay(b, [a], timeout);
  } finally {
    a.close();
    b.close();
  }
}

/** Sends a content event from `from` and waits until every member in `to` received it. */
export async function relay(from, to, timeout = 15000) {
  const contentId = crypto.randomUUID();
  const ack = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${from.name}: no ack for content`)), timeout);
    from.socket.emit('content', { sessionId: from.sessionId, content: { contentId, sender: from.name, encryptedMetadata: 'AAAA' } }, (a) => {
      clearTimeout(timer);
      resolve(a);
    });
  });
  if (!ack || ack.success !== true) throw new Error(`${from.name}: content refused: ${JSON.stringify(ack)}`);
  await Promise.all(to.map((m) => waitFor(`${m.name} to receive ${contentId} from ${from.name}`, () => {
    const got = m.received.find((e) => e.content && e.content.contentId === contentId);
    if (got && got.from !== from.clientId) throw new Error(`from is ${got.from}, expected ${from.clientId}`);
    return got;
  }, { timeout })));
}

// ---------------------------------------------------------------------------------------
// HAProxy: derive the test configuration from the real file by substitution.

// DEPLOY_HAPROXY_CFG lets a developer run the suite against a modified copy.
export const HAPROXY_CFG = process.env.DEPLOY_HAPROXY_CFG || path.join(REPO, 'haproxy/haproxy.cfg');

function replaceEach(text, pattern, replacement, what, count) {
  const all = new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`);
  const matches = text.match(all);
  if (!matches || matches.length !== count) {
    throw new Error(`haproxy.cfg: expected ${count} ${what} (${pattern}), found ${matches ? matches.length : 0}`);
  }
  return text.replace(all, replacement);
}

const replaceOnce = (text, pattern, replacement, what) => replaceEach(text, pattern, replacement, what, 1);

/**
 * The real haproxy.cfg with, and only with: loopback ports for both frontends, the test
 * certificate and its CA (served by both frontends), the given server ports, the admin socket in a private directory, logs on
 * stderr, and no daemon/chroot/user/group (process management of the packaged service, not
 * behaviour). `timeouts` replaces `timeout <name> <value>` lines, e.g. { client: '1s' }.
 */
export function deriveHaproxyConfig({ httpPort, httpsPort, pem, caFile, adminSocket, serverPorts, timeouts = {} }) {
  let cfg = fs.readFileSync(HAPROXY_CFG, 'utf8');
  cfg = replaceOnce(cfg, /^(\s*)bind :80$/m, `$1bind 127.0.0.1:${httpPort}`, 'HTTP bind');
  cfg = replaceOnce(cfg, /^(\s*)bind :443 ssl crt \S+/m, `$1bind 127.0.0.1:${httpsPort} ssl crt ${pem}`, 'HTTPS bind');
  cfg = replaceEach(cfg, / file \/etc\/haproxy\/certs\/sharethings-ca\.crt /, ` file ${caFile} `, 'CA file (one per frontend)', 2);
  for (const key of ['chroot', 'user', 'group', 'daemon']) {
    cfg = replaceOnce(cfg, new RegExp(`^\\s*${key}\\b.*\\n`, 'm'), '', `global ${key}`);
  }
  cfg = replaceOnce(cfg, /^(\s*)stats socket \S+/m, `$1stats socket ${adminSocket}`, 'stats socket');
  cfg = replaceOnce(cfg, /^(\s*)log \/dev\/log local0$/m, '$1log stderr format short local0', 'global log');
  // Every `server sNNNN 127.0.0.1:NNNN` line, commented or not, becomes the given list.
  const serverLine = /^\s*#?\s*server s\d+ 127\.0\.0\.1:\d+ check\n/gm;
  const first = cfg.search(serverLine);
  if (first < 0) throw new Error('haproxy.cfg: no server lines');
  const servers = serverPorts.map((p) => `    server s${p} 127.0.0.1:${p} check\n`).join('');
  cfg = cfg.replace(serverLine, (line, offset) => (offset === first ? servers : ''));
  for (const [name, value] of Object.entries(timeouts)) {
    cfg = replaceOnce(cfg, new RegExp(`^(\\s*)timeout ${name} \\S+$`, 'm'), `$1timeout ${name} ${value}`, `timeout ${name}`);
  }
  return cfg;
}

// Debian installs haproxy in /usr/sbin, which a non-login PATH may lack.
const HAPROXY = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find((p) => fs.existsSync(p)) ?? 'haproxy';

/** Starts HAProxy in the foreground with `cfgText`; resolves once both ports accept. */
export async function startHaproxy(cfgText, { dir, httpPort, httpsPort, name = 'haproxy' }) {
  const file = path.join(dir, `${name}-${httpsPort}.cfg`);
  fs.writeFileSync(file, cfgText);
  const check = spawnSync(HAPROXY, ['-c', '-q', '-f', file], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy -c failed:\n${check.stdout}${check.stderr}`);
  const proc = start(name, HAPROXY, ['-db', '-f', file]);
  for (const port of [httpPort, httpsPort]) {
    await waitFor(`haproxy to listen on ${port}`, () => new Promise((resolve, reject) => {
      if (!proc.running) { reject(Object.assign(new Error(`haproxy exited\n${proc.output()}`), { fatal: true })); return; }
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    }));
  }
  return proc;
}

/** A throwaway certificate for localhost/127.0.0.1 from haproxy/make-cert.sh (local CA mode). */
export function makeCert(dir) {
  const res = spawnSync('bash', [path.join(REPO, 'haproxy/make-cert.sh'), '--out', dir, 'localhost', '127.0.0.1'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`make-cert.sh failed:\n${res.stdout}${res.stderr}`);
  return {
    pem: path.join(dir, 'sharethings.pem'),
    caFile: path.join(dir, 'sharethings-ca.crt'),
    ca: fs.readFileSync(path.join(dir, 'sharethings-ca.crt')),
  };
}

/** HAProxy's view of each server of backend `sharethings`: { s3001: 'UP' | 'DOWN' | ... }. */
export function serverStates(adminSocket) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(adminSocket);
    let text = '';
    sock.on('connect', () => sock.write('show stat\n'));
    sock.on('data', (c) => { text += c; });
    sock.on('error', reject);
    sock.on('end', () => {
      const states = {};
      for (const line of text.split('\n')) {
        const f = line.split(',');
        if (f[0] === 'sharethings' && /^s\d+$/.test(f[1])) states[f[1]] = f[17];
      }
      resolve(states);
    });
  });
}

/** Sum of the `sharethings_members` samples in a Prometheus text body. */
export function membersMetric(body) {
  let total = null;
  for (const line of body.split('\n')) {
    const m = line.match(/^sharethings_members(?:\{[^}]*\})?\s+([0-9.eE+-]+)/);
    if (m) total = (total ?? 0) + Number(m[1]);
  }
  if (total === null) throw new Error(`no sharethings_members in /metrics:\n${body.slice(0, 500)}`);
  return total;
}
