// Browser throughput per engine (issue 24, point 5). Prints numbers, asserts nothing about time.
//
// In one run, in the engine of ENGINE (chromium, firefox or webkit; every device its own
// browser, all of that engine), against the real release server:
//   app      the web client sending one file 1->1 and 1->3, from picking the file until every
//            receiver shows it done (every chunk authenticated and written);
//   ceiling  the stock socket.io-client in the same browsers relaying the same number of
//            256 KiB (+16) chunks, 8 acks in flight, through the same server, until every
//            receiver has every byte: the most any Socket.IO client could do in that engine;
//   raw      the same bytes as binary WebSocket frames (no Socket.IO, no acks: the sender keeps
//            8 chunks buffered) through a minimal relay here (the `ws` package): how far the
//            stock client is from what the engine's WebSocket can carry.
// They alternate, round after round, so load from elsewhere hits all alike.
// Usage: ENGINE=firefox node engines/bench.mjs   (BENCH_MIB=200 file size, BENCH_RUNS=3 rounds)
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { freePort, ROOT, startServer } from '../harness.mjs';
import { enterSession, openEngine, stopDisplay } from './drivers.mjs';

const ENGINE = process.env.ENGINE ?? 'chromium';
const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_MIB ?? 200) * MiB;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CHUNK = 256 * 1024;
const SEALED_CHUNK = CHUNK + 16;
const TOTAL = Math.max(1, Math.ceil(SIZE / CHUNK));
const PASS = 'bench-bench-bench-bench-bench-bench';
const SOCKET_IO = readFileSync(joinPath(ROOT, 'web/node_modules/socket.io-client/dist/socket.io.min.js'), 'utf8');

const work = mkdtempSync(joinPath(tmpdir(), 'sharethings-bench-engines-'));
const server = await startServer();
const devices = [];
for (let i = 0; i < 4; i++) devices.push(await openEngine(ENGINE, { serverPort: server.port }));
const [sender, ...receivers] = devices;

// The raw relay: every binary frame from the sender goes to every receiver. Its pages come from
// it too (the app's pages allow connections to their own origin only).
const rawPort = await freePort();
const rawPages = createServer((req, res) => res.end('<!doctype html><title>raw</title>'));
await new Promise((r) => rawPages.listen(rawPort, '127.0.0.1', r));
const relay = new WebSocketServer({ server: rawPages, perMessageDeflate: false });
relay.on('connection', (ws, req) => {
  const role = new URL(req.url, 'http://x').searchParams.get('role');
  ws.role = role;
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    for (const peer of relay.clients) if (peer !== ws && peer.role === 'receiver') peer.send(data, { binary: true });
  });
});

const path = joinPath(work, 'bench.bin');
{
  const fd = openSync(path, 'w');
  for (let left = SIZE; left > 0; left -= 16 * MiB) writeSync(fd, randomBytes(Math.min(left, 16 * MiB)));
  closeSync(fd);
}

const mbps = (ms) => SIZE / 1e6 / (ms / 1000);

/** The app: one session per run, the file picked on the sender, done on every receiver. */
async function appRun(fanout, run) {
  const session = `bench-${ENGINE}-${fanout}-${run}-${Date.now().toString(36)}`;
  const group = [sender, ...receivers.slice(0, fanout)];
  for (const [i, d] of group.entries()) await enterSession(d, server.base, { session, name: i === 0 ? 'Sender' : `Receiver ${i}`, passphrase: PASS });
  await sender.until((n) => document.querySelectorAll('[data-testid=member-name]').length === n, [group.length], { what: 'members' });
  const t0 = performance.now();
  await sender.setFiles('[data-testid=file-input]', path);
  for (const d of group.slice(1)) {
    await d.until(() => Boolean(document.querySelector('[data-testid=item][data-name="bench.bin"][data-state=done]')), [], { timeout: 1_800_000, what: 'done' });
  }
  const ms = performance.now() - t0;
  // Each device leaves (deleting what it received), or the app takes it back into this session
  // when the next run opens it.
  for (const d of group) {
    await d.click('Leave session');
    await d.click('Leave', { selector: '[role=alertdialog] button' });
  }
  return ms;
}

/** Opens `url` (a page without the app) in every device of the group, with `script` loaded, and runs `setup` there. */
async function plainPages(group, url, script, setup, args) {
  for (const d of group) {
    await d.goto(url);
    if (script) await d.inject(script);
    await d.run(setup, ...args);
  }
}

/** The ceiling: stock socket.io-client, same chunk count and size, 8 acks in flight. */
async function ceilingRun(fanout, run) {
  const session = `bench-raw-${fanout}-${run}-${Date.now().toString(36)}`;
  const group = [sender, ...receivers.slice(0, fanout)];
  await plainPages(group, `${server.base}/health`, SOCKET_IO, async (sessionId) => {
    window.raw = window.io({ transports: ['websocket'] });
    await new Promise((r) => window.raw.once('connect', r));
    window.got = 0;
    window.raw.on('chunk', (e) => {
      window.got += e.chunk.encryptedData.byteLength;
    });
    const ack = await new Promise((r) => window.raw.emit('join', { sessionId, clientName: 'raw', fingerprint: { v: 2, mac: 'bench' } }, r));
    if (!ack.success) throw new Error(JSON.stringify(ack));
  }, [session]);
  const t0 = performance.now();
  const sent = sender.run((sessionId, total, size) => {
    const buf = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(buf.subarray(i, i + 65536));
    let next = 0;
    let inflight = 0;
    let acked = 0;
    return new Promise((resolve) => {
      const pump = () => {
        while (inflight < 8 && next < total) {
          const chunkIndex = next++;
          inflight++;
          window.raw.emit('chunk', { sessionId, chunk: { contentId: 'bench', chunkIndex, totalChunks: total, encryptedData: buf, iv: 'AAAAAAAAAAAAAAAA' } }, () => {
            inflight--;
            if (++acked === total) resolve();
            else pump();
          });
        }
      };
      pump();
    });
  }, session, TOTAL, SEALED_CHUNK);
  for (const d of group.slice(1)) await d.until((want) => window.got >= want, [TOTAL * SEALED_CHUNK], { timeout: 1_800_000, what: 'every chunk' });
  const ms = performance.now() - t0;
  await sent;
  return ms;
}

/** The raw WebSocket: the same bytes as binary frames through the `ws` relay, 8 chunks buffered at most. */
async function rawRun(fanout) {
  const group = [sender, ...receivers.slice(0, fanout)];
  const page = `http://127.0.0.1:${rawPort}/`;
  await plainPages(group.slice(1), page, undefined, async (port) => {
    window.got = 0;
    window.ws = new WebSocket(`ws://127.0.0.1:${port}/?role=receiver`);
    window.ws.binaryType = 'arraybuffer';
    window.ws.onmessage = (e) => {
      window.got += e.data.byteLength;
    };
    await new Promise((r) => (window.ws.onopen = r));
  }, [rawPort]);
  await plainPages([sender], page, undefined, async (port) => {
    window.ws = new WebSocket(`ws://127.0.0.1:${port}/?role=sender`);
    await new Promise((r) => (window.ws.onopen = r));
  }, [rawPort]);
  const t0 = performance.now();
  const sent = sender.run((total, size) => {
    const buf = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(buf.subarray(i, i + 65536));
    let next = 0;
    return new Promise((resolve) => {
      const pump = () => {
        while (next < total && window.ws.bufferedAmount < 8 * size) {
          window.ws.send(buf);
          next++;
        }
        if (next < total) setTimeout(pump, 1);
        else resolve();
      };
      pump();
    });
  }, TOTAL, SEALED_CHUNK);
  for (const d of group.slice(1)) await d.until((want) => window.got >= want, [TOTAL * SEALED_CHUNK], { timeout: 1_800_000, interval: 20, what: 'every frame' });
  const ms = performance.now() - t0;
  await sent;
  for (const d of group) await d.run(() => window.ws.close());
  return ms;
}

const samples = {};
const loads = [];
for (let run = 0; run < RUNS; run++) {
  for (const fanout of [1, 3]) {
    for (const [what, fn] of [['raw', rawRun], ['ceiling', ceilingRun], ['app', appRun]]) {
      loads.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]));
      const ms = await fn(fanout, run);
      const key = `${what} 1->${fanout}`;
      (samples[key] ??= []).push(mbps(ms));
      console.log(`${ENGINE} run ${run + 1}: ${key.padEnd(12)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${mbps(ms).toFixed(1).padStart(6)} MB/s per receiver`);
    }
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const cell = (xs) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})`;
console.log(`\n${ENGINE}: ${RUNS} interleaved rounds, ${SIZE / MiB} MiB, MB/s per receiver as median (min-max):`);
console.log('fan-out | raw WebSocket      | ceiling (socket.io) | app                | app / ceiling | ceiling / raw');
for (const fanout of [1, 3]) {
  const [r, c, a] = ['raw', 'ceiling', 'app'].map((w) => samples[`${w} 1->${fanout}`]);
  console.log(`1->${fanout}    | ${cell(r).padEnd(18)} | ${cell(c).padEnd(19)} | ${cell(a).padEnd(18)} | ${((100 * median(a)) / median(c)).toFixed(0).padStart(5)} %       | ${((100 * median(c)) / median(r)).toFixed(0).padStart(5)} %`);
}
console.log(`1-minute load average during the runs: ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)}`);

for (const d of devices) await d.close();
await stopDisplay();
relay.close();
rawPages.close();
await server.stop();
rmSync(work, { recursive: true, force: true });
