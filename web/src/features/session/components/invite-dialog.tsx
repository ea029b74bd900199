/**
 * Invite: a link that opens the session, optionally carrying the passphrase in the URL
 * fragment (never sent to a server), and its QR code for phones. The link also carries an
 * invite from the server, asked for when the dialog opens, so a join through it is not held
 * back by strangers guessing at the session's name. The QR code is always dark on white with
 * a quiet zone of at least four modules, whatever the colour mode, so cameras read it. The
 * passphrase box starts unticked every time the dialog opens.
 */
import { Alert, Box, Button, Checkbox, Dialog, HStack, Input, QrCode, Stack, Text } from '@chakra-ui/react';
import { Check, Copy, UserPlus } from 'lucide-react';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { DialogFrame } from '../../../components/ui/dialog';
import { buildInviteLink, isLoopback } from '../../../config/invite';
import { useCopy } from '../../../hooks/use-copy';
import { useRoom, useRoomValue } from '../../../hooks/use-room';

/** The server's invite for this session, once it answered (the link works without it too). */
function useInviteToken(): string | undefined {
  const room = useRoom();
  const [token, setToken] = useState<string>();
  useEffect(() => {
    let current = true;
    // A format 3 session's link carries its key instead: the server makes no invites for it.
    if (room.inviteKey()) return;
    void room.invite().then((t) => current && setToken(t));
    return () => {
      current = false;
    };
  }, [room]);
  return token;
}

/** 200 px of pattern; the smallest code a link needs has 25 modules, so 32 px is ≥ 4 modules. */
const QR_QUIET_ZONE = '32px';

function InviteBody({ sessionId, passphrase }: { sessionId: string; passphrase: string }) {
  const { t } = useTranslation();
  const [withPass, setWithPass] = useState(false);
  const { copied, copy } = useCopy();
  const token = useInviteToken();
  const key = useRoom().inviteKey();
  const safetyCode = useRoomValue('safetyCode');
  const link = buildInviteLink(window.location.origin, key ? { sessionId, key } : { sessionId, passphrase: withPass ? passphrase : undefined, token });
  const local = isLoopback(window.location.hostname);
  return (
    <Stack gap="4" align="center">
      {local && (
        <Alert.Root status="warning" data-testid="invite-localhost">
          <Alert.Indicator />
          <Alert.Description fontSize="sm">
            {t('invite.localhost', { host: window.location.hostname })}
          </Alert.Description>
        </Alert.Root>
      )}
      <Box bg="white" color="#111" p={QR_QUIET_ZONE} borderRadius="l2" borderWidth="1px" borderColor="border" data-testid="invite-qr">
        <QrCode.Root value={link} size="xl" encoding={{ ecc: 'M' }}>
          <QrCode.Frame>
            <QrCode.Pattern />
          </QrCode.Frame>
        </QrCode.Root>
      </Box>
      <Text fontSize="sm" color="fg.muted" textAlign="center">
        {key || withPass ? t('invite.opensAndJoins', { session: sessionId }) : t('invite.opensNeedsPassphrase', { session: sessionId })}
      </Text>
      {key && (
        <Text fontSize="sm" color="orange.fg" alignSelf="start">
          {t('invite.carriesKey')}
        </Text>
      )}
      {key && safetyCode && (
        <Text fontSize="sm" color="fg.muted" alignSelf="start">
          {t('invite.safetyCode')}{' '}
          <Text as="span" fontFamily="mono" data-testid="invite-safety-code">
            {safetyCode}
          </Text>
        </Text>
      )}
      <HStack w="full">
        <Input readOnly value={link} aria-label={t('invite.link')} onFocus={(e) => e.currentTarget.select()} fontSize="sm" />
        <Button onClick={() => void copy(link)} variant="subtle" aria-label={copied ? t('invite.linkCopied') : t('invite.copyLink')} colorPalette={copied ? 'green' : undefined}>
          {copied ? <Check /> : <Copy />}
        </Button>
      </HStack>
      {!key && (
      <Checkbox.Root checked={withPass} onCheckedChange={(d) => setWithPass(d.checked === true)} alignSelf="start">
        <Checkbox.HiddenInput />
        <Checkbox.Control />
        <Checkbox.Label>{t('invite.includePassphrase')}</Checkbox.Label>
      </Checkbox.Root>
      )}
      {!key && withPass && (
        <Text fontSize="sm" color="orange.fg" alignSelf="start">
          {t('invite.carriesPassphrase')}
        </Text>
      )}
    </Stack>
  );
}

export function InviteDialog({ sessionId, passphrase }: { sessionId: string; passphrase: string }) {
  const { t } = useTranslation();
  return (
    <Dialog.Root placement="center" size="sm" lazyMount unmountOnExit>
      <Dialog.Trigger asChild>
        <Button size="sm" variant="outline" aria-label={t('session.inviteDevice')} px={{ base: '2', sm: '3' }}>
          <UserPlus />
          <Text as="span" hideBelow="sm">
            {t('session.invite')}
          </Text>
        </Button>
      </Dialog.Trigger>
      <DialogFrame title={t('session.inviteDevice')}>
        <InviteBody sessionId={sessionId} passphrase={passphrase} />
      </DialogFrame>
    </Dialog.Root>
  );
}
