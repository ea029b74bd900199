// What a format 3 page does with a server that lies (issue 23, points 5, 8 and 12), in Chromium
// against the real release server with a proxy in front of one page that edits, records and
// replays the WebSocket frames the server sends it (tests/proxies.mjs): a forged `from` does not
// make one member's item another's; an item and a clear the server sends again are dropped, also
// after the page reloaded (its replay windows are kept with the room's key).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { frameProxy } from '../proxies.mjs';
import { browserSuite, join, joined, members, waitFor } from './harness.mjs';

const PASS = 'quartz-meadow-falcon-sixty-ember';

const suite = browserSuite({ name: 'misbehaving-server' });

async function sendText(page, text) {
  const box = page.getByLabel('Text to share');
  await box.fill(text);
  await box.press('Control+Enter');
}

const textItem = (page, text) => page.locator('[data-testid=item][data-kind=text]', { hasText: text });

/** Waits until `page` shows text item `text`, whole. */
const shows = (page, text) => textItem(page, text).and(page.locator('[data-state=done]')).waitFor({ timeout: 60_000 });

async function enter(base, session, name) {
  const d = await suite.device();
  await d.page.goto(base);
  await join(d.page, { session, name, passphrase: PASS });
  await joined(d.page);
  return d;
}

describe('a misbehaving server, as a format 3 page sees it', { timeout: 600_000 }, () => {
  test('a forged `from` does not change who sent an item; a replayed item and a replayed clear are dropped, also after a reload', async () => {
    const session = `liar-${Date.now().toString(36)}`;
    const joinedIds = [];
    let forgeAs = null;
    let forged = 0;
    const proxy = await frameProxy(suite.server.port, {
      onText(text) {
        const m = /^42\["client-joined",\{[^}]*"clientId":"([^"]+)"/.exec(text);
        if (m) joinedIds.push(m[1]);
        if (!forgeAs || !/^45\d+-\["content"/.test(text)) return text;
        forged += 1;
        return text.replace(/"from":"[^"]+"/, `"from":"${forgeAs}"`);
      },
    });
    try {
      // The phone creates the session (so it alone may clear); the desk, behind the proxy, is
      // admitted by it; then the laptop joins, and the desk hears of it over its WebSocket.
      const phone = await enter(suite.server.base, session, 'Phone');
      const desk = await enter(proxy.url, session, 'Desk');
      const laptop = await enter(suite.server.base, session, 'Laptop');
      await waitFor(async () => (await members(desk.page)).includes('Laptop'), { what: 'the desk lists the laptop' });
      await waitFor(() => joinedIds.length >= 1, { what: "the laptop's id, through the proxy" });

      // From now on the server tells the desk that everything comes from the laptop.
      forgeAs = joinedIds.at(-1);
      await sendText(phone.page, 'signed by the phone');
      await shows(desk.page, 'signed by the phone');
      assert.equal(await textItem(desk.page, 'signed by the phone').getByTestId('item-sender').innerText(), 'Phone');
      forgeAs = null;
      assert.ok(forged >= 1, 'the item reached the desk with a forged `from`');

      // Everything the desk was sent so far, sent again: nothing shows twice.
      const replayed = proxy.events().filter((e) => /^45\d+-\["(content|chunk)"/.test(e.text));
      assert.ok(replayed.length >= 1, 'the phone\'s item went through the proxy');
      for (const e of replayed) proxy.inject(e);
      // Events reach the page in order: once a later item shows, the replays were read.
      await sendText(laptop.page, 'after the replay');
      await shows(desk.page, 'after the replay');
      assert.equal(await textItem(desk.page, 'signed by the phone').count(), 1, 'the replayed item dropped');

      // The creator clears; the server sends that clear again after new items.
      const before = proxy.events().length;
      await phone.page.getByRole('button', { name: 'Clear on every device' }).click();
      await phone.page.getByRole('alertdialog').getByRole('button', { name: 'Clear every device' }).click();
      await waitFor(async () => (await desk.page.getByTestId('item').count()) === 0, { what: 'the desk cleared' });
      const clear = proxy.events().slice(before).filter((e) => /^45\d+-\["content"/.test(e.text));
      assert.ok(clear.length >= 1, 'the clear went through the proxy');
      await sendText(laptop.page, 'after the clear');
      await shows(desk.page, 'after the clear');
      for (const e of clear) proxy.inject(e);
      await sendText(laptop.page, 'after the replayed clear');
      await shows(desk.page, 'after the replayed clear');
      assert.equal(await textItem(desk.page, 'after the clear').count(), 1, 'the replayed clear dropped');

      // Reloaded, the desk rejoins with the room key its browser keeps, and with its replay
      // windows: its new page has neither the item nor the clear in memory, and drops both.
      await desk.page.reload();
      await joined(desk.page);
      await shows(desk.page, 'after the clear');
      for (const e of [...replayed, ...clear]) proxy.inject(e);
      await sendText(laptop.page, 'after the reload');
      await shows(desk.page, 'after the reload');
      assert.equal(await textItem(desk.page, 'after the clear').count(), 1, 'the replayed clear dropped after a reload');
      assert.equal(await textItem(desk.page, 'signed by the phone').count(), 0, 'the replayed item dropped after a reload');
    } finally {
      await proxy.close();
    }
  });
});
