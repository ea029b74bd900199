/** What the page says about a session's inbox: how long items wait, why one was not kept, who fetched one. */
import { listNames } from '../../i18n/list';
import type { InboxAck, InboxTerms, Member } from '../../types/protocol';
import { t } from '../../i18n';
import { describeDuration } from '../../i18n/duration';
import { formatBytes } from '../../utils/format';

/** The indicator every member sees: "Inbox on — items wait 1 hour". */
export function inboxSummary(terms: InboxTerms): string {
  return t('inbox.summary', { wait: describeDuration(terms.ttlMs) });
}

/** The indicator's longer explanation. */
export function inboxDetail(terms: InboxTerms): string {
  return t('inbox.detail', { wait: describeDuration(terms.ttlMs), size: formatBytes(terms.maxBytes) });
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
