// The real socket.io-client (npm) against the release `sharethings` server: format 3 of
// docs/protocol.md. Members prove the room key over the server's nonce (HMAC-SHA256 with
// node's crypto, over the join message's length-prefixed fields), v3 sessions carry no names,
// and a device that applies runs the admission with a member through `admit` messages, then
// joins on the same connection.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { ask } = require('./lib/harness');
const { appClients, fingerprint } = require('./lib/members');

const { connect, newSession, shared } = appClients();

/** `lv(x)`: x prefixed with its length as an unsigned LEB128 (docs/protocol.md, "Notation"). */
function lv(bytes) {
  const len = [];
  let n = bytes.length;
  do {
    let low = n & 0x7f;
    n >>>= 7;
    if (n > 0) low |= 0x80;
    len.push(low);
  } while (n > 0);
  return Buffer.concat([Buffer.from(len), bytes]);
}

/** `proof = b64(HMAC(accessKey, lv_cat("sharethings/v3/join", sessionId, nonce)))`. */
function proof(accessKey, sessionId, nonceB64) {
  const message = Buffer.concat([
    lv(Buffer.from('sharethings/v3/join')),
    lv(Buffer.from(sessionId, 'utf8')),
    lv(Buffer.from(nonceB64, 'base64')),
  ]);
  return crypto.createHmac('sha256', accessKey).update(message).digest('base64');
}

/** The creator's device key of the sessions created here; `owner` is its raw public key. */
const creator = crypto.generateKeyPairSync('ed25519');
const owner = creator.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');

/**
 * challenge, then a v3 join proving `accessKey` (and offering it with the creator's key, so the
 * join may create), with `fields` added.
 */
async function joinV3(socket, sessionId, accessKey, fields = {}) {
  const challenge = await ask(socket, 'challenge', { sessionId });
  assert.equal(challenge.success, true, JSON.stringify(challenge));
  assert.equal(Buffer.from(challenge.nonce, 'base64').length, 16);
  return ask(socket, 'join', {
    ...fields, sessionId, v: 3, access: accessKey.toString('base64'), owner, proof: proof(accessKey, sessionId, challenge.nonce),
  });
}

/** The creator's `auth` for an inbox `action` (e.g. `['clear']`), over a fresh nonce of `socket`'s. */
async function creatorsAuth(socket, sessionId, action) {
  const { nonce } = await ask(socket, 'challenge', { sessionId });
  const message = Buffer.concat(['sharethings/v3/inbox', sessionId, Buffer.from(nonce, 'base64'), ...action].map((p) => lv(Buffer.from(p))));
  return crypto.sign(null, message, creator.privateKey).toString('base64');
}

test('v3 members prove the room key over a fresh nonce, and nothing names them', async () => {
  const srv = await shared();
  const S = newSession('v3');
  const key = crypto.randomBytes(32);
  const a = await connect(srv);
  const created = await joinV3(a.socket, S, key);
  assert.equal(created.success, true, JSON.stringify(created));
  assert.equal(created.created, true);
  assert.deepEqual(created.clients, [{ id: a.socket.id }]);
  assert.deepEqual(created.applicants, []);

  const b = await connect(srv);
  const joined = await joinV3(b.socket, S, key);
  assert.deepEqual(joined.clients.map((c) => c.id).sort(), [a.socket.id, b.socket.id].sort());
  assert.deepEqual(await a.inbox.wait('client-joined'), { sessionId: S, clientId: b.socket.id });

  // A proof over a nonce already used, or under another key, does not open the session.
  const c = await connect(srv);
  const challenge = await ask(c.socket, 'challenge', { sessionId: S });
  const good = { sessionId: S, v: 3, proof: proof(key, S, challenge.nonce) };
  assert.equal((await ask(c.socket, 'join', { ...good, proof: proof(crypto.randomBytes(32), S, challenge.nonce) })).code, 'access_denied');
  assert.equal((await ask(c.socket, 'join', good)).code, 'invalid_request', 'the nonce was used up');
  // A format 2 join of a v3 session, and a v3 join of a format 2 session.
  const v2join = { sessionId: S, clientName: 'Old', fingerprint: fingerprint('pw') };
  assert.equal((await ask(c.socket, 'join', v2join)).code, 'newer_session');
  const L = newSession('legacy');
  assert.equal((await ask(c.socket, 'join', { ...v2join, sessionId: L })).success, true);
  const d = await connect(srv);
  assert.equal((await joinV3(d.socket, L, key)).code, 'legacy_session');

  b.socket.disconnect();
  assert.deepEqual(await a.inbox.wait('client-left'), { sessionId: S, clientId: joined.clientId });
  for (const s of [a, c, d]) s.socket.close();
});

test('an applicant runs the admission with a member through admit messages, then joins on the same connection', async () => {
  const srv = await shared();
  const S = newSession('admit');
  const key = crypto.randomBytes(32);
  const member = await connect(srv);
  assert.equal((await joinV3(member.socket, S, key)).success, true);

  const phone = await connect(srv);
  const applied = await ask(phone.socket, 'join', { sessionId: S, v: 3, apply: true });
  assert.deepEqual(applied, { success: true, applicant: true, clientId: phone.socket.id, members: [member.socket.id] });
  assert.deepEqual(await member.inbox.wait('applicant'), { sessionId: S, clientId: phone.socket.id });
  // No content for an applicant, either way.
  assert.equal((await ask(phone.socket, 'content', { sessionId: S, content: 'x' })).code, 'not_joined');
  assert.deepEqual(await ask(member.socket, 'content', { sessionId: S, content: 'members only' }), { success: true });

  // Steps 1 to 4, each relayed to its `to` with `from` and without `to`.
  const run = [
    [phone, member, 1, { sid: crypto.randomBytes(16).toString('base64'), Ya: crypto.randomBytes(32).toString('base64') }],
    [member, phone, 2, { Yb: crypto.randomBytes(32).toString('base64'), Tb: crypto.randomBytes(64).toString('base64') }],
    [phone, member, 3, { Ta: crypto.randomBytes(64).toString('base64'), iv: 'AAAAAAAAAAAAAAAA', sealed: 'c2VhbGVk' }],
    [member, phone, 4, { iv: 'AAAAAAAAAAAAAAAA', sealed: 'a2V5' }],
  ];
  for (const [from, to, step, data] of run) {
    assert.deepEqual(await ask(from.socket, 'admit', { sessionId: S, to: to.socket.id, step, data }), { success: true });
    assert.deepEqual(await to.inbox.wait('admit', (e) => e.step === step), { sessionId: S, from: from.socket.id, step, data });
  }
  // Out of turn, or too large: refused, not relayed.
  const big = { x: 'a'.repeat(20000) };
  assert.equal((await ask(phone.socket, 'admit', { sessionId: S, to: member.socket.id, step: 1, data: big })).code, 'invalid_request');
  assert.equal((await ask(phone.socket, 'admit', { sessionId: S, to: member.socket.id, step: 2, data: {} })).code, 'invalid_request');

  // It now holds the room key: a member under the same id.
  const joined = await joinV3(phone.socket, S, key);
  assert.equal(joined.success, true, JSON.stringify(joined));
  assert.equal(joined.clientId, phone.socket.id);
  assert.deepEqual(await member.inbox.wait('applicant-left'), { sessionId: S, clientId: phone.socket.id });
  assert.deepEqual(await member.inbox.wait('client-joined'), { sessionId: S, clientId: phone.socket.id });
  assert.deepEqual(await ask(phone.socket, 'content', { sessionId: S, content: 'hello' }), { success: true });
  assert.equal((await member.inbox.wait('content', (e) => e.content === 'hello')).from, phone.socket.id);
  assert.equal(phone.inbox.all('content').length, 0, 'nothing sent while it was an applicant reached it');
  assert.equal(member.inbox.all('admit').length, 2, 'only steps 1 and 3 reached the member');
  member.socket.close();
  phone.socket.close();
});

test("only the creator's signature empties a v3 session's inbox; a member deletes only its own items", async () => {
  const srv = await shared();
  const S = newSession('clear');
  const key = crypto.randomBytes(32);
  const a = await connect(srv);
  const created = await joinV3(a.socket, S, key, { inbox: true });
  assert.equal(created.inbox.anyoneMayClear, false, JSON.stringify(created));
  const b = await connect(srv);
  assert.equal((await joinV3(b.socket, S, key)).success, true);
  const item = (id) => ({ sessionId: S, content: { contentId: id, format: 3, totalChunks: 1, iv: 'aXY=' }, data: crypto.randomBytes(300) });
  for (const [member, id] of [[a, 'from-a'], [b, 'from-b']]) {
    assert.equal((await ask(member.socket, 'content', item(id))).inbox.kept, true);
  }
  const listed = async () => (await ask(a.socket, 'inbox-list', { sessionId: S })).items.map((i) => i.contentId).sort();

  // B, a member but not the creator: its own item yes, A's no, and no clear.
  assert.equal((await ask(b.socket, 'inbox-delete', { sessionId: S, contentId: 'from-a' })).code, 'not_allowed');
  assert.equal((await ask(b.socket, 'clear-all-content', { sessionId: S })).code, 'not_allowed');
  const forged = await creatorsAuth(b.socket, S, ['delete', 'from-b']);
  assert.equal((await ask(b.socket, 'clear-all-content', { sessionId: S, auth: forged })).code, 'not_allowed', 'signed for another action');
  assert.deepEqual(await listed(), ['from-a', 'from-b']);
  assert.equal(a.inbox.all('all-content-cleared').length, 0);
  assert.equal((await ask(b.socket, 'inbox-delete', { sessionId: S, contentId: 'from-b' })).success, true);
  assert.deepEqual(await listed(), ['from-a']);

  // The creator's signature over a fresh nonce clears, once.
  const auth = await creatorsAuth(a.socket, S, ['clear']);
  assert.deepEqual(await ask(a.socket, 'clear-all-content', { sessionId: S, auth }), { success: true });
  assert.deepEqual(await b.inbox.wait('all-content-cleared'), { sessionId: S, from: a.socket.id });
  assert.deepEqual(await listed(), []);
  assert.equal((await ask(a.socket, 'content', item('again'))).inbox.kept, true);
  await ask(b.socket, 'challenge', { sessionId: S });
  assert.equal((await ask(b.socket, 'clear-all-content', { sessionId: S, auth })).code, 'not_allowed', 'replayed on another nonce');
  assert.deepEqual(await listed(), ['again']);
  a.socket.close();
  b.socket.close();
});
