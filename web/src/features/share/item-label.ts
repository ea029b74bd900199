/** How an item is named to people (and screen readers): a file by its name, a text by its start. */
import { t } from '../../i18n';
import type { Item } from '../../lib/room/room-client';

const SNIPPET_CHARS = 40;

export function itemLabel(item: Pick<Item, 'kind' | 'name' | 'text'>): string {
  if (item.kind !== 'text' || item.text === undefined) return item.name;
  const line = item.text.replace(/\s+/g, ' ').trim();
  const chars = [...line];
  return t('item.textLabel', { snippet: chars.length > SNIPPET_CHARS ? `${chars.slice(0, SNIPPET_CHARS).join('')}…` : line });
}
