/** Connection state as it is, not as we hope: connected, reconnecting, offline. */
import { Badge, Spinner } from '@chakra-ui/react';
import { useTranslation } from 'react-i18next';
import type { ConnectionStatus } from '../../../lib/room/room-client';

const VIEW = {
  connecting: { label: 'session.connecting', palette: 'gray' },
  connected: { label: 'session.connected', palette: 'green' },
  reconnecting: { label: 'session.reconnecting', palette: 'orange' },
  offline: { label: 'session.offline', palette: 'red' },
  closed: { label: 'session.disconnected', palette: 'gray' },
} as const satisfies Record<ConnectionStatus, { label: string; palette: string }>;

export function ConnectionBadge({ status }: { status: ConnectionStatus }) {
  const { t } = useTranslation();
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
      {t(v.label)}
    </Badge>
  );
}
