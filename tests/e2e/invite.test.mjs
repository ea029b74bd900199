// An invite link gets its device in while strangers guess at the session's name
// (docs/security.md, "What knowing a session's name allows"): in a legacy (format 2) session,
// whose strangers guess with fingerprints, the dialog's link carries a member's invite, and a
// join through it skips the session's limit on failed joins. The
// server runs with a session limit of 2 so that strangers on this machine's address (the
// browsers' too) reach it with two guesses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { browserSuite, join, joined } from './harness.mjs';

const PASS = 'sable-orbit-fern-eleven-quartz-dune';

const suite = browserSuite({ name: 'invite', server: { JOIN_LIMIT_PER_SESSION: '2', JOIN_LIMIT_PER_ADDRESS: '100' } });
const { device } = suite;

/** Join attempts on one raw Engine.IO WebSocket from `page`; returns each ack's code. */
function guessFrom(page, session, passphrases) {
  return page.evaluate(
    ({ url, session, passphrases }) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        const codes = [];
        const ask = () => {
          const n = codes.length;
          if (n === passphrases.length) {
            ws.close();
            return resolve(codes);
          }
          const join = { sessionId: session, clientName: 'Stranger', fingerprint: { v: 2, mac: passphrases[n] } };
          ws.send(`42${n}${JSON.stringify(['join', join])}`);
        };
        ws.onmessage = ({ data }) => {
          if (data.startsWith('0{')) ws.send('40');
          else if (data.startsWith('40{')) ask();
          else if (data.startsWith('43')) {
            const [ack] = JSON.parse(data.slice(data.indexOf('[')));
            codes.push(ack.success ? 'ok' : ack.code);
            ask();
          }
        };
        ws.onerror = () => reject(new Error('websocket failed'));
      }),
    { url: `${suite.server.base.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`, session, passphrases },
  );
}

describe('invite links and strangers', () => {
  test('while strangers guess at the name, a device gets in through the invite link, not without it', async () => {
    const session = `invite-${Date.now().toString(36)}`;
    const host = await device();
    await host.page.goto(suite.server.base);
    await join(host.page, { session, name: 'Host', passphrase: PASS, legacy: true });
    await joined(host.page);

    const codes = await guessFrom(host.page, session, ['wrong-1', 'wrong-2', 'wrong-3']);
    assert.deepEqual(codes, ['invalid_passphrase', 'invalid_passphrase', 'rate_limited']);

    // Typing the passphrase from this address now waits, and says so.
    const laptop = await device();
    await laptop.page.goto(`${suite.server.base}/#s=${encodeURIComponent(session)}&p=${encodeURIComponent(PASS)}`);
    await laptop.page.locator('input[name=name]').fill('Laptop');
    await laptop.page.getByRole('button', { name: `Join “${session}”` }).click();
    await laptop.page.getByText('Too many attempts').waitFor();

    // The dialog's link carries an invite from the server; through it the device gets in.
    await host.page.getByRole('button', { name: 'Invite a device' }).click();
    const dialog = host.page.getByRole('dialog');
    await dialog.getByText('Include the passphrase in the link').click();
    const box = dialog.getByRole('textbox', { name: 'Invite link' });
    await host.page.waitForFunction((el) => el.value.includes('&i='), await box.elementHandle());
    const link = await box.inputValue();
    assert.ok(link.includes(`&p=${encodeURIComponent(PASS)}`), link);
    await laptop.page.goto('about:blank');
    await laptop.page.goto(link);
    await laptop.page.locator('input[name=name]').fill('Laptop');
    await laptop.page.getByRole('button', { name: `Join “${session}”` }).click();
    await joined(laptop.page);
    await host.page.getByTestId('member-name').filter({ hasText: 'Laptop' }).waitFor();
  });
});
