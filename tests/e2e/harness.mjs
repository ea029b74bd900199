// Test harness: starts the real release server on a free port and opens Chromium contexts,
// each a separate browser with a fresh profile. Waits on conditions, never on fixed sleeps.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join as joinPath, resolve } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { sha256File } from '../files.mjs';

export { randomFile, sha256, sha256File } from '../files.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = joinPath(ROOT, 'tests/e2e/artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BINARY = joinPath(ROOT, 'target/release/sharethings');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

export async function waitFor(check, { timeout = 30_000, interval = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/**
 * A name that is not localhost and not an IP literal, so a page loaded from it over plain HTTP
 * is not a secure context (no Web Crypto), as on a LAN: devices map it to 127.0.0.1 with
 * `--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`.
 */
export const INSECURE_HOST = 'sharethings.test';

/**
 * Builds the release binary if it is missing, starts it, and waits for GET /health. `port`
 * restarts a server where a stopped one was (a device that saw it expects it there); `binary`
 * runs another build instead (the benchmark's baseline).
 */
export async function startServer(extraEnv = {}, { port: wanted, binary = BINARY } = {}) {
  if (binary === BINARY && !existsSync(BINARY)) {
    const r = spawnSync(joinPath(ROOT, 'tests/release-build.sh'), { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('tests/release-build.sh failed');
  }
  const port = wanted ?? (await freePort());
  const logs = [];
  const proc = spawn(binary, ['--port', String(port), '--host', '127.0.0.1'], {
    cwd: ROOT,
    // Every simulated device connects from 127.0.0.1, where real devices each have their own
    // address: the per-address cap would count a whole household of browsers as one client.
    // INSECURE_HOST is a name the server must serve, as a Pi serves its LAN name.
    env: {
      ...process.env,
      RUST_LOG: 'warn',
      MAX_CONNECTIONS_PER_ADDRESS: '1024',
      SERVED_HOSTS: INSECURE_HOST,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const s of [proc.stdout, proc.stderr]) s.on('data', (d) => logs.push(String(d)));
  let exited = false;
  proc.on('exit', () => {
    exited = true;
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (exited) throw new Error(`server exited: ${logs.join('')}`);
    const r = await fetch(`${base}/health`);
    return r.status === 200;
  }, { what: 'server /health' });
  return {
    port,
    base,
    logs,
    /** Stops the server's process (SIGSTOP): it reads, relays and answers nothing until `resume()`. */
    pause() {
      proc.kill('SIGSTOP');
    },
    resume() {
      proc.kill('SIGCONT');
    },
    async stop() {
      if (exited) return;
      proc.kill('SIGCONT');
      proc.kill('SIGTERM');
      await waitFor(() => exited, { timeout: 10_000, what: 'server exit' }).catch(() => proc.kill('SIGKILL'));
    },
  };
}

/**
 * One browser "device": a persistent context on a fresh profile directory. `locale` (e.g.
 * 'de-DE') is the browser's language (navigator.languages, Accept-Language); without it the
 * browser speaks the machine's, English here.
 */
export async function openDevice({ viewport = { width: 1280, height: 800 }, colorScheme = 'light', args = [], isMobile = false, locale } = {}) {
  const dir = mkdtempSync(joinPath(tmpdir(), 'sharethings-e2e-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    viewport,
    colorScheme,
    isMobile,
    locale,
    hasTouch: isMobile,
    deviceScaleFactor: isMobile ? 2 : 1,
    acceptDownloads: true,
    permissions: [],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return {
    context,
    page,
    errors,
    dir,
    async close() {
      await context.close().catch(() => {});
      // Chromium's helper processes may still be writing the profile for a moment after the
      // context closes (ENOTEMPTY): rmSync retries those errors.
      rmSync(dir, { recursive: true, force: true, maxRetries: 10 });
    },
  };
}

/**
 * The per-file setup of a browser suite (call it once, at the top of the file): a work
 * directory named after the suite (`work`, there at once), the artifacts directory, and, in
 * the file's `before` hook, a release server on a free port (`server`) unless `server` is
 * false (an object instead of true is the server's extra environment). In its `after` hook it ends every device opened by `device()`, then everything handed
 * to `own()` (anything with `stop()`) in order, then the server, and removes the work directory.
 */
export function browserSuite({ name, server = true }) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const suite = {
    server: undefined,
    work: mkdtempSync(joinPath(tmpdir(), `sharethings-${name}-files-`)),
    devices: [],
    owned: [],
    async device(opts) {
      const d = await openDevice(opts);
      suite.devices.push(d);
      return d;
    },
    own(thing) {
      suite.owned.push(thing);
      return thing;
    },
  };
  before(async () => {
    if (server) suite.server = await startServer(server === true ? {} : server);
  });
  after(async () => {
    for (const d of suite.devices) await d.close();
    for (const thing of suite.owned) await thing.stop();
    await suite.server?.stop();
    rmSync(suite.work, { recursive: true, force: true });
  });
  return suite;
}


/**
 * A PNG drawn on the page's own canvas, so it is an image exactly as a browser makes one:
 * `width`×`height`, filled with `fill` (several colours make a diagonal gradient), with
 * `label` in white in the middle when given. Returns its bytes.
 */
export async function drawPng(page, { width, height, fill, label }) {
  const b64 = await page.evaluate(async ({ width, height, fill, label }) => {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const g = canvas.getContext('2d');
    if (fill.length === 1) {
      g.fillStyle = fill[0];
    } else {
      const grad = g.createLinearGradient(0, 0, width, height);
      fill.forEach((colour, i) => grad.addColorStop(i / (fill.length - 1), colour));
      g.fillStyle = grad;
    }
    g.fillRect(0, 0, width, height);
    if (label) {
      g.fillStyle = '#fff';
      g.font = `bold ${Math.round(height / 7)}px sans-serif`;
      g.textAlign = 'center';
      g.textBaseline = 'middle';
      g.fillText(label, width / 2, height / 2);
    }
    const blob = await new Promise((r) => canvas.toBlob(r, 'image/png'));
    let bin = '';
    for (const b of new Uint8Array(await blob.arrayBuffer())) bin += String.fromCharCode(b);
    return btoa(bin);
  }, { width, height, fill, label });
  return Buffer.from(b64, 'base64');
}

/** A real paste event on the page body (outside any text box), carrying `text` and/or PNG `files` ({ name, bytes }). */
export async function pasteOnBody(page, { text, files = [] }) {
  await page.evaluate(({ text, files }) => {
    const dt = new DataTransfer();
    if (text !== undefined) dt.setData('text/plain', text);
    for (const f of files) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: 'image/png' }));
    document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
  }, { text, files: files.map((f) => ({ name: f.name, b64: f.bytes.toString('base64') })) });
}

/**
 * Fills the home form and joins. A new session is format 3 unless `legacy` ticks the form's
 * legacy choice (format 2, for a test about format 2 itself). In format 3 a device that types
 * the passphrase is admitted by a member online: with none, it waits.
 */
export async function join(page, { session, name, passphrase, legacy = false }) {
  await page.locator('input[name=session]').fill(session);
  await page.locator('input[name=name]').fill(name);
  await page.locator('input[name=passphrase]').fill(passphrase);
  if (legacy) await page.getByTestId('legacy-format').click();
  await page.getByRole('button', { name: 'Join session' }).click();
}

/**
 * Waits for the session page. A join that created a session from a typed name is asked about
 * first ("Start a new session?", rendered with the page): the tests mean to create theirs.
 */
export async function joined(page) {
  await page.getByTestId('session-name').waitFor({ timeout: 30_000 });
  if ((await page.locator('[data-new-session=ask]').count()) > 0) {
    await page.getByRole('alertdialog').getByRole('button', { name: /^Start “/ }).click();
    await page.locator('[data-new-session=ask]').waitFor({ state: 'detached' });
  }
  await page.locator('[data-testid=connection][data-status=connected]').waitFor({ timeout: 30_000 });
}

/** Leaves the session (it asks first) and waits for the home page. */
export async function leave(page) {
  await page.getByRole('button', { name: 'Leave session' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Leave', exact: true }).click();
  await page.getByRole('button', { name: 'Join session' }).waitFor();
}

export async function members(page) {
  return page.getByTestId('member-name').allInnerTexts();
}

/** Waits for an item matching `selector` in state done and returns its locator. */
export async function doneItem(page, selector, timeout = 120_000) {
  const item = page.locator(`[data-testid=item]${selector}[data-state=done]`).first();
  await item.waitFor({ timeout });
  return item;
}

/** Clicks an item's download button and returns the SHA-256 of the downloaded file. */
export async function downloadHash(page, item) {
  const [download] = await Promise.all([page.waitForEvent('download'), item.getByTestId('download').click()]);
  const path = await download.path();
  return { hash: sha256File(path), name: download.suggestedFilename() };
}

/** Whether a process has ended (gone, or a zombie nobody reaped yet). */
function processGone(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/**
 * The processes of one browser: the one started with this profile and all its descendants
 * (Chromium's and Firefox's children, and WebKit's web and network processes, are those of
 * the process whose command line names the profile).
 */
export function browserPids(profileDir) {
  const parents = new Map();
  let root;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (root === undefined && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(profileDir)) {
        root = Number(name);
      }
    } catch {
      // The process ended while we looked.
    }
  }
  if (root === undefined) throw new Error(`no browser process for ${profileDir}`);
  // The first match may be a child that repeats the flag; climb to the topmost one.
  while (parents.has(parents.get(root)) && readFileSync(`/proc/${parents.get(root)}/cmdline`, 'utf8').includes(profileDir)) {
    root = parents.get(root);
  }
  const out = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!out.has(pid) && out.has(ppid)) {
        out.add(pid);
        grew = true;
      }
    }
  }
  return [...out];
}

/**
 * Stops a Chromium device's renderer processes (SIGSTOP), as a phone's system suspends a
 * background browser: its pages and their workers run no script until `resume()`. Its network
 * process runs on, so what a page had handed to its socket still goes out.
 */
export function stopRenderers(device) {
  const renderers = browserPids(device.dir).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer'));
  if (renderers.length === 0) throw new Error(`no renderer process for ${device.dir}`);
  for (const pid of renderers) process.kill(pid, 'SIGSTOP');
  return {
    resume() {
      for (const pid of renderers) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // Gone already.
        }
      }
    },
  };
}

/** Proportional set size of a whole browser (every process of the device), in bytes. */
export function browserPss(device) {
  let kib = 0;
  for (const pid of browserPids(device.dir)) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) kib += Number(m[1]);
    } catch {
      // The process ended while we looked.
    }
  }
  return kib * 1024;
}

/** Every file under the page's Origin Private File System, as paths with their sizes. */
export function opfsFiles(page) {
  return page.evaluate(async () => {
    const out = [];
    const walk = async (dir, prefix) => {
      for await (const [name, h] of dir.entries()) {
        if (h.kind === 'directory') await walk(h, `${prefix}${name}/`);
        else out.push(`${prefix}${name} ${(await h.getFile()).size}`);
      }
    };
    await walk(await navigator.storage.getDirectory(), '');
    return out;
  });
}

/** Every file under OPFS's `picked/<name>`, with its size and SHA-256, read back in the page. */
export function pickedTree(page, name) {
  return page.evaluate(async (name) => {
    const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
    const out = {};
    const walk = async (dir, prefix) => {
      for await (const [entry, handle] of dir.entries()) {
        if (handle.kind === 'directory') await walk(handle, `${prefix}${entry}/`);
        else {
          const file = await handle.getFile();
          out[prefix + entry] = { size: file.size, hash: hex(await crypto.subtle.digest('SHA-256', await file.arrayBuffer())) };
        }
      }
    };
    const root = await navigator.storage.getDirectory();
    await walk(await (await root.getDirectoryHandle('picked')).getDirectoryHandle(name), '');
    return out;
  }, name);
}

/** What Python's zipfile reads in a ZIP: name → [size, sha256, date_time]. */
export function readZip(path) {
  const script = `
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps({i.filename: [i.file_size, hashlib.sha256(z.read(i)).hexdigest(), list(i.date_time)] for i in z.infolist()}))`;
  return JSON.parse(execFileSync('python3', ['-c', script, path], { maxBuffer: 64 * 1024 * 1024 }).toString());
}

/** A time as a ZIP keeps it: the local date and time, to the second. */
export const localParts = (ms) => {
  const d = new Date(ms);
  return [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
};

/** SHA-256 of a file, streamed (for files too large to read at once). */
export async function sha256Stream(path) {
  const h = createHash('sha256');
  for await (const part of createReadStream(path, { highWaterMark: 4 << 20 })) h.update(part);
  return h.digest('hex');
}

/**
 * A device whose browser runs on its own, with Playwright attached only while a test drives it.
 * An attached DevTools client is sent a copy of every WebSocket frame, which the browser
 * process buffers until the client reads it: measuring memory while attached would measure
 * Playwright. `detach()` disconnects (the browser keeps running), `attach()` reconnects.
 */
export async function openDetachableDevice() {
  const dir = mkdtempSync(joinPath(tmpdir(), 'sharethings-e2e-'));
  const proc = spawn(CHROMIUM, [...CHROMIUM_ARGS, '--remote-debugging-port=0', `--user-data-dir=${dir}`, '--window-size=1280,800', 'about:blank'], { stdio: 'ignore' });
  const portFile = joinPath(dir, 'DevToolsActivePort');
  await waitFor(() => existsSync(portFile) && readFileSync(portFile, 'utf8').includes('\n'), { what: 'DevTools port' });
  const endpoint = `http://127.0.0.1:${readFileSync(portFile, 'utf8').split('\n')[0]}`;
  const device = {
    dir,
    errors: [],
    browser: undefined,
    context: undefined,
    page: undefined,
    async attach() {
      this.browser = await chromium.connectOverCDP(endpoint);
      this.context = this.browser.contexts()[0];
      this.page = this.context.pages().find((p) => p.url() !== 'about:blank') ?? this.context.pages()[0];
      this.page.on('pageerror', (e) => this.errors.push(String(e)));
      return this.page;
    },
    async detach() {
      await this.browser?.close();
      this.browser = undefined;
    },
    async close() {
      await this.detach().catch(() => {});
      // Every process of this browser, not just its first: the others go on writing into the
      // profile for a while after it dies, and removing the folder under them failed (ENOTEMPTY).
      let pids = [proc.pid];
      try {
        pids = browserPids(dir);
      } catch {
        // Already gone.
      }
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Ended meanwhile.
        }
      }
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      // (A pid taken again by then only costs the wait: the removal below still retries.)
      await waitFor(() => pids.every(processGone), { timeout: 10_000, what: 'browser processes gone' }).catch(() => {});
      rmSync(dir, { recursive: true, force: true, maxRetries: 10 });
    },
  };
  await device.attach();
  return device;
}
