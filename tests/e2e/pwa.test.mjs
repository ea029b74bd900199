// Browser tests of the installable app (issue 12, points 1 to 3): the manifest and the service
// worker, the app shell without the server, updates, the share target, and arrival alerts.
// Debian's Chromium, driven by playwright-core, against the real release server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { join as joinPath } from 'node:path';
import { describe, test } from 'node:test';
import { browserSuite, doneItem, downloadHash, join, joined, leave, ROOT, sha256, startServer, waitFor } from './harness.mjs';

const PASS = 'amber-comet-lake-seven-violet-plum';
const SHELL_PREFIX = 'sharethings-shell-';

const suite = browserSuite({ name: 'pwa' });
const { device } = suite;

/** Opens the app and waits until its service worker controls the page and cached the shell. */
async function openInstalled(page, base) {
  await page.goto(base);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
  return page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('sharethings-shell-')));
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes) {
  assert.equal(bytes.subarray(1, 4).toString('latin1'), 'PNG');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

/**
 * Stands between Chromium and the real server and can swap the web client it serves: in
 * build B, `/`, `/index.html` and `/sw.js` are build A's with a marker in the page and a new
 * build id in the worker, exactly what a new release changes. Everything else, and every
 * header (CSP, cache policy), comes from the real server.
 */
async function deploySwitch(target) {
  const overrides = new Map();
  const proxy = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const override = overrides.get(path === '/' ? '/index.html' : path);
    const headers = { ...req.headers, host: `127.0.0.1:${target.port}`, 'accept-encoding': 'identity' };
    delete headers['if-none-match'];
    const upstream = httpRequest({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers }, (up) => {
      if (!override) {
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
        return;
      }
      up.resume();
      const { etag: _etag, 'content-length': _length, ...rest } = up.headers;
      res.writeHead(200, { ...rest, 'content-length': override.length });
      res.end(override);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${proxy.address().port}`;
  const fetchText = async (path) => (await fetch(`${target.base}${path}`)).text();
  return {
    base,
    /** Serves build B from now on; returns its build id. */
    async deployB(buildA) {
      const buildB = 'b0b0b0b0b0b0b0b0';
      const index = (await fetchText('/index.html')).replace('</head>', '<meta name="sharethings-build" content="B" /></head>');
      const sw = await fetchText('/sw.js');
      assert.ok(sw.includes(buildA), 'the worker names its build id');
      overrides.set('/index.html', Buffer.from(index));
      overrides.set('/sw.js', Buffer.from(sw.replaceAll(buildA, buildB)));
      return buildB;
    },
    close: () => new Promise((r) => proxy.close(r)),
  };
}

/**
 * Headless Chromium reports every page visible, whatever its window does, so the test sets
 * what the browser sets when a tab goes to the background and fires the same event.
 */
async function setHidden(page, hidden) {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

const notifications = (page) =>
  page.evaluate(async () => {
    const reg = await navigator.serviceWorker.getRegistration();
    return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag }));
  });

describe('the installable app', () => {
  test('the manifest, icons and service worker install cleanly (no installability errors)', async () => {
    const manifest = await (await fetch(`${suite.server.base}/manifest.webmanifest`)).json();
    assert.equal(manifest.name, 'ShareThings');
    assert.equal(manifest.short_name, 'ShareThings');
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.start_url, '/');
    assert.match(manifest.theme_color, /^#[0-9a-f]{6}$/);
    assert.match(manifest.background_color, /^#[0-9a-f]{6}$/);
    const icons = [...manifest.icons.map((i) => [i.src, i.sizes, i.purpose]), ['/apple-touch-icon.png', '180x180', 'apple']];
    for (const purpose of ['any', 'maskable']) {
      for (const size of ['192x192', '512x512']) assert.ok(icons.some(([, s, p]) => s === size && p === purpose), `${purpose} ${size}`);
    }
    for (const [src, sizes] of icons.filter(([src]) => src.endsWith('.png'))) {
      const r = await fetch(`${suite.server.base}${src}`);
      assert.equal(r.status, 200, src);
      assert.equal(r.headers.get('content-type'), 'image/png', src);
      assert.equal(pngSize(Buffer.from(await r.arrayBuffer())).join('x'), sizes, src);
    }

    const d = await device();
    const shell = await openInstalled(d.page, suite.server.base);
    assert.equal(shell.length, 1, 'one shell cache');
    const cdp = await d.context.newCDPSession(d.page);
    assert.deepEqual((await cdp.send('Page.getInstallabilityErrors')).installabilityErrors, []);
    const parsed = await cdp.send('Page.getAppManifest');
    assert.deepEqual(parsed.errors, []);
    // The whole build is cached: the app needs nothing else to start.
    const cached = await d.page.evaluate(async (name) => (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname), shell[0]);
    for (const path of ['/index.html', '/manifest.webmanifest', '/icon-192.png', '/apple-touch-icon.png']) assert.ok(cached.includes(path), path);
    const html = await (await fetch(`${suite.server.base}/`)).text();
    for (const [, src] of html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)) assert.ok(cached.includes(src), src);
    assert.deepEqual(d.errors, []);
  });

  test('the installed app opens without the server and says it is unreachable', async () => {
    const own = await startServer();
    const d = await device();
    await openInstalled(d.page, own.base);
    await own.stop();
    await d.page.reload();
    await d.page.getByRole('button', { name: 'Join session' }).waitFor();
    const banner = d.page.getByTestId('server-unreachable');
    await banner.waitFor();
    assert.match(await banner.innerText(), /server is unreachable/);
    // The server comes back where it was: the banner goes by itself.
    const back = await startServer({}, { port: own.port });
    try {
      await banner.waitFor({ state: 'detached', timeout: 30_000 });
    } finally {
      await back.stop();
    }
  });

  test('a new web client reaches the installed app on its next start; the old cache goes', async () => {
    const deploy = await deploySwitch(suite.server);
    try {
      const d = await device();
      const [cacheA] = await openInstalled(d.page, deploy.base);
      const buildA = cacheA.slice(SHELL_PREFIX.length);
      const buildB = await deploy.deployB(buildA);
      const marker = (page) => page.evaluate(() => document.querySelector('meta[name=sharethings-build]')?.getAttribute('content') ?? 'A');

      // Next start: the page is network-first, so it is build B at once, while the new worker
      // installs and waits for the old one's pages to go.
      await d.page.close();
      const second = await d.context.newPage();
      await second.goto(deploy.base);
      assert.equal(await marker(second), 'B');
      const waiting = () => second.evaluate(async () => Boolean((await navigator.serviceWorker.getRegistration())?.waiting));
      await waitFor(waiting, { timeout: 60_000, what: 'the new worker installed' });

      // With the app closed, the new worker takes over and deletes build A's cache; the start
      // after that runs it.
      await second.close();
      const onlyB = (keys) => keys.length === 1 && keys[0] === `${SHELL_PREFIX}${buildB}`;
      await waitFor(async () => {
        for (const worker of d.context.serviceWorkers()) if (onlyB(await worker.evaluate(() => caches.keys()))) return true;
        return false;
      }, { timeout: 60_000, interval: 250, what: "only build B's cache" });
      const third = await d.context.newPage();
      await third.goto(deploy.base);
      assert.ok(onlyB(await third.evaluate(() => caches.keys())));
      assert.equal(await marker(third), 'B');

      // And without the server, the shell it opens is build B, not a stale one.
      await deploy.close();
      await third.reload();
      await third.getByTestId('server-unreachable').waitFor();
      assert.equal(await marker(third), 'B');
    } finally {
      await deploy.close().catch(() => {});
    }
  });
});

describe('the share sheet and arrival alerts', () => {
  const session = `pwa-${Date.now().toString(36)}`;
  let laptop;
  let phone;
  const png = readFileSync(joinPath(ROOT, 'web/public/icon-512.png'));
  const blob = randomBytes(3 * 1024 * 1024 + 17);

  test('a share-target POST with text, an image and a file is sent after joining', async () => {
    laptop = await device();
    await laptop.context.grantPermissions(['notifications'], { origin: suite.server.base });
    await laptop.page.goto(suite.server.base);
    await join(laptop.page, { session, name: 'Laptop', passphrase: PASS });
    await joined(laptop.page);

    phone = await device({ viewport: { width: 390, height: 844 }, isMobile: true });
    await openInstalled(phone.page, suite.server.base);
    // What Android's share sheet sends: a multipart POST navigation to the share target.
    await phone.page.evaluate(
      ({ png, blob }) => {
        const form = Object.assign(document.createElement('form'), { method: 'POST', action: '/share-target', enctype: 'multipart/form-data' });
        for (const [name, value] of [['title', 'A page'], ['text', 'Look at this'], ['url', 'https://example.org/a?b=1']]) {
          form.append(Object.assign(document.createElement('input'), { name, value }));
        }
        const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const files = new DataTransfer();
        files.items.add(new File([bytes(png)], 'photo.png', { type: 'image/png' }));
        files.items.add(new File([bytes(blob)], 'notes.bin', { type: 'application/octet-stream' }));
        const input = Object.assign(document.createElement('input'), { type: 'file', name: 'files', multiple: true });
        input.files = files.files;
        form.append(input);
        document.body.append(form);
        form.submit();
      },
      { png: png.toString('base64'), blob: blob.toString('base64') },
    );
    const notice = phone.page.getByTestId('pending-share-notice');
    await notice.waitFor();
    assert.equal(new URL(phone.page.url()).search, '', 'the outcome leaves the address bar');
    assert.match(await notice.innerText(), /1 text and 2 files/);
    // Nothing is lost before joining: it survives a restart of the app.
    await phone.page.reload();
    await notice.waitFor();

    await join(phone.page, { session, name: 'Phone', passphrase: PASS });
    await joined(phone.page);
    const prompt = phone.page.getByTestId('pending-shares');
    await prompt.waitFor();
    assert.equal(await prompt.getByTestId('pending-share-text').innerText(), 'A page\nLook at this\nhttps://example.org/a?b=1');
    assert.equal(await laptop.page.getByTestId('item').count(), 0, 'nothing is sent before the user says so');
    await prompt.getByRole('button', { name: 'Send to this session' }).click();
    await prompt.waitFor({ state: 'detached' });

    const text = await doneItem(laptop.page, '[data-kind=text]');
    assert.equal(await text.getByTestId('item-text').innerText(), 'A page\nLook at this\nhttps://example.org/a?b=1');
    assert.equal(await text.getByTestId('item-sender').innerText(), 'Phone');
    const image = await doneItem(laptop.page, '[data-kind=image]');
    assert.equal((await downloadHash(laptop.page, image)).hash, sha256(png));
    const file = await doneItem(laptop.page, '[data-name="notes.bin"]');
    const got = await downloadHash(laptop.page, file);
    assert.equal(got.name, 'notes.bin');
    assert.equal(got.hash, sha256(blob));
    // Sent means gone from the device's storage.
    await leave(phone.page);
    assert.equal(await phone.page.getByTestId('pending-share-notice').count(), 0);
    await join(phone.page, { session, name: 'Phone', passphrase: PASS });
    await joined(phone.page);
    // The laptop says so for a while ("Phone was admitted", with the safety code): the next
    // test clicks where that notice stands.
    await waitFor(async () => (await laptop.page.getByText('Phone was admitted').count()) === 0, { timeout: 60_000, what: 'the admission notices gone' });
  });

  test('a hidden page raises a notification naming sender and kind, never content; it can be switched off', async () => {
    const sendText = async (text) => {
      const box = phone.page.getByLabel('Text to share');
      await box.fill(text);
      await box.press('Control+Enter');
    };
    const title = () => laptop.page.evaluate(() => document.title);
    // The session page's title: "(2) <session> · ShareThings" with a count, no parentheses without.
    const counts = async (n) => new RegExp(`^\\(${n}\\) .+ · ShareThings$`).test(await title());
    const uncounted = async () => /^[^(].* · ShareThings$/.test(await title());
    const countItems = () => laptop.page.getByTestId('item').count();

    await setHidden(laptop.page, true);
    const secret = `the secret is ${randomBytes(6).toString('hex')}`;
    let before = await countItems();
    await sendText(secret);
    // First the text arrives, then its notification follows through the service worker: two
    // waits, so that a loaded machine's slow arrival is told apart from a missing notification.
    await laptop.page.locator('[data-testid=item][data-kind=text][data-state=done]', { hasText: secret }).waitFor({ timeout: 120_000 });
    await waitFor(async () => (await notifications(laptop.page)).length === 1, { timeout: 60_000, what: 'a notification' });
    const [shown] = await notifications(laptop.page);
    assert.equal(shown.title, 'Phone sent a text');
    assert.ok(!shown.title.includes(secret) && !shown.body.includes(secret), JSON.stringify(shown));
    await waitFor(() => counts(1), { what: 'the title counts one' });

    await phone.page.getByTestId('file-input').setInputFiles({ name: 'holiday.png', mimeType: 'image/png', buffer: png });
    await waitFor(() => counts(2), { what: 'the title counts two' });
    // The notification follows the title asynchronously (through the service worker): wait for it.
    await waitFor(async () => (await notifications(laptop.page))[0]?.title === '2 new items', { what: 'the notification replaced by "2 new items"' });
    const shownNow = await notifications(laptop.page);
    assert.equal(shownNow.length, 1, 'one notification stands for both');
    const [both] = shownNow;
    assert.match(both.body, /^From Phone\./);
    assert.ok(!both.body.includes('holiday'), 'no file name');

    // Looking at the page marks everything seen.
    await setHidden(laptop.page, false);
    await waitFor(uncounted, { what: 'the count cleared' });
    await waitFor(async () => (await notifications(laptop.page)).length === 0, { what: 'the notification withdrawn' });

    // Notifications off: the count goes on, no notification.
    await laptop.page.getByTestId('alert-notifications').filter({ visible: true }).click();
    await waitFor(async () => (await laptop.page.evaluate(() => localStorage.getItem('sharethings.notifications'))) === 'off', { what: 'switched off' });
    await setHidden(laptop.page, true);
    before = await countItems();
    await sendText('quietly');
    await waitFor(() => counts(1), { what: 'the title counts' });
    assert.equal(await countItems(), before + 1);
    assert.deepEqual(await notifications(laptop.page), []);
    await setHidden(laptop.page, false);

    // The count off too: a hidden page stays as it is.
    await laptop.page.getByTestId('alert-badge').filter({ visible: true }).click();
    await setHidden(laptop.page, true);
    before = await countItems();
    await sendText('silently');
    await waitFor(async () => (await countItems()) === before + 1, { what: 'the item arrived' });
    await doneItem(laptop.page, '[data-kind=text]');
    assert.ok(await uncounted(), await title());
    assert.deepEqual(await notifications(laptop.page), []);
    await setHidden(laptop.page, false);
  });

  test('no page errors in any device', () => {
    // The server is stopped on purpose in the offline tests.
    const expected = /Failed to load resource|ERR_CONNECTION_REFUSED|WebSocket/;
    for (const d of suite.devices) assert.deepEqual(d.errors.filter((e) => !expected.test(e)), []);
  });
});
