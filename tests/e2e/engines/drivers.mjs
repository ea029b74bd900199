// One small device API over the three browser engines people carry, each driven the way it can
// be from Debian: Chromium through playwright-core (CDP), Firefox ESR through puppeteer-core over
// WebDriver BiDi, and WebKitGTK (Safari's engine) through WebKitWebDriver and selenium-webdriver,
// with `webkit-host.py` as the browser under Xvfb. Every device is its own browser with a fresh
// profile. What the flows need and no more: open a page, run a function in it (or a script, as
// the driver runs it, which the page's Content-Security-Policy does not stop), click an element
// found by its accessible name, type, pick files, save a download, take a screenshot, and the
// console's errors.
import { spawn } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { Builder, By } from 'selenium-webdriver';
import { ARTIFACTS, browserPids, freePort, INSECURE_HOST, openDevice, waitFor } from '../harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
/** Debian's python3 (the one with python3-gi), not whichever python3 comes first on PATH. */
const PYTHON = '/usr/bin/python3';

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

/** What an engine cannot do under its driver, said where a flow would use it. */
export const LIMITS = {
  chromium: [],
  firefox: ['no system clipboard under the driver: pasting is a synthetic event, which Firefox ignores'],
  webkit: ['no system clipboard and no file drags under WebKitWebDriver', 'typing outside the BMP (emoji) is dropped by WebKitWebDriver: text is set as an input method does'],
};

/**
 * Marks the first visible element of `selector` whose accessible name (aria-label, else text)
 * matches `name` (a string: equal after trimming; or a RegExp source), inside `within` when
 * given, with `data-e2e-target` and returns that selector; null when there is none yet.
 */
function markTarget(selector, name, isRegExp, within) {
  const scope = within ? document.querySelector(within) : document;
  if (!scope) return null;
  const test = isRegExp ? (s) => new RegExp(name).test(s) : (s) => s === name;
  for (const el of scope.querySelectorAll(selector)) {
    const label = (el.getAttribute('aria-label') ?? el.textContent ?? '').trim();
    const box = el.getBoundingClientRect();
    if (!test(label) || box.width === 0 || box.height === 0) continue;
    document.querySelectorAll('[data-e2e-target]').forEach((e) => e.removeAttribute('data-e2e-target'));
    el.setAttribute('data-e2e-target', '1');
    el.scrollIntoView({ block: 'center' });
    return '[data-e2e-target="1"]';
  }
  return null;
}

/** Sets an input's value the way an input method does (React sees an `input` event). */
function setValue(selector, value) {
  const el = document.querySelector(selector);
  if (!el) throw new Error(`no ${selector}`);
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, value);
  el.dispatchEvent(new Event('input', { bubbles: true }));
  return true;
}

/**
 * `fn` called with `args` in the page, as an expression every driver evaluates alike: awaited,
 * and an element found comes back as `true` (drivers cannot all carry a node back).
 */
const call = (fn, args) => `(async () => { const v = await (${fn})(...${JSON.stringify(args)}); return v instanceof Node ? true : v; })()`;

/** The common part of every engine's device: finding, clicking, typing, waiting, downloads. */
function common(device) {
  return Object.assign(device, {
    /** Waits for `check` (a function run in the page with `args`) to return something truthy; returns it. */
    async until(check, args = [], { timeout = 60_000, what = 'condition' } = {}) {
      let value;
      await waitFor(async () => (value = await device.run(check, ...args)), { timeout, interval: 200, what: `${what} in ${device.engine}` });
      return value;
    },
    /** Clicks the element of `selector` named `name` (string or RegExp), natively. */
    async click(name, { selector = 'button, a, [role=button], label', within, timeout } = {}) {
      const isRegExp = name instanceof RegExp;
      const target = await device.until(markTarget, [selector, isRegExp ? name.source : name, isRegExp, within], { timeout, what: `"${name}"` });
      await device.nativeClick(target);
    },
    /**
     * Types `value` into the field of `selector`, and checks that the page kept it: WebKitGTK
     * under load has dropped React's state update for such an input event (5 times in about 110
     * runs of the format 3 test beside two busy loops, on 2026-12-08): React then put the field
     * back to empty, and a click on the Send button that stayed disabled did nothing. Typed
     * again, as a person who sees the box still empty would, up to three times.
     */
    async fill(selector, value) {
      await device.until((s) => Boolean(document.querySelector(s)), [selector], { what: selector });
      for (let attempt = 1; ; attempt++) {
        await device.run(setValue, selector, value);
        const kept = await device
          .until((s, v) => document.querySelector(s)?.value === v, [selector, value], { timeout: 2_000, what: `${selector} keeps what was typed` })
          .then(() => true, () => false);
        if (kept) return;
        if (attempt === 3) throw new Error(`${device.engine}: ${selector} did not keep what was typed, three times`);
      }
    },
    /**
     * Clicks an item's Download button and waits for the file, `size` bytes, in the profile's
     * downloads (browsers create it empty first, and may write beside it until done).
     */
    async download(itemSelector, name, size) {
      const path = joinPath(device.downloads, name);
      rmSync(path, { force: true });
      // In the middle of the view, as `click` does: the session's header is sticky, and a
      // button the driver scrolls just into view can sit under it, which takes the click.
      // The button comes a render after the item shows done (its link needs the file's object
      // URL): the driver's click does not wait for it, so this does.
      const button = `${itemSelector} [data-testid=download]`;
      await device.until((css) => {
        const el = document.querySelector(css);
        el?.scrollIntoView({ block: 'center' });
        return Boolean(el);
      }, [button], { what: `the Download button of ${name}` });
      await device.nativeClick(button);
      await waitFor(() => existsSync(path) && statSync(path).size === size && !readdirSync(device.downloads).some((f) => f.startsWith(name) && f !== name), {
        timeout: 120_000,
        interval: 200,
        what: `${name} downloaded by ${device.engine}`,
      }).catch(async (e) => {
        const found = readdirSync(device.downloads).map((f) => `${f} (${statSync(joinPath(device.downloads, f)).size} bytes)`);
        const shot = joinPath(ARTIFACTS, `download-failed-${device.engine}-${name}.png`);
        await device.screenshot(shot).catch(() => undefined);
        // What a click at the button's middle would reach now: the button, or what covers it.
        const atButton = await device
          .run((css) => {
            const r = document.querySelector(css)?.getBoundingClientRect();
            const hit = r && document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
            return r ? `button at ${Math.round(r.x)},${Math.round(r.y)}; there: ${hit?.closest('[aria-label], [data-testid]')?.outerHTML.slice(0, 200) ?? hit?.tagName}` : 'no button';
          }, button)
          .catch((err) => err.message);
        throw new Error(`${e.message}; the downloads folder holds: ${found.join(', ') || 'nothing'}; ${atButton} (the page: ${shot})`);
      });
      return path;
    },
    pids: () => browserPids(device.dir),
  });
}

/** Chromium: the harness's own device, with this API added. */
async function chromiumDevice({ viewport, insecure }) {
  const d = await openDevice({ viewport, isMobile: viewport.width < 500, args: insecure ? [`--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`] : [] });
  const downloads = joinPath(d.dir, 'Downloads');
  mkdirSync(downloads, { recursive: true });
  const device = {
    engine: 'chromium',
    dir: d.dir,
    downloads,
    errors: d.errors,
    goto: (url) => d.page.goto(url),
    run: (fn, ...args) => d.page.evaluate(call(fn, args)),
    inject: (src) => d.page.evaluate(src),
    nativeClick: (css) => d.page.locator(css).first().click(),
    setFiles: (css, paths) => d.page.locator(css).setInputFiles(paths),
    screenshot: (path) => d.page.screenshot({ path }),
    async nativeDownload(css, path) {
      const [download] = await Promise.all([d.page.waitForEvent('download'), d.page.locator(css).first().click()]);
      await download.saveAs(path);
    },
    close: () => d.close(),
    raw: d,
  };
  common(device);
  // Playwright keeps downloads to itself: save each where the other engines put theirs.
  device.download = async (itemSelector, name) => {
    const path = joinPath(downloads, name);
    await device.nativeDownload(`${itemSelector} [data-testid=download]`, path);
    return path;
  };
  return device;
}

/** Firefox ESR over WebDriver BiDi, downloads saved without asking into the profile. */
async function firefoxDevice({ viewport, insecure, prefs = {} }) {
  const dir = mkdtempSync(joinPath(tmpdir(), 'sharethings-firefox-'));
  const downloads = joinPath(dir, 'Downloads');
  mkdirSync(downloads, { recursive: true });
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    userDataDir: dir,
    defaultViewport: viewport,
    // Under load the first BiDi connection can take a while.
    protocolTimeout: 180_000,
    timeout: 120_000,
    extraPrefsFirefox: {
      'browser.download.dir': downloads,
      'browser.download.folderList': 2,
      'browser.download.useDownloadDir': true,
      'browser.download.always_ask_before_handling_new_types': false,
      'browser.download.start_downloads_in_tmp_dir': false,
      // The plain-HTTP check: a LAN name served by the test server on loopback.
      ...(insecure ? { 'network.dns.localDomains': INSECURE_HOST } : {}),
      ...prefs,
    },
  });
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  const device = {
    engine: 'firefox',
    dir,
    downloads,
    errors,
    goto: (url) => page.goto(url),
    run: (fn, ...args) => page.evaluate(call(fn, args)),
    inject: (src) => page.evaluate(src),
    nativeClick: (css) => page.locator(css).click(),
    async setFiles(css, paths) {
      const input = await page.waitForSelector(css);
      await input.uploadFile(...[paths].flat());
    },
    screenshot: (path) => page.screenshot({ path }),
    async close() {
      await browser.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true, maxRetries: 10 });
    },
    raw: { browser, page },
  };
  return common(device);
}

/** One X server for every WebKit device of this process (its own display, found free). */
let xvfb;
async function display() {
  if (!xvfb) {
    xvfb = new Promise((resolve, reject) => {
      const proc = spawn('Xvfb', ['-displayfd', '1', '-screen', '0', '1600x1200x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'pipe', 'ignore'] });
      proc.once('error', reject);
      proc.stdout.once('data', (d) => resolve({ proc, name: `:${String(d).trim()}` }));
      process.once('exit', () => proc.kill());
    });
  }
  return (await xvfb).name;
}

/** Stops the suite's X server, once every WebKit device is closed. */
export async function stopDisplay() {
  if (xvfb) (await xvfb).proc.kill();
  xvfb = undefined;
}

/**
 * A proxy that makes `INSECURE_HOST` reach the test server on loopback, for WebKit, which has
 * no host-resolver rule of its own: plain requests by their absolute URL, WebSockets by CONNECT.
 */
async function insecureProxy(port) {
  const proxy = createServer((req, res) => {
    const url = new URL(req.url);
    const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: `${url.pathname}${url.search}`, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  // A WebSocket comes as CONNECT (a tunnel), or as an absolute-URL upgrade: both are piped raw.
  const tunnel = (socket, head, preface) => {
    const up = connect(port, '127.0.0.1', () => {
      if (preface) up.write(preface);
      else socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  };
  proxy.on('connect', (req, socket, head) => tunnel(socket, head));
  proxy.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url);
    const lines = [`${req.method} ${url.pathname}${url.search} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    tunnel(socket, head, `${lines.join('\r\n')}\r\n\r\n`);
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  return proxy;
}

/** WebKitGTK in `webkit-host.py` under Xvfb, driven by WebKitWebDriver in --target mode. */
async function webkitDevice({ viewport, insecure, serverPort }) {
  const dir = mkdtempSync(joinPath(tmpdir(), 'sharethings-webkit-'));
  const downloads = joinPath(dir, 'Downloads');
  const inspector = await freePort();
  const driverPort = await freePort();
  const proxy = insecure ? await insecureProxy(serverPort) : undefined;
  const errors = [];
  // WebKitGTK's createWritable() writes its swap file into TMPDIR and leaves it when the
  // process is killed: 2 GiB in /tmp per run, unless TMPDIR is this device's own folder.
  const tmp = joinPath(dir, 'tmp');
  mkdirSync(tmp);
  const env = { ...process.env, TMPDIR: tmp, DISPLAY: await display(), WEBKIT_INSPECTOR_SERVER: `127.0.0.1:${inspector}` };
  if (proxy) env.SHARETHINGS_PROXY = `http://127.0.0.1:${proxy.address().port}`;
  const host = spawn(PYTHON, [joinPath(HERE, 'webkit-host.py'), dir, String(viewport.width), String(viewport.height)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let ready = false;
  let hostExited = false;
  host.on('exit', () => (hostExited = true));
  const onLine = (d) => {
    for (const line of String(d).split('\n')) {
      if (line.startsWith('webkit-host:')) ready = true;
      if (/CONSOLE (JS|NETWORK)? ?ERROR|CONSOLE JS ERROR/.test(line)) errors.push(line);
    }
  };
  host.stdout.on('data', onLine);
  host.stderr.on('data', onLine);
  await waitFor(() => {
    if (hostExited) throw new Error('webkit-host exited');
    return ready;
  }, { timeout: 60_000, what: 'webkit-host' });
  const driverProc = spawn('WebKitWebDriver', [`--port=${driverPort}`, `--target=127.0.0.1:${inspector}`], { stdio: 'ignore' });
  let driver;
  await waitFor(async () => {
    driver = await new Builder().usingServer(`http://127.0.0.1:${driverPort}`).withCapabilities({ browserName: 'sharethings-webkit-host' }).build();
    return true;
  }, { timeout: 60_000, interval: 500, what: 'WebKitWebDriver session' });
  await driver.manage().setTimeouts({ script: 180_000 });
  const device = {
    engine: 'webkit',
    dir,
    tmp,
    downloads,
    errors,
    goto: (url) => driver.get(url),
    async run(fn, ...args) {
      const r = await driver.executeAsyncScript(
        `const done = arguments[arguments.length - 1];
         ${call(fn, args)}.then((v) => done({ ok: v === undefined ? null : v }), (e) => done({ err: String(e && e.stack || e) }));`,
      );
      if (r.err) throw new Error(r.err);
      return r.ok;
    },
    inject: (src) => driver.executeScript(src),
    nativeClick: async (css) => (await driver.findElement(By.css(css))).click(),
    async setFiles(css, paths) {
      await (await driver.findElement(By.css(css))).sendKeys([paths].flat().join('\n'));
    },
    async screenshot(path) {
      writeFileSync(path, Buffer.from(await driver.takeScreenshot(), 'base64'));
    },
    async close() {
      await driver.quit().catch(() => {});
      driverProc.kill();
      host.kill('SIGKILL');
      for (const pid of (() => {
        try {
          return browserPids(dir);
        } catch {
          return [];
        }
      })()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Ended meanwhile.
        }
      }
      proxy?.close();
      rmSync(dir, { recursive: true, force: true, maxRetries: 10 });
    },
    raw: { driver },
  };
  return common(device);
}

/**
 * Opens a device of `engine` ('chromium', 'firefox' or 'webkit'). `insecure`: it will open
 * `http://INSECURE_HOST:<serverPort>/` (a LAN name, not a secure context) and must reach the
 * test server by it. `prefs`: Firefox preferences (its storage quota, say).
 */
export function openEngine(engine, { viewport = DESKTOP, insecure = false, serverPort, prefs } = {}) {
  switch (engine) {
    case 'chromium':
      return chromiumDevice({ viewport, insecure });
    case 'firefox':
      return firefoxDevice({ viewport, insecure, prefs });
    case 'webkit':
      return webkitDevice({ viewport, insecure, serverPort });
    default:
      throw new Error(`unknown engine ${engine}`);
  }
}

/**
 * Opens the app at `base` and joins; a typed name that creates a session is confirmed (see
 * `joined` in the harness). `legacy` makes a session it creates a format 2 one.
 */
export async function enterSession(d, base, { session, name, passphrase, keep = false, legacy = false }) {
  await d.goto(base);
  await d.until(() => Boolean(document.querySelector('input[name=session]')), [], { what: 'home page' });
  if (keep) await d.nativeClick('[data-testid=keep-items]');
  if (legacy) await d.nativeClick('[data-testid=legacy-format]');
  await d.fill('input[name=session]', session);
  await d.fill('input[name=name]', name);
  await d.fill('input[name=passphrase]', passphrase);
  await d.click('Join session', { selector: 'button' });
  const state = await d.until(() => (document.querySelector('[data-new-session=ask]') ? 'ask' : document.querySelector('[data-testid=session-name]') ? 'in' : ''), [], { timeout: 90_000, what: 'session page' });
  if (state === 'ask') await d.click(/^Start “/, { selector: '[role=alertdialog] button' });
  await d.until(() => Boolean(document.querySelector('[data-testid=connection][data-status=connected]') && !document.querySelector('[data-new-session=ask]')), [], { what: 'connected' });
}
