/**
 * Invite: a link that pre-fills the session name, optionally carrying the passphrase in the URL
 * fragment (never sent to a server), and its QR code for phones.
 */
import { Button, Checkbox, CloseButton, Dialog, HStack, Input, Portal, QrCode, Stack, Text } from '@chakra-ui/react';
import { Check, Copy, UserPlus } from 'lucide-react';
import { useState } from 'react';
import { buildInviteLink } from '../../../config/invite';

export function InviteDialog({ sessionId, passphrase }: { sessionId: string; passphrase: string }) {
  const [withPass, setWithPass] = useState(false);
  const [copied, setCopied] = useState(false);
  const link = buildInviteLink(window.location.origin, { sessionId, passphrase: withPass ? passphrase : undefined });

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(link);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // Clipboard refused (insecure context): the field stays selectable for a manual copy.
    }
  };

  return (
    <Dialog.Root placement="center" size="sm">
      <Dialog.Trigger asChild>
        <Button size="sm" variant="outline" aria-label="Invite a device" px={{ base: '2', sm: '3' }}>
          <UserPlus />
          <Text as="span" hideBelow="sm">
            Invite
          </Text>
        </Button>
      </Dialog.Trigger>
      <Portal>
        <Dialog.Backdrop />
        <Dialog.Positioner>
          <Dialog.Content>
            <Dialog.Header>
              <Dialog.Title>Invite a device</Dialog.Title>
            </Dialog.Header>
            <Dialog.Body>
              <Stack gap="4" align="center">
                <QrCode.Root value={link} size="xl" encoding={{ ecc: 'M' }} bg="white" p="3" borderRadius="l2">
                  <QrCode.Frame>
                    <QrCode.Pattern />
                  </QrCode.Frame>
                </QrCode.Root>
                <Text fontSize="sm" color="fg.muted" textAlign="center">
                  Scan with a phone, or send the link. {withPass ? 'It opens the session directly.' : 'They will need the passphrase too.'}
                </Text>
                <HStack w="full">
                  <Input readOnly value={link} aria-label="Invite link" onFocus={(e) => e.currentTarget.select()} fontSize="sm" />
                  <Button onClick={copy} variant="subtle" aria-label="Copy invite link">
                    {copied ? <Check /> : <Copy />}
                  </Button>
                </HStack>
                <Checkbox.Root checked={withPass} onCheckedChange={(d) => setWithPass(d.checked === true)} alignSelf="start">
                  <Checkbox.HiddenInput />
                  <Checkbox.Control />
                  <Checkbox.Label>Include the passphrase in the link</Checkbox.Label>
                </Checkbox.Root>
                {withPass && (
                  <Text fontSize="xs" color="fg.warning" alignSelf="start">
                    Anyone with this link or QR code can join and read everything shared. It stays in the
                    link's #fragment, which is never sent to the server.
                  </Text>
                )}
              </Stack>
            </Dialog.Body>
            <Dialog.CloseTrigger asChild>
              <CloseButton size="sm" />
            </Dialog.CloseTrigger>
          </Dialog.Content>
        </Dialog.Positioner>
      </Portal>
    </Dialog.Root>
  );
}
