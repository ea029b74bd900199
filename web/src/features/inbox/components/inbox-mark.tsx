/**
 * On a shared item: whether the session's inbox keeps it (with "Delete from inbox" for those
 * the server lets delete it), or why
 * not, and which devices fetched it from there (when the server records it).
 */
import { Button, HStack, Stack, Text } from '@chakra-ui/react';
import { Archive, ArchiveX } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { useRoom, useRoomValue } from '../../../hooks/use-room';
import type { Item } from '../../../lib/room/room-client';
import { fetchedByText } from '../inbox-text';

function FetchedBy({ ids }: { ids: readonly string[] }) {
  useTranslation();
  const members = useRoomValue('members');
  const selfId = useRoomValue('selfId');
  return (
    <Text fontSize="xs" color="fg.muted" data-testid="inbox-fetched-by" data-count={ids.length}>
      {fetchedByText(ids, members, selfId)}
    </Text>
  );
}

export function InboxMark({ item, label }: { item: Item; label: string }) {
  const { t } = useTranslation();
  const room = useRoom();
  // The server deletes another member's item only for those who may clear (docs/protocol.md,
  // "Inbox authority"); its sender may always delete its own.
  const mayDelete = useRoomValue('clearing').mayClear || item.mine;
  if (item.inboxError) {
    return (
      <Text fontSize="xs" color="fg.warning" data-testid="inbox-refused" role="status">
        {t('inbox.notKept', { reason: item.inboxError })}
      </Text>
    );
  }
  // Gone from the inbox (deleted, expired): who fetched it while it was there still holds.
  if (!item.inInbox) return item.fetchedBy?.length ? <FetchedBy ids={item.fetchedBy} /> : null;
  return (
    <Stack gap="1">
      <HStack justify="space-between" fontSize="xs" color="fg.muted" data-testid="in-inbox">
        <HStack gap="1">
          <Archive size={12} aria-hidden="true" />
          <Text>{t('inbox.inInbox')}</Text>
        </HStack>
        {mayDelete && (
          <Button size="2xs" variant="ghost" onClick={() => void room.deleteFromInbox(item.id)} aria-label={t('inbox.deleteLabel', { label })}>
            <ArchiveX /> {t('inbox.delete')}
          </Button>
        )}
      </HStack>
      {item.fetchedBy && <FetchedBy ids={item.fetchedBy} />}
    </Stack>
  );
}
