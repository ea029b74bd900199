// Clients of the ShareThings events for the app tests: a server per file, connected and joined
// socket.io-client members, distinct session names. Everything started is ended when the file
// ends (the `after` hook is registered by `appClients()`, once per test file).
'use strict';

const { after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { io } = require('socket.io-client');
const { startShareThings, once, Inbox, ask } = require('./harness');

/** A fingerprint shaped like format v2's, derived from a passphrase (the server finds it opaque). */
function fingerprint(passphrase) {
  return { v: 2, mac: crypto.createHash('sha256').update(passphrase).digest('base64') };
}

function ids(clients) {
  return clients.map((c) => c.id).sort();
}

function appClients() {
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

  /** A Socket.IO client (no reconnection unless asked), not waited for, closed when the file ends. */
  function open(srv, opts = {}) {
    const socket = io(srv.url, { reconnection: false, forceNew: true, ...opts });
    sockets.push(socket);
    return socket;
  }

  /** A connected WebSocket-only client, as `open` gives. */
  async function connect(srv, opts = {}) {
    const socket = open(srv, { transports: ['websocket'], ...opts });
    const inbox = new Inbox(socket);
    if (!socket.connected) await once(socket, 'connect');
    return { socket, inbox };
  }

  /** Connects and joins; resolves the client with its join ack. Fails the test if the join fails. */
  async function member(srv, sessionId, clientName, passphrase = 'correct horse', opts = {}) {
    const c = await connect(srv, opts);
    const ack = await ask(c.socket, 'join', { sessionId, clientName, fingerprint: fingerprint(passphrase) });
    assert.equal(ack.success, true, `join of ${clientName} failed: ${JSON.stringify(ack)}`);
    return { ...c, ack, id: ack.clientId, name: clientName };
  }

  let sessionCounter = 0;
  function newSession(label) {
    sessionCounter += 1;
    return `${label}-${process.pid}-${sessionCounter}`;
  }

  let defaultServer;
  /** The file's server with default settings, started on first use. */
  async function shared() {
    if (!defaultServer) defaultServer = await server();
    return defaultServer;
  }

  return { server, open, connect, member, newSession, shared };
}

module.exports = { appClients, fingerprint, ids };
