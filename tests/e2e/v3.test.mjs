// Format 3 in the browser (issue 23, docs/protocol.md "Format v3"): a laptop creates a session
// whose members admit new devices; a phone that types the passphrase applies and the laptop's
// page admits it, both showing the same safety code; text, an image and a file go both ways,
// sealed and signed; a reload rejoins from the browser's key store with no passphrase; an invite
// link carries the room secret, and a third device joins with it directly; with the others gone,
// a reload still rejoins from the key store. Every
// frame the two devices send is kept, and none lets the server test a passphrase: no
// fingerprint, no passphrase, no PAKE input, and the joins carry only the challenge's proof.
import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { describe, test } from 'node:test';
import { browserSuite, doneItem, downloadHash, drawPng, joined, leave, members, pasteOnBody, sha256, waitFor } from './harness.mjs';

const PASS = 'quiet-harbor-maple-nine-cobalt-reef';

const suite = browserSuite({ name: 'v3' });
const { device, work } = suite;

/** Every Socket.IO event the page sends, over WebSocket or long-polling, as [name, payload]. */
function recordFrames(page) {
  const sent = [];
  const keep = (packet) => {
    const m = /^42\d*(\[.*)$/s.exec(packet);
    if (m) sent.push(JSON.parse(m[1]));
  };
  page.on('websocket', (ws) => ws.on('framesent', ({ payload }) => keep(String(payload))));
  page.on('request', (r) => {
    // A polling POST carries packets separated by the record separator.
    if (r.method() === 'POST' && r.url().includes('/socket.io/')) for (const p of (r.postData() ?? '').split('\x1e')) keep(p);
  });
  return sent;
}

/** How many of the recorded `frames` are applications (a join that asks a member to admit it). */
const applications = (frames) => frames.filter(([name, p]) => name === 'join' && p.apply).length;

async function fill(page, { session, name, passphrase }) {
  await page.locator('input[name=session]').fill(session);
  await page.locator('input[name=name]').fill(name);
  await page.locator('input[name=passphrase]').fill(passphrase);
}

async function sendText(page, text) {
  const box = page.getByLabel('Text to share');
  await box.fill(text);
  await box.press('Control+Enter');
}

const safetyCode = (page) => page.getByTestId('safety-code').innerText();

describe('format 3: admission by a member', () => {
  const session = `v3-${Date.now().toString(36)}`;
  let laptop;
  let phone;
  let tablet;
  let laptopFrames;
  let phoneFrames;

  test('the laptop creates a session, format 3 by default; the phone applies with the passphrase and the laptop admits it', async () => {
    laptop = await device();
    laptopFrames = recordFrames(laptop.page);
    await laptop.page.goto(suite.server.base);
    await fill(laptop.page, { session, name: 'Laptop', passphrase: PASS });
    // Format 2 is only an explicit choice, left unticked.
    assert.equal(await laptop.page.getByTestId('legacy-format').locator('input').isChecked(), false);
    await laptop.page.getByRole('button', { name: 'Join session' }).click();
    await joined(laptop.page);
    assert.equal(await laptop.page.getByTestId('legacy-session').count(), 0);

    phone = await device();
    phoneFrames = recordFrames(phone.page);
    await phone.page.goto(suite.server.base);
    await fill(phone.page, { session, name: 'Phone', passphrase: PASS });
    await phone.page.getByRole('button', { name: 'Join session' }).click();
    await joined(phone.page);
    await laptop.page.getByText('Phone was admitted').waitFor({ timeout: 60_000 });

    // Names come from the signed hellos, which follow the member list: wait for them.
    const named = async (page, want) => (await members(page)).sort().join() === want;
    await waitFor(async () => (await named(phone.page, 'Laptop,Phone (you)')) && (await named(laptop.page, 'Laptop (you),Phone')), { what: 'two named members on both' });
    // Both devices see the same two keys under the same room secret: the same code.
    await waitFor(async () => (await safetyCode(laptop.page)) === (await safetyCode(phone.page)), { what: 'equal safety codes' });
    assert.match(await safetyCode(phone.page), /^\d{5}( \d{5}){5}$/);
  });

  test('text, an image and a file go both ways, with the sender named from the roster', async () => {
    const hello = `from the laptop ${Date.now()}`;
    await sendText(laptop.page, hello);
    const onPhone = await doneItem(phone.page, '[data-kind=text]');
    assert.equal(await onPhone.getByTestId('item-text').innerText(), hello);
    assert.equal(await onPhone.getByTestId('item-sender').innerText(), 'Laptop');

    const reply = `from the phone ${Date.now()}`;
    await sendText(phone.page, reply);
    const onLaptop = await doneItem(laptop.page, `[data-kind=text]:has-text("${reply}")`);
    assert.equal(await onLaptop.getByTestId('item-sender').innerText(), 'Phone');

    const png = await drawPng(phone.page, { width: 200, height: 120, fill: ['#0ea5e9', '#f59e0b'], label: 'v3' });
    await pasteOnBody(phone.page, { files: [{ name: 'v3.png', bytes: png }] });
    await phone.page.getByRole('alertdialog').getByRole('button', { name: 'Share with everyone' }).click();
    const image = await doneItem(laptop.page, '[data-kind=image]');
    assert.equal((await downloadHash(laptop.page, image)).hash, sha256(png));

    // Sizes that end inside a chunk and past one, so padding is cut off and checked both ways.
    for (const [from, to, name, size] of [
      [laptop, phone, 'one.bin', 300_001],
      [phone, laptop, 'two.bin', 1_100_000],
    ]) {
      const data = randomBytes(size);
      const path = joinPath(work, name);
      writeFileSync(path, data);
      await from.page.getByTestId('file-input').setInputFiles(path);
      const item = await doneItem(to.page, `[data-name="${name}"]`);
      const got = await downloadHash(to.page, item);
      assert.equal(got.name, name);
      assert.equal(got.hash, sha256(data));
    }
  });

  test('a reload rejoins from the key store, without the passphrase, and items still flow', async () => {
    await phone.page.reload();
    await joined(phone.page);
    // Names come from the signed hellos, which follow the member list: wait for them.
    await waitFor(async () => (await members(phone.page)).sort().join() === 'Laptop,Phone (you)', { what: 'both members named after the reload' });
    const after = `after the reload ${Date.now()}`;
    await sendText(laptop.page, after);
    const item = await doneItem(phone.page, `[data-kind=text]:has-text("${after}")`);
    assert.equal(await item.getByTestId('item-sender').innerText(), 'Laptop');
    await waitFor(async () => (await safetyCode(laptop.page)) === (await safetyCode(phone.page)), { what: 'equal safety codes after the reload' });
  });

  test('an invite link carries the key: a third device joins with it, no passphrase and no admission', async () => {
    await laptop.page.getByRole('button', { name: 'Invite a device' }).click();
    const link = await laptop.page.getByRole('textbox', { name: 'Invite link' }).inputValue();
    await laptop.page.keyboard.press('Escape');
    assert.match(link, /#s=[^&]+&k=[A-Za-z0-9_-]{128}$/);
    assert.ok(!link.includes(encodeURIComponent(PASS)) && !link.includes(PASS));
    tablet = await device();
    const tabletFrames = recordFrames(tablet.page);
    await tablet.page.goto(link);
    await tablet.page.locator('input[name=name]').fill('Tablet');
    await tablet.page.getByRole('button', { name: `Join “${session}”` }).click();
    await joined(tablet.page);
    await waitFor(async () => (await members(tablet.page)).sort().join() === 'Laptop,Phone,Tablet (you)', { what: 'three named members on the tablet' });
    await waitFor(async () => (await safetyCode(tablet.page)) === (await safetyCode(laptop.page)), { what: 'equal safety codes with the tablet' });
    // It joined as a member at once: it never applied.
    assert.equal(applications(tabletFrames), 0);
  });

  test('nothing either device sent lets the server test a passphrase', () => {
    const frames = [...laptopFrames, ...phoneFrames];
    const text = JSON.stringify(frames);
    const prs = pbkdf2Sync(PASS.normalize('NFC'), `sharethings/v3/pake/${session}`, 600_000, 32, 'sha256');
    for (const secret of [PASS, prs.toString('base64'), prs.toString('base64url')]) assert.ok(!text.includes(secret));
    const joins = frames.filter(([name]) => name === 'join').map(([, p]) => p);
    // The laptop's create, the phone's application and its member join, and the phone's rejoin.
    assert.ok(joins.length >= 4, `joins: ${joins.length}`);
    for (const j of joins) {
      assert.equal(j.v, 3);
      assert.equal(j.fingerprint, undefined);
      assert.equal(j.clientName, undefined);
      const keys = Object.keys(j).sort().join(',');
      assert.ok(
        keys === 'apply,sessionId,v' || /^access,(inbox,)?owner,proof,sessionId,(token,)?v$/.test(keys),
        `a join carries ${keys}`,
      );
    }
    assert.equal(new Set(joins.filter((j) => j.proof).map((j) => j.proof)).size, joins.filter((j) => j.proof).length, 'a proof is never sent twice');
    assert.equal(frames.filter(([name]) => name === 'challenge').length, joins.filter((j) => j.proof).length);
  });

  test('with no other member online, a reload still rejoins from the key store, without applying', async () => {
    await leave(laptop.page);
    await leave(tablet.page);
    await waitFor(async () => (await members(phone.page)).join() === 'Phone (you)', { what: 'the phone alone' });
    const applied = applications(phoneFrames);
    await phone.page.reload();
    await joined(phone.page);
    assert.deepEqual(await members(phone.page), ['Phone (you)']);
    assert.equal(await phone.page.getByTestId('session-name').innerText(), session);
    assert.equal(applications(phoneFrames), applied);
  });
});
