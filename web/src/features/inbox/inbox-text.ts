/** What the page says about a session's inbox: how long items wait, why one was not kept, who fetched one. */
import { listNames } from '../../i18n/list';
import type { InboxAck, InboxTerms, Member } from '../../types/protocol';
import { t } from '../../i18n';
import { formatBytes } from '../../utils/format';

/** "1 hour", "90 minutes", "30 seconds": a wait in the largest unit that reads well. */
export function describeWait(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000));
  if (seconds < 120) return t('inbox.seconds', { count: seconds });
  const minutes = Math.round(seconds / 60);
  if (minutes < 120 && minutes % 60 !== 0) return t('inbox.minutes', { count: minutes });
  const hours = Math.round(minutes / 60);
  if (hours < 48 || hours % 24 !== 0) return t('inbox.hours', { count: hours });
  return t('inbox.days', { count: hours / 24 });
}

/** The indicator every member sees: "Inbox on — items wait 1 hour". */
export function inboxSummary(terms: InboxTerms): string {
  return t('inbox.summary', { wait: describeWait(terms.ttlMs) });
}

/** The indicator's longer explanation. */
export function inboxDetail(terms: InboxTerms): string {
  return t('inbox.detail', { wait: describeWait(terms.ttlMs), size: formatBytes(terms.maxBytes) });
}

/** Why the inbox did not keep our item, for the sender (the item reached the members online). */
export function refusalTitle(code: Extract<InboxAck, { kept: false }>['code']): string {
  switch (code) {
    case 'inbox_full':
      return t('inbox.sessionFull');
    case 'server_inbox_full':
      return t('inbox.serverFull');
    case 'inbox_item_too_large':
      return t('inbox.tooLarge');
  }
}


/**
 * Who fetched a kept item from the inbox, by name: members here by their names, this device as
 * such, and the ids of members gone (all the server remembers of them) as a count.
 */
export function fetchedByText(ids: readonly string[], members: readonly Member[], selfId: string): string {
  if (ids.length === 0) return t('inbox.noFetch');
  const names: string[] = [];
  let gone = 0;
  for (const id of ids) {
    const member = members.find((m) => m.id === id);
    if (id === selfId) names.push(t('inbox.thisDevice'));
    else if (member) names.push(member.name);
    else gone += 1;
  }
  if (gone > 0) names.push(t('inbox.gone', { count: gone }));
  return t('inbox.fetchedBy', { names: listNames(names) });
}
