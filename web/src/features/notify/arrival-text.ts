/**
 * What a notification says about items that arrived while the page was hidden: who sent them
 * and what kind they are, never their name or content (a lock screen is not private).
 */
import type { Item } from '../../lib/room/room-client';

const KIND = { text: 'a text', image: 'an image', file: 'a file', folder: 'a folder' } as const;

export function arrivalText(items: readonly Pick<Item, 'kind' | 'senderName'>[]): { title: string; body: string } {
  const senders = [...new Set(items.map((i) => i.senderName))];
  if (items.length === 1) {
    const [item] = items;
    return { title: `${item.senderName} sent ${KIND[item.kind] ?? 'an item'}`, body: 'Open ShareThings to see it.' };
  }
  const from = senders.length === 1 ? senders[0] : `${senders.slice(0, -1).join(', ')} and ${senders[senders.length - 1]}`;
  return { title: `${items.length} new items`, body: `From ${from}. Open ShareThings to see them.` };
}
