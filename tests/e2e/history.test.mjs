// The history on each device (issue 28, point 3) in Chromium against the real release server:
// text received stays on the device after a reload, sealed in IndexedDB under a non-extractable
// key; search finds it; a pinned entry survives the bound; delete and "Clear this device's
// history" remove entries for good, and the sender keeps what it sent. On the way, the sender's
// items say which device fetched them from the session's inbox.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { browserSuite, join, joined } from './harness.mjs';

const PASS = 'amber-lantern-history-four-fig';
const TICKETS = 'Train tickets https://rail.example/booking/42';
const CODE = 'door code 4711';
/** Generous: the machine may be busy with other builds; each wait ends as soon as its condition holds. */
const LONG = { timeout: 90_000 };

const suite = browserSuite({ name: 'history' });
let a;
let b;

before(async () => {
  a = await suite.device();
  b = await suite.device();
});

async function enter(page, session, name, { keep = false } = {}) {
  await page.goto(suite.server.base);
  if (keep) await page.getByTestId('keep-items').click();
  await join(page, { session, name, passphrase: PASS });
  await joined(page);
}

async function sendText(page, text) {
  const box = page.getByLabel('Text to share');
  await box.fill(text);
  await box.press('Control+Enter');
}

const doneText = (page, text) => page.locator('[data-testid=item][data-kind=text][data-state=done]', { hasText: text });

async function openHistory(page) {
  await page.getByTestId('history-open').click();
  const dialog = page.getByRole('dialog', { name: 'History on this device' });
  await dialog.getByTestId('history-count').waitFor(LONG);
  return dialog;
}

const entries = (dialog) => dialog.getByTestId('history-entry');
const entry = (dialog, text) => entries(dialog).filter({ hasText: text });

/** What this page's IndexedDB holds for the history, as raw as a script can see it. */
function rawHistory(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open('sharethings-history');
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const tx = req.result.transaction(['entries', 'keys'], 'readonly');
          const got = { entries: tx.objectStore('entries').getAll(), keys: tx.objectStore('keys').getAll() };
          tx.oncomplete = () => {
            const key = got.keys.result[0];
            resolve({
              records: got.entries.result.map((r) => ({
                fields: Object.keys(r).sort().join(','),
                pinned: r.pinned,
                // Every byte kept, as Latin-1, so that any plain text in it would show.
                bytes: Array.from(new Uint8Array([...r.iv, ...r.ct]), (c) => String.fromCharCode(c)).join(''),
              })),
              keyKind: key?.kind,
              keyIsCryptoKey: key?.key instanceof CryptoKey,
              keyExtractable: key?.key?.extractable,
            });
            req.result.close();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
}

describe('history on each device', { timeout: 300_000 }, () => {
  test('received text stays after a reload, sealed; search finds it; a pin survives the bound; delete and clear remove', async () => {
    const session = `history-${Date.now().toString(36)}`;
    // With the session's inbox on, so that the phone's return fetches the texts from it, and the
    // laptop sees who did (issue 28, point 5).
    await enter(a.page, session, 'Laptop', { keep: true });
    // Newcomers get nothing from the laptop itself ("Newcomers get: Nothing"): what the phone
    // gets on joining again comes from the inbox alone.
    await a.page.evaluate(() => localStorage.setItem('sharethings.recentMinutes', '0'));
    await enter(b.page, session, 'Phone');
    // Admitted, the phone goes away while the laptop sends (its browser keeps the room's key),
    // and comes back to fetch the texts from the inbox.
    await b.page.goto('about:blank');
    await sendText(a.page, TICKETS);
    await sendText(a.page, CODE);
    for (const text of [TICKETS, CODE]) await doneText(a.page, text).getByTestId('in-inbox').waitFor(LONG);
    await b.page.goto(suite.server.base);
    await joined(b.page);
    await doneText(b.page, TICKETS).waitFor(LONG);
    await doneText(b.page, CODE).waitFor(LONG);
    // The phone's return listed the inbox and fetched both texts from it: the laptop is told.
    for (const text of [TICKETS, CODE]) {
      await doneText(a.page, text).getByTestId('inbox-fetched-by').filter({ hasText: /^Fetched from the inbox by Phone$/ }).waitFor(LONG);
    }

    // A reload rejoins from the room key this browser keeps; the history is still here (the
    // inbox offers the texts again, and the phone drops them as replays of what it has seen).
    await b.page.reload();
    await joined(b.page);
    let dialog = await openHistory(b.page);
    await waitCount(dialog, 2);
    assert.equal(await dialog.getByTestId('history-count').innerText(), '2 kept');
    assert.match(await entry(dialog, CODE).getByTestId('history-meta').innerText(), new RegExp(`^Laptop · ${session} · `));
    assert.equal(await dialog.getByTestId('history-protection').getAttribute('data-protection'), 'device-key');

    // At rest: two records of id, pin and ciphertext, none of the text, the sender or the
    // session in them, under a key IndexedDB holds as a CryptoKey that cannot be exported.
    const raw = await rawHistory(b.page);
    assert.equal(raw.records.length, 2);
    for (const r of raw.records) {
      assert.equal(r.fields, 'ct,id,iv,pinned');
      for (const secret of ['4711', 'door code', 'rail.example', 'Laptop', session]) assert.ok(!r.bytes.includes(secret), `"${secret}" is stored in the clear`);
    }
    assert.deepEqual([raw.keyKind, raw.keyIsCryptoKey, raw.keyExtractable], ['webcrypto', true, false]);

    // Search.
    const search = dialog.getByTestId('history-search');
    await search.fill('RAIL.example booking');
    await waitCount(dialog, 1);
    assert.equal(await entries(dialog).first().getByTestId('item-text').innerText(), TICKETS);
    assert.equal(await entries(dialog).first().getByRole('link').getAttribute('href'), 'https://rail.example/booking/42');
    await search.fill('no such words');
    await waitCount(dialog, 0);
    assert.equal(await dialog.getByTestId('history-count').innerText(), '0 of 2 match');
    await search.fill('');
    await waitCount(dialog, 2);

    // Pin one, then bound the history to pinned entries only (in the session's settings).
    await entry(dialog, TICKETS).getByRole('button', { name: /^Pin / }).click();
    await entry(dialog, TICKETS).and(b.page.locator('[data-pinned=true]')).waitFor(LONG);
    await b.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await b.page.getByTestId('history-items').selectOption('0');
    dialog = await openHistory(b.page);
    await waitCount(dialog, 1);
    assert.equal(await entry(dialog, TICKETS).getAttribute('data-pinned'), 'true');
    assert.deepEqual((await rawHistory(b.page)).records.map((r) => r.pinned), [true]);

    // Delete: gone from the page and from IndexedDB.
    await entry(dialog, TICKETS).getByRole('button', { name: /^Delete from this device’s history/ }).click();
    await waitCount(dialog, 0);
    assert.equal((await rawHistory(b.page)).records.length, 0);


    // The sender keeps what it sent, as "You"; its "Clear" says whose copies go, and clears its own.
    dialog = await openHistory(a.page);
    await waitCount(dialog, 2);
    assert.match(await entry(dialog, CODE).getByTestId('history-meta').innerText(), /^You · /);
    await dialog.getByRole('button', { name: 'Clear this device’s history' }).click();
    const confirm = a.page.getByRole('alertdialog', { name: 'Clear this device’s history?' });
    assert.match(await confirm.getByTestId('clear-history-consequences').innerText(), /All 2 entries in this device’s history will be deleted, pinned ones too\. The items in your sessions and the histories of your other devices stay/);
    await confirm.getByRole('button', { name: 'Clear history' }).click();
    await waitCount(dialog, 0);
    assert.equal((await rawHistory(a.page)).records.length, 0);
    // The shared items are not the history: they are still in the session on both devices.
    await a.page.keyboard.press('Escape');
    await doneText(a.page, CODE).waitFor(LONG);
    assert.deepEqual([...a.errors, ...b.errors], []);
  });
});

async function waitCount(dialog, n) {
  const list = entries(dialog);
  if (n > 0) await list.nth(n - 1).waitFor(LONG);
  await list.nth(n).waitFor({ state: 'detached', ...LONG });
  assert.equal(await list.count(), n);
}
