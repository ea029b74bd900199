// Browser tests of the web client's languages (issue 28, point 6): the page speaks the
// browser's language, a choice made on the home page outlives a reload, the session's
// Settings switch it too, and a browser with no language set (as every other suite's) gets
// English. Debian's Chromium against the real release server.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { browserSuite, joined, waitFor } from './harness.mjs';

const PASS = 'amber-comet-lake-seven-violet-plum';
const suite = browserSuite({ name: 'i18n' });
const { device } = suite;

const WAIT = { timeout: 30_000 };
const htmlLang = (page) => page.evaluate(() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir }));

describe('languages', () => {
  test('a browser with no language set gets English', async () => {
    const { page } = await device();
    await page.goto(suite.server.base);
    await page.getByRole('heading', { name: 'Join or start a session' }).waitFor(WAIT);
    const languages = await page.evaluate(() => navigator.languages);
    assert.match(languages[0], /^en\b/, `the suites' browsers speak English: ${languages}`);
    assert.deepEqual(await htmlLang(page), { lang: 'en', dir: 'ltr' });
    assert.ok(await page.getByRole('button', { name: 'Join session' }).isVisible());
  });

  test('German from the browser, English chosen on the home page and kept over a reload, German again in Settings', async () => {
    const { page } = await device({ locale: 'de-DE' });
    await page.goto(suite.server.base);
    await page.getByRole('heading', { name: 'Sitzung beitreten oder starten' }).waitFor(WAIT);
    assert.deepEqual(await htmlLang(page), { lang: 'de', dir: 'ltr' });
    assert.ok(await page.getByRole('button', { name: 'Sitzung beitreten' }).isVisible());
    assert.ok(await page.getByLabel('Sitzungsname', { exact: true }).isVisible());

    await page.getByRole('combobox', { name: 'Sprache' }).selectOption('en');
    await page.getByRole('heading', { name: 'Join or start a session' }).waitFor(WAIT);
    assert.equal((await htmlLang(page)).lang, 'en');

    await page.reload();
    await page.getByRole('heading', { name: 'Join or start a session' }).waitFor(WAIT);
    assert.equal(await page.evaluate(() => localStorage.getItem('sharethings.language')), 'en');
    assert.equal(await page.getByRole('combobox', { name: 'Language' }).inputValue(), 'en');

    // In a session, Settings has the same switch: back to German, and the page follows at once.
    await page.getByLabel('Session name', { exact: true }).fill(`i18n-${Date.now().toString(36)}`);
    await page.getByLabel('Your name', { exact: true }).fill('Laptop');
    await page.locator('input[name=passphrase]').fill(PASS);
    await page.getByRole('button', { name: 'Join session' }).click();
    await joined(page);
    const settings = page.getByRole('region', { name: 'Settings' });
    await settings.getByRole('combobox', { name: 'Language' }).selectOption('de');
    await page.getByRole('heading', { name: 'Einstellungen' }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Sitzung verlassen' }).waitFor(WAIT);
    assert.ok(await page.getByLabel('Zu teilender Text').isVisible());
    await waitFor(async () => (await page.evaluate(() => localStorage.getItem('sharethings.language'))) === 'de', { what: 'German remembered' });
  });
});
