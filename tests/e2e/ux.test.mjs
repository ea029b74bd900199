// Browser tests of the web client's user experience (issue 11, points 4–9): summarised
// arrivals, nothing destructive by accident, invites that work, useful received text, an honest
// plain-HTTP banner, accessibility. Debian's Chromium against the real release server.
import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { describe, test } from 'node:test';
import jsQR from 'jsqr';
import { ARTIFACTS, browserSuite, doneItem, drawPng, INSECURE_HOST, join, joined, leave, pasteOnBody, ROOT, sha256File, waitFor } from './harness.mjs';

const PASS = 'amber-comet-lake-seven-violet-plum';
const HIDE_TOASTS = '[data-scope=toast]{display:none!important}';

// Every device here joins from 127.0.0.1, where real ones each have their own address: on an
// idle machine the failed joins counted against that one address, over a dozen devices in a
// minute, reached the per-address limit and refused the screenshots' devices.
const suite = browserSuite({ name: 'ux', server: { JOIN_LIMIT_PER_ADDRESS: '1000' } });
const { device, work } = suite;

const shot = (page, name, opts = {}) => page.screenshot({ path: joinPath(ARTIFACTS, `ux-${name}.png`), ...opts });

async function sendText(page, text) {
  const box = page.getByLabel('Text to share');
  await box.fill(text);
  await box.press('Control+Enter');
}


const texts = (page) => page.locator('[data-testid=item][data-state=done] [data-testid=item-text]').allInnerTexts();

/** Sends a marker from `from` and waits for it on `to`: everything `from` sent before has arrived. */
async function barrier(from, to) {
  const marker = `marker ${Math.random().toString(36).slice(2)}`;
  await sendText(from, marker);
  await waitFor(async () => (await texts(to)).includes(marker), { what: `marker on the receiver` });
}

async function openSession(name, session, opts = {}) {
  const d = await device(opts);
  await d.page.goto(opts.url ?? suite.server.base);
  await join(d.page, { session, name, passphrase: PASS });
  await joined(d.page);
  return d;
}

/** Reads the clipboard from a secure page of the same browser (the clipboard is per browser). */
async function readClipboard(d) {
  await d.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.server.base });
  const reader = await d.context.newPage();
  try {
    await reader.goto(`${suite.server.base}/health`);
    return await reader.evaluate(() => navigator.clipboard.readText());
  } finally {
    await reader.close();
  }
}

/** WCAG contrast ratio of two CSS colours, computed in the page. */
const CONTRAST_FN = `(() => {
  const rgb = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null; const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number); return { r, g, b, a }; };
  const lum = ({ r, g, b }) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; } return { r: 255, g: 255, b: 255 }; };
  return (el) => { const s = getComputedStyle(el); const ring = rgb(s.outlineColor); const bg = background(el.parentElement); const [hi, lo] = [lum(ring), lum(bg)].sort((x, y) => y - x); return { ratio: (hi + 0.05) / (lo + 0.05), style: s.outlineStyle, width: parseFloat(s.outlineWidth), ring: s.outlineColor }; };
})()`;

describe('ShareThings user experience', () => {
  const session = `ux-${Date.now().toString(36)}`;
  let a;
  let b;

  test('two devices join', async () => {
    a = await openSession('Laptop', session);
    b = await openSession('Phone', session);
    await waitFor(async () => (await a.page.getByTestId('member').count()) === 2, { what: 'two members' });
  });

  test('4: arrivals close together are one toast, "3 items from Laptop", and one live-region message', async () => {
    for (const n of [1, 2, 3]) await sendText(a.page, `batch item ${n}`);
    await waitFor(async () => (await texts(b.page)).filter((t) => t.startsWith('batch item')).length === 3, { what: 'three texts on B' });
    const toasts = b.page.locator('[data-scope=toast][data-part=root]').filter({ hasText: 'from Laptop' });
    await toasts.filter({ hasText: '3 items from Laptop' }).waitFor();
    assert.equal(await toasts.count(), 1);
    // 9: the same summary in a polite live region.
    const live = b.page.getByTestId('arrivals-live');
    assert.equal(await live.getAttribute('aria-live'), 'polite');
    assert.match(await live.textContent(), /^3 items from Laptop: /);
  });

  test('5: "Clear on every device" says so and asks first; Cancel keeps everything', async () => {
    // The session's creator clears it (in format 3 the others may only if it lets them).
    await a.page.getByRole('button', { name: 'Clear on every device' }).click();
    const dialog = a.page.getByRole('alertdialog');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /every device in the session/);
    await shot(a.page, 'clear-confirm-light-desktop');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await barrier(a.page, b.page);
    assert.ok((await b.page.getByTestId('item').count()) >= 4, 'nothing cleared on B after Cancel');
    await a.page.getByRole('button', { name: 'Clear on every device' }).click();
    await a.page.getByRole('alertdialog').getByRole('button', { name: 'Clear every device' }).click();
    await waitFor(async () => (await b.page.getByTestId('item').count()) === 0, { what: 'B cleared' });
    await waitFor(async () => (await a.page.getByTestId('item').count()) === 0, { what: 'A cleared' });
  });

  test('5: a paste outside a text box shows what it shares and asks; Cancel sends nothing', async () => {
    const secret = `hunter2 ${Date.now()}`;
    await pasteOnBody(a.page, { text: secret });
    const dialog = a.page.getByRole('alertdialog');
    await dialog.waitFor();
    assert.equal(await dialog.getByTestId('paste-preview').innerText(), secret);
    await shot(a.page, 'paste-confirm-light-desktop');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await barrier(a.page, b.page);
    assert.ok(!(await texts(b.page)).includes(secret), 'a cancelled paste never leaves the device');

    // Files too: the dialog lists them; Share sends.
    await pasteOnBody(a.page, { files: [{ name: 'pasted-square.png', bytes: await drawPng(a.page, { width: 64, height: 48, fill: ['#0d9488'] }) }] });
    await dialog.waitFor();
    assert.match(await dialog.getByTestId('paste-file').innerText(), /pasted-square\.png/);
    await dialog.getByRole('button', { name: 'Share with everyone' }).click();
    await doneItem(b.page, '[data-name="pasted-square.png"]');

    // "Don't ask again" shares this paste and the next ones at once; the setting brings it back.
    const intended = `intended ${Date.now()}`;
    await pasteOnBody(a.page, { text: intended });
    await dialog.waitFor();
    await dialog.getByText("Don't ask again on this device").click();
    await dialog.getByRole('button', { name: 'Share with everyone' }).click();
    await waitFor(async () => (await texts(b.page)).includes(intended), { what: 'shared paste on B' });
    const ask = a.page.getByRole('checkbox', { name: 'Ask before sharing a paste' });
    assert.equal(await ask.isChecked(), false);
    const quick = `quick ${Date.now()}`;
    await pasteOnBody(a.page, { text: quick });
    await waitFor(async () => (await texts(b.page)).includes(quick), { what: 'unasked paste on B' });
    assert.equal(await a.page.getByRole('alertdialog').count(), 0);
    await a.page.getByText('Ask before sharing a paste').click();
    assert.equal(await ask.isChecked(), true);
    await pasteOnBody(a.page, { text: 'asked again' });
    await dialog.waitFor();
    await a.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });

  test('6: the QR code is dark on light with a quiet zone in dark mode, and decodes from a screenshot', async () => {
    await a.page.getByRole('button', { name: 'Switch to dark mode' }).click();
    await a.page.getByRole('button', { name: 'Invite a device' }).click();
    const dialog = a.page.getByRole('dialog');
    await dialog.waitFor();
    const link = await dialog.getByRole('textbox', { name: 'Invite link' }).inputValue();
    const qr = dialog.getByTestId('invite-qr');
    const png = await qr.screenshot();
    await shot(a.page, 'invite-dark-desktop');
    // Decode the PNG into pixels in a blank page (no app code involved), then with jsQR here.
    const blank = await a.context.newPage();
    const { width, height, data } = await blank.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      const g = c.getContext('2d');
      g.drawImage(bmp, 0, 0);
      const img = g.getImageData(0, 0, bmp.width, bmp.height);
      return { width: img.width, height: img.height, data: Array.from(img.data) };
    }, png.toString('base64'));
    await blank.close();
    const pixels = Uint8ClampedArray.from(data);
    const code = jsQR(pixels, width, height, { inversionAttempts: 'dontInvert' });
    assert.ok(code, 'the QR code decodes as dark on light');
    assert.equal(code.data, link);
    // Quiet zone: at least 4 modules of light pixels between the frame's edge and the code.
    const modules = 17 + 4 * code.version;
    const { topLeftCorner: tl, topRightCorner: tr, bottomLeftCorner: bl } = code.location;
    const modulePx = (tr.x - tl.x) / modules;
    const quiet = Math.min(tl.x, tl.y, width - tr.x, height - bl.y) - 2; // minus the 1 px border and rounding
    assert.ok(quiet >= 4 * modulePx, `quiet zone ${quiet}px < 4 modules of ${modulePx}px`);
    const lumAt = (x, y) => {
      const i = (y * width + x) * 4;
      return 0.2126 * pixels[i] + 0.7152 * pixels[i + 1] + 0.0722 * pixels[i + 2];
    };
    for (let y = 3; y < Math.floor(tl.y) - 1; y++) {
      for (let x = 3; x < width - 3; x++) assert.ok(lumAt(x, y) > 200, `dark pixel in the quiet zone at ${x},${y}`);
    }
    await a.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await a.page.getByRole('button', { name: 'Switch to light mode' }).click();
  });

  test('6: in a legacy session, "include the passphrase" is unticked each time the dialog opens', async () => {
    // A format 3 session's link carries its key and never the passphrase: the choice exists only
    // in a legacy session.
    const old = await device();
    await old.page.goto(suite.server.base);
    await join(old.page, { session: `${session}-legacy`, name: 'Old laptop', passphrase: PASS, legacy: true });
    await joined(old.page);
    await old.page.getByTestId('legacy-session').waitFor();
    await old.page.getByRole('button', { name: 'Invite a device' }).click();
    const dialog = old.page.getByRole('dialog');
    await dialog.getByText('Include the passphrase in the link').click();
    assert.ok((await dialog.getByRole('textbox', { name: 'Invite link' }).inputValue()).includes('&p='));
    await old.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await old.page.getByRole('button', { name: 'Invite a device' }).click();
    await dialog.waitFor();
    assert.equal(await dialog.getByRole('checkbox', { name: 'Include the passphrase in the link' }).isChecked(), false);
    assert.ok(!(await dialog.getByRole('textbox', { name: 'Invite link' }).inputValue()).includes('&p='));
    await old.close();
  });

  test('6: an invite link opens that session, says it is an invitation, and joins once the device has a name', async () => {
    const link = `${suite.server.base}/#s=${encodeURIComponent(session)}&p=${encodeURIComponent(PASS)}`;
    const c = await device({ viewport: { width: 390, height: 844 }, isMobile: true });
    await c.page.goto(link);
    const invitation = c.page.getByTestId('invitation');
    await invitation.waitFor();
    assert.match(await invitation.innerText(), /invited to “ux-/);
    assert.equal(await c.page.locator('input[name=session]').inputValue(), session);
    assert.equal(await c.page.locator('input[name=passphrase]').inputValue(), PASS);
    assert.match(await c.page.title(), /^Invitation to ux-/);
    await shot(c.page, 'invitation-light-phone');
    // The name is the only thing left; Enter joins.
    await c.page.locator('input[name=name]').fill('Tablet');
    await c.page.locator('input[name=name]').press('Enter');
    await joined(c.page);
    // Leaving does not walk back into the invitation.
    await leave(c.page);
    assert.equal(await c.page.getByTestId('invitation').count(), 0);
    // Opened again on a device that has a name: it joins without a click.
    await c.page.goto('about:blank');
    await c.page.goto(link);
    await joined(c.page);
    assert.equal(await c.page.getByTestId('session-name').innerText(), session);
    // Without the passphrase: the invitation still opens the session's form, asking for it.
    const plain = `${suite.server.base}/#s=${encodeURIComponent(session)}`;
    const d = await device();
    await d.page.goto(plain);
    await d.page.getByTestId('invitation').waitFor();
    assert.equal(await d.page.locator('input[name=passphrase]').inputValue(), '');
    await d.page.locator('input[name=name]').fill('Desk');
    await d.page.locator('input[name=passphrase]').fill(PASS);
    await d.page.getByRole('button', { name: `Join “${session}”` }).click();
    await joined(d.page);
    await c.close();
    await d.close();
  });

  test('7: received links are clickable (http/https only, noopener noreferrer, new tab)', async () => {
    await sendText(a.page, 'docs at https://example.com/guide?x=1. and javascript:alert(1) and ftp://x.y/z');
    const item = await doneItem(b.page, ':has-text("docs at")');
    const anchors = item.getByTestId('item-text').locator('a');
    assert.equal(await anchors.count(), 1);
    const a0 = anchors.first();
    assert.equal(await a0.getAttribute('href'), 'https://example.com/guide?x=1');
    assert.equal(await a0.getAttribute('target'), '_blank');
    assert.deepEqual((await a0.getAttribute('rel')).split(' ').sort(), ['noopener', 'noreferrer']);
    assert.equal(await item.getByTestId('item-text').innerText(), 'docs at https://example.com/guide?x=1. and javascript:alert(1) and ftp://x.y/z');
  });

  test('7: with the option on, received text is copied automatically', async () => {
    await b.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.server.base });
    await b.page.getByText('Copy received text automatically').click();
    const text = `auto ${Date.now()}`;
    await sendText(a.page, text);
    await waitFor(async () => (await readClipboard(b)) === text, { what: 'received text on the clipboard' });
    await b.page.getByText('Copy received text automatically').click();
  });

  test('7 and 8: over plain HTTP, copy still works, and the banner says what is protected, compactly on a phone', async () => {
    const url = `http://${INSECURE_HOST}:${suite.server.port}/`;
    const args = [`--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`];
    const phone = await device({ viewport: { width: 390, height: 844 }, isMobile: true, args });
    await phone.page.goto(url);
    assert.equal(await phone.page.evaluate(() => window.isSecureContext), false);
    assert.equal(await phone.page.evaluate(() => typeof navigator.clipboard), 'undefined');
    const banner = phone.page.getByTestId('insecure-banner');
    await banner.waitFor();
    const said = await banner.innerText();
    assert.match(said, /the page itself is not protected/);
    assert.match(said, /still encrypted between your devices' pages/);
    assert.match(said, /anyone on this network can replace the page's JavaScript/);
    const { height } = await banner.boundingBox();
    assert.ok(height <= 110, `banner is ${height}px tall on a phone`);
    await shot(phone.page, 'insecure-home-phone');
    await banner.getByRole('button', { name: 'Details' }).click();
    assert.match(await banner.innerText(), /Open ShareThings over HTTPS/);

    await join(phone.page, { session, name: 'LAN phone', passphrase: PASS });
    await joined(phone.page);
    const text = `over http ${Date.now()}`;
    await sendText(a.page, text);
    const item = await doneItem(phone.page, `:has-text("${text}")`);
    await item.getByRole('button', { name: /^Copy text/ }).click();
    await item.getByRole('button', { name: /^Copied text/ }).waitFor();
    await phone.page.getByText('Copied', { exact: true }).waitFor();
    assert.equal(await readClipboard(phone), text);
    await shot(phone.page, 'insecure-session-phone', { style: HIDE_TOASTS });
  });

  test('9: join errors are announced with role="alert"', async () => {
    const c = await device();
    await c.page.goto(suite.server.base);
    await join(c.page, { session, name: 'Intruder', passphrase: 'not it' });
    const alert = c.page.getByRole('alert').filter({ hasText: 'Wrong passphrase' });
    await alert.waitFor();
    await c.close();
  });

  test('9: every per-item button names its item; sections have headings', async () => {
    const file = joinPath(work, 'report-2026.txt');
    writeFileSync(file, 'numbers\n');
    await a.page.getByTestId('file-input').setInputFiles(file);
    await doneItem(b.page, '[data-name="report-2026.txt"]');
    const text = await doneItem(b.page, ':has-text("docs at")');
    const names = (loc) => loc.locator('button, [data-testid=download]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? e.textContent));
    for (const n of await names(text)) assert.match(n, /text “docs at https:\/\/example\.com\/guide/, n);
    const fileItem = b.page.locator('[data-testid=item][data-name="report-2026.txt"]');
    const fileNames = await names(fileItem);
    assert.ok(fileNames.length >= 2, fileNames.join());
    for (const n of fileNames) assert.match(n, /report-2026\.txt/, n);
    // While an item moves, its Cancel button names it too, on the sender and on a receiver. The
    // relay is paused once it moves on the receiver (1 GiB: seconds more at full speed), so it is
    // still under way while its buttons are read and Cancel is clicked, however loaded the machine.
    const big = joinPath(work, 'movie-2026.bin');
    const fd = openSync(big, 'w');
    const slice = Buffer.alloc(16 * 1024 * 1024, 7);
    for (let i = 0; i < 64; i++) writeSync(fd, slice);
    closeSync(fd);
    await a.page.getByTestId('file-input').setInputFiles(big);
    const movie = (d) => d.page.locator('[data-testid=item][data-name="movie-2026.bin"]');
    await movie(b).and(b.page.locator('[data-state=receiving]')).waitFor();
    suite.server.pause();
    try {
      for (const d of [a, b]) {
        // A receiver that hears nothing for 8 s shows the item paused, still with its Cancel:
        // on a loaded machine reading both pages' buttons can take that long.
        const moving = movie(d).and(d.page.locator('[data-state=sending], [data-state=receiving], [data-state=paused]'));
        const moved = await names(moving);
        assert.ok(moved.includes('Cancel movie-2026.bin'), moved.join());
        for (const n of moved) assert.match(n, /movie-2026\.bin/, n);
      }
      await movie(a).getByRole('button', { name: 'Cancel movie-2026.bin' }).click();
      await movie(a).and(a.page.locator('[data-state=cancelled]')).waitFor();
    } finally {
      suite.server.resume();
    }
    for (const d of [a, b]) {
      await movie(d).and(d.page.locator('[data-state=cancelled]')).waitFor();
      await movie(d).getByRole('button', { name: /^Remove/ }).click();
      await movie(d).waitFor({ state: 'detached' });
    }
    for (const h of [/^In this session/, /^Shared/, /^Settings$/, /^Share something$/]) {
      assert.equal(await b.page.getByRole('heading', { level: 2, name: h }).count(), 1, String(h));
    }
    assert.equal(await b.page.getByRole('heading', { level: 1 }).innerText(), session);
  });

  test('9: the focus ring has at least 3:1 contrast, light and dark', async () => {
    for (const mode of ['light', 'dark']) {
      if (mode === 'dark') await b.page.getByRole('button', { name: 'Switch to dark mode' }).click();
      await b.page.locator('body').click({ position: { x: 2, y: 2 } });
      const seen = [];
      for (let i = 0; i < 14; i++) {
        await b.page.keyboard.press('Tab');
        const r = await b.page.evaluate(`${CONTRAST_FN}(document.activeElement)`);
        const tag = await b.page.evaluate(() => `${document.activeElement.tagName}:${document.activeElement.getAttribute('aria-label') ?? document.activeElement.textContent}`);
        if (r.style === 'none' || r.width === 0) continue;
        seen.push(tag);
        assert.ok(r.ratio >= 3, `${mode}: focus ring ${r.ring} on ${tag} is ${r.ratio.toFixed(2)}:1`);
        if (i === 2) await shot(b.page, `focus-ring-${mode}-desktop`, { style: HIDE_TOASTS });
      }
      assert.ok(seen.length >= 6, `${mode}: rings checked on ${seen.join(', ')}`);
    }
    await b.page.getByRole('button', { name: 'Switch to light mode' }).click();
  });

  test('9: the title shows the session and counts items that arrive while the page is not in view', async () => {
    assert.equal(await b.page.title(), `${session} · ShareThings`);
    // Playwright tells every page it has focus; switch that off, and bring another tab to the
    // front, so B really loses it.
    const cdp = await b.context.newCDPSession(b.page);
    await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: false });
    const other = await b.context.newPage();
    await other.bringToFront();
    await waitFor(() => b.page.evaluate(() => !document.hasFocus()), { what: 'B without focus' });
    await sendText(a.page, 'while away 1');
    await sendText(a.page, 'while away 2');
    await waitFor(async () => (await b.page.title()) === `(2) ${session} · ShareThings`, { what: 'unseen count in the title' });
    await b.page.bringToFront();
    await waitFor(async () => (await b.page.title()) === `${session} · ShareThings`, { what: 'count cleared when seen' });
    await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: true });
    await other.close();
  });

  test('About shows the bundle hash: the SHA-256 of the bundle.json the build wrote and the server embeds, as sharethings-cli verify prints it', async () => {
    const hash = a.page.getByTestId('bundle-hash');
    await hash.waitFor();
    assert.equal(await hash.innerText(), sha256File(joinPath(ROOT, 'assets/bundle.json')));
  });

  test('screenshots of the changed screens, light and dark, desktop and phone', async () => {
    for (const colorScheme of ['light', 'dark']) {
      for (const [size, viewport, isMobile] of [
        ['desktop', { width: 1280, height: 800 }, false],
        ['phone', { width: 390, height: 844 }, true],
      ]) {
        const d = await openSession(size === 'phone' ? 'Pixel' : 'Desktop', session, { colorScheme, viewport, isMobile });
        await doneItem(d.page, ':has-text("docs at")');
        await d.page.evaluate(() => window.scrollTo(0, 0));
        await shot(d.page, `session-${colorScheme}-${size}`, { style: HIDE_TOASTS });
        if (size === 'phone') {
          await d.page.getByRole('button', { name: 'Invite a device' }).click();
          await d.page.getByRole('dialog').waitFor();
          await shot(d.page, `invite-${colorScheme}-phone`, { style: HIDE_TOASTS });
          await d.page.keyboard.press('Escape');
        }
        await d.close();
      }
    }
  });

  test('no page errors in any device', () => {
    const expected = /Failed to load resource|Cross-Origin-Opener-Policy header has been ignored/;
    for (const d of suite.devices) assert.deepEqual(d.errors.filter((e) => !expected.test(e)), []);
  });
});
