// @vitest-environment happy-dom
/**
 * The page's language at run time: which one is picked from the browser's list and Settings,
 * that a choice is remembered, that sizes, dates and plurals follow it, and that a right-to-left
 * language turns <html dir> to rtl (with English words, as none of its catalog ships).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { describeDuration } from './duration';
import { formatBytes, formatSpeed, formatTime } from '../utils/format';
import { pickLanguage } from './detect';
import { chooseLanguage, chosenLanguage, i18n, speak, t } from './index';

afterEach(async () => {
  localStorage.clear();
  await speak('en');
});

describe('which language the page speaks', () => {
  it('follows the first shipped language of the browser, by its base', () => {
    expect(pickLanguage(null, ['de-DE', 'en-US'])).toBe('de');
    expect(pickLanguage(null, ['pt-BR', 'es-MX', 'en'])).toBe('es');
    expect(pickLanguage(null, ['FR-ca'])).toBe('fr');
  });

  it('falls back to English for a language it does not ship, or none', () => {
    expect(pickLanguage(null, ['pt-BR', 'ja'])).toBe('en');
    expect(pickLanguage(null, [])).toBe('en');
    expect(pickLanguage(null, ['en-US'])).toBe('en');
  });

  it('prefers the one chosen in Settings, unless it is not shipped', () => {
    expect(pickLanguage('fr', ['de-DE'])).toBe('fr');
    expect(pickLanguage('xx', ['de-DE'])).toBe('de');
    expect(pickLanguage('', ['es'])).toBe('es');
  });

  it('remembers a choice in localStorage, and forgets it to follow the browser again', async () => {
    await chooseLanguage('de');
    expect(i18n.language).toBe('de');
    expect(localStorage.getItem('sharethings.language')).toBe('de');
    expect(chosenLanguage()).toBe('de');
    expect(t('join.joinSession')).toBe('Sitzung beitreten');
    await chooseLanguage(null);
    expect(chosenLanguage()).toBeNull();
    // happy-dom's browser speaks English.
    expect(i18n.language).toBe('en');
    expect(t('join.joinSession')).toBe('Join session');
  });
});

describe('formatting per language', () => {
  it('writes sizes with the language’s decimal mark and units', async () => {
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatSpeed(20_000_000)).toBe('20 MB/s');
    await speak('de');
    expect(formatBytes(1_500_000)).toBe('1,5 MB');
    expect(formatSpeed(2_500_000)).toBe('2,5 MB/s');
    await speak('fr');
    expect(formatBytes(1_500_000)).toBe('1,5 Mo');
  });

  it('writes dates and times the language’s way', async () => {
    const at = new Date(2026, 11, 6, 15, 4).getTime();
    const sameDay = new Date(2026, 11, 6, 18, 0).getTime();
    const later = new Date(2026, 11, 9, 9, 0).getTime();
    expect(formatTime(at, sameDay)).toBe('03:04 PM');
    expect(formatTime(at, later)).toMatch(/^Dec 6, 03:04 PM$/);
    await speak('de');
    expect(formatTime(at, sameDay)).toBe('15:04');
    expect(formatTime(at, later)).toMatch(/^6\. Dez\.?, 15:04$/);
  });

  it('chooses plural forms by the language’s rules', async () => {
    expect(describeDuration(3_600_000)).toBe('1 hour');
    expect(describeDuration(7_200_000)).toBe('2 hours');
    expect(t('join.tryAgainIn', { count: 1 })).toBe('Try again in 1 second.');
    await speak('de');
    expect(describeDuration(3_600_000)).toBe('1 Stunde');
    expect(describeDuration(7_200_000)).toBe('2 Stunden');
    await speak('fr');
    // French counts 0 as singular; 1,000,000 takes the "many" form.
    expect(t('shares.files', { count: 0 })).toBe('0 fichier');
    expect(t('item.folderSummary', { count: 1_000_000 })).toBe('1\u202f000\u202f000 fichiers et dossiers');
  });
});

describe('direction', () => {
  it('marks <html> with the language, and a right-to-left one as rtl', async () => {
    await speak('de');
    expect(document.documentElement.lang).toBe('de');
    expect(document.documentElement.dir).toBe('ltr');
    await speak('ar');
    expect(document.documentElement.lang).toBe('ar');
    expect(document.documentElement.dir).toBe('rtl');
    // No Arabic catalog ships: its words fall back to English.
    expect(t('join.joinSession')).toBe('Join session');
    await speak('en');
    expect(document.documentElement.dir).toBe('ltr');
  });
});
