/**
 * In a session: shows what the share sheet brought and sends it, encrypted like any item, once
 * the user says so. A share leaves the device's storage only after it was handed to the room.
 */
import { Alert, Box, Button, HStack, Stack, Text } from '@chakra-ui/react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useRoom } from '../../../hooks/use-room';
import type { RoomClient } from '../../../lib/room/room-client';
import type { PendingShare } from '../../../sw/pending-shares';
import { formatBytes } from '../../../utils/format';
import { describeShares, usePendingShares } from '../hooks/use-pending-shares';

interface Props {
  shareText: (room: RoomClient, text: string) => Promise<void>;
  shareFiles: (room: RoomClient, files: File[]) => Promise<void>;
}

const PREVIEW_CHARS = 140;

function Preview({ share }: { share: PendingShare }) {
  const { t } = useTranslation();
  return (
    <Stack gap="1" fontSize="sm">
      {share.text && (
        <Text lineClamp={3} whiteSpace="pre-line" wordBreak="break-word" data-testid="pending-share-text">
          {share.text.length > PREVIEW_CHARS ? `${share.text.slice(0, PREVIEW_CHARS)}…` : share.text}
        </Text>
      )}
      {share.files.map((f, i) => (
        <Text key={i} color="fg.muted" lineClamp={1}>
          {f.name || t('shares.file')} · {formatBytes(f.size)}
        </Text>
      ))}
    </Stack>
  );
}

export function PendingSharePrompt({ shareText, shareFiles }: Props) {
  const { t } = useTranslation();
  const room = useRoom();
  const { shares, remove } = usePendingShares();
  const [busy, setBusy] = useState(false);
  if (shares.length === 0) return null;

  const send = async () => {
    setBusy(true);
    try {
      for (const share of shares) {
        if (share.text) await shareText(room, share.text);
        await shareFiles(room, share.files);
        await remove([share.id]);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <Alert.Root status="info" variant="outline" mb="5" data-testid="pending-shares">
      <Alert.Indicator />
      <Alert.Content gap="3">
        <Alert.Title>{t('shares.sendPrompt', { what: describeShares(shares) })}</Alert.Title>
        <Box maxH="40" overflowY="auto">
          <Stack gap="2">
            {shares.map((s) => (
              <Preview key={s.id} share={s} />
            ))}
          </Stack>
        </Box>
        <HStack gap="2">
          <Button size="sm" colorPalette="teal" loading={busy} onClick={() => void send()}>
            {t('shares.sendHere')}
          </Button>
          <Button size="sm" variant="ghost" disabled={busy} onClick={() => void remove(shares.map((s) => s.id))}>
            {t('common.discard')}
          </Button>
        </HStack>
      </Alert.Content>
    </Alert.Root>
  );
}
