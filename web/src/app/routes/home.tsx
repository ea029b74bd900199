/** Home: what this is, and the join form (or the invitation this device was sent). */
import { Box, Button, Container, Flex, Heading, HStack, Stack, Text } from '@chakra-ui/react';
import { FileUp, Images, MailOpen, ShieldCheck } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ColorModeButton } from '../../components/ui/color-mode';
import { InsecureBanner } from '../../components/ui/insecure-banner';
import { Logo } from '../../components/ui/logo';
import type { Invite } from '../../config/invite';
import { HistoryDialog } from '../../features/history/components/history-dialog';
import { CreateOption } from '../../features/session/components/create-option';
import { JoinForm } from '../../features/session/components/join-form';
import { LanguageSelect } from '../../features/language/language-select';
import { PendingShareNotice } from '../../features/share-target/components/pending-share-notice';
import { TrustDialog } from '../../features/trust/trust-dialog';
import { usingFallbackCrypto } from '../../hooks/use-crypto';
import { APP_TITLE, useDocumentTitle } from '../../hooks/use-document-title';
import type { RoomClient } from '../../lib/room/room-client';

const POINTS = [
  { icon: ShieldCheck, text: 'home.pointEncrypted' },
  { icon: Images, text: 'home.pointKinds' },
  { icon: FileUp, text: 'home.pointPaste' },
] as const;

function InvitationHeading({ invite, onDecline }: { invite: Invite; onDecline: () => void }) {
  const { t } = useTranslation();
  return (
    <Stack gap="2" mb="6" data-testid="invitation">
      <HStack gap="2" color="teal.fg" fontSize="sm" fontWeight="medium">
        <MailOpen size={16} aria-hidden="true" />
        <Text>{t('home.invitation')}</Text>
      </HStack>
      <Heading as="h2" size="lg" wordBreak="break-word">
        {t('home.invited', { session: invite.sessionId })}
      </Heading>
      <Text color="fg.muted" fontSize="sm">
        {invite.passphrase ? t('home.invitedWithPassphrase') : t('home.invitedWithoutPassphrase')}
      </Text>
      <Button variant="plain" size="xs" px="0" alignSelf="start" color="fg.muted" textDecoration="underline" onClick={onDecline}>
        {t('home.declineInvitation')}
      </Button>
    </Stack>
  );
}

export function HomePage({
  invite,
  onDeclineInvite,
  onJoined,
}: {
  invite: Invite | null;
  onDeclineInvite: () => void;
  onJoined: (room: RoomClient, created: boolean, passphrase: string, askNew: boolean) => void;
}) {
  const { t } = useTranslation();
  useDocumentTitle(invite ? t('home.invitationTitle', { session: invite.sessionId, app: APP_TITLE }) : APP_TITLE);
  const [keepItems, setKeepItems] = useState(false);
  const [legacy, setLegacy] = useState(false);
  return (
    <Flex direction="column" minH="100dvh">
      {usingFallbackCrypto() && <InsecureBanner />}
      <Container maxW="6xl" py="4">
        <HStack justify="space-between">
          <Logo />
          <HStack gap="1">
            <HistoryDialog />
            <TrustDialog />
            <LanguageSelect />
            <ColorModeButton />
          </HStack>
        </HStack>
      </Container>
      <Container as="main" maxW="6xl" flex="1" display="flex" alignItems="center" py={{ base: '4', md: '10' }}>
        <Flex w="full" gap={{ base: '6', lg: '20' }} direction={{ base: 'column', lg: 'row' }} align={{ lg: 'center' }}>
          {/* Invited on a phone, the invitation comes first: the pitch waits for larger screens. */}
          <Stack flex="1" gap={{ base: '3', md: '5' }} maxW="lg" hideBelow={invite ? 'md' : undefined}>
            <Heading as="h1" fontSize={{ base: '2xl', md: '5xl' }} lineHeight="1.1" letterSpacing="-0.03em" fontWeight="bold">
              {t('home.headline')}{' '}
              <Text as="span" color="teal.fg">
                {t('home.headlineAccent')}
              </Text>
            </Heading>
            <Text color="fg.muted" fontSize={{ base: 'sm', md: 'lg' }}>
              {t('home.intro')}
            </Text>
            <Stack gap="2.5" hideBelow="md">
              {POINTS.map(({ icon: Icon, text }) => (
                <HStack key={text} gap="3" color="fg.muted">
                  <Icon size={18} aria-hidden="true" />
                  <Text>{t(text)}</Text>
                </HStack>
              ))}
            </Stack>
          </Stack>
          <Box flex="1" maxW={{ lg: 'md' }} w="full" bg="bg.panel" borderWidth="1px" borderColor="border" borderRadius="l3" p={{ base: '5', md: '8' }} shadow="sm">
            <PendingShareNotice />
            {invite ? (
              <InvitationHeading invite={invite} onDecline={onDeclineInvite} />
            ) : (
              <>
                <Heading as="h2" size="lg" mb={{ base: '5', sm: '1' }}>
                  {t('home.joinHeading')}
                </Heading>
                <Text color="fg.muted" fontSize="sm" mb="6" hideBelow="sm">
                  {t('home.joinIntro')}
                </Text>
              </>
            )}
            <JoinForm
              key={invite ? `${invite.sessionId}#${invite.passphrase ?? ''}` : ''}
              invite={invite}
              onJoined={onJoined}
              keepItems={keepItems}
              format3={!legacy}
              createOptions={
                <>
                  <CreateOption
                    name="inbox"
                    label={t('createOptions.keepItems')}
                    hint={t('createOptions.keepItemsHint')}
                    checked={keepItems}
                    onChange={setKeepItems}
                    testId="keep-items"
                  />
                  <CreateOption
                    name="legacy"
                    label={t('createOptions.legacy')}
                    hint={t('createOptions.legacyHint')}
                    checked={legacy}
                    onChange={setLegacy}
                    testId="legacy-format"
                  />
                </>
              }
            />
          </Box>
        </Flex>
      </Container>
    </Flex>
  );
}
