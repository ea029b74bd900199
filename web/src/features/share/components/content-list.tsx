/** The shared items, newest first, with "clear on every device" (for those the room lets clear, asked first). */
import { Box, Center, Heading, HStack, Stack, Text } from '@chakra-ui/react';
import { Inbox } from 'lucide-react';
import { memo } from 'react';
import { useTranslation } from 'react-i18next';
import { useRoom, useRoomValue } from '../../../hooks/use-room';
import { ClearAllButton } from './clear-all-button';
import { ContentItem } from './content-item';

/** The heading and "clear on every device": apart, so that progress (a new `items`) leaves them be. */
const SharedHeading = memo(function SharedHeading({ count }: { count: number }) {
  const { t } = useTranslation();
  const room = useRoom();
  const sessionId = useRoomValue('sessionId');
  const { mayClear } = useRoomValue('clearing');
  return (
    <HStack justify="space-between" mb="3" minH="8">
      <Heading as="h2" id="shared-heading" fontSize="xs" fontWeight="semibold" textTransform="uppercase" letterSpacing="wider" color="fg.muted">
        {t('share.shared', { count })}
      </Heading>
      {count > 0 && mayClear && <ClearAllButton count={count} sessionId={sessionId} onConfirm={() => room.clearAll()} />}
    </HStack>
  );
});

export function ContentList() {
  const { t } = useTranslation();
  const items = useRoomValue('items');
  return (
    <Box as="section" aria-labelledby="shared-heading">
      <SharedHeading count={items.length} />
      {items.length === 0 ? (
        <Center flexDirection="column" gap="2" py="14" borderWidth="1px" borderStyle="dashed" borderColor="border" borderRadius="l3" color="fg.muted" textAlign="center" px="6">
          <Inbox size={28} strokeWidth={1.5} aria-hidden="true" />
          <Text fontWeight="medium" color="fg">
            {t('share.nothingYet')}
          </Text>
          <Text fontSize="sm">{t('share.nothingYetHint')}</Text>
        </Center>
      ) : (
        <Stack as="ul" gap="3" aria-label={t('share.sharedItems')}>
          {items.map((item) => (
            // Only the item whose progress moved re-renders: the others keep their identity.
            <ContentItem key={item.id} item={item} />
          ))}
        </Stack>
      )}
    </Box>
  );
}
