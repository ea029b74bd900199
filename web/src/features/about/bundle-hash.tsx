/**
 * About: the bundle hash of the web app this page was served, the SHA-256 of the server's
 * `/bundle.json` (docs/cli.md, "Checking the served web app"). `sharethings-cli verify` prints
 * the same hash for a genuine release, so a person can compare the two.
 */
import { Text } from '@chakra-ui/react';
import { sha256 } from '@noble/hashes/sha2.js';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { toHex } from '../../lib/crypto/format';

/** The manifest is a few kilobytes; anything much larger is not one. */
const MAX_MANIFEST_BYTES = 1 << 20;

async function bundleHash(): Promise<string | undefined> {
  const res = await fetch('/bundle.json', { cache: 'no-store' });
  if (!res.ok) return undefined;
  const bytes = new Uint8Array(await res.arrayBuffer());
  return bytes.length <= MAX_MANIFEST_BYTES ? toHex(sha256(bytes)) : undefined;
}

export function BundleHash() {
  const { t } = useTranslation();
  const [hash, setHash] = useState<string>();
  useEffect(() => {
    let live = true;
    bundleHash()
      .then((h) => live && setHash(h))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);
  if (!hash) return null;
  return (
    <Text fontSize="xs" color="fg.muted" title={t('session.bundleHint')}>
      {t('session.bundle')}{' '}
      <Text as="span" fontFamily="mono" wordBreak="break-all" data-testid="bundle-hash">
        {hash}
      </Text>
    </Text>
  );
}
