/** How a received item ends, in words its user reads: a sender's ending, or this device's. */
import { ChunkError } from '../chunking';
import { AuthError, DiskError } from '../crypto/errors';
import type { CancelNotice } from '../../types/protocol';
import { formatBytes } from '../../utils/format';

export function noSpace(size: number, left: number): string {
  return `not enough free space on this device: it needs ${formatBytes(size)}, this browser lets ShareThings store ${formatBytes(left)} more`;
}

/** Why this device could not keep an item. */
export function reasonFor(err: unknown): string {
  if (err instanceof AuthError) return 'integrity check failed';
  if (err instanceof DiskError) return err.message;
  if (err instanceof ChunkError) return 'corrupt transfer';
  return err instanceof Error ? err.message : String(err);
}

/** How an item ends here when its sender stopped it, and why. */
export function senderEnding(reason: CancelNotice['reason'], sender: string): { state: 'cancelled' | 'failed'; error: string } {
  switch (reason) {
    case 'cancelled':
      return { state: 'cancelled', error: `Cancelled by ${sender}` };
    case 'unreadable':
      return { state: 'failed', error: `${sender}'s device could not read the file any more` };
    case 'failed':
      return { state: 'failed', error: `sending failed on ${sender}'s device` };
    case 'left':
      return { state: 'cancelled', error: `${sender} closed ShareThings before sending all of it` };
  }
}
