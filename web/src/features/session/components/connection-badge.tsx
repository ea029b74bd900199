/** Connection state as it is, not as we hope: connected, reconnecting, offline. */
import { Badge, Spinner } from '@chakra-ui/react';
import type { ConnectionStatus } from '../../../lib/room/room-client';

const VIEW: Record<ConnectionStatus, { label: string; palette: string }> = {
  connecting: { label: 'Connecting', palette: 'gray' },
  connected: { label: 'Connected', palette: 'green' },
  reconnecting: { label: 'Reconnecting', palette: 'orange' },
  offline: { label: 'Offline', palette: 'red' },
  closed: { label: 'Disconnected', palette: 'gray' },
};

export function ConnectionBadge({ status }: { status: ConnectionStatus }) {
  const v = VIEW[status];
  return (
    <Badge colorPalette={v.palette} variant="subtle" size="md" borderRadius="full" px="2.5" flexShrink={0} role="status" data-testid="connection" data-status={status}>
      {status === 'reconnecting' || status === 'connecting' ? (
        <Spinner size="xs" />
      ) : (
        <svg width="8" height="8" aria-hidden="true">
          <circle cx="4" cy="4" r="4" fill="currentColor" />
        </svg>
      )}
      {v.label}
    </Badge>
  );
}
