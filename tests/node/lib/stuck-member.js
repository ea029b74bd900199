// A ShareThings member in its own process, for the backpressure test: it joins a session over
// WebSocket, prints its join ack as one JSON line, and then does nothing. The test stops this
// process with SIGSTOP, so it never reads its socket again — a receiver that is stuck.
// Usage: node stuck-member.js <url> <sessionId> <fingerprint JSON>
'use strict';

const { io } = require('socket.io-client');

const [url, sessionId, fingerprint] = process.argv.slice(2);
const socket = io(url, { transports: ['websocket'], reconnection: false });
socket.on('connect', () => {
  socket.timeout(5000).emit('join', { sessionId, clientName: 'stuck', fingerprint: JSON.parse(fingerprint) }, (err, ack) => {
    process.stdout.write(`${JSON.stringify(err ? { error: String(err) } : ack)}\n`);
  });
});
socket.on('connect_error', (err) => {
  process.stdout.write(`${JSON.stringify({ error: err.message })}\n`);
  process.exit(1);
});
