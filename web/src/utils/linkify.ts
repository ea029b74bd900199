/**
 * Splits received text into plain runs and links, so links can be rendered clickable. Only
 * http and https URLs become links: anything else (javascript:, data:, file:) stays text.
 * Pure.
 */

export type TextPart = { text: string; href?: undefined } | { text: string; href: string };

const CANDIDATE = /\bhttps?:\/\/[^\s<>"]+/gi;
/** Punctuation that usually ends the sentence around a URL rather than the URL itself. */
const TRAILING = new Set(['.', ',', ';', ':', '!', '?', "'", '’', '”', ')', ']', '}']);
const OPENER: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

const count = (s: string, ch: string) => s.split(ch).length - 1;

function trimTrailing(url: string): string {
  let out = url;
  while (out.length > 0 && TRAILING.has(out[out.length - 1])) {
    const last = out[out.length - 1];
    // A closing bracket that closes one opened inside the URL belongs to it (Wikipedia links).
    const opener = OPENER[last];
    if (opener && count(out, opener) >= count(out, last)) break;
    out = out.slice(0, -1);
  }
  return out;
}

function safeHref(candidate: string): string | undefined {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

export function splitLinks(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const m of text.matchAll(CANDIDATE)) {
    const raw = trimTrailing(m[0]);
    const href = safeHref(raw);
    if (!href) continue;
    const start = m.index;
    if (start > last) parts.push({ text: text.slice(last, start) });
    parts.push({ text: raw, href });
    last = start + raw.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}
