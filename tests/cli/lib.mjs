// Helpers of the CLI suite: a TCP proxy whose connections can be cut, a proxy that edits the
// server's WebSocket frames, and browser devices; running the CLI itself is process.mjs's.
// Servers, HAProxy and certificates come from tests/deploy/lib.mjs, the browser from
// tests/e2e/harness.mjs.

import net from 'node:net';
import { waitFor } from '../deploy/lib.mjs';
import { join, joined } from '../e2e/harness.mjs';
import { PASS } from './process.mjs';

export { CLI, PASS, MiB, newStore, cli, cliRun, cliSays, cliShows } from './process.mjs';

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
 * A browser of `suite` (tests/e2e/harness.mjs's browserSuite, which closes it) joined to
 * `session` at `base`; `insecureCert` accepts the throwaway CA; `legacy` makes a session it
 * creates a format 2 one (else format 3, the web app's default).
 */
export async function browserIn(suite, base, session, name, { insecureCert = false, legacy = false } = {}) {
  const d = await suite.device({ args: insecureCert ? ['--ignore-certificate-errors'] : [] });
  await d.page.goto(base);
  await join(d.page, { session, name, passphrase: PASS, legacy });
  await joined(d.page);
  return d;
}

/** Waits until the web app lists a member called `name`. */
export async function seesMember(page, name) {
  await waitFor(`the web app to list ${name}`, async () =>
    (await page.getByTestId('member-name').allInnerTexts()).some((n) => n.startsWith(name)));
}

/**
 * A loopback proxy to `port` that understands the WebSocket frames the server sends (they
 * are unmasked) and lets a test see, change, drop and inject them: a misbehaving server as
 * the client sees it. `onText(text)` returns the text to pass on (or `null` to drop it);
 * every server → client Socket.IO event is kept in `events()` as { text, binaries } (a binary
 * event with its attachments), and `inject(event)` sends one again to every client. `port`:
 * the port to listen on (default: a free one), so that a second proxy has the same address.
 */
export async function frameProxy(port, { onText = (t) => t, port: listen = 0 } = {}) {
  const clients = new Set();
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
    clients.add(client);
    client.pipe(upstream);
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
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      a.on('error', () => b.destroy());
      a.on('close', () => { clients.delete(client); b.destroy(); });
    }
  });
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
    close: () => new Promise((resolve) => { server.close(resolve); for (const c of clients) c.destroy(); }),
  };
}
