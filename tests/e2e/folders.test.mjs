// Whole folders and items for one member (issue 28, points 2 and 4): a tree of 1,000 small
// files and a few larger ones, picked in one browser, arrives in another complete and
// byte-identical, saved into a folder and as a ZIP (read by Python's zipfile, with names,
// sizes and times); an item addressed to one member reaches that member and no one else.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { before, describe, test } from 'node:test';
import { browserSuite, doneItem, join, joined, localParts, members, pickedTree, readZip, sha256, waitFor } from './harness.mjs';

const PASS = 'copper-fjord-maple-nine-quartz-dune';
const suite = browserSuite({ name: 'folders' });
/** Modification times on even seconds (a ZIP keeps them to 2 s), one per file. */
const BASE_MTIME = Date.UTC(2024, 4, 17, 10, 30, 0);

/**
 * The tree: 1,000 files of a few bytes in nested folders (names with spaces and accents), and
 * three larger ones, the largest over several chunks. Returns path → { size, hash, mtime }.
 */
function makeTree(root) {
  const expected = new Map();
  const add = (path, bytes, i) => {
    const full = joinPath(root, path);
    mkdirSync(joinPath(full, '..'), { recursive: true });
    writeFileSync(full, bytes);
    const mtime = BASE_MTIME + i * 2000;
    utimesSync(full, mtime / 1000, mtime / 1000);
    expected.set(path, { size: bytes.length, hash: sha256(bytes), mtime });
  };
  for (let i = 0; i < 1000; i++) add(`part ${i % 10}/día ${i % 7}/f${i}.txt`, Buffer.from(`file ${i}\n`), i);
  add('big/video.bin', randomBytes(3 * 1024 * 1024 + 17), 1000);
  add('big/photo.jpg', randomBytes(700_000), 1001);
  add('big/empty.txt', Buffer.alloc(0), 1002);
  return expected;
}

async function device() {
  const d = await suite.device();
  await d.page.goto(suite.server.base);
  return d;
}

describe('folders and items for one member', () => {
  const session = `folders-${Date.now().toString(36)}`;
  let a;
  let b;
  let c;

  before(async () => {
    [a, b, c] = await Promise.all([device(), device(), device()]);
    for (const [d, name] of [
      [a, 'Laptop'],
      [b, 'Desktop'],
      [c, 'Phone'],
    ]) {
      await join(d.page, { session, name, passphrase: PASS });
      await joined(d.page);
    }
    await waitFor(async () => (await members(a.page)).length === 3, { what: 'three members' });
  });

  test('a picked tree of 1,003 files arrives byte-identical, saved as a folder and as a ZIP', async () => {
    const root = joinPath(suite.work, 'trip');
    const expected = makeTree(root);
    await a.page.getByTestId('folder-input').setInputFiles(root);

    // The total is announced with the item, before its body.
    const onB = b.page.locator('[data-testid=item][data-kind=folder][data-name=trip]');
    await onB.waitFor({ timeout: 60_000 });
    assert.match(await onB.getByTestId('item-meta').innerText(), /1,003 files and folders/);
    const item = await doneItem(b.page, '[data-kind=folder][data-name=trip]');

    // Into a folder: the directory the user would pick is one in this origin's private storage.
    await b.page.evaluate(() => {
      window.showDirectoryPicker = async () => (await navigator.storage.getDirectory()).getDirectoryHandle('picked', { create: true });
    });
    await item.getByTestId('save-folder').click();
    await waitFor(async () => /Saved as the folder “trip”/.test(await item.getByTestId('folder-status').innerText()), { timeout: 120_000, what: 'folder saved' });
    const saved = await pickedTree(b.page, 'trip');
    assert.equal(Object.keys(saved).length, expected.size);
    for (const [path, want] of expected) assert.deepEqual(saved[path], { size: want.size, hash: want.hash }, path);

    // Saving again goes beside it, never into it.
    await item.getByTestId('save-folder').click();
    await waitFor(async () => /Saved as the folder “trip \(1\)”/.test(await item.getByTestId('folder-status').innerText()), { timeout: 120_000, what: 'second copy saved' });

    // As a ZIP, with every name, size, byte and time.
    const [download] = await Promise.all([b.page.waitForEvent('download', { timeout: 120_000 }), item.getByTestId('save-zip').click()]);
    assert.equal(download.suggestedFilename(), 'trip.zip');
    const zip = readZip(await download.path());
    const files = Object.entries(zip).filter(([name]) => !name.endsWith('/'));
    assert.equal(files.length, expected.size);
    for (const [path, want] of expected) {
      const got = zip[`trip/${path}`];
      assert.ok(got, `trip/${path} is in the ZIP`);
      assert.deepEqual(got, [want.size, want.hash, localParts(want.mtime)], path);
    }
    assert.deepEqual(a.errors.concat(b.errors), []);
  });

  test('an item addressed to one member reaches that member and no one else', async () => {
    const box = a.page.getByRole('textbox', { name: 'Text to share' });
    await a.page.getByTestId('recipient').selectOption({ label: 'To Desktop only' });
    await box.fill('for the desktop alone');
    await a.page.getByRole('button', { name: 'Send' }).click();
    await a.page.locator('[data-testid=item][data-kind=text]').first().getByText('to Desktop only').waitFor();
    const onB = await doneItem(b.page, '[data-kind=text]');
    assert.equal(await onB.getByTestId('item-text').innerText(), 'for the desktop alone');

    // Then one for everyone: once it is on the phone, the earlier one would be too, had it been sent there.
    await a.page.getByTestId('recipient').selectOption({ label: 'To everyone' });
    await box.fill('for everyone');
    await a.page.getByRole('button', { name: 'Send' }).click();
    await doneItem(c.page, '[data-kind=text]');
    const texts = await c.page.locator('[data-testid=item][data-kind=text] [data-testid=item-text]').allInnerTexts();
    assert.deepEqual(texts, ['for everyone']);
    await waitFor(async () => (await b.page.locator('[data-testid=item][data-kind=text][data-state=done]').count()) === 2, { what: 'both texts on the desktop' });
  });
});
