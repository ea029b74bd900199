/**
 * "Trust this server": the local certificate authority that `sharethings-setup-tls` made on the
 * server, offered by HAProxy at a fixed URL over plain HTTP (a device cannot open https:// without
 * a warning before it trusts the CA), as a QR code for phones, with its fingerprint and the steps
 * to install it on each system.
 */
import { Box, Button, chakra, Dialog, NativeSelect, QrCode, Stack, Text } from '@chakra-ui/react';
import { ShieldCheck } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { DialogFrame } from '../../components/ui/dialog';
import { CA_PATH, caUrl, guessSystem, SYSTEMS, type SystemId } from './systems';
import { useCaFingerprint } from './use-ca-fingerprint';

export function TrustDialog() {
  const { t } = useTranslation();
  const [system, setSystem] = useState<SystemId>(guessSystem);
  const url = caUrl(window.location.hostname);
  const chosen = SYSTEMS.find((s) => s.id === system) ?? SYSTEMS[0];

  return (
    <Dialog.Root placement="center" size="md" scrollBehavior="inside">
      <Dialog.Trigger asChild>
        <Button size="sm" variant="ghost" aria-label={t('trust.button')} px={{ base: '2', sm: '3' }}>
          <ShieldCheck />
          <Text as="span" hideBelow="sm">
            {t('trust.button')}
          </Text>
        </Button>
      </Dialog.Trigger>
      <DialogFrame title={t('trust.button')}>
        <Stack gap="4">
          <Text fontSize="sm" color="fg.muted">
            {t('trust.intro')}
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
            <NativeSelect.Field aria-label={t('trust.system')} value={system} onChange={(e) => setSystem(e.currentTarget.value as SystemId)}>
              {SYSTEMS.map((s) => (
                <option key={s.id} value={s.id}>
                  {t(`trust.${s.id}`)}
                </option>
              ))}
            </NativeSelect.Field>
            <NativeSelect.Indicator />
          </NativeSelect.Root>
          <Box as="ol" ps="5" fontSize="sm" listStyleType="decimal">
            {Array.from({ length: chosen.steps }, (_, i) => (
              <Box as="li" key={i} mb="1.5">
                {t(`trust.${chosen.id}Step${i + 1}` as 'trust.iosStep1')}
              </Box>
            ))}
          </Box>
        </Stack>
      </DialogFrame>
    </Dialog.Root>
  );
}

function Fingerprint() {
  const { t } = useTranslation();
  const state = useCaFingerprint();
  if (state.kind === 'loading') return null;
  if (state.kind === 'missing') {
    return (
      <Text fontSize="sm" color="fg.warning">
        {t('trust.missing')}
      </Text>
    );
  }
  return (
    <Text fontSize="xs" color="fg.muted">
      {t('trust.fingerprint')}{' '}
      <Text as="code" fontFamily="mono" wordBreak="break-all">
        {state.fingerprint}
      </Text>
    </Text>
  );
}
