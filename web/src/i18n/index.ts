/**
 * The page's words come from the message catalogs in `locales/` (i18next): English, German,
 * Spanish and French. English is in the bundle (every other falls back to it); the others load
 * when spoken, before the first paint (`ready`), so it is already in the right language. The
 * language follows the browser unless one is chosen in Settings (kept in localStorage); an
 * unknown one falls back to English. <html lang dir> follow the language, so a right-to-left
 * one lays the page out from the right (the layout uses logical properties: start/end).
 */
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { settings } from '../config/settings';
import { browserLanguages, FALLBACK, isLanguage, type Language, pickLanguage } from './detect';
import en from './locales/en.json';

export { LANGUAGES, type Language } from './detect';

const LOADERS: Record<Exclude<Language, 'en'>, () => Promise<{ default: object }>> = {
  de: () => import('./locales/de.json'),
  es: () => import('./locales/es.json'),
  fr: () => import('./locales/fr.json'),
};

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'translation';
    resources: { translation: typeof en };
  }
}

/** Marks <html> with the language and its direction. */
function applyToDocument(lng: string) {
  if (typeof document === 'undefined') return;
  document.documentElement.lang = lng;
  document.documentElement.dir = i18next.dir(lng);
}

i18next.on('languageChanged', applyToDocument);
void i18next.use(initReactI18next).init({
  resources: { en: { translation: en } },
  partialBundledLanguages: true,
  lng: FALLBACK,
  fallbackLng: FALLBACK,
  // React escapes what it renders; escaping here too would show "&amp;" in names.
  interpolation: { escapeValue: false },
  initAsync: false,
  returnNull: false,
});

export const i18n = i18next;
export const t = i18next.t.bind(i18next);

/** Speaks `lng` once its catalog is here (an unknown one speaks English words). */
export async function speak(lng: string): Promise<void> {
  if (isLanguage(lng) && lng !== 'en' && !i18next.hasResourceBundle(lng, 'translation')) {
    i18next.addResourceBundle(lng, 'translation', (await LOADERS[lng]()).default);
  }
  await i18next.changeLanguage(lng);
}

/**
 * Resolves when the page speaks its language: awaited before the first render. A catalog that
 * cannot load (offline and never cached) leaves the page in English, not blank.
 */
export const ready = speak(pickLanguage(settings.language(), browserLanguages())).catch(() => undefined);

/** The language the page speaks now, for Intl's formatters. */
export const currentLocale = (): string => i18next.resolvedLanguage ?? i18next.language ?? FALLBACK;

/** The language chosen in Settings, or null when the page follows the browser. */
export function chosenLanguage(): Language | null {
  const stored = settings.language();
  return isLanguage(stored) ? stored : null;
}

/** Speak `lng` from now on and remember it; null goes back to the browser's language. */
export function chooseLanguage(lng: Language | null): Promise<void> {
  settings.setLanguage(lng ?? '');
  return speak(lng ?? pickLanguage(null, browserLanguages()));
}
