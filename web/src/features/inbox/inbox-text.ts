/** What the page says about a session's inbox: how long items wait, why one was not kept, who fetched one. */
import type { InboxAck, InboxTerms, Member } from '../../types/protocol';
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

/** "a, b and c". */
function listed(parts: string[]): string {
  return parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/**
 * Who fetched a kept item from the inbox, by name: members here by their names, this device as
 * such, and the ids of members gone (all the server remembers of them) as a count.
 */
export function fetchedByText(ids: readonly string[], members: readonly Member[], selfId: string): string {
  if (ids.length === 0) return 'No device has fetched it from the inbox yet';
  const names: string[] = [];
  let gone = 0;
  for (const id of ids) {
    const member = members.find((m) => m.id === id);
    if (id === selfId) names.push('this device');
    else if (member) names.push(member.name);
    else gone += 1;
  }
  if (gone > 0) names.push(`${gone} ${gone === 1 ? 'device' : 'devices'} no longer here`);
  return `Fetched from the inbox by ${listed(names)}`;
}
