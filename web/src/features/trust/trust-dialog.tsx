/**
 * "Trust this server": the local certificate authority that `sharethings-setup-tls` made on the
 * server, offered by HAProxy at a fixed URL over plain HTTP (a device cannot open https:// without
 * a warning before it trusts the CA), as a QR code for phones, with its fingerprint and the steps
 * to install it on each system.
 */
import { Box, Button, chakra, Dialog, NativeSelect, QrCode, Stack, Text } from '@chakra-ui/react';
import { ShieldCheck } from 'lucide-react';
import { useState } from 'react';
import { DialogFrame } from '../../components/ui/dialog';
import { CA_PATH, caUrl, guessSystem, SYSTEMS, type SystemId } from './systems';
import { useCaFingerprint } from './use-ca-fingerprint';

export function TrustDialog() {
  const [system, setSystem] = useState<SystemId>(guessSystem);
  const url = caUrl(window.location.hostname);
  const chosen = SYSTEMS.find((s) => s.id === system) ?? SYSTEMS[0];

  return (
    <Dialog.Root placement="center" size="md" scrollBehavior="inside">
      <Dialog.Trigger asChild>
        <Button size="sm" variant="ghost" aria-label="Trust this server" px={{ base: '2', sm: '3' }}>
          <ShieldCheck />
          <Text as="span" hideBelow="sm">
            Trust this server
          </Text>
        </Button>
      </Dialog.Trigger>
      <DialogFrame title="Trust this server">
        <Stack gap="4">
          <Text fontSize="sm" color="fg.muted">
            This server's HTTPS certificate comes from a certificate authority made on it, which can vouch
            only for this server's own names. Install it once on each device; browsers then open this page
            without a warning.
          </Text>
          <Stack align="center" gap="2">
            <QrCode.Root value={url} size="lg" encoding={{ ecc: 'M' }} bg="white" p="3" borderRadius="l2">
              <QrCode.Frame>
                <QrCode.Pattern />
              </QrCode.Frame>
            </QrCode.Root>
            <chakra.a href={CA_PATH} download="sharethings-ca.crt" fontSize="sm" color="teal.fg" textDecoration="underline" wordBreak="break-all">
              {url}
            </chakra.a>
          </Stack>
          <Fingerprint />
          <NativeSelect.Root size="sm">
            <NativeSelect.Field aria-label="Your system" value={system} onChange={(e) => setSystem(e.currentTarget.value as SystemId)}>
              {SYSTEMS.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </NativeSelect.Field>
            <NativeSelect.Indicator />
          </NativeSelect.Root>
          <Box as="ol" ps="5" fontSize="sm" listStyleType="decimal">
            {chosen.steps.map((step) => (
              <Box as="li" key={step} mb="1.5">
                {step}
              </Box>
            ))}
          </Box>
        </Stack>
      </DialogFrame>
    </Dialog.Root>
  );
}

function Fingerprint() {
  const state = useCaFingerprint();
  if (state.kind === 'loading') return null;
  if (state.kind === 'missing') {
    return (
      <Text fontSize="sm" color="fg.warning">
        This server offers no CA certificate: it is not behind the HAProxy that sharethings-setup-tls configures.
      </Text>
    );
  }
  return (
    <Text fontSize="xs" color="fg.muted">
      Before trusting it, check that its SHA-256 fingerprint is the one sharethings-setup-tls printed:{' '}
      <Text as="code" fontFamily="mono" wordBreak="break-all">
        {state.fingerprint}
      </Text>
    </Text>
  );
}
