/**
 * Whether a new session's passphrase is strong enough, by zxcvbn (@zxcvbn-ts: dictionaries of
 * common passwords, names and words, keyboard patterns, dates, l33t), not by its length. In
 * format v3 the passphrase only admits devices through the members' PAKE, one online guess per
 * run, throttled and seen by everyone; still, a passphrase a person would guess first is
 * refused when a session is created (docs/security.md), and a generated one is offered. The
 * estimator and its dictionaries (about 1 MB) load on first use, so only the create form pays.
 */
export interface PassphraseVerdict {
  acceptable: boolean;
  /** zxcvbn's 0–4 score; `MIN_SCORE` and above are accepted. */
  score: number;
  /** log10 of the guesses zxcvbn expects an attacker to need. */
  guessesLog10: number;
  /** What zxcvbn says is wrong, and how to do better (English). */
  warning?: string;
  suggestions: string[];
}

/** zxcvbn's "safely unguessable" (about 10^8 guesses and more); 4 is "very unguessable". */
export const MIN_SCORE = 3;

type Checker = { check(password: string, userInputs?: (string | number)[]): { score: number; guessesLog10: number; feedback: { warning: string | null; suggestions: string[] } } };

let checker: Promise<Checker> | undefined;

function load(): Promise<Checker> {
  checker ??= Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common'), import('@zxcvbn-ts/language-en')]).then(
    ([core, common, en]) =>
      new core.ZxcvbnFactory({
        dictionary: { ...common.dictionary, ...en.dictionary },
        graphs: common.adjacencyGraphs,
        translations: en.translations,
      }),
  );
  return checker;
}

/** Judges a passphrase (in its NFC form, as it will be used); `context` are words the session gives away (its name). */
export async function judgePassphrase(passphrase: string, context: string[] = []): Promise<PassphraseVerdict> {
  const zxcvbn = await load();
  const normalized = passphrase.normalize('NFC');
  const result = zxcvbn.check(normalized, context);
  return {
    acceptable: result.score >= MIN_SCORE,
    score: result.score,
    guessesLog10: result.guessesLog10,
    warning: result.feedback.warning ?? undefined,
    suggestions: result.feedback.suggestions,
  };
}
