// `sharethings-cli clip` on two desktops, each its own Xvfb display (so each has its own
// clipboard), and Chromium running the web app as the third member, all in one session on
// the real release server. xclip plays the user: it copies onto a display's clipboard and
// reads what is there. Text and images go each way; neither desktop sends back what the
// other put on its clipboard; --max-bytes keeps large copies and items out.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { idle, startServer, start, waitFor } from '../deploy/lib.mjs';
import { browserSuite, doneItem, drawPng } from '../e2e/harness.mjs';
import { browserIn, cli, cliSays, seesMember } from './lib.mjs';

const suite = browserSuite({ name: 'clip', server: false });
const INTERVAL = '200';
/** desk-b's --max-bytes. */
const CAP = 64 * 1024;
const copiers = new Set();

/** An Xvfb of its own; resolves its DISPLAY (":N", picked by Xvfb itself). */
async function xvfb() {
  const proc = suite.own(start('Xvfb', 'Xvfb', ['-displayfd', '1', '-nolisten', 'tcp', '-screen', '0', '640x480x24']));
  const n = await waitFor('Xvfb to pick a display', () => {
    if (!proc.running) throw Object.assign(new Error(proc.output()), { fatal: true });
    return proc.output().match(/^(\d+)$/m)?.[1];
  }, { timeout: 30000 });
  return `:${n}`;
}

/**
 * Copies `data` onto `display`'s clipboard as the user would: xclip owns the selection until
 * something else takes it (clip placing an item), then exits.
 */
function copy(display, data, type = 'UTF8_STRING') {
  const child = spawn('xclip', ['-quiet', '-selection', 'clipboard', '-t', type, '-i'], {
    env: { ...process.env, DISPLAY: display }, stdio: ['pipe', 'ignore', 'ignore'],
  });
  copiers.add(child);
  child.on('exit', () => copiers.delete(child));
  child.stdin.end(data);
}

/** What `display`'s clipboard holds as `type`, or null when it holds none. */
function paste(display, type = 'UTF8_STRING') {
  return new Promise((resolve) => {
    execFile('xclip', ['-selection', 'clipboard', '-t', type, '-o'], {
      env: { ...process.env, DISPLAY: display }, encoding: 'buffer', timeout: 10000, maxBuffer: 64 << 20,
    }, (err, out) => resolve(err ? null : out));
  });
}

const pasteText = async (display) => (await paste(display))?.toString('utf8') ?? null;

/** Width and height of the PNG on `display`'s clipboard (from its IHDR), or null. */
async function pastedPngSize(display) {
  const png = await paste(display, 'image/png');
  if (!png || png.length < 24 || png.toString('latin1', 12, 16) !== 'IHDR') return null;
  return `${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`;
}

const count = (text, re) => (text.match(new RegExp(re, 'g')) ?? []).length;

describe('clip: two desktops and a browser', () => {
  const session = `clip-${Date.now().toString(36)}`;
  let a;
  let b;
  let web;
  let displays;

  before(async () => {
    const server = await startServer({ env: { LOG_LEVEL: 'warn' } });
    suite.own(server.proc);
    displays = { a: await xvfb(), b: await xvfb() };
    web = await browserIn(suite, server.base, session, 'Phone');
    const opts = (name, display) => ({ server: server.base, session, name, env: { DISPLAY: display } });
    a = cli(['clip', '--interval', INTERVAL], opts('desk-a', displays.a));
    b = cli(['clip', '--interval', INTERVAL, '--max-bytes', String(CAP)], opts('desk-b', displays.b));
    for (const c of [a, b]) await cliSays(c, /clipboard in step with session/);
    for (const name of ['desk-a', 'desk-b']) await seesMember(web.page, name);
  });

  after(async () => {
    for (const c of [a, b]) await c?.stop();
    for (const child of copiers) child.kill();
  });

  test('text copied on one desktop can be pasted on the other and is never sent back', { timeout: 120000 }, async () => {
    const first = 'copied on desk A ✓';
    copy(displays.a, first);
    await waitFor('desk B’s clipboard to hold it', async () => (await pasteText(displays.b)) === first, { timeout: 60000 });
    const onWeb = await doneItem(web.page, '[data-kind=text]');
    assert.equal(await onWeb.getByTestId('item-text').innerText(), first);
    assert.equal(await onWeb.getByTestId('item-sender').innerText(), 'desk-a');
    // Desk B now looks at a clipboard holding what it put there, five times a second: that
    // must stay local. Its next copy goes out after any echo would have, so checking the
    // counts once the next copy has arrived proves there was none.
    await idle(1000);
    const second = 'copied on desk B';
    copy(displays.b, second);
    await waitFor('desk A’s clipboard to hold it', async () => (await pasteText(displays.a)) === second, { timeout: 60000 });
    await waitFor('the browser to list both', async () =>
      (await web.page.locator('[data-testid=item][data-kind=text][data-state=done]').count()) === 2);
    await idle(1000);
    assert.equal(await web.page.locator('[data-testid=item][data-kind=text]').count(), 2, 'no echo reached the browser');
    assert.equal(count(a.err(), 'clipboard: text from desk-b'), 1, a.describe());
    assert.equal(count(b.err(), 'clipboard: text from desk-a'), 1, b.describe());
    assert.equal(count(a.err(), 'sent Text'), 1, a.describe());
    assert.equal(count(b.err(), 'sent Text'), 1, b.describe());
  });

  test('an image shared in the browser lands on both clipboards; one copied on a desktop reaches the others', { timeout: 120000 }, async () => {
    const shared = await drawPng(web.page, { width: 240, height: 160, fill: ['#14b8a6', '#0f766e'], label: 'phone' });
    const file = `${suite.work}/phone.png`;
    fs.writeFileSync(file, shared);
    await web.page.getByTestId('file-input').setInputFiles(file);
    for (const [d, c] of [[displays.a, a], [displays.b, b]]) {
      await waitFor(`the image on ${d}'s clipboard`, async () => (await pastedPngSize(d)) === '240x160', { timeout: 60000 })
        .catch((e) => { throw new Error(`${e.message}\n${c.describe()}`); });
    }
    const copied = await drawPng(web.page, { width: 64, height: 48, fill: ['#f97316'] });
    copy(displays.b, copied, 'image/png');
    await waitFor('desk A’s clipboard to hold desk B’s image', async () => (await pastedPngSize(displays.a)) === '64x48', { timeout: 60000 });
    const onWeb = await doneItem(web.page, '[data-kind=image][data-name="clipboard.png"]');
    assert.equal(await onWeb.getByTestId('item-sender').innerText(), 'desk-b');
    assert.equal(count(a.err(), 'sent clipboard.png'), 0, 'desk A did not send back the image it was given');
    assert.equal(count(b.err(), 'sent clipboard.png'), 1, b.describe());
  });

  test('--max-bytes keeps a larger copy local and a larger item off the clipboard', { timeout: 120000 }, async () => {
    const big = 'x'.repeat(CAP + 1000);
    copy(displays.b, big);
    await cliSays(b, /a copy above --max-bytes stays local/);
    const shared = 'y'.repeat(CAP + 1000);
    const box = web.page.getByLabel('Text to share');
    await box.fill(shared);
    await box.press('Control+Enter');
    await waitFor('desk A’s clipboard to hold the browser’s text', async () => (await pasteText(displays.a)) === shared, { timeout: 60000 });
    await cliSays(b, /from Phone: \d+ bytes, above --max-bytes; not put on the clipboard/);
    assert.equal(await pasteText(displays.b), big, 'desk B’s clipboard kept its own copy');
    assert.equal(await web.page.locator('[data-testid=item][data-kind=text]').count(), 3, 'the large copy never left desk B');
  });
});
