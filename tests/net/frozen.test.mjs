// A phone's tab frozen in the background (issue 26, point 5): Chromium's
// Page.setWebLifecycleState frozen, and its renderer processes stopped (SIGSTOP), as a phone's
// system suspends a backgrounded browser. (Debian's headless Chromium 156 kept running the
// page's timers after the lifecycle call alone.) The page runs no script and answers no ping, so the server drops
// its connection after pingInterval + pingTimeout (45 s) and the others are told it left when
// the rejoin grace (30 s) has passed. While it is frozen, the other member sends a text and a
// file. When the tab thaws it must rejoin by itself, without a reload, under its old name and
// id, and catch up: the text and the file arrive, byte-identical.
//
// Opt-in (it waits out the freeze): FROZEN_SECONDS (default 300) long; not part of
// tests/net/run.sh. The rule it relies on is proven on virtual time by the app's unit test
// `a_tab_frozen_for_five_minutes_rejoins_with_its_token_and_the_others_are_told`.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { doneItem, downloadHash, join, joined, members, openDevice, sha256, startServer, stopRenderers, waitFor } from '../e2e/harness.mjs';

const FROZEN_SECONDS = Number(process.env.FROZEN_SECONDS ?? 300);
const PASS = 'harbour-lantern-fig-eleven-slate-moss';
const session = `frozen-${process.pid}`;
let server;
const devices = [];

before(async () => {
  server = await startServer();
  for (const name of ['desk', 'phone']) {
    const d = await openDevice();
    devices.push(d);
    await d.page.goto(server.base);
    await join(d.page, { session, name, passphrase: PASS });
    await joined(d.page);
  }
  for (const d of devices) await waitFor(async () => (await members(d.page)).length === 2, { what: 'two members' });
});

let stopped;
after(async () => {
  stopped?.resume();
  for (const d of devices) await d.close();
  await server?.stop();
});

test(`a tab frozen for ${FROZEN_SECONDS} s comes back by itself and catches up`, { timeout: (FROZEN_SECONDS + 300) * 1000 }, async () => {
  const [desk, phone] = devices;
  // A mark on the page's window: a reload would wipe it.
  await phone.page.evaluate(() => {
    window.__beforeFreeze = true;
  });
  const cdp = await phone.context.newCDPSession(phone.page);
  await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
  stopped = stopRenderers(phone);
  const frozenAt = Date.now();

  // The server drops the silent connection and, after the grace, the desk is told it left.
  await waitFor(async () => (await members(desk.page)).length === 1, { timeout: 180_000, interval: 500, what: 'the desk to see the phone leave' });
  const left = (Date.now() - frozenAt) / 1000;

  const text = `sent while the phone slept ${process.pid}`;
  const box = desk.page.getByLabel('Text to share');
  await box.fill(text);
  await box.press('Control+Enter');
  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  await desk.page.getByTestId('file-input').setInputFiles({ name: 'while-frozen.bin', mimeType: 'application/octet-stream', buffer: bytes });
  await doneItem(desk.page, '[data-name="while-frozen.bin"]');

  const rest = FROZEN_SECONDS * 1000 - (Date.now() - frozenAt);
  if (rest > 0) await new Promise((r) => setTimeout(r, rest));
  stopped.resume();
  await cdp.send('Page.setWebLifecycleState', { state: 'active' });
  const thawedAt = Date.now();

  await phone.page.locator('[data-testid=connection][data-status=connected]').waitFor({ timeout: 120_000 });
  await waitFor(async () => (await members(desk.page)).length === 2, { timeout: 120_000, what: 'the desk to see the phone back' });
  await phone.page.getByText(text).first().waitFor({ timeout: 120_000 });
  const item = await doneItem(phone.page, '[data-name="while-frozen.bin"]', 180_000);
  const back = (Date.now() - thawedAt) / 1000;
  assert.equal((await downloadHash(phone.page, item)).hash, sha256(bytes));
  assert.equal(await phone.page.evaluate(() => window.__beforeFreeze), true, 'the page was reloaded');
  assert.deepEqual((await members(phone.page)).length, 2);
  console.log(`# frozen ${FROZEN_SECONDS} s: the desk saw the phone leave ${left.toFixed(1)} s after the freeze; the phone rejoined and had the text and the file ${back.toFixed(1)} s after it thawed`);
});
