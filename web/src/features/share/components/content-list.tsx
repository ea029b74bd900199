/** The shared items, newest first, with "clear on every device" (for everyone, asked first). */
import { Box, Center, Heading, HStack, Stack, Text } from '@chakra-ui/react';
import { Inbox } from 'lucide-react';
import { useRoom, useRoomValue } from '../../../hooks/use-room';
import { ClearAllButton } from './clear-all-button';
import { ContentItem } from './content-item';

export function ContentList() {
  const room = useRoom();
  const items = useRoomValue('items');
  const sessionId = useRoomValue('sessionId');
  return (
    <Box as="section" aria-labelledby="shared-heading">
      <HStack justify="space-between" mb="3" minH="8">
        <Heading as="h2" id="shared-heading" fontSize="xs" fontWeight="semibold" textTransform="uppercase" letterSpacing="wider" color="fg.muted">
          Shared · {items.length}
        </Heading>
        {items.length > 0 && <ClearAllButton count={items.length} sessionId={sessionId} onConfirm={() => room.clearAll()} />}
      </HStack>
      {items.length === 0 ? (
        <Center flexDirection="column" gap="2" py="14" borderWidth="1px" borderStyle="dashed" borderColor="border" borderRadius="l3" color="fg.muted" textAlign="center" px="6">
          <Inbox size={28} strokeWidth={1.5} aria-hidden="true" />
          <Text fontWeight="medium" color="fg">
            Nothing shared yet
          </Text>
          <Text fontSize="sm">Text, images and files you share appear here on every device in the session.</Text>
        </Center>
      ) : (
        <Stack as="ul" gap="3" aria-label="Shared items">
          {items.map((item) => (
            // Only the item whose progress moved re-renders: the others keep their identity.
            <ContentItem key={item.id} item={item} />
          ))}
        </Stack>
      )}
    </Box>
  );
}
