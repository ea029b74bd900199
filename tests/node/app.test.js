// The real socket.io-client (npm) against the release `sharethings` server: the ShareThings
// events of docs/protocol.md, the first release's client shape, malformed payloads, and
// backpressure with a receiver that stops reading.
'use strict';

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const { io } = require('socket.io-client');
const { startShareThings, waitFor, once, Inbox, ask, httpGet, rssKiB } = require('./lib/harness');

const servers = [];
const sockets = [];

after(async () => {
  for (const s of sockets) s.close();
  for (const s of servers) await s.kill();
});

async function server(flags = []) {
  const s = await startShareThings(flags);
  servers.push(s);
  return s;
}

/** A connected Socket.IO client (no reconnection unless asked), closed when the file ends. */
async function connect(srv, opts = {}) {
  const socket = io(srv.url, { transports: ['websocket'], reconnection: false, forceNew: true, ...opts });
  sockets.push(socket);
  const inbox = new Inbox(socket);
  if (!socket.connected) await once(socket, 'connect');
  return { socket, inbox };
}

/** A fingerprint shaped like format v2's, derived from a passphrase (the server finds it opaque). */
function fingerprint(passphrase) {
  return { v: 2, mac: crypto.createHash('sha256').update(passphrase).digest('base64') };
}

/** Connects and joins; resolves the client with its join ack. Fails the test if the join fails. */
async function member(srv, sessionId, clientName, passphrase = 'correct horse', opts = {}) {
  const c = await connect(srv, opts);
  const ack = await ask(c.socket, 'join', { sessionId, clientName, fingerprint: fingerprint(passphrase) });
  assert.equal(ack.success, true, `join of ${clientName} failed: ${JSON.stringify(ack)}`);
  return { ...c, ack, id: ack.clientId, name: clientName };
}

function ids(clients) {
  return clients.map((c) => c.id).sort();
}

let sessionCounter = 0;
function newSession(label) {
  sessionCounter += 1;
  return `${label}-${process.pid}-${sessionCounter}`;
}

let defaultServer;
async function shared() {
  if (!defaultServer) defaultServer = await server();
  return defaultServer;
}

test('three members: acks list members with created; relays reach the others with from; to reaches only its target; leave and disconnect announce client-left', async () => {
  const srv = await shared();
  const S = newSession('three');
  const a = await member(srv, S, 'Alice');
  assert.equal(a.ack.created, true, 'first join creates the session');
  assert.equal(typeof a.ack.token, 'string');
  assert.equal(a.id, a.socket.id, 'clientId is the Socket.IO socket id');
  assert.deepEqual(a.ack.clients, [{ id: a.id, name: 'Alice' }]);

  const b = await member(srv, S, 'Bob');
  assert.equal(b.ack.created, false);
  assert.equal(b.id, b.socket.id);
  assert.deepEqual(ids(b.ack.clients), [a.id, b.id].sort());

  const c = await member(srv, S, '  Carol  ');
  assert.equal(c.ack.created, false);
  assert.deepEqual(ids(c.ack.clients), [a.id, b.id, c.id].sort());
  assert.equal(c.ack.clients.find((m) => m.id === c.id).name, 'Carol', 'the name is trimmed');

  // client-joined reaches the members already there, never the joiner itself.
  const joinedB = await a.inbox.wait('client-joined', (e) => e.clientId === b.id);
  assert.deepEqual(joinedB, { sessionId: S, clientId: b.id, clientName: 'Bob' });
  await a.inbox.wait('client-joined', (e) => e.clientId === c.id);
  await b.inbox.wait('client-joined', (e) => e.clientId === c.id);
  assert.equal(c.inbox.all('client-joined').length, 0);
  assert.equal(b.inbox.all('client-joined').length, 1, 'Bob sees only Carol join');

  // A relay reaches the others only, stamped with from (a forged from is overridden).
  const item = { sessionId: S, content: { contentId: 'c1', kind: 'text' }, data: [1, 2, 3], from: 'forged' };
  assert.deepEqual(await ask(a.socket, 'content', item), { success: true });
  const atB = await b.inbox.wait('content', (e) => e.content.contentId === 'c1');
  const atC = await c.inbox.wait('content', (e) => e.content.contentId === 'c1');
  assert.deepEqual(atB, { ...item, from: a.id });
  assert.deepEqual(atC, { ...item, from: a.id });

  // `to` reaches only its target, and the relayed payload keeps `to`.
  const direct = { sessionId: S, content: { contentId: 'c2' }, to: c.id };
  assert.deepEqual(await ask(a.socket, 'content', direct), { success: true });
  assert.deepEqual(await c.inbox.wait('content', (e) => e.content.contentId === 'c2'), { ...direct, from: a.id });
  // Barrier: Bob then sends to everyone; whatever the server sent Alice and Bob earlier arrives first.
  assert.deepEqual(await ask(b.socket, 'content', { sessionId: S, content: { contentId: 'c3' } }), { success: true });
  await a.inbox.wait('content', (e) => e.content.contentId === 'c3');
  await c.inbox.wait('content', (e) => e.content.contentId === 'c3' && e.from === b.id);
  assert.deepEqual(a.inbox.all('content').map((e) => e.content.contentId), ['c3'], 'Alice never gets her own items');
  assert.equal(b.inbox.all('content').length, 1, 'Bob got c1 only, not the item sent to Carol, nor his own');
  // `to` naming nobody in the session: refused, nothing sent.
  const nobody = await ask(a.socket, 'content', { sessionId: S, content: { contentId: 'c4' }, to: 'not-a-member' });
  assert.equal(nobody.success, false);
  assert.equal(nobody.code, 'invalid_request');

  // Binary chunks stay binary; remove-content and clear-all-content are relayed as docs/protocol.md says.
  const bytes = crypto.randomBytes(3000);
  const chunk = { sessionId: S, chunk: { contentId: 'f1', chunkIndex: 0, totalChunks: 1, encryptedData: bytes, iv: [1, 2] } };
  assert.deepEqual(await ask(c.socket, 'chunk', chunk), { success: true });
  const gotChunk = await a.inbox.wait('chunk', (e) => e.chunk.contentId === 'f1');
  assert.ok(Buffer.isBuffer(gotChunk.chunk.encryptedData), 'encryptedData arrives as binary');
  assert.ok(gotChunk.chunk.encryptedData.equals(bytes));
  assert.equal(gotChunk.from, c.id);
  assert.deepEqual(await ask(a.socket, 'remove-content', { sessionId: S, contentId: 'c1' }), { success: true });
  assert.deepEqual(await b.inbox.wait('content-removed'), { sessionId: S, contentId: 'c1', from: a.id });
  assert.deepEqual(await ask(b.socket, 'clear-all-content', { sessionId: S }), { success: true });
  for (const m of [a, b, c]) {
    assert.deepEqual(await m.inbox.wait('all-content-cleared'), { sessionId: S, from: b.id }, `${m.name} (sender included)`);
  }
  assert.equal(a.inbox.all('content-removed').length, 0, 'remove-content skips the sender');

  // leave → client-left with the name, to the others; the leaver is out.
  assert.deepEqual(await ask(c.socket, 'leave', { sessionId: S }), { success: true });
  for (const m of [a, b]) {
    assert.deepEqual(await m.inbox.wait('client-left', (e) => e.clientId === c.id), { sessionId: S, clientId: c.id, clientName: 'Carol' });
  }
  const afterLeave = await ask(c.socket, 'content', { sessionId: S, content: { contentId: 'x' } });
  assert.equal(afterLeave.code, 'not_joined');

  // A clean disconnect → client-left at once.
  b.socket.disconnect();
  assert.deepEqual(await a.inbox.wait('client-left', (e) => e.clientId === b.id), { sessionId: S, clientId: b.id, clientName: 'Bob' });
  assert.equal(c.inbox.all('client-left').length, 0, 'Carol had left: she hears nothing more');
  a.socket.close();
  c.socket.close();
});

test('relays cross transports: binary from a polling member reaches a websocket member as binary, and back', async () => {
  const srv = await shared();
  const S = newSession('mixed');
  const polling = await member(srv, S, 'Poller', 'correct horse', { transports: ['polling'] });
  const ws = await member(srv, S, 'Socket');
  const upgrading = await member(srv, S, 'Default', 'correct horse', { transports: ['polling', 'websocket'] });
  assert.equal(polling.socket.io.engine.transport.name, 'polling');
  const up = crypto.randomBytes(70000);
  const down = crypto.randomBytes(50000);
  assert.deepEqual(await ask(polling.socket, 'chunk', { sessionId: S, chunk: { contentId: 'p', chunkIndex: 0, totalChunks: 1, encryptedData: up } }), { success: true });
  assert.deepEqual(await ask(ws.socket, 'content', { sessionId: S, content: { contentId: 'w' }, data: down }), { success: true });
  for (const receiver of [ws, upgrading]) {
    const got = await receiver.inbox.wait('chunk', (e) => e.chunk.contentId === 'p');
    assert.ok(Buffer.isBuffer(got.chunk.encryptedData) && got.chunk.encryptedData.equals(up), `${receiver.name} gets the polling member's bytes`);
    assert.equal(got.from, polling.id);
  }
  for (const receiver of [polling, upgrading]) {
    const got = await receiver.inbox.wait('content', (e) => e.content.contentId === 'w');
    assert.ok(Buffer.isBuffer(got.data) && got.data.equals(down), `${receiver.name} gets the websocket member's bytes`);
    assert.equal(got.from, ws.id);
  }
  for (const m of [polling, ws, upgrading]) m.socket.close();
});

test('wrong passphrase → invalid_passphrase; the 11th bad try → rate_limited with retryAfterMs; the right passphrase works after the window', async () => {
  const srv = await server(['--join-limit-window', '1000']);
  const S = newSession('limits');
  const owner = await member(srv, S, 'Owner', 'right');
  const guest = await connect(srv);
  const bad = { sessionId: S, clientName: 'Guest', fingerprint: fingerprint('wrong') };
  const started = Date.now();
  for (let i = 1; i <= 10; i++) {
    const ack = await ask(guest.socket, 'join', bad);
    assert.equal(ack.success, false);
    assert.equal(ack.code, 'invalid_passphrase', `bad try ${i}`);
    assert.equal(typeof ack.error, 'string');
  }
  const eleventh = await ask(guest.socket, 'join', bad);
  assert.equal(eleventh.success, false);
  assert.equal(eleventh.code, 'rate_limited');
  assert.ok(Number.isInteger(eleventh.retryAfterMs) && eleventh.retryAfterMs > 0 && eleventh.retryAfterMs <= 1000,
    `retryAfterMs within the 1000 ms window: ${eleventh.retryAfterMs}`);
  // Inside the window even the right passphrase is refused for this address.
  const good = { sessionId: S, clientName: 'Guest', fingerprint: fingerprint('right') };
  const early = await ask(guest.socket, 'join', good);
  assert.equal(early.code, 'rate_limited');
  // Without an ack the refusal is an `error` event.
  guest.socket.emit('join', bad);
  const event = await guest.inbox.wait('error');
  assert.equal(event.code, 'rate_limited');
  assert.ok(event.retryAfterMs > 0);
  // Members already in the session are not affected.
  assert.deepEqual(await ask(owner.socket, 'content', { sessionId: S, content: 'still works' }), { success: true });
  // After the window the right passphrase gets in (refusals while blocked are not failures).
  const joined = await waitFor(async () => {
    const ack = await ask(guest.socket, 'join', good);
    return ack.success ? ack : null;
  }, { timeout: 5000, interval: 50, what: 'the rate-limit window to end' });
  assert.ok(Date.now() - started >= 900, 'not before the window ends');
  assert.deepEqual(ids(joined.clients), [owner.id, guest.socket.id].sort());
});

test('a dropped connection rejoins with its token, keeps its clientId, and nobody sees a new member', async () => {
  const srv = await shared();
  const S = newSession('drop');
  const a = await member(srv, S, 'Anchor');
  const b = await member(srv, S, 'Bouncer', 'correct horse', { reconnectionDelay: 50, reconnectionDelayMax: 100, reconnection: true });
  await a.inbox.wait('client-joined', (e) => e.clientId === b.id);
  const eventsBefore = a.inbox.events.length;

  // Kill the TCP connection under the client: no Socket.IO/Engine.IO/WebSocket goodbye.
  const reconnected = once(b.socket.io, 'reconnect', 10000);
  const [reason] = await new Promise((resolve) => {
    b.socket.once('disconnect', (...args) => resolve(args));
    b.socket.io.engine.transport.ws._socket.resetAndDestroy();
  });
  assert.equal(reason, 'transport close');
  await reconnected;
  if (!b.socket.connected) await once(b.socket, 'connect');
  assert.notEqual(b.socket.id, b.id, 'a new Socket.IO connection');

  const rejoin = await ask(b.socket, 'join', { sessionId: S, clientName: 'Bouncer', token: b.ack.token });
  assert.equal(rejoin.success, true, JSON.stringify(rejoin));
  assert.equal(rejoin.clientId, b.id, 'the same clientId as before the drop');
  assert.equal(rejoin.created, false);
  assert.deepEqual(ids(rejoin.clients), [a.id, b.id].sort(), 'still two members');
  assert.equal(rejoin.token, b.ack.token, 'the same token: only the fingerprint renews it');

  // Traffic flows both ways on the new connection, stamped with the old clientId.
  assert.deepEqual(await ask(b.socket, 'content', { sessionId: S, content: 'back' }), { success: true });
  assert.equal((await a.inbox.wait('content', (e) => e.content === 'back')).from, b.id);
  assert.deepEqual(await ask(a.socket, 'content', { sessionId: S, content: 'welcome', to: b.id }), { success: true });
  assert.equal((await b.inbox.wait('content', (e) => e.content === 'welcome')).from, a.id);
  const seen = a.inbox.events.slice(eventsBefore).map((e) => e.event);
  assert.deepEqual(seen, ['content'], 'Anchor saw no client-left and no client-joined');
});

test('a lost member stays for the rejoin grace, then client-left; its token brings it back announced; a second connection replaces the first', async () => {
  const srv = await server(['--rejoin-grace', '300']);
  const S = newSession('grace');
  const a = await member(srv, S, 'Stayer');
  const b = await member(srv, S, 'Leaver');
  await a.inbox.wait('client-joined', (e) => e.clientId === b.id);

  const lostAt = Date.now();
  b.socket.io.engine.transport.ws._socket.resetAndDestroy();
  const left = await a.inbox.wait('client-left', (e) => e.clientId === b.id, 5000);
  assert.deepEqual(left, { sessionId: S, clientId: b.id, clientName: 'Leaver' });
  const after = a.inbox.arrival('client-left', (e) => e.clientId === b.id) - lostAt;
  assert.ok(after >= 280, `client-left only after the 300 ms grace (${after} ms)`);

  // After the grace the token still restores the clientId, and the others are told again.
  const back = await connect(srv);
  const rejoin = await ask(back.socket, 'join', { sessionId: S, clientName: 'Leaver', token: b.ack.token });
  assert.equal(rejoin.success, true, JSON.stringify(rejoin));
  assert.equal(rejoin.clientId, b.id);
  const announced = () => a.inbox.all('client-joined').filter((e) => e.clientId === b.id);
  await waitFor(() => announced().length === 2, { what: 'client-joined again for the returning member' });
  assert.deepEqual(announced()[1], { sessionId: S, clientId: b.id, clientName: 'Leaver' });

  // The same token from a second connection while the first is open: the old one is replaced.
  const second = await connect(srv);
  const takeover = await ask(second.socket, 'join', { sessionId: S, clientName: 'Leaver', token: rejoin.token });
  assert.equal(takeover.success, true, JSON.stringify(takeover));
  assert.equal(takeover.clientId, b.id);
  const replaced = await back.inbox.wait('error', (e) => e.code === 'replaced');
  assert.equal(typeof replaced.message, 'string');
  assert.ok(back.socket.connected, 'the replaced connection is told, not closed');
  const stale = await ask(back.socket, 'content', { sessionId: S, content: 'from the old connection' });
  assert.equal(stale.code, 'not_joined', 'the replaced connection is out of the session');
  assert.deepEqual(await ask(a.socket, 'content', { sessionId: S, content: 'to the new one', to: b.id }), { success: true });
  assert.equal((await second.inbox.wait('content', (e) => e.content === 'to the new one')).from, a.id);
  assert.equal(a.inbox.all('client-joined').length, 2, 'the takeover is not announced');
  assert.equal(a.inbox.all('client-left').length, 1, 'the takeover is not a leave');
});

test('connections past --max-connections are refused cleanly; the server stays healthy and takes new ones when a slot frees', async () => {
  const srv = await server(['--max-connections', '4']);
  const S = newSession('caps');
  const members = [];
  for (let i = 0; i < 4; i++) members.push(await member(srv, S, `c${i}`));
  const extra = io(srv.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(extra);
  const [err] = await once(extra, 'connect_error');
  assert.ok(err instanceof Error, 'the fifth connection is refused');
  // The four keep working.
  assert.deepEqual(await ask(members[0].socket, 'content', { sessionId: S, content: 'still fine' }), { success: true });
  await members[3].inbox.wait('content', (e) => e.content === 'still fine');
  members[3].socket.close();
  await members[0].inbox.wait('client-left', (e) => e.clientId === members[3].id);
  const health = await waitFor(async () => {
    const r = await httpGet(srv.port, '/health').catch(() => null);
    return r && r.status === 200 ? r : null;
  }, { timeout: 5000, interval: 50, what: 'GET /health once a slot is free' });
  assert.equal(health.status, 200);
  const late = await member(srv, S, 'late');
  assert.equal(late.ack.clients.length, 4);
  for (const m of [...members, late]) m.socket.close();
});

test('session expiry (--session-timeout 500): the name is refused to another passphrase before, and free after', async () => {
  const srv = await server(['--session-timeout', '500']);
  const S = newSession('expiry');
  const a = await member(srv, S, 'First', 'one passphrase');
  const left = Date.now();
  assert.deepEqual(await ask(a.socket, 'leave', { sessionId: S }), { success: true });
  const other = await connect(srv);
  const before = await ask(other.socket, 'join', { sessionId: S, clientName: 'Second', fingerprint: fingerprint('another') });
  assert.equal(before.code, 'invalid_passphrase', 'the empty session is kept with its passphrase');
  const sessions = async () => Number(/^sharethings_sessions (\d+)$/m.exec((await httpGet(srv.port, '/metrics')).body)?.[1]);
  await waitFor(async () => (await sessions()) === 0, { timeout: 5000, interval: 25, what: 'the session to expire' });
  assert.ok(Date.now() - left >= 450, `not expired early (${Date.now() - left} ms)`);
  const afterExpiry = await ask(other.socket, 'join', { sessionId: S, clientName: 'Second', fingerprint: fingerprint('another') });
  assert.equal(afterExpiry.success, true, JSON.stringify(afterExpiry));
  assert.equal(afterExpiry.created, true, 'a new session under the old name');
  // Tokens die with their session.
  const stale = await ask(a.socket, 'join', { sessionId: S, clientName: 'First', token: a.ack.token });
  assert.equal(stale.code, 'invalid_request');
});

test('the 33rd member gets session_full; a freed place can be taken', async () => {
  const srv = await shared();
  const S = newSession('full');
  const members = [];
  for (let i = 0; i < 32; i++) members.push(await member(srv, S, `m${i}`));
  assert.equal(members[31].ack.clients.length, 32);
  const extra = await connect(srv);
  const request = { sessionId: S, clientName: 'm32', fingerprint: fingerprint('correct horse') };
  const full = await ask(extra.socket, 'join', request);
  assert.equal(full.success, false);
  assert.equal(full.code, 'session_full');
  assert.equal(typeof full.error, 'string');
  assert.ok(extra.socket.connected, 'refused, not disconnected');
  members[0].socket.close();
  await members[1].inbox.wait('client-left', (e) => e.clientId === members[0].id);
  const now = await ask(extra.socket, 'join', request);
  assert.equal(now.success, true, JSON.stringify(now));
  assert.equal(now.clients.length, 32);
  for (const m of members) m.socket.close();
  extra.socket.close();
});

test('two clients shaped like the first release exchange a text item and a 1 MiB file in 64 KiB JSON-array chunks', async () => {
  const srv = await shared();
  const S = newSession('legacy');
  // The first release's fingerprint: AES-GCM of a known string, bytes as JSON number arrays.
  const legacyFingerprint = { iv: [...crypto.randomBytes(12)], data: [...crypto.randomBytes(48)] };
  // Its default transports: polling first, then the upgrade.
  const connectLegacy = async () => {
    const socket = io(srv.url, { reconnection: false, forceNew: true });
    sockets.push(socket);
    const inbox = new Inbox(socket);
    await once(socket, 'connect');
    return { socket, inbox };
  };
  const legacyJoin = ({ socket }, clientName) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no join ack')), 5000);
    socket.emit('join', { sessionId: S, clientName, fingerprint: legacyFingerprint }, (response) => {
      clearTimeout(timer);
      resolve(response);
    });
  });
  const sender = await connectLegacy();
  const receiver = await connectLegacy();
  const first = await legacyJoin(sender, 'Laptop');
  assert.equal(first.success, true, JSON.stringify(first));
  assert.equal(first.clientId, sender.socket.id);
  const second = await legacyJoin(receiver, 'Phone');
  assert.equal(second.success, true);
  // The first release's client joins twice; the repeat keeps the clientId and announces nothing.
  const repeat = await legacyJoin(receiver, 'Phone');
  assert.equal(repeat.success, true);
  assert.equal(repeat.clientId, second.clientId);
  await sender.inbox.wait('client-joined', (e) => e.clientName === 'Phone');

  const now = Date.now();
  // A text item: metadata and encrypted bytes, no ack.
  const text = {
    sessionId: S,
    content: {
      contentId: 'legacy-text', senderId: sender.socket.id, senderName: 'Laptop', contentType: 'text',
      timestamp: now, isChunked: false, totalSize: 23,
      metadata: { mimeType: 'text/plain', size: 23, iv: [...crypto.randomBytes(12)] },
    },
    data: [...crypto.randomBytes(39)],
  };
  sender.socket.emit('content', text);
  const gotText = await receiver.inbox.wait('content', (e) => e.content.contentId === 'legacy-text');
  assert.deepEqual(gotText, { ...text, from: sender.socket.id });

  // A 1 MiB file: its content record, then 16 chunks of 64 KiB as number arrays, no acks.
  const file = crypto.randomBytes(1024 * 1024);
  const chunkSize = 64 * 1024;
  const totalChunks = file.length / chunkSize;
  sender.socket.emit('content', {
    sessionId: S,
    content: {
      contentId: 'legacy-file', senderId: sender.socket.id, senderName: 'Laptop', contentType: 'file',
      timestamp: now, isChunked: true, totalChunks, totalSize: file.length,
      metadata: { fileName: 'blob.bin', mimeType: 'application/octet-stream', size: file.length },
    },
  });
  for (let i = 0; i < totalChunks; i++) {
    sender.socket.emit('chunk', {
      sessionId: S,
      chunk: {
        contentId: 'legacy-file', chunkIndex: i, totalChunks,
        encryptedData: [...file.subarray(i * chunkSize, (i + 1) * chunkSize)],
        iv: [...crypto.randomBytes(12)],
      },
    });
  }
  await receiver.inbox.wait('content', (e) => e.content.contentId === 'legacy-file');
  await waitFor(() => receiver.inbox.all('chunk').length === totalChunks, { timeout: 15000, what: `${totalChunks} chunks` });
  const chunks = receiver.inbox.all('chunk');
  chunks.forEach((c, i) => {
    assert.equal(c.chunk.chunkIndex, i, 'in order');
    assert.equal(c.from, sender.socket.id);
    assert.ok(Array.isArray(c.chunk.encryptedData), 'number arrays stay number arrays');
  });
  const rebuilt = Buffer.concat(chunks.map((c) => Buffer.from(c.chunk.encryptedData)));
  assert.equal(rebuilt.length, file.length);
  assert.ok(rebuilt.equals(file), 'the file arrives byte-exact');
  assert.equal(sender.inbox.all('chunk').length, 0);
  assert.equal(sender.inbox.all('error').length + receiver.inbox.all('error').length, 0, 'no error events');
  sender.socket.close();
  receiver.socket.close();
});

test('malformed application payloads get typed errors, never a disconnect, and the server stays healthy', async () => {
  const srv = await server(['--max-payload', '20000000']);
  const { socket, inbox } = await connect(srv);
  let disconnected = null;
  socket.on('disconnect', (reason) => (disconnected = reason));
  const S = newSession('malformed');
  const fp = fingerprint('p');
  const expectCode = async (event, payload, code, why) => {
    const ack = await ask(socket, event, payload, 10000);
    assert.equal(ack.success, false, `${why}: ${JSON.stringify(ack)}`);
    assert.equal(ack.code, code, `${why}: ${JSON.stringify(ack)}`);
    assert.equal(typeof ack.error, 'string', why);
  };

  // Before joining: shape errors first, then membership.
  await expectCode('content', { sessionId: S, content: 'x' }, 'not_joined', 'content before join');
  await expectCode('chunk', { sessionId: S, chunk: { contentId: 'a', chunkIndex: 0, totalChunks: 1, encryptedData: [1] } }, 'not_joined', 'chunk before join');
  await expectCode('leave', { sessionId: S }, 'not_joined', 'leave before join');
  await expectCode('remove-content', { sessionId: S, contentId: 'a' }, 'not_joined', 'remove-content before join');
  await expectCode('clear-all-content', { sessionId: S }, 'not_joined', 'clear-all-content before join');
  await expectCode('content', { content: 'x' }, 'invalid_request', 'content without sessionId, before join');
  await expectCode('join', {}, 'invalid_request', 'join with no fields');
  await expectCode('join', 'just a string', 'invalid_request', 'join with a string payload');
  await expectCode('join', [S, 'name'], 'invalid_request', 'join with an array payload');
  await expectCode('join', { sessionId: 5, clientName: 'n', fingerprint: fp }, 'invalid_request', 'numeric sessionId');
  await expectCode('join', { sessionId: S, clientName: ['n'], fingerprint: fp }, 'invalid_request', 'array clientName');
  await expectCode('join', { sessionId: S, clientName: '   ', fingerprint: fp }, 'invalid_request', 'blank clientName');
  await expectCode('join', { sessionId: S, clientName: 'n'.repeat(33), fingerprint: fp }, 'invalid_request', '33-character clientName');
  await expectCode('join', { sessionId: '', clientName: 'n', fingerprint: fp }, 'invalid_request', 'empty sessionId');
  await expectCode('join', { sessionId: 's'.repeat(65), clientName: 'n', fingerprint: fp }, 'invalid_request', '65-character sessionId');
  await expectCode('join', { sessionId: 'bell\u0007', clientName: 'n', fingerprint: fp }, 'invalid_request', 'control character');
  await expectCode('join', { sessionId: S, clientName: 'n' }, 'invalid_request', 'no fingerprint');
  await expectCode('join', { sessionId: S, clientName: 'n', fingerprint: { big: 'x'.repeat(2000) } }, 'invalid_request', 'fingerprint over 1 KiB');
  await expectCode('join', { sessionId: S, clientName: 'n', fingerprint: fp, token: 7 }, 'invalid_request', 'numeric token');
  await expectCode('join', { sessionId: 'x'.repeat(10 * 1024 * 1024), clientName: 'n', fingerprint: fp }, 'invalid_request', '10 MiB sessionId');
  await expectCode('no-such-event', { sessionId: S }, 'invalid_request', 'unknown event with an ack');
  const unknown = await ask(socket, 'no-such-event', 1);
  assert.equal(unknown.error, 'unknown event');

  // After joining: wrong types in relayed payloads.
  const joined = await ask(socket, 'join', { sessionId: S, clientName: 'n', fingerprint: fp });
  assert.equal(joined.success, true);
  await expectCode('content', { sessionId: S }, 'invalid_request', 'content without content');
  await expectCode('content', { sessionId: S, content: 'x', to: 5 }, 'invalid_request', 'numeric to');
  await expectCode('content', { sessionId: S, content: 'x', to: 'ghost' }, 'invalid_request', 'to naming nobody');
  await expectCode('content', { sessionId: `${S}-other`, content: 'x' }, 'not_joined', 'content for another session');
  await expectCode('chunk', { sessionId: S, chunk: 'not an object' }, 'invalid_request', 'chunk as a string');
  await expectCode('chunk', { sessionId: S, chunk: { contentId: 'a', chunkIndex: 'zero', totalChunks: 1, encryptedData: [1] } }, 'invalid_request', 'string chunkIndex');
  await expectCode('chunk', { sessionId: S, chunk: { contentId: 'a', chunkIndex: 0, totalChunks: 1 } }, 'invalid_request', 'chunk without data');
  await expectCode('remove-content', { sessionId: S }, 'invalid_request', 'remove-content without contentId');

  // Without an ack, the same mistakes come back as `error` events; unknown events are ignored.
  socket.emit('no-such-event', { sessionId: S });
  socket.emit('content', { sessionId: S });
  socket.emit('join', { sessionId: 5 });
  socket.emit('chunk', null);
  await waitFor(() => inbox.all('error').length >= 3, { what: 'three error events' });
  assert.deepEqual(await ask(socket, 'content', { sessionId: S, content: 'barrier' }), { success: true });
  const errors = inbox.all('error');
  assert.equal(errors.length, 3, `one error per known event, none for the unknown one: ${JSON.stringify(errors)}`);
  for (const e of errors) {
    assert.equal(e.code, 'invalid_request');
    assert.equal(typeof e.message, 'string');
  }

  assert.equal(disconnected, null, 'never disconnected');
  assert.ok(socket.connected);
  const health = await httpGet(srv.port, '/health');
  assert.equal(health.status, 200);
  assert.equal(typeof JSON.parse(health.body), 'object');
  // A fresh client still gets served.
  const fresh = await member(srv, newSession('after-malformed'), 'fresh');
  assert.equal(fresh.ack.created, true);
  socket.close();
  fresh.socket.close();
});

test('backpressure: a stuck receiver does not grow the server, the good one gets every chunk in order, the stuck one is dropped after the stall timeout', async (t) => {
  const srv = await server(['--stall-timeout', '3000', '--rejoin-grace', '500']);
  const S = newSession('backpressure');
  const pass = 'pressure';
  const sender = await member(srv, S, 'Sender', pass);
  const good = await member(srv, S, 'Good', pass);

  // The stuck receiver is a socket.io-client in its own process, stopped with SIGSTOP once joined.
  const stuckProc = spawn(process.execPath, [path.join(__dirname, 'lib', 'stuck-member.js'), srv.url, S, JSON.stringify(fingerprint(pass))], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => stuckProc.kill('SIGKILL'));
  const [line] = await once(stuckProc.stdout.setEncoding('utf8'), 'data', 10000);
  const stuckAck = JSON.parse(line);
  assert.equal(stuckAck.success, true, line);
  const stuckId = stuckAck.clientId;
  await good.inbox.wait('client-joined', (e) => e.clientId === stuckId);
  stuckProc.kill('SIGSTOP');
  const stoppedAt = Date.now();

  // Sample the server's RSS all along.
  const idleRss = rssKiB(srv.pid);
  let peakRss = idleRss;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, rssKiB(srv.pid));
    } catch {
      // the server is gone; the test fails elsewhere
    }
  }, 20);
  t.after(() => clearInterval(sampler));

  const CHUNK = 256 * 1024;
  const TOTAL = 200 * 1024 * 1024;
  const COUNT = TOTAL / CHUNK;
  const WINDOW = 8;
  // Chunk i is `base` with i stamped into its first and last 4 bytes: cheap to make, and the
  // receiver checks every byte of it.
  const base = crypto.randomBytes(CHUNK);
  const makeChunk = (i) => {
    const b = Buffer.allocUnsafe(CHUNK);
    base.copy(b);
    b.writeUInt32BE(i, 0);
    b.writeUInt32BE(i ^ 0x5a5a5a5a, CHUNK - 4);
    return b;
  };

  // The bulk is checked as it arrives; the inboxes keep only the announcements.
  good.inbox.skip('chunk');
  let received = 0;
  let bad = null;
  let lastGoodAt = 0;
  good.socket.on('chunk', (msg) => {
    const i = received;
    const data = msg.chunk.encryptedData;
    if (bad) return;
    if (msg.chunk.chunkIndex !== i) bad = `chunk ${msg.chunk.chunkIndex} arrived where ${i} was expected`;
    else if (!Buffer.isBuffer(data) || data.length !== CHUNK) bad = `chunk ${i} is not a ${CHUNK}-byte Buffer`;
    else if (data.readUInt32BE(0) !== i || data.readUInt32BE(CHUNK - 4) !== ((i ^ 0x5a5a5a5a) >>> 0)) bad = `chunk ${i} stamps differ`;
    else if (!data.subarray(4, CHUNK - 4).equals(base.subarray(4, CHUNK - 4))) bad = `chunk ${i} bytes differ`;
    else if (msg.from !== sender.id) bad = `chunk ${i} from ${msg.from}`;
    received += 1;
    lastGoodAt = Date.now();
  });

  const started = Date.now();
  const nodeCpuBefore = process.cpuUsage();
  const serverCpuBefore = serverCpuSeconds(srv.pid);
  let inFlight = 0;
  let acked = 0;
  let ackFailure = null;
  let wake = null;
  let lastAckAt = started;
  let maxAckGap = 0;
  for (let i = 0; i < COUNT && !ackFailure && !bad; i++) {
    if (inFlight >= WINDOW) {
      await new Promise((resolve) => (wake = resolve));
    }
    inFlight += 1;
    sender.socket.emit('chunk', { sessionId: S, chunk: { contentId: 'bulk', chunkIndex: i, totalChunks: COUNT, encryptedData: makeChunk(i) } }, (ack) => {
      const now = Date.now();
      maxAckGap = Math.max(maxAckGap, now - lastAckAt);
      lastAckAt = now;
      inFlight -= 1;
      acked += 1;
      if (!ack || ack.success !== true) ackFailure = `chunk ${i} ack: ${JSON.stringify(ack)}`;
      if (wake) {
        const w = wake;
        wake = null;
        w();
      }
    });
  }
  assert.equal(ackFailure, null);
  await waitFor(() => received === COUNT || bad, { timeout: 60000, interval: 20, what: `all ${COUNT} chunks at the good receiver (got ${received})` });
  const seconds = (lastGoodAt - started) / 1000;
  const nodeCpu = process.cpuUsage(nodeCpuBefore);
  const serverCpu = serverCpuSeconds(srv.pid) - serverCpuBefore;
  clearInterval(sampler);
  assert.equal(bad, null);
  assert.equal(received, COUNT);

  // The stuck one is dropped after the stall timeout, then reported gone after the rejoin grace.
  const left = await good.inbox.wait('client-left', (e) => e.clientId === stuckId, 15000);
  assert.equal(left.clientName, 'stuck');
  await sender.inbox.wait('client-left', (e) => e.clientId === stuckId, 5000);
  // Dropped no sooner than the stall timeout after it stopped reading, plus the rejoin grace
  // (a stall is a lost connection, not a clean close).
  const leftAfter = good.inbox.arrival('client-left', (e) => e.clientId === stuckId) - stoppedAt;
  assert.ok(leftAfter >= 3400, `not reported gone before stall timeout + grace, 3500 ms (${leftAfter} ms)`);
  assert.ok(maxAckGap >= 2000, `the sender's acks were held while the stuck receiver was full (longest wait ${maxAckGap} ms)`);

  const peakMiB = peakRss / 1024;
  const mbps = TOTAL / 1e6 / seconds;
  const flowing = seconds - maxAckGap / 1000;
  t.diagnostic(`server RSS idle ${(idleRss / 1024).toFixed(1)} MiB, peak ${peakMiB.toFixed(1)} MiB (bound ${RSS_BOUND_MIB} MiB)`);
  t.diagnostic(`200 MiB relayed to the good receiver in ${seconds.toFixed(2)} s: ${mbps.toFixed(0)} MB/s overall, ` +
    `${(TOTAL / 1e6 / flowing).toFixed(0)} MB/s without the ${maxAckGap} ms the sender was held`);
  // The Node clients (JS frame masking, parsing) cost several times the server's CPU per byte,
  // so this figure measures them and the machine's load more than the server.
  t.diagnostic(`CPU during the transfer: server ${serverCpu.toFixed(2)} s, this Node process (sender and good receiver) ` +
    `${((nodeCpu.user + nodeCpu.system) / 1e6).toFixed(2)} s`);
  t.diagnostic(`stuck member reported gone ${leftAfter} ms after it stopped reading`);
  assert.ok(peakMiB < RSS_BOUND_MIB, `server RSS peak ${peakMiB.toFixed(1)} MiB stays under ${RSS_BOUND_MIB} MiB`);
  const health = await httpGet(srv.port, '/health');
  assert.equal(health.status, 200);
});

// The server's RSS bound during the backpressure test. Measured on a 2-core x86 VM: idle about
// 6 MiB, peak about 11 MiB. What the server may legitimately hold: each receiver's send queue up
// to its 8 MiB cap (--send-queue-bytes; the stuck one fills it, the good one stays near its
// half-full high-water mark), the sender's eight 256 KiB chunks in flight, and read buffers. That
// is ≈ idle + 8 + 4 + 2 MiB ≈ 20 MiB; 32 MiB leaves headroom for allocator slack while still
// catching a server that buffers for the stuck receiver without end (200 MiB were sent).
const RSS_BOUND_MIB = 32;

/** utime + stime of a process, in seconds (clock ticks are 100 per second on Linux). */
function serverCpuSeconds(pid) {
  const fields = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
