/**
 * The page's words come from the message catalogs in `locales/` (i18next): English, German,
 * Spanish and French, all bundled, so the first paint is already in the right language. The
 * language follows the browser unless one is chosen in Settings (kept in localStorage); an
 * unknown one falls back to English. <html lang dir> follow the language, so a right-to-left
 * one lays the page out from the right (the layout uses logical properties: start/end).
 */
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { settings } from '../config/settings';
import { browserLanguages, FALLBACK, isLanguage, type Language, pickLanguage } from './detect';
import de from './locales/de.json';
import en from './locales/en.json';
import es from './locales/es.json';
import fr from './locales/fr.json';

export { LANGUAGES, type Language } from './detect';

export const resources = { en: { translation: en }, de: { translation: de }, es: { translation: es }, fr: { translation: fr } } as const;

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
  resources,
  lng: pickLanguage(settings.language(), browserLanguages()),
  fallbackLng: FALLBACK,
  // React escapes what it renders; escaping here too would show "&amp;" in names.
  interpolation: { escapeValue: false },
  initAsync: false,
  returnNull: false,
});

export const i18n = i18next;
export const t = i18next.t.bind(i18next);

/** The language the page speaks now, for Intl's formatters. */
export const currentLocale = (): string => i18next.resolvedLanguage ?? i18next.language ?? FALLBACK;

/** The language chosen in Settings, or null when the page follows the browser. */
export function chosenLanguage(): Language | null {
  const stored = settings.language();
  return isLanguage(stored) ? stored : null;
}

/** Speak `lng` from now on and remember it; null goes back to the browser's language. */
export function chooseLanguage(lng: Language | null) {
  settings.setLanguage(lng ?? '');
  void i18next.changeLanguage(lng ?? pickLanguage(null, browserLanguages()));
}
