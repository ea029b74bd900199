/** How a received item ends, in words its user reads: a sender's ending, or this device's. */
import { ChunkError } from '../chunking';
import { AuthError, DiskError } from '../crypto/errors';
import type { CancelNotice } from '../../types/protocol';
import { t } from '../../i18n';
import { formatBytes } from '../../utils/format';

export function noSpace(size: number, left: number): string {
  return t('transfer.noSpace', { size: formatBytes(size), left: formatBytes(left) });
}

/** Why this device could not keep an item. */
export function reasonFor(err: unknown): string {
  if (err instanceof AuthError) return t('transfer.integrity');
  if (err instanceof DiskError) return err.message;
  if (err instanceof ChunkError) return t('transfer.corrupt');
  return err instanceof Error ? err.message : String(err);
}

/** How an item ends here when its sender stopped it, and why. */
export function senderEnding(reason: CancelNotice['reason'], sender: string): { state: 'cancelled' | 'failed'; error: string } {
  switch (reason) {
    case 'cancelled':
      return { state: 'cancelled', error: t('transfer.cancelledBy', { sender }) };
    case 'unreadable':
      return { state: 'failed', error: t('transfer.unreadable', { sender }) };
    case 'failed':
      return { state: 'failed', error: t('transfer.senderFailed', { sender }) };
    case 'left':
      return { state: 'cancelled', error: t('transfer.senderLeft', { sender }) };
  }
}
