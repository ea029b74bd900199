/**
 * Shown when the page is not a secure context (plain HTTP) and the pure-JS crypto fallback is
 * in use. It says exactly what holds there and what does not: the content is still encrypted
 * between the devices' pages, but the page's own JavaScript can be replaced by anyone on the
 * network. On a phone only the first sentence shows until "Details" is tapped.
 */
import { Alert, Box, Button, Link, Text } from '@chakra-ui/react';
import { useState } from 'react';

export function InsecureBanner() {
  const [details, setDetails] = useState(false);
  // HTTPS is HAProxy's, on the standard port (docs/deploy.md): not the plain server's port.
  const https = `https://${window.location.hostname}/`;
  return (
    <Alert.Root status="warning" variant="subtle" borderRadius="0" py={{ base: '2', md: '3' }} px={{ base: '3', md: '4' }} data-testid="insecure-banner">
      <Alert.Indicator boxSize={{ base: '4', md: '5' }} />
      <Alert.Content>
        <Alert.Title fontSize="sm">Plain HTTP: the page itself is not protected</Alert.Title>
        <Alert.Description fontSize="sm">
          <Text as="span">
            Content is still encrypted between your devices' pages, but anyone on this network can replace the page's
            JavaScript.{' '}
          </Text>
          <Box as="span" display={{ base: details ? 'inline' : 'none', md: 'inline' }} id="insecure-details">
            Replaced JavaScript could read everything you share or receive. The browser's built-in cryptography is also off
            over HTTP, so a slower JavaScript version of the same encryption is used, and browsers allow neither
            notifications nor the app's clipboard and install features on such a page.{' '}
            <Link href={https} fontWeight="medium" textDecoration="underline">
              Open ShareThings over HTTPS
            </Link>{' '}
            (if this server was set up with it) to protect the page too.
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
            {details ? 'Less' : 'Details'}
          </Button>
        </Alert.Description>
      </Alert.Content>
    </Alert.Root>
  );
}
