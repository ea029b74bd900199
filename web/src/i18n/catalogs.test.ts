/**
 * Every shipped catalog says everything English says, and nothing else: the same keys, each
 * plural with exactly the forms its language needs (Intl.PluralRules' categories: German
 * "one/other", Spanish and French also "many"), and the same placeholders ({{name}}) and
 * tags (<https>) as English, so no language shows a raw key, drops a name or invents one; and
 * no tag is named after an HTML void element (react-i18next's Trans parses the text as HTML,
 * so a <link>…</link> came out as an empty link before its text).
 */
import { describe, expect, it } from 'vitest';
import de from './locales/de.json';
import en from './locales/en.json';
import es from './locales/es.json';
import fr from './locales/fr.json';

type Catalog = { [key: string]: string | Catalog };

const PLURAL = /_(zero|one|two|few|many|other)$/;

function flatten(catalog: Catalog, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(catalog)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'string') out.set(path, value);
    else for (const [k, v] of flatten(value, path)) out.set(k, v);
  }
  return out;
}

/** Keys without their plural suffix, each with the plural forms it has (none: not a plural). */
function messages(catalog: Catalog): Map<string, { forms: string[]; texts: string[] }> {
  const out = new Map<string, { forms: string[]; texts: string[] }>();
  for (const [key, text] of flatten(catalog)) {
    const form = PLURAL.exec(key)?.[1];
    const base = form ? key.slice(0, -form.length - 1) : key;
    const entry = out.get(base) ?? { forms: [], texts: [] };
    if (form) entry.forms.push(form);
    entry.texts.push(text);
    out.set(base, entry);
  }
  return out;
}

/** The placeholders and tags a text uses: "{{count, number}}" is "count", "<https>" is "<https>". */
function slots(text: string): string[] {
  const names = [...text.matchAll(/\{\{\s*([^,}\s]+)[^}]*\}\}/g)].map((m) => m[1]);
  const tags = [...text.matchAll(/<\/?([a-z0-9]+)>/gi)].map((m) => `<${m[0].startsWith('</') ? '/' : ''}${m[1]}>`);
  return [...new Set([...names, ...tags])].sort();
}

const english = messages(en);
const CATALOGS = { de, es, fr } as const;

/** HTML's void elements: the Trans parser gives a tag of one of these names no children. */
const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);

describe('message catalogs', () => {
  it('English is the reference: plurals have one and other, no text is empty', () => {
    for (const [key, { forms, texts }] of english) {
      if (forms.length > 0) expect(forms.sort(), key).toEqual(['one', 'other']);
      for (const text of texts) expect(text.trim(), key).not.toBe('');
    }
  });

  it('names no tag after an HTML void element', () => {
    for (const [key, { texts }] of english) {
      const tags = slots(texts.join(' ')).filter((s) => s.startsWith('<') && !s.startsWith('</'));
      expect(tags.filter((tag) => VOID.has(tag.slice(1, -1).toLowerCase())), key).toEqual([]);
    }
  });

  for (const [lng, catalog] of Object.entries(CATALOGS)) {
    describe(lng, () => {
      const translated = messages(catalog);
      const categories = [...new Intl.PluralRules(lng).resolvedOptions().pluralCategories].sort();

      it('has every key of English and no other', () => {
        expect([...translated.keys()].filter((k) => !english.has(k)), 'keys English does not have').toEqual([]);
        expect([...english.keys()].filter((k) => !translated.has(k)), 'keys missing').toEqual([]);
      });

      it(`has each plural in exactly its forms (${categories.join(', ')})`, () => {
        for (const [key, { forms }] of english) {
          const theirs = translated.get(key);
          if (!theirs) continue;
          expect(theirs.forms.sort(), key).toEqual(forms.length > 0 ? categories : []);
        }
      });

      it('uses the same placeholders and tags as English, in every form', () => {
        for (const [key, { texts }] of english) {
          const want = slots(texts.join(' '));
          for (const text of translated.get(key)?.texts ?? []) {
            // A "one" form may say the number in words ("the file"): {{count}} is optional there.
            const got = slots(text);
            expect(got.filter((s) => !want.includes(s)), `${key}: placeholders English does not have`).toEqual([]);
            expect(want.filter((s) => s !== 'count' && !got.includes(s)), `${key}: placeholders missing`).toEqual([]);
          }
          expect(translated.get(key)?.texts.every((t) => t.trim() !== ''), `${key} is empty`).not.toBe(false);
        }
      });
    });
  }

  it('finds a missing key, an extra key, a missing plural form and a changed placeholder', () => {
    const broken = structuredClone(de) as Catalog;
    const join = broken.join as Catalog;
    delete join.joinSession;
    join.extra = 'Extra';
    delete join.tryAgainIn_one;
    (broken.notice as Catalog).memberJoined = '{{nom}} ist beigetreten';
    const m = messages(broken);
    expect(m.has('join.joinSession')).toBe(false);
    expect(english.has('join.extra')).toBe(false);
    expect(m.get('join.tryAgainIn')?.forms).toEqual(['other']);
    expect(slots((broken.notice as Catalog).memberJoined as string)).not.toEqual(slots(en.notice.memberJoined));
  });
});
