/**
 * The session page: header with connection state, the share panel, the members and this
 * device's settings. The tab title names the session and counts items not yet seen.
 */
import { Box, Container, Flex, Grid, Heading, HStack, Separator, Stack, Text } from '@chakra-ui/react';
import { HardDrive, ShieldCheck } from 'lucide-react';
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { ColorModeButton } from '../../components/ui/color-mode';
import { ConfirmDialog } from '../../components/ui/dialog';
import { InsecureBanner } from '../../components/ui/insecure-banner';
import { LogoMark } from '../../components/ui/logo';
import { toaster } from '../../components/ui/toaster';
import { ConnectionBadge } from '../../features/session/components/connection-badge';
import { HistoryDialog } from '../../features/history/components/history-dialog';
import { HistorySetting } from '../../features/history/components/history-setting';
import { useHistoryRecorder } from '../../features/history/hooks/use-history-recorder';
import { InboxIndicator } from '../../features/inbox/components/inbox-indicator';
import { InboxMark } from '../../features/inbox/components/inbox-mark';
import { ItemExtra } from '../../features/share/item-extra';
import { refusalTitle } from '../../features/inbox/inbox-text';
import { describeDuration } from '../../i18n/duration';
import { InviteDialog } from '../../features/session/components/invite-dialog';
import { LeaveButton } from '../../features/session/components/leave-button';
import { useTransferGuards } from '../../hooks/use-transfer-guards';
import { MemberList } from '../../features/session/components/member-list';
import { ClearPolicySwitch } from '../../features/session/components/clear-policy-switch';
import { AutoFetchSetting } from '../../features/session/components/auto-fetch-setting';
import { RecentSetting } from '../../features/session/components/recent-setting';
import { AlertSettings } from '../../features/notify/components/alert-settings';
import { useArrivalAlerts } from '../../features/notify/hooks/use-arrival-alerts';
import { alertEnabled } from '../../features/notify/preferences';
import { SharePanel } from '../../features/share/components/share-panel';
import { ShareSettings } from '../../features/share/components/share-settings';
import { BundleHash } from '../../features/about/bundle-hash';
import { LanguageSelect } from '../../features/language/language-select';
import { t } from '../../i18n';
import { sessionTitle, useDocumentTitle } from '../../hooks/use-document-title';
import { shareFiles, shareText } from '../../features/share/hooks/use-share';
import { PendingSharePrompt } from '../../features/share-target/components/pending-share-prompt';
import { RoomContext, useRoomValue } from '../../hooks/use-room';
import { useUnseenItems } from '../../hooks/use-unseen-items';
import type { Item, Notice, RoomClient } from '../../lib/room/room-client';

function toastFor(n: Notice) {
  switch (n.kind) {
    case 'member-joined':
      return toaster.create({ type: 'info', title: t('notice.memberJoined', { name: n.name }) });
    case 'member-left':
      return toaster.create({ type: 'info', title: t('notice.memberLeft', { name: n.name }) });
    case 'received':
      return; // summarised per batch by the share panel
    case 'cleared':
      return toaster.create({ type: 'info', title: t('notice.cleared'), description: t('notice.clearedDetail', { name: n.byName }) });
    case 'undecryptable':
      return toaster.create({ type: 'warning', title: t('notice.undecryptable'), description: t('notice.undecryptableDetail') });
    case 'transfer-failed':
      return toaster.create({ type: 'error', title: t('notice.transferFailed', { name: n.name }), description: n.reason });
    case 'transfer-cancelled':
      return toaster.create({ type: 'info', title: t('notice.transferCancelled', { by: n.byName, name: n.name }) });
    case 'offered':
      return toaster.create({ type: 'info', title: t('notice.offered', { from: n.from, name: n.name }), description: t('notice.offeredDetail'), duration: 2500 });
    case 'rejoin-failed':
      return toaster.create({ type: 'error', title: t('notice.rejoinFailed'), description: n.message });
    case 'inbox-refused':
      return toaster.create({ type: 'warning', title: refusalTitle(n.code), description: t('notice.inboxRefusedDetail', { name: n.name }) });
    case 'admitted':
      return toaster.create({ type: 'success', title: t('notice.admitted', { name: n.name }), description: t('notice.admittedDetail', { code: n.safetyCode }), duration: 15_000 });
    case 'admission-failed':
      return toaster.create({ type: 'warning', title: t('notice.admissionFailed') });
    case 'replaced':
      return toaster.create({ type: 'warning', title: t('notice.replaced'), description: t('notice.replacedDetail') });
  }
}

const inboxMark = (item: Item, label: string) => <InboxMark item={item} label={label} />;

/** Alerts and the page title for items not seen yet: apart, as it follows every item change. */
function UnseenItems({ sessionId }: { sessionId: string }) {
  const unseen = useUnseenItems();
  useArrivalAlerts(unseen);
  useDocumentTitle(sessionTitle(sessionId, alertEnabled('badge') ? unseen.length : 0));
  return null;
}

/** Keeps the session's text in this device's history: apart, as it follows every item change. */
function HistoryRecorder() {
  useHistoryRecorder();
  return null;
}

/** Where received files go on this device: people sending large videos to a phone need to know. */
const STORAGE_TEXT = { sync: 'session.storageSync', writable: 'session.storageWritable', memory: 'session.storageMemory' } as const;

function StorageNote() {
  const { t } = useTranslation();
  const storage = useRoomValue('storage');
  if (!storage) return null;
  return (
    <HStack gap="2" align="start" color="fg.muted" fontSize="xs" data-testid="storage-mode" data-mode={storage}>
      <HardDrive size={16} aria-hidden="true" style={{ flexShrink: 0 }} />
      <Text>{t(STORAGE_TEXT[storage])}</Text>
    </HStack>
  );
}

function Body({ passphrase, onLeave, fallback }: { passphrase: string; onLeave: () => void; fallback: boolean }) {
  const { t } = useTranslation();
  const sessionId = useRoomValue('sessionId');
  const status = useRoomValue('status');
  const inbox = useRoomValue('inbox');
  const members = useRoomValue('members');
  const selfId = useRoomValue('selfId');
  const cryptoBackend = useRoomValue('cryptoBackend');
  const format = useRoomValue('format');
  const safetyCode = useRoomValue('safetyCode');
  return (
    <Flex direction="column" minH="100dvh">
      <UnseenItems sessionId={sessionId} />
      <HistoryRecorder />
      {fallback && <InsecureBanner />}
      <Box as="header" borderBottomWidth="1px" borderColor="border" bg="bg.panel" position="sticky" top="0" zIndex="sticky">
        <Container maxW="6xl" py="3">
          <HStack justify="space-between" gap="3">
            <HStack gap="3" minW="0" flex="1">
              <LogoMark />
              <Stack gap={{ base: '0.5', md: '3' }} direction={{ base: 'column', md: 'row' }} align={{ base: 'start', md: 'center' }} minW="0">
                <Box minW="0" maxW="full">
                  <Text fontSize="xs" color="fg.muted" lineHeight="1.2" hideBelow="md">
                    {t('session.session')}
                  </Text>
                  <Text as="h1" fontWeight="semibold" lineClamp={1} title={sessionId} data-testid="session-name" lineHeight="1.3">
                    {sessionId}
                  </Text>
                </Box>
                <ConnectionBadge status={status} />
                <InboxIndicator terms={inbox} />
              </Stack>
            </HStack>
            <HStack gap={{ base: '0.5', md: '1.5' }} flexShrink={0}>
              <InviteDialog sessionId={sessionId} passphrase={passphrase} />
              <HistoryDialog />
              <ColorModeButton />
              <LeaveButton sessionId={sessionId} onLeave={onLeave} />
            </HStack>
          </HStack>
        </Container>
      </Box>
      <Container as="main" maxW="6xl" py={{ base: '4', md: '8' }} flex="1">
        <Grid
          templateColumns={{ base: '1fr', lg: '1fr 280px' }}
          templateAreas={{ base: '"members" "share" "settings"', lg: '"share members" "share settings"' }}
          templateRows={{ lg: 'auto 1fr' }}
          columnGap="10"
          rowGap={{ base: '6', lg: '5' }}
        >
          <Box gridArea="share" minW="0">
            <PendingSharePrompt shareText={shareText} shareFiles={shareFiles} />
            <SharePanel />
          </Box>
          <Box gridArea="members" bg="bg.panel" borderWidth="1px" borderColor="border" borderRadius="l3" p="4" alignSelf="start">
            <MemberList members={members} selfId={selfId} />
            {format === 3 && safetyCode && (
              <Text fontSize="xs" color="fg.muted" mt="3" title={t('session.safetyCodeHint')}>
                {t('session.safetyCode')} <Text as="span" fontFamily="mono" data-testid="safety-code">{safetyCode}</Text>
              </Text>
            )}
            {format === 3 && <ClearPolicySwitch />}
            {format === 2 && (
              <Text fontSize="xs" color="fg.muted" mt="3" data-testid="legacy-session">
                {t('session.legacy')}
              </Text>
            )}
          </Box>
          <Stack gridArea="settings" as="section" aria-labelledby="settings-heading" gap="4" px="1" alignSelf="start">
            <Heading as="h2" id="settings-heading" fontSize="xs" fontWeight="semibold" textTransform="uppercase" letterSpacing="wider" color="fg.muted">
              {t('session.settings')}
            </Heading>
            <label>
              <Text fontSize="sm" mb="1.5">
                {t('language.label')}
              </Text>
              <LanguageSelect width="full" />
            </label>
            <ShareSettings />
            <AlertSettings />
            <RecentSetting />
            <AutoFetchSetting />
            <HistorySetting />
            <Separator />
            <StorageNote />
            <HStack gap="2" align="start" color="fg.muted" fontSize="xs">
              <ShieldCheck size={16} aria-hidden="true" style={{ flexShrink: 0 }} />
              <Text>
                {cryptoBackend === 'purejs' ? t('session.encryptedInJs') : t('session.encrypted')}{' '}
                {inbox ? t('session.relayKeeps', { wait: describeDuration(inbox.ttlMs) }) : t('session.relayOnly')}
              </Text>
            </HStack>
            <BundleHash />
          </Stack>
        </Grid>
      </Container>
    </Flex>
  );
}

/**
 * A typed session name that created a new session may be a mistake ("Family" for "family", or
 * a typo): nobody else is in it. Asked at once, so the device does not sit alone in a second
 * session believing it shares with the first.
 */
function ConfirmNewSession({ sessionId, onConfirm, onLeave }: { sessionId: string; onConfirm: () => void; onLeave: () => void }) {
  const { t } = useTranslation();
  return (
    <ConfirmDialog
      title={t('session.confirmNewTitle', { session: sessionId })}
      open
      onOpenChange={(open) => {
        if (!open) onLeave();
      }}
      action={t('session.confirmNewAction', { session: sessionId })}
      actionPalette="teal"
      onAction={onConfirm}
      focus="cancel"
    >
      <Text fontSize="sm" data-testid="confirm-new-session">
        {t('session.confirmNewBody', { session: sessionId })}
      </Text>
    </ConfirmDialog>
  );
}

interface SessionPageProps {
  room: RoomClient;
  passphrase: string;
  /** The join created a session from a typed name: ask before going on (see `ConfirmNewSession`). */
  askNew: boolean;
  onConfirmNew: () => void;
  onLeave: () => void;
}

export function SessionPage({ room, passphrase, askNew, onConfirmNew, onLeave }: SessionPageProps) {
  useEffect(() => room.onNotice(toastFor), [room]);
  useTransferGuards(room);
  const fallback = room.store.get().cryptoBackend === 'purejs';
  return (
    <RoomContext.Provider value={room}>
      <ItemExtra.Provider value={inboxMark}>
        <Box data-new-session={askNew ? 'ask' : undefined}>
          <Body passphrase={passphrase} onLeave={onLeave} fallback={fallback} />
        </Box>
        {askNew && <ConfirmNewSession sessionId={room.store.get().sessionId} onConfirm={onConfirmNew} onLeave={onLeave} />}
      </ItemExtra.Provider>
    </RoomContext.Provider>
  );
}
