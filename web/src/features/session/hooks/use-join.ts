/** Joining (or creating) a session from the home page: pending state and a readable error. */
import { useCallback, useState } from 'react';
import { getCryptoClient } from '../../../hooks/use-crypto';
import { type JoinResult, RoomClient } from '../../../lib/room/room-client';
import { settings } from '../../../config/settings';

export type JoinError = { title: string; detail: string };

export function describeJoinFailure(r: Extract<JoinResult, { ok: false }>): JoinError {
  switch (r.code) {
    case 'invalid_passphrase':
      return { title: 'Wrong passphrase', detail: 'This session exists with a different passphrase. Check it and try again.' };
    case 'session_full':
      return { title: 'Session is full', detail: 'This session has reached its member limit. Ask someone to leave, or start a new one.' };
    case 'server_full':
      return { title: 'Server is busy', detail: 'The server has reached its capacity. Try again in a little while.' };
    case 'rate_limited': {
      const s = Math.max(1, Math.ceil((r.retryAfterMs ?? 60_000) / 1000));
      return { title: 'Too many attempts', detail: `Too many failed joins. Try again in ${s} second${s === 1 ? '' : 's'}.` };
    }
    case 'unreachable':
      return { title: 'Server unreachable', detail: 'Could not reach the ShareThings server. Check your network connection.' };
    case 'timeout':
      return { title: 'No answer', detail: 'The server did not answer in time. Try again.' };
    case 'invalid_request':
      return { title: 'Not accepted', detail: r.message || 'The server did not accept these details.' };
    default:
      return { title: 'Could not join', detail: r.message || 'Something went wrong on the server.' };
  }
}

export function useJoin(onJoined: (room: RoomClient, created: boolean, passphrase: string) => void) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<JoinError | null>(null);
  // Counts attempts, so the same error shown twice is announced twice.
  const [attempt, setAttempt] = useState(0);

  /**
   * `inbox`: should this join create the session, keep items for devices that join later;
   * `invite`: a member's invite, from an invite link.
   */
  const join = useCallback(async (sessionId: string, clientName: string, passphrase: string, { inbox = false, invite }: { inbox?: boolean; invite?: string } = {}) => {
    setPending(true);
    setError(null);
    setAttempt((n) => n + 1);
    try {
      const r = await RoomClient.join({
        sessionId,
        clientName,
        passphrase,
        inbox,
        invite,
        crypto: getCryptoClient(),
        recentWindowMs: () => settings.recentMinutes() * 60_000,
        autoFetchBytes: () => settings.autoFetchMiB() * 1024 * 1024,
      });
      if (r.ok) {
        settings.setName(clientName);
        settings.setLastSession(sessionId);
        onJoined(r.room, r.created, passphrase);
      } else {
        setError(describeJoinFailure(r));
      }
    } catch (err) {
      setError({ title: 'Could not join', detail: err instanceof Error ? err.message : String(err) });
    } finally {
      setPending(false);
    }
  }, [onJoined]);

  return { join, pending, error, attempt };
}
