// Browser throughput benchmark (issue 11, point 1). Prints numbers, asserts nothing about time.
//
// In one run, on the real release server and Debian's Chromium (every device its own browser):
//   app      the web client sending one file 1->1 and 1->3, timed from picking the file until
//            every receiver shows it done (all chunks authenticated and written);
//   ceiling  the stock socket.io-client in the same browsers relaying the same number of
//            256 KiB chunks, 8 acks in flight, through the same server, until every receiver
//            has every byte.
// Usage: node bench.mjs   (BENCH_MIB=200 file size, BENCH_RUNS=2 runs of each, best kept;
//        BENCH_PROFILE=<dir> adds an uncounted app 1->1 run that writes CPU profiles of the
//        sender and one receiver there, for Chrome DevTools' Performance panel).
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { join, joined, openDevice, ROOT, startServer, waitFor } from './harness.mjs';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_MIB ?? 200) * MiB;
const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const PROFILE = process.env.BENCH_PROFILE;
const CHUNK = 256 * 1024;
const SEALED_CHUNK = CHUNK + 16;
const PASS = 'bench-bench-bench-bench-bench-bench';
const SOCKET_IO = readFileSync(joinPath(ROOT, 'web/node_modules/socket.io-client/dist/socket.io.min.js'), 'utf8');

const work = mkdtempSync(joinPath(tmpdir(), 'sharethings-bench-'));
const server = await startServer();
const devices = [];
for (let i = 0; i < 4; i++) devices.push(await openDevice());
const [sender, ...receivers] = devices;

const path = joinPath(work, 'bench.bin');
{
  const fd = openSync(path, 'w');
  for (let left = SIZE; left > 0; left -= 16 * MiB) writeSync(fd, randomBytes(Math.min(left, 16 * MiB)));
  closeSync(fd);
}

const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);

/** The app: one session per fan-out, the file picked on the sender, done on every receiver. */
async function appRun(fanout, run) {
  const session = `bench-app-${fanout}-${run}-${Date.now().toString(36)}`;
  const group = [sender, ...receivers.slice(0, fanout)];
  for (const [i, d] of group.entries()) {
    await d.page.goto(server.base);
    await join(d.page, { session, name: i === 0 ? 'Sender' : `Receiver ${i}`, passphrase: PASS });
    await joined(d.page);
  }
  await waitFor(async () => (await sender.page.getByTestId('member-name').count()) === group.length, { what: 'members' });
  const profiled = run === 'profiled' ? [sender, receivers[0]] : [];
  const sessions = [];
  for (const d of profiled) {
    const cdp = await d.context.newCDPSession(d.page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.start');
    sessions.push(cdp);
  }
  const t0 = performance.now();
  await sender.page.getByTestId('file-input').setInputFiles(path);
  for (const d of group.slice(1)) {
    await d.page.locator('[data-testid=item][data-name="bench.bin"][data-state=done]').waitFor({ timeout: 1_800_000 });
  }
  const ms = performance.now() - t0;
  for (const [i, cdp] of sessions.entries()) {
    const { profile } = await cdp.send('Profiler.stop');
    mkdirSync(PROFILE, { recursive: true });
    writeFileSync(joinPath(PROFILE, `app-1to1-${i === 0 ? 'sender' : 'receiver'}.cpuprofile`), JSON.stringify(profile));
  }
  for (const d of group) await d.page.getByRole('button', { name: 'Leave session' }).click();
  return ms;
}

/** The ceiling: stock socket.io-client, same chunk count and size, 8 acks in flight. */
async function ceilingRun(fanout, run) {
  const session = `bench-raw-${fanout}-${run}-${Date.now().toString(36)}`;
  const group = [sender, ...receivers.slice(0, fanout)];
  const pages = [];
  for (const d of group) {
    const p = await d.context.newPage();
    await p.goto(`${server.base}/health`);
    await p.evaluate(SOCKET_IO);
    const ack = await p.evaluate(async (sessionId) => {
      window.raw = window.io({ transports: ['websocket'] });
      await new Promise((r) => window.raw.once('connect', r));
      window.got = 0;
      window.raw.on('chunk', (e) => {
        window.got += e.chunk.encryptedData.byteLength;
      });
      return new Promise((r) => window.raw.emit('join', { sessionId, clientName: 'raw', fingerprint: { v: 2, mac: 'bench' } }, r));
    }, session);
    if (!ack.success) throw new Error(JSON.stringify(ack));
    pages.push(p);
  }
  const total = Math.max(1, Math.ceil(SIZE / CHUNK));
  const t0 = performance.now();
  const sent = pages[0].evaluate(({ sessionId, total, size }) => {
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
  }, { sessionId: session, total, size: SEALED_CHUNK });
  await waitFor(async () => {
    for (const p of pages.slice(1)) if ((await p.evaluate(() => window.got)) < total * SEALED_CHUNK) return false;
    return true;
  }, { timeout: 1_800_000, interval: 20, what: 'every raw receiver' });
  const ms = performance.now() - t0;
  await sent;
  for (const p of pages) await p.close();
  return ms;
}

const results = {};
for (const fanout of [1, 3]) {
  for (let run = 0; run < RUNS; run++) {
    // Interleaved, so load from other work on the machine hits both alike.
    for (const [what, fn] of [['ceiling', ceilingRun], ['app', appRun]]) {
      const ms = await fn(fanout, run);
      const key = `${what} 1->${fanout}`;
      results[key] = Math.min(results[key] ?? Infinity, ms);
      console.log(`run ${run + 1}: ${key.padEnd(12)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${mbps(SIZE, ms).toFixed(1).padStart(6)} MB/s per receiver`);
    }
  }
}

if (PROFILE) {
  // One more run with the profiler on, not counted: profiling slows the page down.
  await appRun(1, 'profiled');
  console.log(`CPU profiles of the sender and a receiver (app 1->1) in ${PROFILE}`);
}

console.log(`\nbest of ${RUNS}, ${SIZE / MiB} MiB file:`);
console.log('fan-out | ceiling MB/s | app MB/s | app / ceiling');
for (const fanout of [1, 3]) {
  const c = mbps(SIZE, results[`ceiling 1->${fanout}`]);
  const a = mbps(SIZE, results[`app 1->${fanout}`]);
  console.log(`1->${fanout}    | ${c.toFixed(1).padStart(12)} | ${a.toFixed(1).padStart(8)} | ${((100 * a) / c).toFixed(0).padStart(12)} %`);
}
console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);

for (const d of devices) await d.close();
await server.stop();
rmSync(work, { recursive: true, force: true });
