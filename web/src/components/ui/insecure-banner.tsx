/** Shown when the page is not a secure context and the pure-JS crypto fallback is in use. */
import { Alert, Link } from '@chakra-ui/react';

export function InsecureBanner() {
  const https = `https://${window.location.host}${window.location.pathname}`;
  return (
    <Alert.Root status="warning" variant="subtle" borderRadius="0" data-testid="insecure-banner">
      <Alert.Indicator />
      <Alert.Content>
        <Alert.Title>Not a secure connection</Alert.Title>
        <Alert.Description>
          This page was loaded over plain HTTP, so the browser's built-in cryptography is switched off.
          Your data is still end-to-end encrypted, using a slower JavaScript implementation of the same
          format. For the best speed and safety, open{' '}
          <Link href={https} fontWeight="medium" textDecoration="underline">
            ShareThings over HTTPS
          </Link>
          .
        </Alert.Description>
      </Alert.Content>
    </Alert.Root>
  );
}
