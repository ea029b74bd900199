// `sharethings-cli clip` on two desktops, each its own Xvfb display (so each has its own
// clipboard), and Chromium running the web app as the third member, all in one session on
// the real release server. xclip plays the user: it copies onto a display's clipboard and
// reads what is there. Text and images go each way; neither desktop sends back what the
// other put on its clipboard; --max-bytes keeps large copies and items out. Then one way
// only: a --send-only desktop shares its copies and its clipboard never changes, a
// --receive-only one takes what is shared and never looks at what is copied there.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { idle, startServer, start, waitFor } from '../deploy/lib.mjs';
import { browserSuite, doneItem, drawPng } from '../e2e/harness.mjs';
import { browserIn, cli, cliRun, cliSays, seesMember } from './lib.mjs';

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
 * something else takes it (clip placing an item), then exits. `served()` counts the requests
 * for it so far (xclip -verbose announces each): every look of a `clip` at that clipboard,
 * and every paste.
 */
function copy(display, data, type = 'UTF8_STRING') {
  const child = spawn('xclip', ['-verbose', '-selection', 'clipboard', '-t', type, '-i'], {
    env: { ...process.env, DISPLAY: display }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let said = '';
  for (const s of [child.stdout, child.stderr]) s.on('data', (d) => { said += d; });
  copiers.add(child);
  child.on('exit', () => copiers.delete(child));
  child.stdin.end(data);
  return {
    served: () => Math.max(0, ...[...said.matchAll(/selection request number (\d+)/g)].map((m) => Number(m[1]) - 1)),
    owns: () => child.exitCode === null && child.signalCode === null,
  };
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

describe('clip one way: --send-only and --receive-only', () => {
  const session = `clip-one-way-${Date.now().toString(36)}`;
  let server;
  let displays;
  let terminal;
  let sendOnly;
  let receiveOnly;
  /** The user's copy on the send-only desk, which its looks keep asking for. */
  let sendDeskCopy;

  before(async () => {
    server = await startServer({ env: { LOG_LEVEL: 'warn' } });
    suite.own(server.proc);
    displays = { s: await xvfb(), r: await xvfb() };
    // A plain `receive` makes the session and shows what goes out; the desks join one after
    // the other, each let in by the members already there.
    terminal = cli(['receive', '--create'], { server: server.base, session, name: 'terminal' });
    await cliSays(terminal, /receiving in session/);
    const opts = (name, display) => ({ server: server.base, session, name, env: { DISPLAY: display } });
    sendOnly = cli(['clip', '--send-only', '--interval', INTERVAL], opts('desk-send', displays.s));
    await cliSays(sendOnly, /clipboard in step with session .* \(send only\)/);
    receiveOnly = cli(['clip', '--receive-only', '--interval', INTERVAL], opts('desk-receive', displays.r));
    await cliSays(receiveOnly, /clipboard in step with session .* \(receive only\)/);
  });

  after(async () => {
    for (const c of [terminal, sendOnly, receiveOnly]) await c?.stop();
  });

  test('a send-only desktop shares what is copied there and never changes its clipboard', { timeout: 180000 }, async () => {
    const mine = 'copied on the send-only desk';
    sendDeskCopy = copy(displays.s, mine);
    await waitFor('the receive-only desk’s clipboard to hold it', async () => (await pasteText(displays.r)) === mine, { timeout: 60000 });
    await waitFor('the terminal to print it', () => terminal.out().includes(`${mine}\n`), { timeout: 60000 });
    const shared = 'shared from another terminal';
    const r = await cliRun(['send', '--text', shared], { server: server.base, session, name: 'sender' });
    assert.equal(r.code, 0, r.describe());
    await waitFor('the receive-only desk’s clipboard to hold that', async () => (await pasteText(displays.r)) === shared, { timeout: 60000 });
    // Both desks had the item at once. Two more looks of the send-only desk at its clipboard
    // (each asks xclip for the copy) show it has gone on past the item, and the copy it asks
    // for is still the user's: had it placed the item, xclip would have lost the selection.
    const served = sendDeskCopy.served();
    await waitFor('the send-only desk to look at its clipboard again', () => {
      if (!sendDeskCopy.owns()) throw Object.assign(new Error(`the send-only desk’s clipboard was taken:\n${sendOnly.describe()}`), { fatal: true });
      return sendDeskCopy.served() >= served + 4;
    }, { timeout: 60000 });
    assert.equal(await pasteText(displays.s), mine);
    assert.doesNotMatch(sendOnly.err(), /clipboard: /, sendOnly.describe());
    assert.equal(count(sendOnly.err(), 'sent Text'), 1, sendOnly.describe());
  });

  test('a receive-only desktop takes what is shared and never shares what is copied there', { timeout: 180000 }, async () => {
    const local = 'copied on the receive-only desk';
    const copied = copy(displays.r, local);
    await waitFor('the copy on the receive-only desk’s clipboard', async () => (await pasteText(displays.r)) === local, { timeout: 60000 });
    // A desk that shares would look at it within an --interval or two: give it the time of
    // five looks of the send-only desk, which runs the same loop on the same machine.
    const served = sendDeskCopy.served();
    await waitFor('five looks of the send-only desk', () => sendDeskCopy.served() >= served + 10, { timeout: 60000 });
    assert.equal(copied.served(), 1, 'only the test’s paste asked for the receive-only desk’s copy: it never looked');
    const next = 'the send-only desk’s next copy';
    copy(displays.s, next);
    await waitFor('the terminal to print it', () => terminal.out().includes(`${next}\n`), { timeout: 60000 });
    await waitFor('the receive-only desk’s clipboard to hold it', async () => (await pasteText(displays.r)) === next, { timeout: 60000 });
    assert.ok(!terminal.out().includes(local), `the receive-only desk’s copy never went out:\n${terminal.describe()}`);
    assert.doesNotMatch(receiveOnly.err(), /sent /, receiveOnly.describe());
    assert.equal(count(receiveOnly.err(), 'clipboard: text from desk-send'), 2, receiveOnly.describe());
  });
});
