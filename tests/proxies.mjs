// Proxies between a client and the real server, on loopback, for tests of what a client does
// when the network or the server misbehaves: one that cuts every connection it carries, and one
// that edits, drops and injects the WebSocket frames the server sends. Node's own modules only,
// so the CLI, browser and deploy suites can all use them.

import net from 'node:net';

/**
 * A loopback TCP proxy to `port` that can cut every connection it carries (a reset, as a
 * dropped Wi-Fi looks to the server), while it keeps accepting new ones.
 */
export async function cuttableProxy(port) {
  const sockets = new Set();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted += 1;
    const upstream = net.connect(port, '127.0.0.1');
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => { sockets.delete(a); b.destroy(); });
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    accepted: () => accepted,
    cut() {
      for (const s of sockets) s.resetAndDestroy();
    },
    close: () => new Promise((resolve) => { server.close(resolve); for (const s of sockets) s.destroy(); }),
  };
}

/**
 * A loopback proxy to `port` that understands the WebSocket frames the server sends (they
 * are unmasked) and lets a test see, change, drop and inject them: a misbehaving server as
 * the client sees it. `onText(text)` returns the text to pass on (or `null` to drop it);
 * every server → client Socket.IO event is kept in `events()` as { text, binaries } (a binary
 * event with its attachments), and `inject(event)` sends one again to every WebSocket client.
 * `port`: the port to listen on (default: a free one), so that a second proxy has the same
 * address. Connections that do not ask for a WebSocket (a browser loading the page, Engine.IO's
 * first polling requests) pass through unchanged, so a browser can use the proxy as its server.
 */
export async function frameProxy(port, { onText = (t) => t, port: listen = 0 } = {}) {
  const connections = new Set();
  const clients = new Set(); // those on a WebSocket
  const events = [];
  const frame = (opcode, payload) => {
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x80 | opcode, len])
      : len < 65536 ? Buffer.from([0x80 | opcode, 126, len >> 8, len & 255])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })()]);
    return Buffer.concat([head, payload]);
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    connections.add(client);
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      a.on('error', () => b.destroy());
      a.on('close', () => { connections.delete(client); clients.delete(client); b.destroy(); });
    }
    // Whether it asks for a WebSocket is in its first request's head (one read on loopback).
    client.once('data', (head) => {
      upstream.write(head);
      client.pipe(upstream);
      if (/^upgrade:\s*websocket/im.test(head.toString('latin1'))) editFrames(client, upstream);
      else upstream.pipe(client);
    });
  });
  /** Passes the server's side of WebSocket connection `client` through `onText`, frame by frame. */
  const editFrames = (client, upstream) => {
    clients.add(client);
    let buf = Buffer.alloc(0);
    let upgraded = false;
    let pending = null; // a binary event waiting for its attachments
    upstream.on('data', (data) => {
      buf = Buffer.concat([buf, data]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        client.write(buf.subarray(0, end + 4));
        buf = buf.subarray(end + 4);
        upgraded = true;
      }
      for (;;) {
        if (buf.length < 2) return;
        const opcode = buf[0] & 0x0f;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        if (buf.length < off + len) return;
        let payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (opcode === 1) {
          const text = onText(payload.toString('utf8'));
          if (text === null) continue;
          payload = Buffer.from(text, 'utf8');
          const m = /^45(\d+)-/.exec(text);
          if (m) pending = { text, binaries: [], want: Number(m[1]) };
          else if (text.startsWith('42')) events.push({ text, binaries: [] });
        } else if (opcode === 2 && pending) {
          pending.binaries.push(Buffer.from(payload));
          if (pending.binaries.length === pending.want) { events.push(pending); pending = null; }
        }
        client.write(frame(opcode, payload));
      }
    });
  };
  await new Promise((resolve) => server.listen(listen, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    events: () => events,
    inject(event) {
      for (const c of clients) {
        c.write(frame(1, Buffer.from(event.text, 'utf8')));
        for (const b of event.binaries) c.write(frame(2, b));
      }
    },
    close: () => new Promise((resolve) => { server.close(resolve); for (const c of connections) c.destroy(); }),
  };
}
