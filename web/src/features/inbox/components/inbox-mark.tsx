/** On a shared item: whether the session's inbox keeps it (with "Delete from inbox"), or why not. */
import { Button, HStack, Text } from '@chakra-ui/react';
import { Archive, ArchiveX } from 'lucide-react';
import { useRoom } from '../../../hooks/use-room';
import type { Item } from '../../../lib/room/room-client';

export function InboxMark({ item, label }: { item: Item; label: string }) {
  const room = useRoom();
  if (item.inboxError) {
    return (
      <Text fontSize="xs" color="fg.warning" data-testid="inbox-refused" role="status">
        Not kept for absent devices: {item.inboxError}
      </Text>
    );
  }
  if (!item.inInbox) return null;
  return (
    <HStack justify="space-between" fontSize="xs" color="fg.muted" data-testid="in-inbox">
      <HStack gap="1">
        <Archive size={12} aria-hidden="true" />
        <Text>In the inbox for absent devices</Text>
      </HStack>
      <Button size="2xs" variant="ghost" onClick={() => void room.deleteFromInbox(item.id)} aria-label={`Delete from inbox: ${label}`}>
        <ArchiveX /> Delete from inbox
      </Button>
    </HStack>
  );
}
