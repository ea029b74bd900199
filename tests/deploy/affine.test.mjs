// Issue 6: three server processes behind the real haproxy/haproxy.cfg with three `server`
// lines (balance url_param route, consistent hashing). Members of 50 sessions, joined
// through HAProxy, all see each other; sessions spread over all three processes; killing
// one moves only its sessions' members, who share again after reconnecting, while the
// others are untouched.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  deriveHaproxyConfig, freePort, makeCert, member, membersMetric, relay, REPO, request, routeKey,
  serverStates, startHaproxy, startServer, tempDir, waitFor, waitHealthy,
} from './lib.mjs';

const SESSIONS = 50;
const PER_SESSION = 3;
const PROCESSES = 3;

const dir = tempDir();
const cert = makeCert(dir);
const adminSocket = `${dir}/admin.sock`;
let servers = [];
let haproxy;
let url;
const sessions = []; // [{ sessionId, members: [...] }]

/** A distinct loopback address per member: one device, one address, as on a LAN. */
const addressOf = (i) => `127.0.${10 + Math.floor(i / 200)}.${1 + (i % 200)}`;

async function membersPerProcess() {
  const counts = [];
  for (const s of servers) {
    counts.push(s.proc.running ? membersMetric((await request(`${s.base}/metrics`)).body) : null);
  }
  return counts;
}

/** Every member of every session is joined and knows exactly the others' clientIds. */
function sessionsWhole(list) {
  return list.every(({ members }) => members.every((m) => {
    if (!m.socket.connected || !m.clientId) return false;
    const others = members.filter((o) => o !== m).map((o) => o.clientId);
    return m.peers.size === others.length && others.every((id) => m.peers.has(id));
  }));
}

function describeSplit(list) {
  const bad = list.filter((s) => !sessionsWhole([s])).slice(0, 3);
  return bad.map((s) => `${s.sessionId}: ${s.members.map((m) => `${m.name}=${m.clientId} connected=${m.socket.connected} peers=[${[...m.peers]}]`).join('; ')}`).join('\n');
}

async function withLogs(fn) {
  try {
    await fn();
  } catch (err) {
    err.message += `\n${[...servers.map((s) => s.proc), haproxy].filter(Boolean).map((p) => p.output().slice(-3000)).join('\n')}`;
    throw err;
  }
}

before(async () => {
  servers = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => startServer({
    name: `sharethings-${i + 1}`, env: { TRUSTED_PROXIES: '127.0.0.1', LOG_LEVEL: 'warn' },
  })));
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const cfg = deriveHaproxyConfig({
    httpPort, httpsPort, pem: cert.pem, caFile: cert.caFile, adminSocket, serverPorts: servers.map((s) => s.port),
  });
  haproxy = await startHaproxy(cfg, { dir, httpPort, httpsPort, name: 'haproxy-affine' });
  url = `https://127.0.0.1:${httpsPort}`;
  await waitHealthy(`${url}/health`, haproxy, { ca: cert.ca });
  await waitFor('HAProxy to see all three servers up', async () => {
    const states = await serverStates(adminSocket);
    return Object.values(states).filter((s) => s === 'UP').length === PROCESSES;
  });
});

after(async () => {
  for (const s of sessions) for (const m of s.members) m.close();
  await haproxy?.stop();
  for (const s of servers) await s.proc.stop();
});

test('the members\' routing key is the one of tests/vectors/route-key.json', () => {
  const vector = JSON.parse(fs.readFileSync(path.join(REPO, 'tests/vectors/route-key.json'), 'utf8'));
  assert.equal(routeKey(vector.sessionId), vector.route);
});

test(`${SESSIONS} sessions x ${PER_SESSION} members through HAProxy: nobody split, spread over ${PROCESSES} processes`, { timeout: 120000 }, () => withLogs(async () => {
  let n = 0;
  for (let s = 0; s < SESSIONS; s += 1) {
    const sessionId = `affine-${s}-${Math.random().toString(36).slice(2, 8)}`;
    const members = [];
    for (let k = 0; k < PER_SESSION; k += 1) {
      members.push(member({ url, sessionId, name: `m${s}.${k}`, ca: cert.ca, localAddress: addressOf(n) }));
      n += 1;
    }
    sessions.push({ sessionId, members });
  }
  const all = sessions.flatMap((s) => s.members);
  await waitFor('every member to join', () => {
    const refused = all.find((m) => m.joinError);
    if (refused) throw new Error(`${refused.name}: ${JSON.stringify(refused.joinError)}`);
    return all.every((m) => m.joins >= 1);
  }, { timeout: 60000 });
  await waitFor('every session to be whole', () => sessionsWhole(sessions), { timeout: 30000 })
    .catch((err) => { err.message += `\n${describeSplit(sessions)}`; throw err; });
  // The upgrade only succeeds on the process that holds the polling session, so every
  // member on WebSocket shows that the polling requests and the upgrade went to one process.
  await waitFor('every member to upgrade to WebSocket', () => all.every((m) => m.socket.io.engine.transport.name === 'websocket'));

  const counts = await membersPerProcess();
  console.log(`members per process: ${counts.join(', ')}`);
  assert.equal(counts.reduce((a, b) => a + b, 0), SESSIONS * PER_SESSION);
  for (const c of counts) assert.ok(c > 0, `a process has no members: ${counts}`);
  for (const c of counts) assert.equal(c % PER_SESSION, 0, `members per process ${counts}: a session is split`);

  await Promise.all(sessions.map(({ members: [first, ...rest] }) => relay(first, rest, 30000)));
}));

test('killing one process moves only its sessions; their members share again; the others are untouched', { timeout: 180000 }, () => withLogs(async () => {
  const all = sessions.flatMap((s) => s.members);
  assert.ok(all.length === SESSIONS * PER_SESSION && sessionsWhole(sessions), 'previous test left whole sessions');
  const before = await membersPerProcess();
  const victim = before.indexOf(Math.max(...before));
  const moved = before[victim];
  servers[victim].proc.child.kill('SIGKILL');
  await servers[victim].proc.exited;

  await waitFor(`the ${moved} members of the killed process to notice`, () => all.filter((m) => m.disconnects > 0).length >= moved, { timeout: 30000 });
  const affected = sessions.filter((s) => s.members.some((m) => m.disconnects > 0));
  const untouched = sessions.filter((s) => !affected.includes(s));
  for (const s of affected) {
    assert.ok(s.members.every((m) => m.disconnects > 0), `${s.sessionId}: only part of the session lost its process`);
  }
  assert.equal(affected.length * PER_SESSION, moved, 'the members that lost their process are those it had');
  assert.ok(untouched.length > 0);

  await waitFor('the affected members to rejoin', () => affected.every((s) => s.members.every((m) => m.joins >= 2)), { timeout: 90000 });
  await waitFor('the affected sessions to be whole again', () => sessionsWhole(affected), { timeout: 30000 })
    .catch((err) => { err.message += `\n${describeSplit(affected)}`; throw err; });

  const afterKill = await membersPerProcess();
  console.log(`members per process after killing #${victim + 1}: ${afterKill.map((c) => c ?? 'killed').join(', ')}`);
  assert.equal(afterKill.filter((c) => c !== null).reduce((a, b) => a + b, 0), SESSIONS * PER_SESSION);
  for (const [i, c] of afterKill.entries()) {
    if (i !== victim) assert.ok(c >= before[i], `process ${i + 1} lost members: ${before} -> ${afterKill}`);
  }
  for (const s of untouched) {
    for (const m of s.members) {
      assert.equal(m.disconnects, 0, `${m.name} of an untouched session was disconnected`);
      assert.equal(m.joins, 1, `${m.name} of an untouched session rejoined`);
    }
  }
  await Promise.all(sessions.map(({ members: [first, ...rest] }) => relay(first, rest, 30000)));
}));
