// The real haproxy/haproxy.cfg (ports, paths and, for the tunnel test, timeouts
// substituted) run by Debian's HAProxy in the foreground in front of the real server:
// wss:// and long-polling members, redirect, HSTS, TLS floor, X-Forwarded-For, the
// per-address limits, and the tunnel timeout for idle WebSockets.

import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import {
  deriveHaproxyConfig, fingerprint, freePort, idle, joined, makeCert, member, pairJoined, relay, request,
  routeKey, startHaproxy, startServer, tempDir, waitFor, waitHealthy,
} from './lib.mjs';

const dir = tempDir();
const cert = makeCert(dir);
const procs = [];
const members = [];
let server;
let front; // { httpPort, httpsPort, url, proc }

/** HAProxy from the real config in front of `serverPorts`, with optional timeouts. */
async function haproxyFor(serverPorts, timeouts = {}, name = 'haproxy') {
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const cfg = deriveHaproxyConfig({
    httpPort, httpsPort, pem: cert.pem, caFile: cert.caFile, adminSocket: `${dir}/${name}.sock`, serverPorts, timeouts,
  });
  const proc = await startHaproxy(cfg, { dir, httpPort, httpsPort, name });
  procs.push(proc);
  const url = `https://127.0.0.1:${httpsPort}`;
  await waitHealthy(`${url}/health`, proc, { ca: cert.ca });
  return { httpPort, httpsPort, url, proc };
}

function track(m) { members.push(m); return m; }

/**
 * Two tracked members `<sessionId>-a` and `-b` through the front (`opts.url` names another),
 * each from its own loopback address; `opts` go to member().
 */
function twoThroughFront(sessionId, addresses, opts = {}) {
  return addresses.map((localAddress, i) => track(member({ url: front.url, sessionId, name: `${sessionId}-${'ab'[i]}`, ca: cert.ca, localAddress, ...opts })));
}

/** Dumps the logs of every process when a test fails, then rethrows. */
async function withLogs(fn) {
  try {
    await fn();
  } catch (err) {
    err.message += `\n${[server?.proc, ...procs].filter(Boolean).map((p) => p.output()).join('\n')}`;
    throw err;
  }
}

before(async () => {
  // PING_INTERVAL is the default, stated because the tunnel test needs pings rarer than 8 s.
  server = await startServer({ env: { TRUSTED_PROXIES: '127.0.0.1', LOG_LEVEL: 'warn', PING_INTERVAL: '25000' } });
  front = await haproxyFor([server.port]);
});

after(async () => {
  for (const m of members) m.close();
  for (const p of procs) await p.stop();
  await server?.proc.stop();
});

describe('through HAProxy', () => {
  // One transport each: WebSocket only, then long-polling only (a few rounds, so that several
  // polling requests go through).
  for (const [transport, title, addresses, relays] of [
    ['websocket', 'wss://: two members join and relay over WebSocket', ['127.0.0.11', '127.0.0.12'], 2],
    ['polling', 'long-polling only: members join and relay', ['127.0.0.15', '127.0.0.16'], 3],
  ]) {
    test(title, { timeout: 60000 }, () => withLogs(async () => {
      const [a, b] = twoThroughFront(`haproxy-${transport}`, addresses, { transports: [transport] });
      await pairJoined(a, b);
      assert.equal(a.socket.io.engine.transport.name, transport);
      for (let i = 0; i < relays; i += 1) await (i % 2 === 0 ? relay(a, [b]) : relay(b, [a]));
    }));
  }

  test('default transports: polling, then the upgrade to WebSocket, carrying the route key', { timeout: 60000 }, () => withLogs(async () => {
    const sessionId = 'haproxy-upgrade';
    const [a, b] = twoThroughFront(sessionId, ['127.0.0.13', '127.0.0.14']);
    await joined(a);
    await joined(b);
    await waitFor('both to upgrade to websocket', () => [a, b].every((m) => m.socket.io.engine.transport.name === 'websocket'));
    assert.equal(new URL(a.socket.io.engine.transport.uri()).searchParams.get('route'), routeKey(sessionId));
    await relay(a, [b]);
    await relay(b, [a]);
  }));

  test('a client without a route key (first release, stock clients) works with one process', { timeout: 60000 }, () => withLogs(async () => {
    const sessionId = 'haproxy-no-route';
    const [a, b] = twoThroughFront(sessionId, ['127.0.0.17', '127.0.0.18'], { route: false });
    await pairJoined(a, b);
    await relay(a, [b]);
  }));

  test('a join that does not match the connection\'s route key is refused with invalid_request', { timeout: 60000 }, () => withLogs(async () => {
    // Otherwise a client could reach a session on a process that HAProxy does not route its
    // other members to, and split it.
    const { io } = await import('socket.io-client');
    const socket = io(front.url, {
      query: { route: routeKey('haproxy-route-a') }, transports: ['websocket'], ca: cert.ca, localAddress: '127.0.0.19', reconnection: false,
    });
    try {
      await waitFor('the connection', () => socket.connected);
      const ack = await socket.timeout(10000).emitWithAck('join', { sessionId: 'haproxy-route-b', clientName: 'lost', fingerprint: fingerprint('haproxy-route-b') });
      assert.equal(ack.success, false);
      assert.equal(ack.code, 'invalid_request');
      const ok = await socket.timeout(10000).emitWithAck('join', { sessionId: 'haproxy-route-a', clientName: 'found', fingerprint: fingerprint('haproxy-route-a') });
      assert.equal(ok.success, true, JSON.stringify(ok));
    } finally {
      socket.close();
    }
  }));

  test('HTTP redirects to HTTPS at the configured name, whatever the Host header says, keeping the path', () => withLogs(async () => {
    for (const host of ['pi.local', 'evil.example', 'sharethings.local:80']) {
      const res = await request(`http://127.0.0.1:${front.httpPort}/some/path?x=1`, { headers: { host } });
      assert.equal(res.status, 301, host);
      assert.equal(res.headers.location, 'https://sharethings.local/some/path?x=1', host);
    }
  }));

  test('the CA certificate is served at /sharethings-ca.crt on HTTP (no redirect) and HTTPS', () => withLogs(async () => {
    for (const url of [`http://127.0.0.1:${front.httpPort}`, front.url]) {
      const res = await request(`${url}/sharethings-ca.crt`, { ca: cert.ca });
      assert.equal(res.status, 200, url);
      assert.equal(res.headers['content-type'], 'application/x-x509-ca-cert', url);
      assert.equal(res.body, cert.ca.toString(), url);
    }
  }));

  test('HTTPS answers with HSTS and reaches the server; /metrics stays private', () => withLogs(async () => {
    const res = await request(`${front.url}/health`, { ca: cert.ca });
    assert.equal(res.status, 200);
    const hsts = res.headers['strict-transport-security'] ?? '';
    const maxAge = Number((hsts.match(/max-age=(\d+)/) ?? [])[1]);
    assert.ok(maxAge >= 31536000, `HSTS header: ${hsts}`);
    assert.equal((await request(`${front.url}/metrics`, { ca: cert.ca })).status, 403);
  }));

  test('TLS below 1.2 is refused by HAProxy, TLS 1.2 and 1.3 work', () => withLogs(async () => {
    const handshake = (opts) => new Promise((resolve) => {
      // SECLEVEL=0 lets this client offer TLS 1.1 at all, so a refusal comes from HAProxy.
      const s = tls.connect({ host: '127.0.0.1', port: front.httpsPort, ca: cert.ca, ciphers: 'DEFAULT:@SECLEVEL=0', ...opts });
      s.on('secureConnect', () => { const v = s.getProtocol(); s.destroy(); resolve(v); });
      s.on('error', (err) => resolve(err));
    });
    const old = await handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
    assert.ok(old instanceof Error, `TLS 1.1 handshake succeeded: ${old}`);
    assert.match(`${old.code} ${old.message}`, /PROTOCOL_VERSION|protocol version|UNSUPPORTED_PROTOCOL/i);
    assert.equal(await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), 'TLSv1.2');
    assert.equal(await handshake({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }), 'TLSv1.3');
  }));

  test('HAProxy picks ChaCha20-Poly1305 over AES-GCM, whatever order the client offers them in', () => withLogs(async () => {
    const cipher = (opts) => new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: front.httpsPort, ca: cert.ca, ...opts });
      s.on('secureConnect', () => { const c = s.getCipher().name; s.destroy(); resolve(c); });
      s.on('error', reject);
    });
    // Node offers AES-GCM before ChaCha20 in both versions, as most clients with AES
    // instructions do.
    assert.equal(await cipher({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }), 'TLS_CHACHA20_POLY1305_SHA256');
    assert.match(await cipher({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), /^ECDHE-(ECDSA|RSA)-CHACHA20-POLY1305$/);
  }));

  test('X-Forwarded-For: the server sees each real client address, never a forged one', { timeout: 60000 }, () => withLogs(async () => {
    // The server rate limits failed joins per client address (JOIN_LIMIT_PER_ADDRESS = 10 a
    // minute). An attacker at .21 forging X-Forwarded-For: 127.0.0.22 exhausts only its own
    // budget; the client really at .22 is unaffected.
    const sessionId = 'haproxy-xff';
    const owner = track(member({ url: front.url, sessionId, name: 'owner', ca: cert.ca, localAddress: '127.0.0.20' }));
    await joined(owner);
    const { io } = await import('socket.io-client');
    const attempt = (localAddress, extraHeaders) => new Promise((resolve, reject) => {
      const socket = io(front.url, {
        query: { route: routeKey(sessionId) }, transports: ['websocket'], ca: cert.ca, localAddress, extraHeaders, reconnection: false,
      });
      const codes = [];
      socket.on('connect_error', reject);
      socket.on('connect', async () => {
        for (let i = 0; i < 12; i += 1) {
          const ack = await socket.emitWithAck('join', { sessionId, clientName: 'guess', fingerprint: fingerprint(sessionId, `wrong ${i}`) });
          codes.push(ack.code);
          if (ack.code === 'rate_limited' || localAddress === '127.0.0.22') break;
        }
        socket.close();
        resolve(codes);
      });
    });
    const attacker = await attempt('127.0.0.21', { 'X-Forwarded-For': '127.0.0.22' });
    assert.equal(attacker.at(-1), 'rate_limited', `attacker codes: ${attacker}`);
    assert.ok(attacker.slice(0, -1).every((c) => c === 'invalid_passphrase'), `attacker codes: ${attacker}`);
    const victim = await attempt('127.0.0.22', { 'X-Forwarded-For': '127.0.0.21' });
    assert.deepEqual(victim, ['invalid_passphrase']);
  }));

  test('per-address limit: a request flood gets 429, other addresses are still served', { timeout: 60000 }, () => withLogs(async () => {
    const agent = new https.Agent({ ca: cert.ca, localAddress: '127.0.0.31', keepAlive: true, maxSockets: 8 });
    let ok = 0;
    let limited = 0;
    let sent = 0;
    const flooder = async () => {
      while (limited === 0 && sent < 2000) {
        sent += 1;
        const res = await request(`${front.url}/health`, { agent });
        if (res.status === 200) ok += 1; else if (res.status === 429) limited += 1;
        else throw new Error(`unexpected status ${res.status}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, flooder));
    agent.destroy();
    assert.ok(limited > 0, `no 429 after ${sent} requests`);
    // The config allows 600 requests per 10 s; the flood ran well inside 10 s.
    assert.ok(ok >= 550 && ok <= 610, `${ok} requests passed before the limit`);
    const other = await request(`${front.url}/health`, { ca: cert.ca, localAddress: '127.0.0.32' });
    assert.equal(other.status, 200);
    const again = await request(`${front.url}/health`, { ca: cert.ca, localAddress: '127.0.0.31' });
    assert.equal(again.status, 429);
  }));

  test('per-address limit: more than 64 open connections from one address are refused', { timeout: 60000 }, () => withLogs(async () => {
    const sockets = [];
    const settled = new Set(); // connected or closed, whichever came first
    let closed = 0;
    for (let i = 0; i < 100; i += 1) {
      const s = net.connect({ host: '127.0.0.1', port: front.httpsPort, localAddress: '127.0.0.33' });
      s.on('connect', () => settled.add(s));
      // A refused connection may surface as a reset before node reports it connected.
      s.on('close', () => { closed += 1; settled.add(s); });
      s.on('error', () => {});
      sockets.push(s);
    }
    try {
      // HAProxy accepts, counts, and closes at once every connection past the 64th.
      await waitFor('every attempt to be answered, and those past the limit closed', () => settled.size === 100 && closed >= 36);
      assert.ok(closed <= 40, `${closed} of 100 closed: the limit is 64 open`);
      const other = await request(`${front.url}/health`, { ca: cert.ca, localAddress: '127.0.0.34' });
      assert.equal(other.status, 200);
    } finally {
      for (const s of sockets) s.destroy();
    }
  }));
});

describe('tunnel timeout (client/server timeouts 1s, tunnel 5s)', () => {
  const short = { client: '1s', server: '1s', tunnel: '5s' };
  let tunnelFront;
  before(async () => { tunnelFront = await haproxyFor([server.port], short, 'haproxy-tunnel'); });

  test('an idle WebSocket outlives the client/server timeouts and is closed by the tunnel timeout', { timeout: 60000 }, () => withLogs(async () => {
    // The server pings every 25 s (PING_INTERVAL), so during these waits nothing moves on
    // the WebSocket: each wait below is the idle period under test, not a synchronisation.
    const sessionId = 'haproxy-tunnel';
    const [a, b] = twoThroughFront(sessionId, ['127.0.0.41', '127.0.0.42'], { url: tunnelFront.url, transports: ['websocket'] });
    await pairJoined(a, b);
    await idle(3000); // 3x the client and server timeouts
    assert.equal(a.disconnects + b.disconnects, 0, 'a WebSocket was closed during 3 s idle');
    await relay(a, [b]);
    const quietSince = Date.now();
    await waitFor('HAProxy to close the idle tunnel', () => a.disconnects > 0 && b.disconnects > 0, { timeout: 15000 });
    const quiet = Date.now() - quietSince;
    assert.ok(quiet >= 4500, `closed after ${quiet} ms idle, before the 5 s tunnel timeout`);
  }));
});
