// Format 3's members in Chromium (issue 23, points 2, 5, 6 and 12; docs/protocol.md "Admission by
// a member", "Control messages (v3)", "Safety code"): a device that types the passphrase while no
// member is online says so and waits, can stop waiting, and is admitted the moment a member comes
// back; two devices show the same safety code, and both change to a new one, still equal, when a
// member joins. A member whose client seals what it likes (rogue-member.mjs, joined through an
// invite link) cannot cancel another's item, nor clear the session while its creator lets only
// itself; once the creator allows everyone (a signed choice that the other members forward to a
// device that joins while the creator is away), the same member's clear is honoured.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { browserSuite, doneItem, downloadHash, join, joined, members, randomFile, waitFor } from './harness.mjs';
import { rogueMember } from './rogue-member.mjs';

const PASS = 'north-ember-willow-cobalt-ninety-flint';
const MiB = 1024 * 1024;

const suite = browserSuite({ name: 'v3-members' });
const { device } = suite;

async function metric(name) {
  const text = await (await fetch(`${suite.server.base}/metrics`)).text();
  return Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1]);
}

/** Closes the session's page without leaving: the browser keeps the room's key. */
const away = (d) => d.page.goto('about:blank');

/** Opens ShareThings again: the page rejoins the last session with the key it keeps. */
async function back(d) {
  await d.page.goto(suite.server.base);
  await joined(d.page);
}

async function sendText(page, text) {
  const box = page.getByLabel('Text to share');
  await box.fill(text);
  await box.press('Control+Enter');
}

async function inviteLink(page) {
  await page.getByRole('button', { name: 'Invite a device' }).click();
  const link = await page.getByRole('textbox', { name: 'Invite link' }).inputValue();
  await page.keyboard.press('Escape');
  return link;
}

const safetyCode = (page) => page.getByTestId('safety-code').innerText();
const clearButton = (page) => page.getByRole('button', { name: 'Clear on every device' });
const textItem = (page, text) => page.locator('[data-testid=item][data-kind=text]', { hasText: text });

/** Waits until `page` names a member `name` (so every control sent before its hello was read). */
const seesMember = (page, name) => waitFor(async () => (await members(page)).includes(name), { what: `${name} listed` });

/** A new device, closed when the test `t` ends, passed or failed. */
async function deviceFor(t) {
  const d = await device();
  t.after(() => d.close());
  return d;
}

/** Opens `link`, an invite, on a new device named `name`, and joins. */
async function joinByInvite(t, link, session, name) {
  const d = await deviceFor(t);
  await d.page.goto(link);
  await d.page.locator('input[name=name]').fill(name);
  await d.page.getByRole('button', { name: `Join “${session}”` }).click();
  await joined(d.page);
  return d;
}

/** A new device, Laptop, that makes the session `session` (a new one) with the passphrase. */
async function creator(t, session) {
  const laptop = await deviceFor(t);
  await laptop.page.goto(suite.server.base);
  await join(laptop.page, { session, name: 'Laptop', passphrase: PASS });
  await joined(laptop.page);
  return laptop;
}

/** A session of its own for one test: Laptop made it, Phone came by its invite link. */
async function twoMembers(t, label) {
  const session = `v3m-${label}-${Date.now().toString(36)}`;
  const laptop = await creator(t, session);
  const phone = await joinByInvite(t, await inviteLink(laptop.page), session, 'Phone');
  await seesMember(laptop.page, 'Phone');
  return { session, laptop, phone };
}

/** Mallory, a member whose client seals what it likes, joins by the phone's invite link. */
async function mallory(t, { laptop, phone }) {
  const rogue = await rogueMember(suite.server.base, await inviteLink(phone.page), 'Mallory');
  t.after(() => rogue.close());
  await seesMember(laptop.page, 'Mallory');
  await seesMember(phone.page, 'Mallory');
  return rogue;
}

// Each test has a session and devices of its own, closed when it ends, so that one failing
// does not fail the next.
describe('format 3: admission with no member online, safety codes, and what a member may do', { timeout: 600_000 }, () => {
  test('with no member online the applicant says so and waits; it can stop; it joins when a member comes', async (t) => {
    const session = `v3m-waiting-${Date.now().toString(36)}`;
    const laptop = await creator(t, session);
    await away(laptop);

    const phone = await deviceFor(t);
    await phone.page.goto(suite.server.base);
    await join(phone.page, { session, name: 'Phone', passphrase: PASS });
    const waiting = phone.page.locator('[data-testid=applying][data-state=no-member]');
    await waiting.waitFor({ timeout: 60_000 });
    assert.match(await waiting.innerText(), /No member is online\. Open ShareThings on a device that is already in this session\./);
    await waitFor(async () => (await metric('sharethings_applicants')) === 1, { what: 'the server lists one applicant' });

    await phone.page.getByRole('button', { name: 'Stop waiting' }).click();
    await waiting.waitFor({ state: 'detached' });
    await waitFor(async () => (await metric('sharethings_applicants')) === 0, { what: 'the applicant gone from the server' });
    assert.equal(await phone.page.getByTestId('join-error').count(), 0, 'stopping is no error');
    assert.equal(await phone.page.getByRole('button', { name: 'Join session' }).isEnabled(), true);

    // Waiting again; the laptop comes back (its kept key, no passphrase) and admits the phone.
    await phone.page.getByRole('button', { name: 'Join session' }).click();
    await waiting.waitFor({ timeout: 60_000 });
    await back(laptop);
    await joined(phone.page);
    await laptop.page.getByText('Phone was admitted').waitFor({ timeout: 60_000 });
    await waitFor(async () => (await members(phone.page)).sort().join() === 'Laptop,Phone (you)', { what: 'both members named on the phone' });
  });

  test('two devices show the same safety code, and a new one, still equal, when a member joins', async (t) => {
    const { laptop, phone } = await twoMembers(t, 'codes');
    await waitFor(async () => (await safetyCode(laptop.page)) === (await safetyCode(phone.page)), { what: 'equal safety codes' });
    const two = await safetyCode(phone.page);
    assert.match(two, /^\d{5}( \d{5}){5}$/);
    await phone.page.getByRole('button', { name: 'Invite a device' }).click();
    assert.equal(await phone.page.getByTestId('invite-safety-code').innerText(), two, 'the invite dialog offers the same code');
    await phone.page.keyboard.press('Escape');
    const rogue = await mallory(t, { laptop, phone });
    await waitFor(async () => {
      const [a, b] = [await safetyCode(laptop.page), await safetyCode(phone.page)];
      return a === b && a !== two;
    }, { what: 'a new safety code, equal on both' });
  });

  test('a member cannot cancel another member’s item', async (t) => {
    const { laptop, phone } = await twoMembers(t, 'cancel');
    const rogue = await mallory(t, { laptop, phone });
    const f = randomFile(suite.work, 'long.bin', 160 * MiB);
    await laptop.page.getByTestId('file-input').setInputFiles(f.path);
    const onPhone = phone.page.locator('[data-testid=item][data-name="long.bin"]');
    await onPhone.and(phone.page.locator('[data-state=receiving]')).waitFor({ timeout: 60_000 });
    await waitFor(() => rogue.items.length > 0, { what: 'the item relayed to Mallory' });
    const contentId = rogue.items.at(-1);
    assert.equal(await onPhone.getAttribute('data-id'), contentId);
    await rogue.sendControl({ kind: 'cancel', contentId, reason: 'cancelled' });
    // A new card right after the cancel: once the phone shows it, the cancel was read (and dropped).
    await rogue.hello('Mallory 2');
    await seesMember(phone.page, 'Mallory 2');
    assert.match(await onPhone.getAttribute('data-state'), /^(receiving|done)$/);
    const done = await doneItem(phone.page, '[data-name="long.bin"]', 300_000);
    assert.equal((await downloadHash(phone.page, done)).hash, f.hash);
    assert.equal(await laptop.page.locator('[data-testid=item][data-name="long.bin"]').getAttribute('data-state'), 'done');
  });

  test('by default only the creator clears: another member’s clear is refused by the others, until the creator allows everyone', async (t) => {
    const { laptop, phone } = await twoMembers(t, 'clear');
    const rogue = await mallory(t, { laptop, phone });
    await sendText(laptop.page, 'stays put');
    await textItem(phone.page, 'stays put').and(phone.page.locator('[data-state=done]')).waitFor();
    // The creator may; the phone is not offered what the others would refuse.
    await clearButton(laptop.page).waitFor();
    assert.equal(await clearButton(phone.page).count(), 0);
    assert.equal(await laptop.page.getByTestId('anyone-may-clear').locator('input').isChecked(), false);
    assert.equal(await phone.page.getByTestId('anyone-may-clear').count(), 0, 'only the creator chooses');

    await rogue.sendControl({ kind: 'clear', at: Date.now() });
    await rogue.hello('Mallory 3');
    await seesMember(phone.page, 'Mallory 3');
    await seesMember(laptop.page, 'Mallory 3');
    for (const page of [phone.page, laptop.page]) {
      assert.equal(await textItem(page, 'stays put').count(), 1, 'a refused clear leaves the items');
      assert.equal(await page.getByText('All items cleared').count(), 0);
    }
    // A policy only the creator may set: the member's own "anyone may clear" changes nothing.
    await rogue.sendControl({ kind: 'policy', anyoneMayClear: true });
    await rogue.sendControl({ kind: 'clear', at: Date.now() });
    await rogue.hello('Mallory 4');
    await seesMember(phone.page, 'Mallory 4');
    assert.equal(await textItem(phone.page, 'stays put').count(), 1);
    assert.equal(await clearButton(phone.page).count(), 0);

    // The creator allows everyone: the phone learns it from the creator's signed policy.
    await laptop.page.getByTestId('anyone-may-clear').click();
    await clearButton(phone.page).waitFor();
    await rogue.sendControl({ kind: 'clear', at: Date.now() });
    await waitFor(async () => (await textItem(phone.page, 'stays put').count()) === 0 && (await textItem(laptop.page, 'stays put').count()) === 0, { what: 'the allowed clear honoured on both' });
    await phone.page.getByText('Mallory 4 cleared the session.').first().waitFor();
  });

  test('a device that joins while the creator is away learns the creator’s choice from another member', async (t) => {
    const { session, laptop, phone } = await twoMembers(t, 'away');
    await laptop.page.getByTestId('anyone-may-clear').click();
    // Clearing is offered once there is something to clear.
    await sendText(laptop.page, 'for the phone');
    await clearButton(phone.page).waitFor();
    const link = await inviteLink(phone.page);
    await away(laptop);
    await waitFor(async () => (await members(phone.page)).length === 1, { what: 'the laptop gone from the phone' });
    const tablet = await joinByInvite(t, link, session, 'Tablet');
    await sendText(phone.page, 'for the tablet');
    await textItem(tablet.page, 'for the tablet').and(tablet.page.locator('[data-state=done]')).waitFor();
    // Allowed by the creator, who is not here: the phone forwarded what the creator signed.
    await clearButton(tablet.page).waitFor();
  });
});
