// The opt-in inbox in Chromium against the real release server (issue 12, point 4): with the
// inbox on, a device that comes back after the sender left gets the item byte-identical; one
// that comes back after INBOX_TTL does not. Sessions are format 3, so a device that joins with
// no member online is one admitted earlier: it went away without leaving (leaving forgets the
// room's key) and comes back with the key its browser keeps, no passphrase, no member needed; the per-session cap refuses with the typed error shown to the
// sender while the item still reaches the members online; a member deletes its own items, the
// creator any and clears the inbox, and lets every member do so (the server checks the creator's
// signature: docs/protocol.md, "Inbox authority").
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { before, describe, test } from 'node:test';
import { browserSuite, doneItem, downloadHash, join, joined, leave as leaveSession, sha256, waitFor } from './harness.mjs';

const PASS = 'quiet-harbor-inbox-seven-plum';
const MiB = 1024 * 1024;
const TTL_MS = 30_000;

const suite = browserSuite({
  name: 'inbox',
  server: { INBOX_TTL: String(TTL_MS), INBOX_BYTES: String(2 * MiB) },
});
let a;
let b;

before(async () => {
  a = await suite.device();
  b = await suite.device();
});

async function metric(name) {
  const text = await (await fetch(`${suite.server.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

function file(name, size) {
  const path = joinPath(suite.work, name);
  const data = randomBytes(size);
  writeFileSync(path, data);
  return { path, hash: sha256(data) };
}

/** Opens the home page and joins `session`, ticking "Keep items for absent devices" if asked. */
async function enter(device, session, name, { keep = false } = {}) {
  await device.page.goto(suite.server.base);
  if (keep) await device.page.getByTestId('keep-items').click();
  await join(device.page, { session, name, passphrase: PASS });
  await joined(device.page);
}

async function leave(device) {
  await leaveSession(device.page);
}

/** Closes the session's page without leaving: the browser keeps the room's key. */
async function away(device) {
  await device.page.goto('about:blank');
}

/** Opens ShareThings again: the page rejoins the last session with the key it keeps. */
async function back(device) {
  await device.page.goto(suite.server.base);
  await joined(device.page);
}

async function sendText(page, text) {
  const box = page.getByLabel('Text to share');
  await box.fill(text);
  await box.press('Control+Enter');
}

const textItem = (page, text) => page.locator('[data-testid=item][data-kind=text]', { hasText: text });

describe('inbox for absent devices', { timeout: 300_000 }, () => {
  test('a device coming back after the sender left gets the item, byte-identical', async () => {
    await enter(a, 'inbox-late', 'Sender', { keep: true });
    // Admitted by the sender while both are here; then it goes away.
    await enter(b, 'inbox-late', 'Late');
    await away(b);
    const indicator = a.page.getByTestId('inbox-indicator');
    assert.equal((await indicator.innerText()).trim(), 'Inbox on — items wait 30 seconds');
    const f = file('kept.bin', 1 * MiB + 12_345);
    await a.page.getByTestId('file-input').setInputFiles(f.path);
    // Sent in full (the server acked every chunk) and kept: only then may the sender go.
    const onA = await doneItem(a.page, '[data-name="kept.bin"]', 60_000);
    await onA.getByTestId('in-inbox').waitFor();
    await leave(a);

    await back(b);
    assert.match(await b.page.getByTestId('inbox-indicator').innerText(), /Inbox on — items wait 30 seconds/);
    const onB = await doneItem(b.page, '[data-name="kept.bin"]', 60_000);
    const got = await downloadHash(b.page, onB);
    assert.equal(got.name, 'kept.bin');
    assert.equal(got.hash, f.hash);
    await onB.getByTestId('in-inbox').waitFor();
    await leave(b);
  });

  test('a device coming back after INBOX_TTL does not get it', async () => {
    await enter(a, 'inbox-expired', 'Sender', { keep: true });
    await enter(b, 'inbox-expired', 'Late');
    await away(b);
    await sendText(a.page, 'gone after the ttl');
    await a.page.locator('[data-testid=item][data-state=done]', { hasText: 'gone after the ttl' }).getByTestId('in-inbox').waitFor({ timeout: 30_000 });
    await away(a);
    // The server's own count says when every kept item has expired.
    await waitFor(async () => (await metric('sharethings_inbox_items')) === 0, { timeout: TTL_MS * 3, what: 'inbox items expired' });
    assert.equal(await metric('sharethings_inbox_bytes'), 0);

    await back(b);
    await b.page.getByTestId('inbox-indicator').waitFor();
    // A live item after the join arrives after the answer to the join's inbox listing.
    await back(a);
    await sendText(a.page, 'sent live afterwards');
    await b.page.locator('[data-testid=item][data-kind=text][data-state=done]', { hasText: 'sent live afterwards' }).waitFor({ timeout: 30_000 });
    assert.equal(await b.page.getByTestId('item').count(), 1, 'only the live item: the expired one is gone');
    assert.equal(await textItem(b.page, 'gone after the ttl').count(), 0);
    // The live item is kept in turn; clearing the session takes it out again.
    await a.page.getByRole('button', { name: 'Clear on every device' }).click();
    await a.page.getByRole('alertdialog').getByRole('button', { name: 'Clear every device' }).click();
    await waitFor(async () => (await metric('sharethings_inbox_items')) === 0, { what: 'inbox emptied by the clear' });
  });

  test('past the session cap the sender is told with the typed error; the item still reaches the others', async () => {
    await leave(a);
    await leave(b);
    await enter(a, 'inbox-cap', 'Sender', { keep: true });
    await enter(b, 'inbox-cap', 'Online');
    const f = file('too-big.bin', 3 * MiB);
    await a.page.getByTestId('file-input').setInputFiles(f.path);
    const refused = a.page.locator('[data-testid=item][data-name="too-big.bin"] [data-testid=inbox-refused]');
    await refused.waitFor({ timeout: 60_000 });
    assert.match(await refused.innerText(), /Not kept for absent devices: this session's inbox is full/);
    await a.page.getByText("This session's inbox is full", { exact: true }).first().waitFor();
    const onB = await doneItem(b.page, '[data-name="too-big.bin"]', 60_000);
    assert.equal((await downloadHash(b.page, onB)).hash, f.hash);
    assert.equal(await onB.getByTestId('in-inbox').count(), 0);
    assert.equal(await metric('sharethings_inbox_items'), 0);
  });

  test("a member deletes its own items from the inbox, the creator any (signed), and the creator's clear empties it", async () => {
    // A created the session: the server lets only its device clear the inbox or delete B's items.
    await sendText(a.page, 'from the creator');
    await sendText(b.page, 'from B, deleted by B');
    await sendText(b.page, 'from B, deleted by the creator');
    const texts = ['from the creator', 'from B, deleted by B', 'from B, deleted by the creator'];
    for (const text of texts) {
      await textItem(a.page, text).getByTestId('in-inbox').waitFor({ timeout: 30_000 });
      await textItem(b.page, text).getByTestId('in-inbox').waitFor({ timeout: 30_000 });
    }
    assert.equal(await metric('sharethings_inbox_items'), 3);
    const deleteButton = (page, text) => textItem(page, text).getByRole('button', { name: /^Delete from inbox/ });
    assert.equal(await deleteButton(b.page, 'from the creator').count(), 0, "B is not offered to delete the creator's item");
    const gone = async (text) => {
      for (const d of [a, b]) await waitFor(async () => (await textItem(d.page, text).getByTestId('in-inbox').count()) === 0, { what: `${text}: out of the inbox on every device` });
    };
    await deleteButton(b.page, 'from B, deleted by B').click();
    await gone('from B, deleted by B');
    assert.equal(await metric('sharethings_inbox_items'), 2);
    assert.equal(await textItem(b.page, 'from B, deleted by B').count(), 1, 'deleting from the inbox keeps the item on the devices');
    await deleteButton(a.page, 'from B, deleted by the creator').click();
    await gone('from B, deleted by the creator');
    assert.equal(await metric('sharethings_inbox_items'), 1);

    // Once the creator lets anyone clear, the server does too: B may delete the creator's item.
    await a.page.getByTestId('anyone-may-clear').click();
    await deleteButton(b.page, 'from the creator').waitFor({ timeout: 30_000 });
    await sendText(a.page, 'cleared by the creator');
    await textItem(a.page, 'cleared by the creator').getByTestId('in-inbox').waitFor({ timeout: 30_000 });
    await deleteButton(b.page, 'from the creator').click();
    await gone('from the creator');
    assert.equal(await metric('sharethings_inbox_items'), 1);
    await a.page.getByTestId('anyone-may-clear').click();
    await waitFor(async () => (await deleteButton(b.page, 'cleared by the creator').count()) === 0, { what: 'B no longer offered to delete' });

    await a.page.getByRole('button', { name: 'Clear on every device' }).click();
    await a.page.getByRole('alertdialog').getByRole('button', { name: 'Clear every device' }).click();
    await waitFor(async () => (await metric('sharethings_inbox_items')) === 0, { what: 'inbox emptied by the clear' });
    assert.equal(await metric('sharethings_inbox_bytes'), 0);
  });

  test('no page errors', () => {
    const expected = /Failed to load resource|WebSocket|Cross-Origin-Opener-Policy header has been ignored/;
    for (const d of [a, b]) assert.deepEqual(d.errors.filter((e) => !expected.test(e)), []);
  });
});
