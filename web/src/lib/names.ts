/**
 * Generators for readable session names and strong passphrases, and a strength hint.
 * Randomness comes from `crypto.getRandomValues` (present outside secure contexts too).
 */

const ADJECTIVES = (
  'amber brave bright calm clever cosy crisp dapper eager early fair fancy gentle glad golden ' +
  'grand happy honest jolly keen kind lively lucky mellow merry mighty misty noble olive proud ' +
  'quick quiet rapid rosy silver smooth snowy sunny swift tidy tiny vivid warm wise witty young'
).split(' ');

const NOUNS = (
  'badger beacon birch bison canyon cedar comet coral crane delta dune eagle ember falcon fern ' +
  'fjord forest garnet glacier harbor heron island jasper lagoon lantern maple meadow meteor ' +
  'nebula oasis orchid otter panda pebble pine prairie quartz raven reef river robin sparrow ' +
  'summit tiger tulip valley walrus willow zephyr'
).split(' ');

// Short, common, unambiguous words (over 256: at least 8 bits each).
const WORDS = (
  'able acid aged also area army away baby back bake ball band bank base bath bear beat bell belt ' +
  'bend best bike bird blue boat body bold bone book boot born boss both bowl bulb burn bush busy ' +
  'cafe cage cake calm camp card care cart case cash cast cave chef chin chip city clay club coal ' +
  'coat code coin cold cook cool cope copy cord corn cost crew crop cube cure dark dash data dawn ' +
  'deal dear deck deep deer desk dial dice diet dirt dish dive dock door dose down draw drum duck ' +
  'dust duty each earn ease east easy edge epic even ever exit face fact fair fall farm fast fear ' +
  'feed feel file film fine fire firm fish five flag flat flow folk food foot fork form fort four ' +
  'free frog fuel full fund gain game gate gear gift girl glad glow glue goal gold golf good grab ' +
  'gray grid grip grow gulf hair half hall hand hard harp hawk head heat herb hero hill hint hold ' +
  'hole home hook hope horn host hour huge hunt idea inch iron item jazz join joke jump jury keen ' +
  'keep kept kind king kite knee knot lake lamp land lane last late lawn lead leaf lens life lift ' +
  'lime line link lion list load loan lock loft logo long loop loud love luck lung mail main make ' +
  'mark mask meal melt menu mild milk mind mint mist mode moon moss move much nest news nice nine ' +
  'node noon nose note oven page palm park path peak pear pine pink plan play plot plug poem pond ' +
  'pool port pose post pull pure quiz race rain ramp rank rare rest rice rich ride ring road rock'
).split(' ');

function randomIndex(n: number): number {
  // Rejection sampling keeps every index equally likely.
  const limit = Math.floor(0x100000000 / n) * n;
  const buf = new Uint32Array(1);
  do crypto.getRandomValues(buf);
  while (buf[0] >= limit);
  return buf[0] % n;
}

const pick = <T,>(list: readonly T[]): T => list[randomIndex(list.length)];

/** A readable session name such as `quiet-harbor-17`. */
export const generateSessionName = (): string =>
  `${pick(ADJECTIVES)}-${pick(NOUNS)}-${10 + randomIndex(90)}`;

/** Seven random words: over 56 bits, on top of 600 000 PBKDF2 rounds. */
export const generatePassphrase = (words = 7): string =>
  Array.from({ length: words }, () => pick(WORDS)).join('-');

export type Strength = { level: 0 | 1 | 2 | 3; label: string; bits: number };

/**
 * A rough estimate of guessing effort in bits: alphabet size from character classes times
 * length, halved for repeats and sequences. A hint for people, not a security claim.
 */
export function estimateStrength(passphrase: string): Strength {
  if (!passphrase) return { level: 0, label: 'Empty', bits: 0 };
  let pool = 0;
  if (/[a-z]/.test(passphrase)) pool += 26;
  if (/[A-Z]/.test(passphrase)) pool += 26;
  if (/[0-9]/.test(passphrase)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(passphrase)) pool += 20;
  const unique = new Set(passphrase).size;
  const effectiveLength = Math.min(passphrase.length, unique * 2.5);
  let bits = effectiveLength * Math.log2(Math.max(pool, 2));
  if (/^(.)\1+$/.test(passphrase) || /^(?:0123|1234|abcd|qwer|pass)/i.test(passphrase)) bits /= 2;
  bits = Math.round(bits);
  if (bits < 35) return { level: 0, label: 'Weak', bits };
  if (bits < 55) return { level: 1, label: 'Fair', bits };
  if (bits < 75) return { level: 2, label: 'Good', bits };
  return { level: 3, label: 'Strong', bits };
}
