/** Who is in the session right now; "You" marks the member whose clientId our join returned. */
import { Box, Circle, Heading, HStack, Stack, Text } from '@chakra-ui/react';
import { useTranslation } from 'react-i18next';
import type { Member } from '../../../types/protocol';

const PALETTE = ['teal', 'blue', 'purple', 'pink', 'orange', 'cyan', 'green', 'red'];

function paletteFor(id: string) {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

export function MemberList({ members, selfId }: { members: Member[]; selfId: string }) {
  const { t } = useTranslation();
  const sorted = [...members].sort((a, b) => (a.id === selfId ? -1 : b.id === selfId ? 1 : a.name.localeCompare(b.name)));
  return (
    <Box as="section" aria-labelledby="members-heading">
      <Heading as="h2" id="members-heading" fontSize="xs" fontWeight="semibold" textTransform="uppercase" letterSpacing="wider" color="fg.muted" mb="3">
        {t('session.inThisSession', { count: members.length })}
      </Heading>
      <Stack as="ul" gap="2.5" listStyleType="none" aria-label={t('session.members')} direction={{ base: 'row', lg: 'column' }} wrap="wrap">
        {sorted.map((m) => (
          <HStack as="li" key={m.id} gap="2.5" data-testid="member" data-self={m.id === selfId || undefined}>
            <Circle size="8" colorPalette={paletteFor(m.id)} bg="colorPalette.subtle" color="colorPalette.fg" fontSize="sm" fontWeight="semibold" aria-hidden="true">
              {[...m.name][0]?.toUpperCase()}
            </Circle>
            <Text fontSize="sm" lineClamp={1} data-testid="member-name">
              {m.name}
              {m.id === selfId && (
                <Text as="span" color="fg.muted">
                  {' '}
                  {t('session.youMark')}
                </Text>
              )}
            </Text>
          </HStack>
        ))}
      </Stack>
    </Box>
  );
}
