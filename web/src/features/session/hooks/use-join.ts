/** Joining (or creating) a session from the home page: pending state and a readable error. */
import { useCallback, useRef, useState } from 'react';
import { getCryptoClient } from '../../../hooks/use-crypto';
import { type JoinResult, RoomClient } from '../../../lib/room/room-client';
import { settings } from '../../../config/settings';
import type { FailedJoins } from '../../../types/protocol';
import type { ApplicantStatus } from '../../../lib/membership/admission/applicant';
import { decodeSecretKey } from '../../../lib/crypto/v3/room-keys';
import { t } from '../../../i18n';
import { describeDuration } from '../../../i18n/duration';

/** `until`: a lockout's end (ms since the epoch), for a countdown that ticks. */
export type JoinError = { title: string; detail: string; until?: number };

/** From this many wrong passphrases in the server's window on, the error warns of the lockout ahead. */
const WARN_AFTER = 5;

/**
 * The lockout ahead, by the server's own count, limit and window (`failedJoins`, hostile input
 * like all it sends: a field that is not a plain whole number, or a window under a second, says nothing).
 */
function lockoutWarning(failed: FailedJoins | undefined): string {
  if (!failed || ![failed.count, failed.limit, failed.windowMs].every(Number.isSafeInteger) || failed.windowMs < 1000) return '';
  const { count, limit } = failed;
  const window = describeDuration(failed.windowMs);
  if (count >= limit) return ` ${t('joinError.lockedOut', { tries: count, window })}`;
  if (count >= WARN_AFTER) return ` ${t('joinError.lockoutAhead', { tries: count, limit, window })}`;
  return '';
}

export function describeJoinFailure(r: Extract<JoinResult, { ok: false }>): JoinError {
  switch (r.code) {
    case 'invalid_passphrase':
      return { title: t('joinError.wrongPassphrase'), detail: t('joinError.wrongPassphraseServer') + lockoutWarning(r.failedJoins) };
    case 'session_full':
      return { title: t('joinError.sessionFull'), detail: t('joinError.sessionFullDetail') };
    case 'server_full':
      return { title: t('joinError.serverFull'), detail: t('joinError.serverFullDetail') };
    case 'rate_limited':
      return { title: t('joinError.rateLimited'), detail: t('joinError.rateLimitedDetail'), until: Date.now() + (r.retryAfterMs ?? 60_000) };
    case 'unreachable':
      return { title: t('joinError.unreachable'), detail: t('joinError.unreachableDetail') };
    case 'timeout':
      return { title: t('joinError.timeout'), detail: t('joinError.timeoutDetail') };
    case 'wrong-passphrase':
      return { title: t('joinError.wrongPassphrase'), detail: t('joinError.wrongPassphraseMember') };
    case 'invalid-answer':
      return { title: t('joinError.notAdmitted'), detail: r.message };
    case 'access_denied':
      return { title: t('joinError.notAdmitted'), detail: t('joinError.accessDeniedDetail') };
    case 'invalid_request':
      return { title: t('joinError.notAccepted'), detail: r.message || t('joinError.notAcceptedDetail') };
    default:
      return { title: t('joinError.couldNotJoin'), detail: r.message || t('joinError.couldNotJoinDetail') };
  }
}

export function useJoin(onJoined: (room: RoomClient, created: boolean, passphrase: string) => void) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<JoinError | null>(null);
  // Counts attempts, so the same error shown twice is announced twice.
  const [attempt, setAttempt] = useState(0);
  /** Format v3: what this device does while a member admits it. */
  const [applying, setApplying] = useState<ApplicantStatus | null>(null);
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
        setError(describeJoinFailure(r));
      }
    } catch (err) {
      setError({ title: t('joinError.couldNotJoin'), detail: err instanceof Error ? err.message : String(err) });
    } finally {
      waiting.current = null;
      setPending(false);
      setApplying(null);
    }
  }, [onJoined]);

  const stopWaiting = useCallback(() => waiting.current?.abort(), []);

  return { join, pending, error, attempt, applying, stopWaiting };
}
