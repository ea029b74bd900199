/**
 * Says plainly when the server cannot be reached: the installed app opens from its cached
 * shell without the server, and then nothing can be sent or received until it is back. Asks
 * `/health` at start, whenever the device comes back online, and every few seconds while the
 * server is away, so the banner goes as soon as the server answers.
 */
import { Alert, Button } from '@chakra-ui/react';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';

const RETRY_MS = 5_000;
const HEALTH_TIMEOUT_MS = 8_000;

async function serverAnswers(): Promise<boolean> {
  try {
    const response = await fetch('/health', { cache: 'no-store', signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
    return response.ok;
  } catch {
    return false;
  }
}

function useServerReachable(): { reachable: boolean; check: () => void } {
  const [reachable, setReachable] = useState(true);
  const check = useCallback(() => {
    void serverAnswers().then(setReachable);
  }, []);
  useEffect(() => {
    check();
    window.addEventListener('online', check);
    return () => window.removeEventListener('online', check);
  }, [check]);
  useEffect(() => {
    if (reachable) return;
    const timer = setInterval(check, RETRY_MS);
    return () => clearInterval(timer);
  }, [reachable, check]);
  return { reachable, check };
}

export function ServerStatusBanner() {
  const { t } = useTranslation();
  const { reachable, check } = useServerReachable();
  if (reachable) return null;
  return (
    <Alert.Root status="error" variant="subtle" borderRadius="0" data-testid="server-unreachable">
      <Alert.Indicator />
      <Alert.Content>
        <Alert.Title>{t('ui.unreachableTitle')}</Alert.Title>
        <Alert.Description>{t('ui.unreachableDetail', { host: window.location.host })}</Alert.Description>
      </Alert.Content>
      <Button size="sm" variant="outline" alignSelf="center" onClick={check}>
        {t('common.tryAgain')}
      </Button>
    </Alert.Root>
  );
}
