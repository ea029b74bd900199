/**
 * On the home page: what the share sheet brought waits here until the user is in a session
 * (then the session page offers to send it). Also reports a share that could not be kept.
 */
import { Alert, Button } from '@chakra-ui/react';
import { useEffect } from 'react';
import { toaster } from '../../../components/ui/toaster';
import { describeShares, usePendingShares } from '../hooks/use-pending-shares';
import { takeShareOutcome } from '../share-outcome';

const PROBLEMS = {
  full: 'Too many shares are already waiting. Send or discard them first.',
  empty: 'The app that shared gave nothing to send.',
  failed: 'This device could not store what was shared. Try sharing it again.',
} as const;

export function PendingShareNotice() {
  const { shares, remove } = usePendingShares();
  useEffect(() => {
    const outcome = takeShareOutcome();
    if (outcome && outcome !== 'stored') toaster.create({ type: 'error', title: 'Nothing was shared', description: PROBLEMS[outcome] });
  }, []);
  if (shares.length === 0) return null;
  return (
    <Alert.Root status="info" variant="subtle" mb="5" data-testid="pending-share-notice">
      <Alert.Indicator />
      <Alert.Content>
        <Alert.Title>Shared with ShareThings: {describeShares(shares)}</Alert.Title>
        <Alert.Description>Join a session and you will be asked to send it there. It stays on this device until then.</Alert.Description>
      </Alert.Content>
      <Button size="xs" variant="ghost" alignSelf="center" onClick={() => void remove(shares.map((s) => s.id))}>
        Discard
      </Button>
    </Alert.Root>
  );
}
