// The real socket.io-client and engine.io-client (npm) against examples/conformance: both
// transports, the upgrade, binary, acks both ways, namespaces, auth, heartbeat, reconnection,
// and the Engine.IO echo.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { io, Manager } = require('socket.io-client');
const { Socket: EngineSocket } = require('engine.io-client');
const { startConformance, waitFor, once, Inbox } = require('./lib/harness');

let server;
const sockets = [];

before(async () => {
  server = await startConformance();
});

after(async () => {
  for (const s of sockets) s.close();
  await server.kill();
});

/** A Socket.IO client that is closed when the file ends. No reconnection unless asked. */
function client(nsp = '/', opts = {}) {
  const socket = io(server.url + nsp, { reconnection: false, forceNew: true, ...opts });
  sockets.push(socket);
  return socket;
}

async function connected(socket) {
  if (!socket.connected) await once(socket, 'connect');
  return socket;
}

/** `message` → `message-back` with the same arguments. */
async function roundTrip(socket, ...args) {
  const back = once(socket, 'message-back');
  socket.emit('message', ...args);
  return back;
}

test('websocket only: connect, echo, and the transport never changes', async () => {
  const socket = await connected(client('/', { transports: ['websocket'] }));
  assert.equal(socket.io.engine.transport.name, 'websocket');
  assert.deepEqual(await roundTrip(socket, 'hello', 1, { a: [true, null] }), ['hello', 1, { a: [true, null] }]);
  assert.equal(socket.io.engine.transport.name, 'websocket');
  socket.close();
});

test('polling only: connect, echo, several events in flight', async () => {
  const socket = await connected(client('/', { transports: ['polling'] }));
  assert.equal(socket.io.engine.transport.name, 'polling');
  const inbox = new Inbox(socket);
  for (let i = 0; i < 20; i++) socket.emit('message', i, 'x'.repeat(i * 100));
  await waitFor(() => inbox.all('message-back').length === 20, { what: '20 message-back events' });
  const got = inbox.events.filter((e) => e.event === 'message-back').map((e) => e.args);
  for (let i = 0; i < 20; i++) assert.deepEqual(got[i], [i, 'x'.repeat(i * 100)], `event ${i} in order`);
  assert.equal(socket.io.engine.transport.name, 'polling');
  socket.close();
});

test('polling upgrades to websocket; messages flow around the upgrade and after it', async () => {
  const socket = client('/');
  // The probe can finish before Socket.IO's CONNECT is answered, so look at the transport the
  // Engine.IO session opened with.
  const opened = once(socket.io, 'open').then(() => ({
    first: socket.io.engine.transport.name,
    upgraded: once(socket.io.engine, 'upgrade'),
  }));
  await connected(socket);
  const { first, upgraded } = await opened;
  assert.equal(first, 'polling', 'starts on polling');
  assert.deepEqual(await roundTrip(socket, 'early'), ['early']);
  await upgraded;
  assert.equal(socket.io.engine.transport.name, 'websocket', 'ends on websocket');
  assert.deepEqual(await roundTrip(socket, 'after'), ['after']);
  socket.close();
});

for (const transport of ['websocket', 'polling']) {
  test(`binary both ways over ${transport}: Buffers in, byte-equal Buffers out`, async () => {
    const socket = await connected(client('/', { transports: [transport] }));
    const small = Buffer.from([0, 1, 2, 253, 254, 255]);
    const big = Buffer.alloc(100000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    const [a, b, c] = await roundTrip(socket, small, { nested: big, text: 'mixed' }, 'plain');
    assert.ok(Buffer.isBuffer(a), 'first argument comes back as a Buffer');
    assert.ok(a.equals(small));
    assert.ok(Buffer.isBuffer(b.nested), 'nested attachment comes back as a Buffer');
    assert.ok(b.nested.equals(big));
    assert.equal(b.text, 'mixed');
    assert.equal(c, 'plain');
    socket.close();
  });
}

test('acks both ways, with binary', async () => {
  const socket = await connected(client('/', { transports: ['websocket'] }));
  // client → server: acknowledged with the same arguments
  const answer = await new Promise((resolve, reject) => {
    socket.timeout(5000).emit('message-with-ack', 1, '2', { 3: [4] }, Buffer.from('bin'), (err, ...args) => (err ? reject(err) : resolve(args)));
  });
  assert.equal(answer.length, 4, 'every argument comes back');
  assert.deepEqual(answer.slice(0, 3), [1, '2', { 3: [4] }]);
  assert.ok(Buffer.isBuffer(answer[3]) && answer[3].equals(Buffer.from('bin')));
  // server → client: `ask-ack` makes the server emit `ack-me` with an ack; our answer comes back as `acked`
  socket.on('ack-me', (...args) => {
    const callback = args.pop();
    assert.equal(typeof callback, 'function', 'ack-me carries an ack request');
    callback('answered', ...args);
  });
  const acked = once(socket, 'acked');
  socket.emit('ask-ack', 'q', Buffer.from([9, 8, 7]));
  const got = await acked;
  assert.equal(got[0], 'answered');
  assert.equal(got[1], 'q');
  assert.ok(Buffer.isBuffer(got[2]) && got[2].equals(Buffer.from([9, 8, 7])));
  socket.close();
});

test('custom namespace: connects, echoes, receives its auth', async () => {
  const socket = client('/custom', { transports: ['websocket'], auth: { ns: 'custom' } });
  const auth = once(socket, 'auth');
  await connected(socket);
  assert.deepEqual((await auth)[0], { ns: 'custom' });
  assert.deepEqual(await roundTrip(socket, 'in custom'), ['in custom']);
  socket.close();
});

test('invalid namespace: connect_error "Invalid namespace", the / socket on the same manager stays up', async () => {
  const manager = new Manager(server.url, { reconnection: false, transports: ['websocket'] });
  const root = manager.socket('/');
  await connected(root);
  const bad = manager.socket('/does-not-exist');
  const [err] = await once(bad, 'connect_error');
  assert.equal(err.message, 'Invalid namespace');
  assert.equal(bad.connected, false);
  assert.equal(root.connected, true, '/ is still connected');
  assert.deepEqual(await roundTrip(root, 'still here'), ['still here']);
  root.close();
  bad.close();
});

test('auth payload is echoed; without one the server sends {}', async () => {
  const auth = { token: 'abc', n: 42, list: [1, 'two'] };
  const withAuth = client('/', { transports: ['websocket'], auth });
  const withoutAuth = client('/', { transports: ['polling'] });
  const [a] = await once(withAuth, 'auth');
  const [b] = await once(withoutAuth, 'auth');
  assert.deepEqual(a, auth);
  assert.deepEqual(b, {});
  withAuth.close();
  withoutAuth.close();
});

for (const transport of ['websocket', 'polling']) {
  test(`heartbeat keeps an idle ${transport} connection alive for several ping intervals`, async () => {
    const socket = await connected(client('/', { transports: [transport] }));
    const started = Date.now();
    let pings = 0;
    let dropped = null;
    socket.io.engine.on('ping', () => pings++);
    socket.on('disconnect', (reason) => (dropped = reason));
    // pingInterval is 300 ms: 5 pings take about 1.5 s of idleness.
    await waitFor(() => pings >= 5 || dropped, { timeout: 5000, what: '5 server pings' });
    assert.equal(dropped, null, `stayed connected (disconnect reason: ${dropped})`);
    assert.ok(Date.now() - started > 1000, 'idle for more than 1 s');
    assert.ok(socket.connected);
    assert.deepEqual(await roundTrip(socket, 'awake'), ['awake']);
    socket.close();
  });
}

test('automatic reconnection after the server process dies and comes back on the same port', async () => {
  const own = await startConformance();
  const port = own.port;
  const socket = io(own.url, { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 200, forceNew: true });
  sockets.push(socket);
  try {
    await connected(socket);
    const firstId = socket.id;
    assert.deepEqual(await roundTrip(socket, 'one'), ['one']);
    const disconnected = once(socket, 'disconnect');
    await own.kill('SIGKILL');
    const [reason] = await disconnected;
    assert.equal(reason, 'transport close');
    const reconnected = once(socket.io, 'reconnect', 10000);
    const again = await startConformance(port);
    try {
      assert.equal(again.port, port);
      await reconnected;
      await connected(socket);
      assert.notEqual(socket.id, firstId, 'a new session on the new server');
      assert.deepEqual(await roundTrip(socket, 'two'), ['two']);
    } finally {
      socket.close();
      await again.kill();
    }
  } finally {
    socket.close();
    await own.kill();
  }
});

for (const transport of ['websocket', 'polling']) {
  test(`engine.io-client echo over ${transport}: text and binary`, async () => {
    const socket = new EngineSocket(server.url, { path: '/engine.io/', transports: [transport] });
    try {
      await once(socket, 'open');
      const received = [];
      socket.on('message', (m) => received.push(m));
      const bin = Buffer.from([1, 2, 3, 0, 255, 128]);
      socket.send('hello engine');
      socket.send(bin);
      socket.send('é ünïcödé 😀');
      await waitFor(() => received.length >= 3, { what: 'three echoes' });
      assert.equal(received[0], 'hello engine');
      assert.ok(Buffer.isBuffer(received[1]), `binary comes back binary (got ${typeof received[1]})`);
      assert.ok(received[1].equals(bin));
      assert.equal(received[2], 'é ünïcödé 😀');
      assert.equal(socket.transport.name, transport);
    } finally {
      socket.close();
    }
  });
}
