// The flows people use, in the engine of `ENGINE` (firefox or webkit): alone (every device that
// engine) and mixed with Chromium in one session. Chromium itself runs the full suites in the
// folder above; this file is what differs between engines: joining, text, an image, files to
// disk (and which way the engine stores them), cancel, a relay restart, the invite link, a late
// joiner, the inbox, the plain-HTTP fallback, a phone-sized screenshot, a format 3 session
// with Chromium (each engine making it and admitting, and being admitted), and a 2 GiB file's
// memory cost. What an engine cannot do under its driver is listed in `LIMITS` and printed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { after, describe, test } from 'node:test';
import { ARTIFACTS, browserPss, browserSuite, INSECURE_HOST, randomFile as randomFileIn, startServer, waitFor } from '../harness.mjs';
import { enterSession, LIMITS, openEngine, PHONE, stopDisplay } from './drivers.mjs';

const ENGINE = process.env.ENGINE ?? 'firefox';
const PASS = 'lantern-orchid-basalt-nine-tundra';
const MiB = 1024 * 1024;
const BIG_MIB = Number(process.env.ENGINE_BIG_MIB ?? 2048);
/** How each engine stores received files when it can (see web/src/lib/disk/opfs.ts). */
const EXPECTED_STORAGE = { chromium: 'sync', firefox: 'sync', webkit: 'writable' };

const suite = browserSuite({ name: `engines-${ENGINE}` });
const opened = [];
after(async () => {
  for (const d of opened) await d.close();
  await stopDisplay();
});

async function device(engine, opts = {}) {
  const d = await openEngine(engine, { serverPort: suite.server.port, ...opts });
  opened.push(d);
  return d;
}

const randomFile = (name, size) => randomFileIn(suite.work, name, size);

async function sha256Of(path) {
  const h = createHash('sha256');
  for await (const part of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(part);
  return h.digest('hex');
}

const itemSel = (name) => `[data-testid=item][data-name="${name}"]`;

/**
 * Opens the app at `base` and joins `session` as `name`, in a legacy (format 2) session: these
 * flows (a passphrase in the invite link, a late joiner typing the passphrase with no member
 * online) are format 2's; format 3's admission, signing and padding are below, with the 2 GiB
 * file's memory bound, and the rest of format 3 in Chromium (v3.test.mjs, v3-members.test.mjs).
 */
const enter = (d, base, session, name, { keep = false } = {}) => enterSession(d, base, { session, name, passphrase: PASS, keep, legacy: true });

/** Sends `text` and waits until the sender lists it as its own: a click that sent nothing fails here. */
async function sendText(d, text) {
  await d.fill('textarea[aria-label="Text to share"]', text);
  await d.click('Send', { selector: 'button' });
  await d.until((t) => [...document.querySelectorAll('[data-testid=item][data-kind=text] [data-testid=item-text]')].some((e) => e.innerText === t), [text], { what: 'the text sent, listed by its sender' });
}

/** Waits until `d` lists `n` members; if it does not, says whom it lists. */
async function memberCount(d, n) {
  try {
    await d.until((k) => document.querySelectorAll('[data-testid=member-name]').length === k, [n], { what: `${n} members` });
  } catch (err) {
    const listed = await d.run(() => [...document.querySelectorAll('[data-testid=member-name]')].map((e) => e.textContent).join(', ')).catch(() => '?');
    throw new Error(`${err.message}; it lists: ${listed}`);
  }
}

/**
 * Waits for a done item matching `selector` and returns its text, if any; if none comes, says
 * what the page shows: its connection and every item's kind, state and first words.
 */
const done = (d, selector, timeout = 180_000) =>
  d.until((s) => {
    const el = document.querySelector(`[data-testid=item]${s}[data-state=done]`);
    return el ? (el.querySelector('[data-testid=item-text]')?.innerText ?? true) : false;
  }, [selector], { timeout, what: `done ${selector}` }).catch(async (err) => {
    const shown = await d.run(() => {
      const connection = document.querySelector('[data-testid=connection]')?.getAttribute('data-status');
      const items = [...document.querySelectorAll('[data-testid=item]')].map((e) => `${e.getAttribute('data-kind')} ${e.getAttribute('data-state')} "${e.innerText.slice(0, 60).replace(/\s+/g, ' ')}"`);
      return `connection ${connection}; items: ${items.join('; ') || 'none'}`;
    }).catch((e) => `nothing (${e.message})`);
    throw new Error(`${err.message}; ${d.engine} shows ${shown}`);
  });

const texts = (d) => d.run(() => [...document.querySelectorAll('[data-testid=item][data-state=done] [data-testid=item-text]')].map((e) => e.innerText));

/** The app's received files in the page's Origin Private File System, and the Web Locks held. */
const storageState = (d) =>
  d.run(async () => {
    const files = [];
    const walk = async (dir, prefix) => {
      for await (const [name, h] of dir.entries()) {
        if (h.kind === 'directory') await walk(h, `${prefix}${name}/`);
        else files.push(`${prefix}${name} ${(await h.getFile()).size}`);
      }
    };
    await walk(await navigator.storage.getDirectory(), '');
    const locks = navigator.locks ? (await navigator.locks.query()).held.map((l) => l.name) : [];
    return { files, locks };
  });

/** The one storage check every engine must pass: received files on disk, no probe left behind. */
async function assertStorage(d, expectFile) {
  const mode = await d.until(() => document.querySelector('[data-testid=storage-mode]')?.getAttribute('data-mode'), [], { what: 'storage mode' });
  console.log(`# ${d.engine}: received files stored through ${mode}`);
  assert.equal(mode, EXPECTED_STORAGE[d.engine], `${d.engine} stores through ${mode}`);
  const { files, locks } = await storageState(d);
  assert.ok(!files.some((f) => f.includes('probe-')), `a probe folder was left: ${files.join(', ')}`);
  assert.ok(!locks.some((l) => l.includes('probe-')), `a probe lock is still held: ${locks.join(', ')}`);
  if (expectFile) assert.ok(files.some((f) => f.endsWith(` ${expectFile}`)), `no received file of ${expectFile} bytes in ${files.join(', ')}`);
}

for (const partner of [ENGINE, 'chromium']) {
  const mixed = partner !== ENGINE;
  describe(`${ENGINE}${mixed ? ' with chromium' : ' alone'}`, () => {
    const session = `eng-${ENGINE}-${mixed ? 'mix' : 'solo'}-${Date.now().toString(36)}`;
    let a;
    let b;
    const sent = {};

    test('join: both list both members', async () => {
      if (!mixed) console.log(`# ${ENGINE} under its driver: ${LIMITS[ENGINE].join('; ') || 'no limits'}`);
      a = await device(ENGINE);
      b = await device(partner);
      await enter(a, suite.server.base, session, 'Alpha');
      await enter(b, suite.server.base, session, 'Bravo');
      await memberCount(a, 2);
      await memberCount(b, 2);
      assert.equal(await a.run(() => window.isSecureContext && typeof crypto.subtle === 'object'), true);
    });

    test('text both ways, intact', async () => {
      sent.text = `Grüße 你好 <b>not bold</b> 👋\nline two ${Date.now()}`;
      await sendText(a, sent.text);
      assert.equal(await done(b, '[data-kind=text]'), sent.text);
      await sendText(b, 'and back');
      await a.until(() => [...document.querySelectorAll('[data-testid=item-text]')].some((e) => e.innerText === 'and back'), [], { what: 'reply' });
    });

    test('an image picked from a file shows and downloads byte for byte', async () => {
      const png = await a.run(async () => {
        const c = document.createElement('canvas');
        c.width = 320;
        c.height = 200;
        const g = c.getContext('2d');
        g.fillStyle = '#0d9488';
        g.fillRect(0, 0, 320, 200);
        const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
        let bin = '';
        for (const x of new Uint8Array(await blob.arrayBuffer())) bin += String.fromCharCode(x);
        return btoa(bin);
      });
      const path = joinPath(suite.work, `picture-${partner}.png`);
      const bytes = Buffer.from(png, 'base64');
      writeFileSync(path, bytes);
      await a.setFiles('[data-testid=file-input]', path);
      await done(b, `[data-name="picture-${partner}.png"]`);
      await b.until((s) => document.querySelector(`${s} img[data-testid=item-image]`)?.naturalWidth === 320, [itemSel(`picture-${partner}.png`)], { what: 'preview loaded' });
      const got = await b.download(itemSel(`picture-${partner}.png`), `picture-${partner}.png`, bytes.length);
      assert.equal(await sha256Of(got), createHash('sha256').update(bytes).digest('hex'));
    });

    test('a 30 MiB file goes to disk and downloads byte for byte, both ways', async () => {
      for (const [from, to, way] of [[a, b, 'there'], [b, a, 'back']]) {
        const f = randomFile(`thirty-${way}-${partner}.bin`, 30 * MiB);
        await from.setFiles('[data-testid=file-input]', f.path);
        const name = f.path.split('/').pop();
        await done(to, `[data-name="${name}"]`);
        await assertStorage(to, f.size);
        assert.equal(await sha256Of(await to.download(itemSel(name), name, f.size)), f.hash);
        sent.file = { name, hash: f.hash, size: f.size };
        // The sender lists who has it.
        await from.until((s) => document.querySelector(`${s} [data-testid=delivery]`)?.innerText.startsWith('Delivered to'), [itemSel(name)], { what: 'delivery confirmed' });
      }
    });

    test('the sender cancels: the receiver is told who cancelled', async () => {
      // Zeros, 1 GiB: still moving when the receiver shows it. The relay is paused from then
      // until Cancel is clicked and shown, so it cannot finish first however loaded the machine.
      const name = `cancel-${partner}.bin`;
      const path = joinPath(suite.work, name);
      const fd = openSync(path, 'w');
      const zeros = Buffer.alloc(16 * MiB);
      for (let i = 0; i < 64; i++) writeSync(fd, zeros);
      closeSync(fd);
      await a.setFiles('[data-testid=file-input]', path);
      await b.until((s) => document.querySelector(`${s}[data-state=receiving]`), [itemSel(name)], { what: 'receiving' });
      suite.server.pause();
      try {
        await a.click(`Cancel ${name}`);
        await a.until((s) => document.querySelector(`${s}[data-state=cancelled]`), [itemSel(name)], { what: 'cancelled here' });
      } finally {
        suite.server.resume();
      }
      const ending = await b.until((s) => document.querySelector(`${s}[data-state=cancelled] [data-testid=ending]`)?.innerText, [itemSel(name)], { what: 'cancelled' });
      assert.equal(ending, 'Cancelled by Alpha');
    });

    test('a relay restart mid-transfer: both sides reconnect and the file completes', async () => {
      const f = randomFile(`restart-${partner}.bin`, 60 * MiB);
      await a.setFiles('[data-testid=file-input]', f.path);
      const name = f.path.split('/').pop();
      await b.until((s) => /Receiving · [1-9]/.test(document.querySelector(`${s} [data-testid=progress]`)?.innerText ?? ''), [itemSel(name)], { what: 'under way' });
      const port = suite.server.port;
      await suite.server.stop();
      for (const x of [a, b]) await x.until(() => document.querySelector('[data-testid=connection][data-status=reconnecting]'), [], { what: 'reconnecting' });
      suite.server = await startServer({}, { port });
      await done(b, `[data-name="${name}"]`, 300_000);
      assert.equal(await sha256Of(await b.download(itemSel(name), name, f.size)), f.hash);
    });

    test('an invite link opens the session on another device, which joins', async () => {
      await a.click('Invite a device');
      await a.click('Include the passphrase in the link', { selector: 'label' });
      const link = await a.until(() => {
        const v = document.querySelector('input[aria-label="Invite link"]')?.value;
        return v?.includes('&p=') ? v : '';
      }, [], { what: 'invite link' });
      await a.click('Close', { selector: '[role=dialog] button' });
      const c = await device(ENGINE, { viewport: PHONE });
      await c.goto(link);
      await c.until(() => document.querySelector('[data-testid=invitation]'), [], { what: 'invitation' });
      assert.equal(await c.run(() => location.hash), '');
      await c.fill('input[name=name]', 'Charlie');
      await c.click(/^Join “/, { selector: 'button' });
      await c.until(() => document.querySelector('[data-testid=connection][data-status=connected]'), [], { timeout: 90_000, what: 'joined by invite' });
      await memberCount(a, 3);
      // A late joiner: the earlier text arrives, the larger file is offered and comes on Get.
      assert.ok((await texts(c)).includes(sent.text) || (await done(c, '[data-kind=text]')));
      await c.until((s) => document.querySelector(`${s}[data-state=offered]`), [itemSel(sent.file.name)], { what: 'offered' });
      await c.click(`Get ${sent.file.name}`);
      await done(c, `[data-name="${sent.file.name}"]`);
      assert.equal(await sha256Of(await c.download(itemSel(sent.file.name), sent.file.name, sent.file.size)), sent.file.hash);
      await c.screenshot(joinPath(ARTIFACTS, `engine-${ENGINE}-phone-session${mixed ? '-mixed' : ''}.png`));
    });

    test('the inbox keeps an item for a device that joins after the sender left', async () => {
      const room = `${session}-inbox`;
      await enter(a, suite.server.base, room, 'Alpha', { keep: true });
      await a.until(() => document.querySelector('[data-testid=inbox-indicator]'), [], { what: 'inbox on' });
      await sendText(a, 'kept for later');
      await a.until(() => document.querySelector('[data-testid=item] [data-testid=in-inbox]'), [], { what: 'kept' });
      await a.click('Leave session');
      await a.click('Leave', { selector: '[role=alertdialog] button' });
      await enter(b, suite.server.base, room, 'Bravo');
      assert.equal(await done(b, '[data-kind=text]'), 'kept for later');
      await enter(a, suite.server.base, session, 'Alpha');
      await enter(b, suite.server.base, session, 'Bravo');
    });

    test('over plain HTTP: not a secure context, the JavaScript fallback, and it talks to the others', async () => {
      const lan = await device(ENGINE, { insecure: true });
      await enter(lan, `http://${INSECURE_HOST}:${suite.server.port}/`, session, 'Lan');
      assert.equal(await lan.run(() => window.isSecureContext), false);
      await lan.until(() => document.querySelector('[data-testid=insecure-banner]'), [], { what: 'banner' });
      await assertNoDisk(lan);
      await sendText(lan, 'from plain http');
      await b.until(() => [...document.querySelectorAll('[data-testid=item-text]')].some((e) => e.innerText === 'from plain http'), [], { what: 'text from http' });
      const f = randomFile(`http-${partner}.bin`, 3 * MiB + 7);
      const name = f.path.split('/').pop();
      await lan.setFiles('[data-testid=file-input]', f.path);
      await done(b, `[data-name="${name}"]`);
      assert.equal(await sha256Of(await b.download(itemSel(name), name, f.size)), f.hash);
      await b.setFiles('[data-testid=file-input]', f.path.replace(name, `picture-${partner}.png`));
      await done(lan, `[data-name="picture-${partner}.png"]`);
      await lan.close();
      opened.splice(opened.indexOf(lan), 1);
    });

    test('no unexpected console errors', () => {
      const expected = /Failed to load resource|WebSocket|Cross-Origin-Opener-Policy|ERR_CONNECTION_REFUSED|NS_ERROR|access control checks|ServiceWorker intercepted|NetworkError|can.t establish a connection|was interrupted while the page was loading/;
      for (const x of [a, b]) assert.deepEqual(x.errors.filter((e) => !expected.test(e)), [], x.engine);
    });
  });
}

describe(`${ENGINE}: a format 3 session with chromium (sessions are made so by default)`, () => {
  const safetyCode = (d) => d.run(() => document.querySelector('[data-testid=safety-code]')?.innerText ?? '');
  for (const [creator, applicant] of [[ENGINE, 'chromium'], ['chromium', ENGINE]]) {
    test(`${creator} creates it and admits ${applicant}, which typed the passphrase: one safety code, text and a file both ways, named from the roster`, async () => {
      const session = `eng-${ENGINE}-v3-by-${creator}-${Date.now().toString(36)}`;
      const a = await device(creator);
      const b = await device(applicant);
      await enterSession(a, suite.server.base, { session, name: 'Maker', passphrase: PASS });
      assert.equal(await a.run(() => document.querySelector('[data-testid=legacy-session]') === null), true, 'not a legacy session');
      // The applicant's page runs the admission with the maker's page, then joins with the key.
      await enterSession(b, suite.server.base, { session, name: 'Joiner', passphrase: PASS });
      await memberCount(a, 2);
      await memberCount(b, 2);
      await waitFor(async () => {
        const [x, y] = [await safetyCode(a), await safetyCode(b)];
        return /^\d{5}( \d{5}){5}$/.test(x) && x === y;
      }, { what: 'the same safety code on both' });
      const text = `format 3, made in ${creator} ${Date.now()}`;
      await sendText(a, text);
      assert.equal(await done(b, '[data-kind=text]'), text);
      const sender = await b.run(() => document.querySelector('[data-testid=item][data-kind=text] [data-testid=item-sender]')?.innerText);
      assert.equal(sender, 'Maker');
      // A size that ends inside a chunk: the padding is cut off and checked.
      const f = randomFile(`v3-by-${creator}.bin`, 1_100_000);
      const name = f.path.split('/').pop();
      await b.setFiles('[data-testid=file-input]', f.path);
      await done(a, `[data-name="${name}"]`);
      assert.equal(await sha256Of(await a.download(itemSel(name), name, f.size)), f.hash);
    });
  }
});

/** A page that is not a secure context has no OPFS: it says it keeps files in memory. */
async function assertNoDisk(d) {
  const mode = await d.until(() => document.querySelector('[data-testid=storage-mode]')?.getAttribute('data-mode'), [], { what: 'storage mode' });
  assert.equal(mode, 'memory');
}

describe(`${ENGINE}: the free storage quota`, { skip: ENGINE !== 'firefox' && 'Firefox is the engine whose quota a test can set (a preference)' }, () => {
  test('an item larger than the quota left is refused before a byte is written, saying how much is needed and free', async () => {
    const session = `eng-quota-${Date.now().toString(36)}`;
    const a = await device(ENGINE);
    // Firefox's real quota manager, its global limit set low (in KiB): a phone nearly full.
    const b = await device(ENGINE, { prefs: { 'dom.quotaManager.temporaryStorage.fixedLimit': 100 * 1024 } });
    await enter(a, suite.server.base, session, 'Sender');
    await enter(b, suite.server.base, session, 'Full phone');
    await memberCount(a, 2);
    const { quota, usage } = await b.run(() => navigator.storage.estimate());
    const f = randomFile('over-quota.bin', quota - usage + 4 * MiB);
    await a.setFiles('[data-testid=file-input]', f.path);
    const ending = await b.until((s) => document.querySelector(`${s}[data-state=failed] [data-testid=ending]`)?.innerText, [itemSel('over-quota.bin')], { what: 'refused' });
    assert.match(ending, /^Failed: not enough free space on this device: it needs [\d.]+ MB, this browser lets ShareThings store [\d.]+ (B|KB|MB) more$/);
    // Not a byte was written: the refused item's file, if it was made yet, is empty, and it
    // goes as the item fails (removed beside the ending, not before it shows).
    const left = (await storageState(b)).files;
    assert.ok(left.every((f) => f.endsWith(' 0')), `bytes were written: ${left.join(', ')}`);
    await waitFor(async () => (await storageState(b)).files.length === 0, { what: "the refused item's empty file removed" });
    await a.close();
    await b.close();
    opened.splice(opened.indexOf(a), 1);
    opened.splice(opened.indexOf(b), 1);
  });
});

describe(`${ENGINE}: a ${BIG_MIB} MiB file`, () => {
  test(`goes to disk as it arrives: the receiving browser grows by far less than the file`, async () => {
    const session = `eng-${ENGINE}-big-${Date.now().toString(36)}`;
    const a = await device(ENGINE);
    const b = await device(ENGINE);
    // Format 3, the default: the receiver is admitted by the sender's page.
    await enterSession(a, suite.server.base, { session, name: 'Sender', passphrase: PASS });
    await enterSession(b, suite.server.base, { session, name: 'Receiver', passphrase: PASS });
    await memberCount(a, 2);
    // Warm both browsers up (worker, storage, sockets) so the baseline is a device that has received before.
    const warm = randomFile('warm.bin', 8 * MiB);
    await a.setFiles('[data-testid=file-input]', warm.path);
    await done(b, '[data-name="warm.bin"]');
    await b.click('Remove from this device: warm.bin');
    await waitFor(async () => (await storageState(b)).files.length === 0, { what: 'warm-up removed' });
    const f = randomFile('big.bin', BIG_MIB * MiB);
    const base = browserPss(b);
    let peak = base;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, browserPss(b));
      } catch {
        // A process ended between listing and reading: the next sample counts.
      }
    }, 500);
    const t0 = Date.now();
    try {
      await a.setFiles('[data-testid=file-input]', f.path);
      await done(b, '[data-name="big.bin"]', 1_800_000);
      peak = Math.max(peak, browserPss(b));
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - t0) / 1000;
    const grewMB = (peak - base) / 1e6;
    const mode = await b.run(() => document.querySelector('[data-testid=storage-mode]')?.getAttribute('data-mode'));
    console.log(`# ${ENGINE}: ${BIG_MIB} MiB 1->1 in ${seconds.toFixed(1)} s through ${mode}; receiver PSS ${(base / 1e6).toFixed(0)} MB -> peak ${(peak / 1e6).toFixed(0)} MB (+${grewMB.toFixed(0)} MB)`);
    assert.equal(mode, EXPECTED_STORAGE[ENGINE]);
    // Kept in memory, the file would grow the browser by its whole size. On disk Chromium and
    // Firefox stay under 150 MB, Firefox only because the page frees each chunk's buffers as it
    // goes (`web/src/lib/crypto/release.ts`; without that, +590 MB here). WebKitGTK grew by
    // 50-73 MB in 8 runs of 9 with them freed, but by 234 MB in one, and by 200-271 MB without:
    // its bound is twice the others' (docs/web.md).
    const bound = ENGINE === 'webkit' ? 300 : 150;
    assert.ok(grewMB < bound, `receiving browser grew by ${grewMB.toFixed(0)} MB (bound ${bound} MB)`);
    // The file on disk is the item, in full: found in the profile by its size and hashed there
    // (WebKitGTK's writable stream also leaves its swap file, a copy, in the device's TMPDIR).
    const stored = readdirSync(b.dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => joinPath(e.parentPath, e.name))
      .filter((p) => !(b.tmp && p.startsWith(`${b.tmp}/`)) && statSync(p).size === BIG_MIB * MiB);
    assert.equal(stored.length, 1, stored.join(', '));
    assert.equal(await sha256Of(stored[0]), f.hash);
    await b.click('Remove from this device: big.bin');
    await waitFor(async () => (await storageState(b)).files.length === 0, { what: 'removed' });
    await a.close();
    await b.close();
    opened.splice(opened.indexOf(a), 1);
    opened.splice(opened.indexOf(b), 1);
  });
});

