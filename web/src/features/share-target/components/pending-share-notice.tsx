/**
 * On the home page: what the share sheet brought waits here until the user is in a session
 * (then the session page offers to send it). Also reports a share that could not be kept.
 */
import { Alert, Button } from '@chakra-ui/react';
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { i18n } from '../../../i18n';
import { toaster } from '../../../components/ui/toaster';
import { describeShares, usePendingShares } from '../hooks/use-pending-shares';
import { takeShareOutcome } from '../share-outcome';

const PROBLEMS = { full: 'shares.full', empty: 'shares.empty', failed: 'shares.failed' } as const;

export function PendingShareNotice() {
  const { t } = useTranslation();
  const { shares, remove } = usePendingShares();
  useEffect(() => {
    const outcome = takeShareOutcome();
    if (outcome && outcome !== 'stored') toaster.create({ type: 'error', title: i18n.t('shares.nothingShared'), description: i18n.t(PROBLEMS[outcome]) });
  }, []);
  if (shares.length === 0) return null;
  return (
    <Alert.Root status="info" variant="subtle" mb="5" data-testid="pending-share-notice">
      <Alert.Indicator />
      <Alert.Content>
        <Alert.Title>{t('shares.waiting', { what: describeShares(shares) })}</Alert.Title>
        <Alert.Description>{t('shares.waitingDetail')}</Alert.Description>
      </Alert.Content>
      <Button size="xs" variant="ghost" alignSelf="center" onClick={() => void remove(shares.map((s) => s.id))}>
        {t('common.discard')}
      </Button>
    </Alert.Root>
  );
}
