// Browser throughput benchmark (issue 11, point 1). Prints numbers, asserts nothing about time.
//
// In one run, on the real release server and Debian's Chromium (every device its own browser):
//   app      the web client sending one file 1->1 and 1->3, timed from picking the file until
//            every receiver shows it done (all chunks authenticated and written);
//   ceiling  the stock socket.io-client in the same browsers relaying the same number of
//            256 KiB chunks, 8 acks in flight, through the same server, until every receiver
//            has every byte.
// They alternate, round after round; each run also reports the CPU seconds it cost by role.
// Usage: node bench.mjs   (BENCH_MIB=200 file size, BENCH_RUNS=5 interleaved runs of each;
//        BENCH_PROFILE=<dir> adds an uncounted app 1->1 run that writes CPU profiles of the
//        sender and one receiver there, for Chrome DevTools' Performance panel;
//        BENCH_BASELINE=<release binary of another commit> runs that build's app too, in the
//        same rounds, so a change is measured against the one before it on the same machine).
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { browserPids, join, joined, leave, openDevice, ROOT, startServer, waitFor } from './harness.mjs';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_MIB ?? 200) * MiB;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PROFILE = process.env.BENCH_PROFILE;
const BASELINE = process.env.BENCH_BASELINE;
const CHUNK = 256 * 1024;
const SEALED_CHUNK = CHUNK + 16;
const PASS = 'bench-bench-bench-bench-bench-bench';
const SOCKET_IO = readFileSync(joinPath(ROOT, 'web/node_modules/socket.io-client/dist/socket.io.min.js'), 'utf8');

const work = mkdtempSync(joinPath(tmpdir(), 'sharethings-bench-'));
const server = await startServer();
const baselineServer = BASELINE ? await startServer({}, { binary: BASELINE }) : undefined;
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
const CLOCK_TICKS = 100;

/**
 * CPU seconds used so far by the devices' processes, by role: the sender's renderers (page and
 * worker threads), the receivers' renderers, and the rest of every browser (browser process,
 * network and storage services, compositor). Wall time on a loaded machine says little; the
 * CPU each side spends per byte is what the app adds to the ceiling.
 */
function cpuSeconds() {
  const out = { 'sender renderer': 0, 'receiver renderers': 0, 'browser processes': 0 };
  for (const [i, d] of devices.entries()) {
    for (const pid of browserPids(d.dir)) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const renderer = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer');
        const role = !renderer ? 'browser processes' : i === 0 ? 'sender renderer' : 'receiver renderers';
        out[role] += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      } catch {
        // The process ended while we looked.
      }
    }
  }
  return out;
}
const cpuSince = (before) => Object.fromEntries(Object.entries(cpuSeconds()).map(([k, v]) => [k, v - before[k]]));

/** The app: one session per fan-out, the file picked on the sender, done on every receiver. */
async function appRun(fanout, run, srv = server) {
  const session = `bench-app-${fanout}-${run}-${Date.now().toString(36)}`;
  const group = [sender, ...receivers.slice(0, fanout)];
  for (const [i, d] of group.entries()) {
    await d.page.goto(srv.base);
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
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  await sender.page.getByTestId('file-input').setInputFiles(path);
  for (const d of group.slice(1)) {
    await d.page.locator('[data-testid=item][data-name="bench.bin"][data-state=done]').waitFor({ timeout: 1_800_000 });
  }
  const ms = performance.now() - t0;
  const cpu = cpuSince(cpu0);
  for (const [i, cdp] of sessions.entries()) {
    const { profile } = await cdp.send('Profiler.stop');
    mkdirSync(PROFILE, { recursive: true });
    writeFileSync(joinPath(PROFILE, `app-1to1-${i === 0 ? 'sender' : 'receiver'}.cpuprofile`), JSON.stringify(profile));
  }
  for (const d of group) await leave(d.page);
  return { ms, cpu };
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
  const cpu0 = cpuSeconds();
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
  const cpu = cpuSince(cpu0);
  for (const p of pages) await p.close();
  return { ms, cpu };
}

const loads = [];
const sampleLoad = () => loads.push(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]));
const samples = {};
const cpus = {};
for (let run = 0; run < RUNS; run++) {
  for (const fanout of [1, 3]) {
    // Interleaved (ceiling, app, ceiling, app, ...), so load from other work on the machine
    // hits both alike; the ratio of medians is the figure, the spread says how much it moved.
    for (const [what, fn] of [
      ['ceiling', ceilingRun],
      ['app', appRun],
      ...(baselineServer ? [['baseline', (f, r) => appRun(f, r, baselineServer)]] : []),
    ]) {
      sampleLoad();
      const { ms, cpu } = await fn(fanout, run);
      const key = `${what} 1->${fanout}`;
      (samples[key] ??= []).push(mbps(SIZE, ms));
      (cpus[key] ??= []).push(cpu);
      const cpuText = Object.entries(cpu).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
      console.log(`run ${run + 1}: ${key.padEnd(12)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${mbps(SIZE, ms).toFixed(1).padStart(6)} MB/s per receiver  (CPU-s: ${cpuText})`);
    }
  }
}
sampleLoad();

if (PROFILE) {
  // One more run with the profiler on, not counted: profiling slows the page down.
  await appRun(1, 'profiled');
  console.log(`CPU profiles of the sender and a receiver (app 1->1) in ${PROFILE}`);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs) => `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}`;
console.log(`\n${RUNS} interleaved runs of each, ${SIZE / MiB} MiB file, MB/s per receiver as median (min-max):`);
console.log(`${baselineServer ? 'build   ' : ''}fan-out | ceiling MB/s       | app MB/s           | app / ceiling: of medians (per-pair min-max)`);
for (const fanout of [1, 3]) {
  const c = samples[`ceiling 1->${fanout}`];
  for (const what of baselineServer ? ['app', 'baseline'] : ['app']) {
    const a = samples[`${what} 1->${fanout}`];
    const pairs = a.map((x, i) => (100 * x) / c[i]);
    const cell = (xs) => `${median(xs).toFixed(1)} (${spread(xs)})`.padEnd(18);
    const label = baselineServer ? `${what.padEnd(8)} 1->${fanout}` : `1->${fanout}   `;
    console.log(`${label} | ${cell(c)} | ${cell(a)} | ${((100 * median(a)) / median(c)).toFixed(0)} % (${Math.min(...pairs).toFixed(0)}-${Math.max(...pairs).toFixed(0)} %)`);
  }
}
console.log('\nCPU seconds per run, median, by role:');
for (const [key, runs] of Object.entries(cpus)) {
  console.log(`${key.padEnd(12)} ${Object.keys(runs[0]).map((role) => `${role} ${median(runs.map((r) => r[role])).toFixed(1)}`).join(', ')}`);
}
console.log(`1-minute load average during the runs: ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)} (median ${median(loads).toFixed(2)})`);

for (const d of devices) await d.close();
await server.stop();
await baselineServer?.stop();
rmSync(work, { recursive: true, force: true });
