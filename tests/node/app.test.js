// The real socket.io-client (npm) against the release `sharethings` server: the ShareThings
// events of docs/protocol.md (joining, relaying, rejoining, the limits on connections, sessions
// and members). The first release's client shape, malformed payloads and backpressure are in
// app-payloads.test.js.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { waitFor, once, ask, httpGet } = require('./lib/harness');
const { appClients, fingerprint, ids } = require('./lib/members');

const { server, open, connect, member, newSession, shared } = appClients();

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
  // Every ack gives a new token; one from a token rejoin expires when the old one did.
  const expiry = (token) => token.split('.')[2];
  assert.equal(expiry(rejoin.token), expiry(b.ack.token), 'only the fingerprint renews it');

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
  const extra = open(srv, { transports: ['websocket'] });
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
