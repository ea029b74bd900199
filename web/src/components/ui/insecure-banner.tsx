/**
 * Shown when the page is not a secure context (plain HTTP) and the pure-JS crypto fallback is
 * in use. It says exactly what holds there and what does not: the content is still encrypted
 * between the devices' pages, but the page's own JavaScript can be replaced by anyone on the
 * network. On a phone only the first sentence shows until "Details" is tapped.
 */
import { Alert, Box, Button, Link, Text } from '@chakra-ui/react';
import { useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';

export function InsecureBanner() {
  const { t } = useTranslation();
  const [details, setDetails] = useState(false);
  // HTTPS is HAProxy's, on the standard port (docs/deploy.md): not the plain server's port.
  const https = `https://${window.location.hostname}/`;
  return (
    <Alert.Root status="warning" variant="subtle" borderRadius="0" py={{ base: '2', md: '3' }} px={{ base: '3', md: '4' }} data-testid="insecure-banner">
      <Alert.Indicator boxSize={{ base: '4', md: '5' }} />
      <Alert.Content>
        <Alert.Title fontSize="sm">{t('ui.insecureTitle')}</Alert.Title>
        <Alert.Description fontSize="sm">
          <Text as="span">{t('ui.insecureLead')} </Text>
          <Box as="span" display={{ base: details ? 'inline' : 'none', md: 'inline' }} id="insecure-details">
            <Trans i18nKey="ui.insecureDetails" components={{ https: <Link href={https} fontWeight="medium" textDecoration="underline" /> }} />{' '}
          </Box>
          <Button
            hideFrom="md"
            variant="plain"
            size="xs"
            h="auto"
            px="0"
            textDecoration="underline"
            color="inherit"
            aria-expanded={details}
            aria-controls="insecure-details"
            onClick={() => setDetails((d) => !d)}
          >
            {details ? t('ui.less') : t('ui.details')}
          </Button>
        </Alert.Description>
      </Alert.Content>
    </Alert.Root>
  );
}
