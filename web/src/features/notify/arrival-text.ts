/**
 * What a notification says about items that arrived while the page was hidden: who sent them
 * and what kind they are, never their name or content (a lock screen is not private).
 */
import { t } from '../../i18n';
import { listNames } from '../../i18n/list';
import type { Item } from '../../lib/room/room-client';

const SENT = { text: 'arrivals.sentText', image: 'arrivals.sentImage', file: 'arrivals.sentFile', folder: 'arrivals.sentFolder' } as const;

export function arrivalText(items: readonly Pick<Item, 'kind' | 'senderName'>[]): { title: string; body: string } {
  const senders = [...new Set(items.map((i) => i.senderName))];
  if (items.length === 1) {
    const [item] = items;
    return { title: t(SENT[item.kind] ?? 'arrivals.sentItem', { sender: item.senderName }), body: t('arrivals.openToSeeIt') };
  }
  return { title: t('arrivals.newItems', { n: items.length }), body: t('arrivals.fromOpenToSee', { from: listNames(senders) }) };
}
