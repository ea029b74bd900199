// ShareThings over Wi-Fi (issue 26): the release server in one network namespace, two
// Chromium browsers and sharethings-cli each in their own, joined through examples/wifi's
// switch with the link profiles of lab.mjs. Under good and poor Wi-Fi: text both ways, a file
// from browser 1 to browser 2 (and the CLI) byte-identical, with its throughput; then the
// dropouts: a receiver's link dark for 20 s mid-transfer, and a sender's dark for 20 s that
// comes back with a new address. Every item ends done, and the server's /metrics show what
// was sent again.
//
// NET_PROFILES (default "good poor") names the profiles to run, e.g. "good";
// NET_FILE_MIB (default 50) sizes the good-Wi-Fi file and NET_POOR_FILE_MIB (default 8) the
// poor-Wi-Fi one (50 MiB at the 1-2 Mbit/s that TCP Reno gets through 3 % loss would take
// minutes); NET_CONGESTION (default reno) is the TCP congestion control in every namespace.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { after, before, describe, test } from 'node:test';
// playwright-core from the e2e suite's node_modules (tests/net/install.sh installs them).
import { chromium } from '../e2e/node_modules/playwright-core/index.mjs';
import { CHROMIUM_ARGS, doneItem, join, joined, randomFile as randomFileIn, ROOT, sha256Stream, waitFor } from '../e2e/harness.mjs';
import { buildLab, SERVER_ADDRESS, WIFI } from './lab.mjs';

const MiB = 1024 * 1024;
const PASS = 'harbour-lantern-fig-eleven-slate-moss';
const PORT = 3001;
const BASE = `http://${SERVER_ADDRESS}:${PORT}`;
const SERVER = joinPath(ROOT, 'target/release/sharethings');
const CLI = joinPath(ROOT, 'target/release/sharethings-cli');
const CONGESTION = process.env.NET_CONGESTION ?? 'reno';
const work = mkdtempSync(joinPath(tmpdir(), 'sharethings-net-files-'));
after(() => rmSync(work, { recursive: true, force: true }));

const randomFile = (name, size) => randomFileIn(work, name, size);

/** The server's /metrics as numbers (asked from inside the server's namespace). */
function metrics(lab) {
  const text = lab.exec('server', 'curl', ['-sf', `${BASE}/metrics`]);
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^(sharethings_\w+)(?:\{[^}]*\})? (\d+)$/.exec(line);
    if (m) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
  }
  return out;
}

/** A lab of one profile, the server, two browsers and a CLI receiver joined in one session. */
function profileSuite(profile) {
  const s = { lab: undefined, browsers: [], dirs: [], cli: undefined, cliOut: '', cliDir: undefined, cliHome: undefined, session: `wifi-${profile}-${process.pid}` };
  before(async () => {
    s.lab = await buildLab(['b1', 'b2', 'cli'].map((name) => ({ name, profile })), { congestion: CONGESTION });
    const server = s.lab.spawnIn('server', SERVER, ['--host', '0.0.0.0', '--port', String(PORT)], {
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    s.server = server;
    await waitFor(() => {
      assert.equal(server.exitCode, null, 'the server exited');
      return metrics(s.lab).sharethings_uptime_seconds !== undefined;
    }, { what: 'the server in its namespace' });
    for (const name of ['b1', 'b2']) {
      const dir = mkdtempSync(joinPath(tmpdir(), `sharethings-net-${name}-`));
      s.dirs.push(dir);
      const context = await chromium.launchPersistentContext(dir, {
        executablePath: s.lab.chromiumIn(name),
        headless: true,
        // The page is served over plain HTTP from a LAN address; a Pi set up with
        // sharethings-setup-tls serves it over HTTPS, where Web Crypto exists. This flag
        // gives the page that secure context without a certificate in the way.
        args: [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${BASE}`],
        acceptDownloads: true,
      });
      const page = context.pages()[0] ?? (await context.newPage());
      s.browsers.push({ name, context, page });
      await page.goto(BASE, { timeout: 60_000 });
      await join(page, { session: s.session, name, passphrase: PASS });
      await joined(page);
    }
    s.cliDir = mkdtempSync(joinPath(tmpdir(), 'sharethings-net-cli-'));
    // The CLI's home: its key store (a format 3 session's room key) and inbox state live there.
    s.cliHome = mkdtempSync(joinPath(tmpdir(), 'sharethings-net-home-'));
    s.dirs.push(s.cliDir, s.cliHome);
    s.cli = s.lab.spawnIn('cli', CLI, ['receive', '--allow-http', '--dir', s.cliDir], {
      env: { PATH: process.env.PATH, HOME: s.cliHome, SHARETHINGS_SERVER: BASE, SHARETHINGS_SESSION: s.session, SHARETHINGS_NAME: 'terminal', SHARETHINGS_PASSPHRASE: PASS },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    s.cli.stdout.on('data', (d) => { s.cliOut += d; });
    for (const b of s.browsers) {
      await waitFor(async () => (await b.page.getByTestId('member-name').allInnerTexts()).length === 3, { timeout: 60_000, what: `${b.name} to list 3 members` });
    }
  });
  after(async () => {
    for (const b of s.browsers) await b.context.close().catch(() => {});
    s.lab?.remove();
    for (const d of s.dirs) rmSync(d, { recursive: true, force: true, maxRetries: 10 });
  });
  return s;
}

/** Every item in every browser ended done (none cancelled, orphaned or failed), and no file is listed twice. */
async function allDone(s) {
  for (const b of s.browsers) {
    const items = await b.page.locator('[data-testid=item]').evaluateAll((els) => els.map((e) => ({ id: e.dataset.id, kind: e.dataset.kind, name: e.dataset.name, state: e.dataset.state })));
    const shown = items.map((i) => `${i.name}:${i.state}`).join(', ');
    for (const i of items) assert.equal(i.state, 'done', `${b.name}: ${shown}`);
    const files = items.filter((i) => i.kind !== 'text').map((i) => i.name);
    assert.equal(new Set(files).size, files.length, `${b.name} lists a file twice: ${shown}`);
    assert.equal(new Set(items.map((i) => i.id)).size, items.length, `${b.name} lists an item twice: ${shown}`);
  }
}

/**
 * What a resume may send again: only what was in flight to the member that dropped out when
 * its connection went, which the server counts as relayed once already. That is at most its
 * send queue (SEND_QUEUE_BYTES, default 8 MiB) and the two kernels' socket buffers between
 * the server and the page (the largest tcp_wmem and tcp_rmem); anything acknowledged before
 * the dropout is not sent again.
 */
function inFlightBound(lab) {
  const max = (name) => Number(lab.exec('server', 'sysctl', ['-n', name]).trim().split(/\s+/).at(-1));
  return 8 * MiB + max('net.ipv4.tcp_wmem') + max('net.ipv4.tcp_rmem');
}

/** Plain TCP goodput from `station` to the server over the same links, as iperf would measure it. */
async function tcpGoodput(lab, station, seconds) {
  const sink = lab.spawnIn('server', WIFI, ['echo', `${SERVER_ADDRESS}:5201`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => sink.stdout.once('data', resolve));
  try {
    const out = lab.exec(station, WIFI, ['tcp', `${SERVER_ADDRESS}:5201`, String(seconds)]);
    const m = /([\d.]+) Mbit\/s/.exec(out);
    assert.ok(m, out);
    return Number(m[1]);
  } finally {
    sink.kill('SIGKILL');
  }
}

/** Records the page's connection badge every 200 ms until `stop()`; its transitions, timed. */
function watchBadge(page, t0) {
  const seen = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const status = await page.getByTestId('connection').getAttribute('data-status').catch(() => 'gone');
      if (seen.at(-1)?.status !== status) seen.push({ status, at: (Date.now() - t0) / 1000 });
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      await loop;
      return seen.map((x) => `${x.status}@${x.at.toFixed(1)}s`).join(' → ');
    },
  };
}

/** Stops `watchers` (watchBadge's, one per browser in order) and names each browser's transitions. */
async function stopBadges(s, watchers) {
  const shown = [];
  for (const [i, w] of watchers.entries()) shown.push(`${s.browsers[i].name}: ${await w.stop()}`);
  return shown;
}

/**
 * Sends a file from browser 1 and, once browser 2 has `darkAfterMiB` of it, takes `station`'s
 * link away for `seconds` (and gives it `newAddress` as it comes back, if any). Resolves when
 * browser 2 and the CLI have the file, byte-identical; returns what the pages' badges showed
 * and the bytes the server relayed.
 */
async function dropout(s, { name, mib, station, seconds, newAddress }) {
  const [b1, b2] = s.browsers;
  const f = randomFile(name, mib * MiB);
  const before = metrics(s.lab);
  await b1.page.getByTestId('file-input').setInputFiles(f.path);
  await waitFor(() => metrics(s.lab).sharethings_bytes_relayed_total - before.sharethings_bytes_relayed_total > 2 * (mib / 4) * MiB, { timeout: 300_000, interval: 200, what: 'a quarter of the file relayed' });
  const t0 = Date.now();
  await s.lab.switchCommand(`dark ${s.lab.port(station)} ${seconds}`);
  if (newAddress) s.lab.readdress(station, newAddress);
  const badges = s.browsers.map((b) => watchBadge(b.page, t0));
  const done = await doneItem(b2.page, `[data-name="${name}"]`, 600_000);
  const recovered = (Date.now() - t0) / 1000;
  const [download] = await Promise.all([b2.page.waitForEvent('download'), done.getByTestId('download').click()]);
  assert.equal(await sha256Stream(await download.path()), f.hash);
  await download.delete();
  await waitFor(async () => readdirSync(s.cliDir).includes(name) && (await sha256Stream(joinPath(s.cliDir, name))) === f.hash, { timeout: 600_000, interval: 500, what: 'the CLI to have the file' });
  // The badges settle back to connected by themselves.
  for (const b of s.browsers) await b.page.locator('[data-testid=connection][data-status=connected]').waitFor({ timeout: 120_000 });
  const shown = await stopBadges(s, badges);
  const relayed = metrics(s.lab).sharethings_bytes_relayed_total - before.sharethings_bytes_relayed_total;
  return { f, badges, shown, recovered, relayed };
}

for (const profile of (process.env.NET_PROFILES ?? 'good poor').split(/\s+/).filter(Boolean)) {
  describe(`${profile} Wi-Fi`, () => {
    const s = profileSuite(profile);
    const mib = Number(profile === 'good' ? process.env.NET_FILE_MIB ?? 50 : process.env.NET_POOR_FILE_MIB ?? 8);

    test('text arrives both ways', { timeout: 120_000 }, async () => {
      const [b1, b2] = s.browsers;
      const text = `on ${profile} wifi ✓`;
      const box = b1.page.getByLabel('Text to share');
      await box.fill(text);
      await box.press('Control+Enter');
      await b2.page.getByText(text).first().waitFor({ timeout: 60_000 });
      await waitFor(() => s.cliOut.includes(`${text}\n`), { timeout: 60_000, what: 'the text on the CLI' });
      const reply = `from the terminal on ${profile} wifi`;
      // Another device: a home of its own, apart from the receiver's key store.
      const home = mkdtempSync(joinPath(tmpdir(), 'sharethings-net-home-'));
      s.dirs.push(home);
      const sender = s.lab.spawnIn('cli', CLI, ['send', '--allow-http', '--text', reply], {
        env: { PATH: process.env.PATH, HOME: home, SHARETHINGS_SERVER: BASE, SHARETHINGS_SESSION: s.session, SHARETHINGS_NAME: 'reply', SHARETHINGS_PASSPHRASE: PASS },
        stdio: 'ignore',
      });
      const code = await new Promise((r) => sender.on('exit', r));
      assert.equal(code, 0);
      for (const b of s.browsers) await b.page.getByText(reply).first().waitFor({ timeout: 60_000 });
    });

    test(`a ${mib} MiB file arrives byte-identical, with its throughput`, { timeout: 900_000 }, async () => {
      const [b1, b2] = s.browsers;
      const f = randomFile(`${profile}.bin`, mib * MiB);
      const before = metrics(s.lab);
      const started = Date.now();
      // Which page, if any, loses its connection during the file: what to look at when
      // chunks go twice.
      const badges = s.browsers.map((b) => watchBadge(b.page, started));
      let done;
      let shown;
      try {
        await b1.page.getByTestId('file-input').setInputFiles(f.path);
        done = await doneItem(b2.page, `[data-name="${profile}.bin"]`, 840_000);
      } finally {
        shown = await stopBadges(s, badges);
      }
      const seconds = (Date.now() - started) / 1000;
      const [download] = await Promise.all([b2.page.waitForEvent('download'), done.getByTestId('download').click()]);
      assert.equal(await sha256Stream(await download.path()), f.hash);
      await download.delete();
      await waitFor(() => readdirSync(s.cliDir).includes(`${profile}.bin`), { timeout: 600_000, what: 'the CLI to save the file' });
      await waitFor(async () => (await sha256Stream(joinPath(s.cliDir, `${profile}.bin`))) === f.hash, { timeout: 600_000, what: 'the CLI to finish the file' });
      const after = metrics(s.lab);
      const relayed = after.sharethings_bytes_relayed_total - before.sharethings_bytes_relayed_total;
      const mbit = (f.size * 8) / seconds / 1e6;
      // The same link's plain TCP goodput, right after: what the kernel's congestion control
      // makes of the profile's loss and delay, which bounds any application on it.
      const tcp = await tcpGoodput(s.lab, 'b1', 10);
      console.log(`# ${profile} Wi-Fi (${CONGESTION}): ${mib} MiB browser 1 → browser 2 in ${seconds.toFixed(1)} s, ${mbit.toFixed(1)} Mbit/s; plain TCP on the same link ${tcp.toFixed(1)} Mbit/s (${((100 * mbit) / tcp).toFixed(0)} %); server relayed ${(relayed / MiB).toFixed(1)} MiB to 2 receivers; badges ${shown.join('; ')}`);
      // Two receivers, each the file once plus the format's overhead (a tag per chunk,
      // headers): nothing was sent twice.
      assert.ok(relayed < 2 * f.size * 1.01 + MiB, `relayed ${relayed} bytes for 2 × ${f.size}`);
      await allDone(s);
    });

    // The receiver keeps its address, so its TCP connection may outlive 20 s of silence:
    // whether its page notices (and says "reconnecting") depends on where the dark falls
    // between two of the server's pings (every 25 s, 20 s to answer). Either way it must get
    // the rest by itself, end connected, and be sent again at most what was in flight.
    test('a receiver out of range for 20 s mid-transfer comes back by itself and gets the rest', { timeout: 900_000 }, async () => {
      const r = await dropout(s, { name: `${profile}-receiver-gone.bin`, mib, station: 'b2', seconds: 20 });
      const resent = r.relayed - 2 * r.f.size;
      console.log(`# ${profile}: receiver dark 20 s; done ${r.recovered.toFixed(1)} s after the dropout; relayed ${(resent / MiB).toFixed(1)} MiB more than 2 × the file; badges ${r.shown.join('; ')}`);
      assert.ok(resent <= inFlightBound(s.lab), `sent ${resent} bytes again`);
      assert.equal(r.badges[0].seen.length, 1, `the sender's page lost its connection: ${r.shown[0]}`);
      await allDone(s);
    });

    // The sender's old address is gone, so its old connection is: its page must say so at
    // once and reconnect from the new address, and the transfer resumes where it was.
    test('a sender out of range for 20 s that comes back with a new address says so and resumes', { timeout: 900_000 }, async () => {
      const r = await dropout(s, { name: `${profile}-sender-gone.bin`, mib, station: 'b1', seconds: 20, newAddress: 51 });
      const resent = r.relayed - 2 * r.f.size;
      console.log(`# ${profile}: sender dark 20 s, new address; done ${r.recovered.toFixed(1)} s after the dropout; relayed ${(resent / MiB).toFixed(1)} MiB more than 2 × the file; badges ${r.shown.join('; ')}`);
      const statuses = r.badges[0].seen.map((x) => x.status);
      assert.ok(statuses.some((st) => st === 'reconnecting' || st === 'offline'), `the sender's page never said it lost the server: ${r.shown[0]}`);
      assert.equal(statuses.at(-1), 'connected');
      assert.ok(resent <= inFlightBound(s.lab), `sent ${resent} bytes again`);
      await allDone(s);
    });
  });
}
