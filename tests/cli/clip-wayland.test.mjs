// `sharethings-cli clip` on Wayland: a headless sway (wlroots, which offers the data-control
// protocol that arboard's Wayland backend speaks) is the desktop, with no X server in reach,
// and Chromium running the web app is the other member. wl-copy and wl-paste play the user.
// Text copied on the Wayland desktop reaches the browser; text shared in the browser can be
// pasted there; what clip put on the clipboard never goes back out.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { idle, start, startServer, waitFor } from '../deploy/lib.mjs';
import { browserSuite, doneItem } from '../e2e/harness.mjs';
import { browserIn, cli, cliSays, seesMember } from './lib.mjs';

const suite = browserSuite({ name: 'clip-wayland', server: false });
/** sway refuses to run as root: as root, the compositor runs as `nobody`. */
const NOBODY = 65534;

/**
 * A headless sway with a runtime folder of its own; resolves the environment a Wayland client
 * needs to reach it (WAYLAND_DISPLAY, XDG_RUNTIME_DIR).
 */
async function sway() {
  const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'sharethings-wayland-'));
  const config = path.join(runtime, 'config');
  fs.writeFileSync(config, '');
  fs.chmodSync(runtime, 0o700);
  const env = { XDG_RUNTIME_DIR: runtime, HOME: runtime, WLR_BACKENDS: 'headless', WLR_LIBINPUT_NO_DEVICES: '1', WLR_RENDERER: 'pixman' };
  const root = process.getuid() === 0;
  if (root) {
    fs.chownSync(runtime, NOBODY, NOBODY);
    fs.chownSync(config, NOBODY, NOBODY);
  }
  const [cmd, args] = root
    ? ['setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sway', '-c', config]]
    : ['sway', ['-c', config]];
  const proc = suite.own(start('sway', cmd, args, { env }));
  const display = await waitFor('sway to open its Wayland socket', () => {
    if (!proc.running) throw Object.assign(new Error(proc.output()), { fatal: true });
    return fs.readdirSync(runtime).find((n) => /^wayland-\d+$/.test(n));
  }, { timeout: 30000 });
  return { WAYLAND_DISPLAY: display, XDG_RUNTIME_DIR: runtime };
}

/** Copies `text` onto the Wayland clipboard as the user would (wl-copy serves it until replaced). */
function copy(wayland, text) {
  const child = spawn('wl-copy', [], { env: { PATH: process.env.PATH, ...wayland }, stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.end(text);
}

/** The text on the Wayland clipboard, or null when it holds none. */
function paste(wayland) {
  return new Promise((resolve) => {
    execFile('wl-paste', ['--no-newline'], { env: { PATH: process.env.PATH, ...wayland }, timeout: 10000 }, (err, out) => resolve(err ? null : out));
  });
}

const count = (text, re) => (text.match(new RegExp(re, 'g')) ?? []).length;

describe('clip on a Wayland desktop', () => {
  const session = `clip-wl-${Date.now().toString(36)}`;
  let wayland;
  let desk;
  let web;

  before(async () => {
    const server = await startServer({ env: { LOG_LEVEL: 'warn' } });
    suite.own(server.proc);
    wayland = await sway();
    web = await browserIn(suite, server.base, session, 'Phone');
    // No DISPLAY: the desktop is reachable only through Wayland.
    desk = cli(['clip', '--interval', '200'], { server: server.base, session, name: 'wl-desk', env: wayland });
    await cliSays(desk, /clipboard in step with session/);
    await seesMember(web.page, 'wl-desk');
  });

  after(async () => {
    await desk?.stop();
    if (wayland) fs.rmSync(wayland.XDG_RUNTIME_DIR, { recursive: true, force: true });
  });

  test('text copied on the Wayland desktop reaches the browser; the browser’s lands on that clipboard, and is not sent back', { timeout: 120000 }, async () => {
    const copied = 'copied on Wayland ✓';
    copy(wayland, copied);
    const onWeb = await doneItem(web.page, '[data-kind=text]', 60000);
    assert.equal(await onWeb.getByTestId('item-text').innerText(), copied);
    assert.equal(await onWeb.getByTestId('item-sender').innerText(), 'wl-desk');

    const shared = 'shared from the phone';
    const box = web.page.getByLabel('Text to share');
    await box.fill(shared);
    await box.press('Control+Enter');
    await waitFor('the Wayland clipboard to hold it', async () => (await paste(wayland)) === shared, { timeout: 60000 });
    // The desk looks at its clipboard five times a second: what it placed must stay local.
    await idle(1500);
    assert.equal(await web.page.locator('[data-testid=item][data-kind=text]').count(), 2, 'no echo reached the browser');
    assert.equal(count(desk.err(), 'sent Text'), 1, desk.describe());
    assert.equal(count(desk.err(), 'clipboard: text from Phone'), 1, desk.describe());
  });
});
