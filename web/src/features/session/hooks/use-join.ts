/** Joining (or creating) a session from the home page: pending state and a readable error. */
import { useCallback, useRef, useState } from 'react';
import { getCryptoClient } from '../../../hooks/use-crypto';
import { type JoinResult, RoomClient } from '../../../lib/room/room-client';
import { settings } from '../../../config/settings';
import type { ApplicantStatus } from '../../../lib/membership/admission/applicant';
import { decodeSecretKey } from '../../../lib/crypto/v3/room-keys';

/** `until`: a lockout's end (ms since the epoch), for a countdown that ticks. */
export type JoinError = { title: string; detail: string; until?: number };

/** The server's defaults (`JOIN_LIMIT_PER_ADDRESS` failed joins per `JOIN_LIMIT_WINDOW`). */
export const JOIN_LIMIT = 10;
const JOIN_WINDOW_MS = 60_000;
/** From this many wrong passphrases in a window on, the error warns of the lockout ahead. */
const WARN_AFTER = 5;

export function describeJoinFailure(r: Extract<JoinResult, { ok: false }>): JoinError {
  switch (r.code) {
    case 'invalid_passphrase':
      return { title: 'Wrong passphrase', detail: 'This session exists with a different passphrase. Check it and try again.' };
    case 'session_full':
      return { title: 'Session is full', detail: 'This session has reached its member limit. Ask someone to leave, or start a new one.' };
    case 'server_full':
      return { title: 'Server is busy', detail: 'The server has reached its capacity. Try again in a little while.' };
    case 'rate_limited':
      return { title: 'Too many attempts', detail: 'Too many failed joins from this device.', until: Date.now() + (r.retryAfterMs ?? 60_000) };
    case 'unreachable':
      return { title: 'Server unreachable', detail: 'Could not reach the ShareThings server. Check your network connection.' };
    case 'timeout':
      return { title: 'No answer', detail: 'The server did not answer in time. Try again.' };
    case 'wrong-passphrase':
      return { title: 'Wrong passphrase', detail: 'A member of this session checked it: it is not this session’s passphrase. Check it and try again.' };
    case 'invalid-answer':
      return { title: 'Not admitted', detail: r.message };
    case 'access_denied':
      return { title: 'Not admitted', detail: 'This session no longer accepts this browser’s key. Join again with its passphrase.' };
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
  /** Format v3: what this device does while a member admits it. */
  const [applying, setApplying] = useState<ApplicantStatus | null>(null);
  /** When this tab's recent wrong passphrases happened, to warn before the server locks it out. */
  const wrong = useRef<number[]>([]);
  /** Stops waiting to be admitted (format v3), when the user gives up. */
  const waiting = useRef<AbortController | null>(null);

  /**
   * `inbox`: should this join create the session, keep items for devices that join later;
   * `invite`: a member's invite, from an invite link.
   */
  const join = useCallback(async (sessionId: string, clientName: string, passphrase: string, { inbox = false, invite, createV3 = false, key }: { inbox?: boolean; invite?: string; createV3?: boolean; key?: string } = {}) => {
    setPending(true);
    setError(null);
    setApplying(null);
    setAttempt((n) => n + 1);
    const stop = new AbortController();
    waiting.current = stop;
    try {
      const r = await RoomClient.join({
        sessionId,
        clientName,
        passphrase,
        inbox,
        invite,
        format: 3,
        createV3,
        secret: key ? decodeSecretKey(sessionId, key) : undefined,
        applying: setApplying,
        signal: stop.signal,
        crypto: getCryptoClient(),
        recentWindowMs: () => settings.recentMinutes() * 60_000,
        autoFetchBytes: () => settings.autoFetchMiB() * 1024 * 1024,
      });
      if (r.ok) {
        settings.setName(r.room.store.get().clientName);
        settings.setLastSession(sessionId);
        onJoined(r.room, r.created, passphrase);
      } else if (!stop.signal.aborted) {
        const described = describeJoinFailure(r);
        if (r.code === 'invalid_passphrase') {
          const now = Date.now();
          wrong.current = [...wrong.current.filter((t) => now - t < JOIN_WINDOW_MS), now];
          const n = wrong.current.length;
          if (n >= JOIN_LIMIT) {
            described.detail += ` That is ${n} wrong tries this minute: the server now refuses joins from this device for a minute, even with the right passphrase.`;
          } else if (n >= WARN_AFTER) {
            described.detail += ` That is ${n} wrong tries this minute: after ${JOIN_LIMIT}, the server refuses joins from this device for a minute, even with the right passphrase.`;
          }
        }
        setError(described);
      }
    } catch (err) {
      setError({ title: 'Could not join', detail: err instanceof Error ? err.message : String(err) });
    } finally {
      waiting.current = null;
      setPending(false);
      setApplying(null);
    }
  }, [onJoined]);

  const stopWaiting = useCallback(() => waiting.current?.abort(), []);

  return { join, pending, error, attempt, applying, stopWaiting };
}
