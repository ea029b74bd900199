// The hands-on review's top problems (issue 24, points 3 and 6), in Chromium against the real
// release server (Get after a receiver's own stop is proven in web/src/lib/room/delivery.test.ts:
// clicking mid-transfer is at the mercy of a page starved by its DevTools client): Leave asks and says
// what it deletes; a typed name that would start a second session asks first; the sender sees
// who has an item; a localhost invite says it cannot work; plain HTTP points at the right
// address and says why notifications and the download hold; the join lockout warns and counts
// down; phones get 44 px targets, a full-screen image and one toast at a time; and the iPhone
// realities: the screen stays on while transfers run, storage is asked to persist, a received
// file can be saved through the share sheet, and "Add to Home Screen" finds what it needs.
import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { describe, test } from 'node:test';
import { ARTIFACTS, browserSuite, doneItem, drawPng, INSECURE_HOST, join, joined, leave, waitFor } from './harness.mjs';

const PASS = 'harbor-violet-quartz-nine-maple';
const MiB = 1024 * 1024;
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true };

// The join lockout comes after 7 wrong passphrases here, not the default 10, and its window is
// ten minutes, not one, to prove that the warnings follow the server's limit and window; the
// long window also keeps the guesses in one window however slowly a loaded machine derives
// their keys.
const LOCKOUT_AFTER = 7;
const suite = browserSuite({ name: 'hands-on', server: { JOIN_LIMIT_PER_ADDRESS: String(LOCKOUT_AFTER), JOIN_LIMIT_WINDOW: '600000' } });
const { device, work } = suite;

/** A file of `size` bytes of `fill`, written in slices. */
function bigFile(name, size, fill = 7) {
  const path = joinPath(work, name);
  const fd = openSync(path, 'w');
  const slice = Buffer.alloc(16 * MiB, fill);
  for (let left = size; left > 0; left -= slice.length) writeSync(fd, slice, 0, Math.min(left, slice.length));
  closeSync(fd);
  return path;
}

async function enter(d, session, name, url = suite.server.base) {
  await d.page.goto(url);
  await join(d.page, { session, name, passphrase: PASS });
  await joined(d.page);
}

async function sendText(page, text) {
  await page.getByLabel('Text to share').fill(text);
  await page.getByLabel('Text to share').press('Control+Enter');
}

const item = (page, name) => page.locator(`[data-testid=item][data-name="${name}"]`);

/** Records the page's calls to the wake lock, persistent storage and share sheet APIs (the real ones still run, but share, which Linux lacks). */
const SPIES = () => {
  window.__calls = { wakeLock: 0, released: 0, persist: 0, shared: [] };
  if (navigator.wakeLock) {
    const request = navigator.wakeLock.request.bind(navigator.wakeLock);
    navigator.wakeLock.request = async (type) => {
      window.__calls.wakeLock++;
      const lock = await request(type).catch(() => null);
      if (!lock) return { released: false, addEventListener() {}, release: async () => void window.__calls.released++ };
      const release = lock.release.bind(lock);
      lock.release = () => {
        window.__calls.released++;
        return release();
      };
      return lock;
    };
  }
  const persist = navigator.storage.persist.bind(navigator.storage);
  navigator.storage.persist = () => {
    window.__calls.persist++;
    return persist();
  };
  // The share sheet as iOS has it (desktop Linux has none): it takes files.
  navigator.canShare = (data) => Array.isArray(data?.files) && data.files.length > 0;
  navigator.share = async (data) => void window.__calls.shared.push(...data.files.map((f) => ({ name: f.name, size: f.size })));
};

describe('the hands-on review, fixed', () => {
  const session = `hands-${Date.now().toString(36)}`;
  let a;
  let b;

  test('two devices join; a transfer runs between them', async () => {
    a = await device();
    b = await device();
    for (const d of [a, b]) await d.context.addInitScript(SPIES);
    await enter(a, session, 'Desk');
    await enter(b, session, 'Laptop');
    await a.page.getByTestId('file-input').setInputFiles(bigFile('moving.bin', 64 * MiB));
    await doneItem(b.page, '[data-name="moving.bin"]', 300_000);
  });

  test('the screen stays on while a transfer runs, storage is asked to persist', async () => {
    for (const d of [a, b]) {
      const calls = await d.page.evaluate(() => window.__calls);
      assert.ok(calls.wakeLock >= 1, `${JSON.stringify(calls)}: no wake lock asked for`);
      assert.ok(calls.persist >= 1, 'persistent storage not asked for');
    }
    // Nothing moves now: every lock taken was let go.
    await waitFor(async () => {
      const calls = await b.page.evaluate(() => window.__calls);
      return calls.released >= calls.wakeLock;
    }, { what: 'wake lock released' });
  });

  test('the sender sees who has an item, and when nobody does', async () => {
    await sendText(a.page, 'who has this');
    const mine = a.page.locator('[data-testid=item][data-kind=text]', { hasText: 'who has this' });
    await waitFor(async () => (await mine.getByTestId('delivery').innerText()) === 'Delivered to Laptop', { what: 'delivered to Laptop' });
    const alone = await device();
    await enter(alone, `${session}-alone`, 'Lonely');
    await sendText(alone.page, 'nobody here');
    assert.match(await alone.page.getByTestId('delivery').innerText(), /^No other device is here: nobody received it/);
    await alone.close();
  });

  test('a received file can be saved through the share sheet', async () => {
    await a.page.getByTestId('file-input').setInputFiles({ name: 'video.mov', mimeType: 'video/quicktime', buffer: Buffer.alloc(3 * MiB, 1) });
    const got = await doneItem(b.page, '[data-name="video.mov"]');
    await got.getByRole('button', { name: 'Save or share video.mov' }).click();
    await waitFor(async () => (await b.page.evaluate(() => window.__calls.shared.length)) === 1, { what: 'shared' });
    assert.deepEqual(await b.page.evaluate(() => window.__calls.shared[0]), { name: 'video.mov', size: 3 * MiB });
  });

  test('Leave asks first and says what it deletes; Cancel stays', async () => {
    await b.page.getByRole('button', { name: 'Leave session' }).click();
    const dialog = b.page.getByRole('alertdialog');
    assert.match(await dialog.getByTestId('leave-consequences').innerText(), /disappears from this device, including \d+ files received here \(download what you want to keep first\)/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await b.page.getByTestId('session-name').innerText(), session);
  });

  test('a name that differs only in case asks before starting a second session', async () => {
    const c = await device();
    await c.page.goto(suite.server.base);
    const other = session.replace('hands', 'Hands');
    await join(c.page, { session: other, name: 'Phone', passphrase: PASS });
    const dialog = c.page.getByRole('alertdialog');
    await dialog.getByTestId('confirm-new-session').waitFor();
    assert.match(await dialog.innerText(), new RegExp(`Start a new session “${other}”\\?[\\s\\S]*capital letters count`));
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await c.page.getByRole('button', { name: 'Join session' }).waitFor();
    // Nobody in the real session saw a newcomer.
    assert.equal(await a.page.getByTestId('member').count(), 2);
    // A generated name is meant to be new: no question.
    await c.page.getByLabel('Generate a session name').click();
    await c.page.locator('input[name=passphrase]').fill(PASS);
    await c.page.getByRole('button', { name: 'Join session' }).click();
    await c.page.locator('[data-testid=connection][data-status=connected]').waitFor();
    assert.equal(await c.page.locator('[data-new-session=ask]').count(), 0);
    await c.close();
  });

  test('an invite from a localhost page says other devices cannot reach it', async () => {
    const c = await device();
    await enter(c, session, 'Local', `http://localhost:${suite.server.port}`);
    await c.page.getByRole('button', { name: 'Invite a device' }).click();
    assert.match(await c.page.getByTestId('invite-localhost').innerText(), /another device cannot reach this link/);
    await c.close();
    // 127.0.0.1 is this machine only too.
    await a.page.getByRole('button', { name: 'Invite a device' }).click();
    await a.page.getByTestId('invite-localhost').waitFor();
    await a.page.keyboard.press('Escape');
  });

  test('over plain HTTP: the HTTPS link, why notifications are off, and the download hold are explained', async () => {
    const lan = await device({ args: [`--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`] });
    await enter(lan, session, 'LAN laptop', `http://${INSECURE_HOST}:${suite.server.port}/`);
    const banner = lan.page.getByTestId('insecure-banner');
    assert.equal(await banner.getByRole('link', { name: 'Open ShareThings over HTTPS' }).getAttribute('href'), `https://${INSECURE_HOST}/`);
    assert.match(await banner.innerText(), /neither notifications nor the app's clipboard and install features/);
    assert.match(await lan.page.getByText(/^Needs HTTPS: browsers allow notifications only/).first().innerText(), /https:\/\//);
    await a.page.getByTestId('file-input').setInputFiles({ name: 'held.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(MiB, 3) });
    const got = await doneItem(lan.page, '[data-name="held.bin"]');
    assert.match(await got.getByTestId('insecure-download').innerText(), /may hold the download as “insecure”: choose Keep/);
    await lan.close();
  });

  test('on a phone: 44 px targets, a full-screen image, one toast at a time', async () => {
    const phone = await device(PHONE);
    await enter(phone, session, 'Pixel');
    const png = await drawPng(a.page, { width: 3000, height: 2000, fill: ['#0ea5e9', '#f97316'], label: 'whiteboard' });
    writeFileSync(joinPath(work, 'board.png'), png);
    await a.page.getByTestId('file-input').setInputFiles(joinPath(work, 'board.png'));
    const got = await doneItem(phone.page, '[data-name="board.png"]');
    for (const button of await got.locator('button, [data-testid=download]').all()) {
      const box = await button.boundingBox();
      assert.ok(box.width >= 44 && box.height >= 44, `${await button.getAttribute('aria-label')}: ${box.width}×${box.height}`);
    }
    await got.getByRole('button', { name: 'Open board.png full size' }).click();
    const full = await phone.page.getByTestId('full-image').boundingBox();
    // The review measured 262 px (smaller than the inline preview) before.
    assert.ok(full.width >= 0.9 * 390, `full-size image is ${full.width} px wide on a 390 px screen`);
    await phone.page.screenshot({ path: joinPath(ARTIFACTS, 'hands-on-image-phone.png') });
    await phone.page.keyboard.press('Escape');
    // Several notices at once (a member joins, items arrive): one toast shows.
    const other = await device();
    await enter(other, session, 'Tablet');
    for (const n of [1, 2, 3]) await sendText(a.page, `burst ${n}`);
    await a.page.getByTestId('file-input').setInputFiles({ name: 'also.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1000, 1) });
    await doneItem(phone.page, '[data-name="also.bin"]');
    assert.ok((await phone.page.locator('[data-scope=toast][data-part=root]').count()) <= 1);
  });

  test('"Add to Home Screen" finds its icon, name and full-screen mode', async () => {
    const html = await (await fetch(`${suite.server.base}/`)).text();
    for (const tag of ['<link rel="apple-touch-icon" href="/apple-touch-icon.png"', '<meta name="apple-mobile-web-app-capable" content="yes"', '<meta name="apple-mobile-web-app-title" content="ShareThings"', '<meta name="theme-color"']) {
      assert.ok(html.includes(tag), tag);
    }
    const manifest = await (await fetch(`${suite.server.base}/manifest.webmanifest`)).json();
    assert.equal(manifest.display, 'standalone');
    assert.match(manifest.theme_color, /^#[0-9a-f]{6}$/);
    assert.equal((await fetch(`${suite.server.base}/apple-touch-icon.png`)).status, 200);
  });

  test('Leave, confirmed, goes home', async () => {
    await leave(b.page);
  });

  // Last: it locks this machine's address out of joining. The warnings give the server's count
  // (`failedJoins` of `invalid_passphrase`), which only a legacy (format 2) session answers: in
  // format 3 a member checks the passphrase, and the members' own throttling slows the guesses.
  test('the join lockout warns before it starts, and its countdown ticks', async () => {
    const legacy = `${session}-legacy`;
    const owner = await device();
    await owner.page.goto(suite.server.base);
    await join(owner.page, { session: legacy, name: 'Owner', passphrase: PASS, legacy: true });
    await joined(owner.page);
    await owner.page.getByTestId('legacy-session').waitFor();
    const c = await device();
    await c.page.goto(suite.server.base);
    const error = c.page.getByTestId('join-error');
    for (let i = 1; i <= LOCKOUT_AFTER + 1; i++) {
      // Each answer is a new alert (it is announced again): mark the old one to tell them apart.
      await c.page.evaluate(() => document.querySelector('[data-testid=join-error]')?.setAttribute('data-seen', ''));
      await join(c.page, { session: legacy, name: 'Guesser', passphrase: `wrong ${i}` });
      await c.page.locator('[data-testid=join-error]:not([data-seen])').waitFor({ timeout: 30_000 });
      const said = await error.innerText();
      if (/Too many attempts/.test(said)) break;
      if (i >= 5) assert.match(said, new RegExp(`That is ${i} wrong tries within 10 minutes: ${i < LOCKOUT_AFTER ? `after ${LOCKOUT_AFTER}, the server refuses` : 'the server now refuses'} joins from this device until 10 minutes after the first`));
      else assert.doesNotMatch(said, /wrong tries/);
    }
    const countdown = c.page.getByTestId('join-countdown');
    const seconds = async () => Number(/in (\d+) second/.exec(await countdown.innerText())?.[1]);
    const start = await seconds();
    assert.ok(start > 0, await countdown.innerText());
    await waitFor(async () => (await seconds()) < start, { timeout: 15_000, what: 'the countdown ticks' });
    await c.close();
    await owner.close();
  });
});
