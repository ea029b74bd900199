/** Tells every member that the session keeps an inbox, and for how long items wait. */
import { Badge } from '@chakra-ui/react';
import { Archive } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import type { InboxTerms } from '../../../types/protocol';
import { inboxDetail, inboxSummary } from '../inbox-text';

export function InboxIndicator({ terms }: { terms: InboxTerms | null }) {
  useTranslation();
  if (!terms) return null;
  return (
    <Badge colorPalette="purple" variant="subtle" size="md" borderRadius="full" px="2.5" flexShrink={0} title={inboxDetail(terms)} data-testid="inbox-indicator">
      <Archive size={12} aria-hidden="true" />
      {inboxSummary(terms)}
    </Badge>
  );
}
