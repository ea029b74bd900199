/** What the page says about a session's inbox: how long items wait, and why one was not kept. */
import type { InboxAck, InboxTerms } from '../../types/protocol';
import { formatBytes } from '../../utils/format';

/** "1 hour", "90 minutes", "30 seconds": a wait in the largest unit that reads well. */
export function describeWait(ms: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  const seconds = Math.max(1, Math.round(ms / 1000));
  if (seconds < 120) return plural(seconds, 'second');
  const minutes = Math.round(seconds / 60);
  if (minutes < 120 && minutes % 60 !== 0) return plural(minutes, 'minute');
  const hours = Math.round(minutes / 60);
  if (hours < 48 || hours % 24 !== 0) return plural(hours, 'hour');
  return plural(hours / 24, 'day');
}

/** The indicator every member sees: "Inbox on — items wait 1 hour". */
export function inboxSummary(terms: InboxTerms): string {
  return `Inbox on — items wait ${describeWait(terms.ttlMs)}`;
}

/** The indicator's longer explanation. */
export function inboxDetail(terms: InboxTerms): string {
  return (
    `The server keeps each item, encrypted as it was sent, for ${describeWait(terms.ttlMs)} ` +
    `(up to ${formatBytes(terms.maxBytes)} for this session), so devices that join later get it too. ` +
    'It never has the key. A server restart empties the inbox.'
  );
}

/** Why the inbox did not keep our item, for the sender (the item reached the members online). */
export function refusalTitle(code: Extract<InboxAck, { kept: false }>['code']): string {
  switch (code) {
    case 'inbox_full':
      return "This session's inbox is full";
    case 'server_inbox_full':
      return "The server's inbox space is full";
    case 'inbox_item_too_large':
      return 'Too large for the inbox';
  }
}
