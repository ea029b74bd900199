/**
 * The text item made of a share's title, text and link. Apps fill these fields differently
 * (Android browsers put the link in `text`, some repeat the title in it), so a part already
 * contained in another is dropped and the rest are joined one per line.
 */
export function sharedText(title: string, text: string, url: string): string {
  const parts = [title, text, url].map((p) => p.trim()).filter((p) => p !== '');
  const kept = parts.filter((p, i) => !parts.some((other, j) => j !== i && other.includes(p) && (other !== p || j < i)));
  return kept.join('\n');
}
