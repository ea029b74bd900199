/**
 * Entering a format v3 session on a connected socket (docs/protocol.md, "Joining as a member",
 * "Admission by a member", "Invites"). With a stored room secret, or one from an invite link,
 * it answers the server's challenge and joins as a member: no passphrase, no member online.
 * With a passphrase it applies: a session that does not exist yet is created here (a new room
 * key and device key); a v2 session is reported as legacy; otherwise the device waits for a
 * member, runs the admission and, once admitted, joins as a member on the same connection. The
 * secret is saved before the member join, so a lost connection never loses an admission.
 */
import type { Socket } from 'socket.io-client';
import { t } from '../../i18n';
import type { CryptoBackend } from '../crypto/backend';
import { fromBase64, toBase64 } from '../crypto/format';
import type { Card } from '../crypto/v3/cards';
import { createDeviceKey, deviceKeyFrom, type SignatureVerifier } from '../crypto/v3/device-key';
import { derivePrs, deriveRoomKeys, joinProof, newRoomKey, type RoomSecret } from '../crypto/v3/room-keys';
import type { ApplicantStatus } from './admission/applicant';
import { ApplicantHost, type ApplyOutcome } from './admission/applicant-host';
import type { InboxTerms } from '../../types/protocol';
import type { RoomStore, StoredRoom } from './room-store';

export interface V3JoinAck {
  success: true;
  token: string;
  clientId: string;
  clients: { id: string }[];
  applicants?: string[];
  created: boolean;
  inbox?: InboxTerms;
}
type Failure = { success: false; code: string; error: string; retryAfterMs?: number };
type ApplyAck = { success: true; applicant: true; clientId: string; members: string[] } | Failure;

export type EntryIntent =
  /** Rejoin with what this browser keeps for the session. */
  | { kind: 'stored' }
  /** An invite link's secret: join directly under `name`. */
  | { kind: 'invite'; secret: RoomSecret; name: string }
  /** Name and passphrase typed: be admitted to the session, or create it when `create`. */
  | { kind: 'passphrase'; passphrase: string; name: string; create?: boolean; iterations?: number };

export type EntryResult =
  | { ok: true; ack: V3JoinAck; room: StoredRoom; admittedBy?: string }
  | { ok: false; code: 'legacy_session' | 'wrong-passphrase' | 'invalid-answer' | 'no-secret' | 'stopped' | 'timeout' | string; message: string; retryAfterMs?: number };

export interface EntryDeps {
  socket: Socket;
  sessionId: string;
  store: RoomStore;
  backend: CryptoBackend;
  verifier: SignatureVerifier;
  /** Whether device keys can live in Web Crypto (non-extractable). */
  webCryptoKeys: boolean;
  /** Ask for an inbox, should the join create the session. */
  inbox: boolean;
  timeoutMs: number;
  /** What the applicant is doing, for the page to say. */
  status?: (s: ApplicantStatus) => void;
  /** Aborts waiting for admission (the user gave up). */
  signal?: AbortSignal;
}

function ask<A>(socket: Socket, event: string, payload: object, timeoutMs: number): Promise<A | undefined> {
  return new Promise((resolve) => {
    socket.timeout(timeoutMs).emit(event, payload, (err: Error | null, ack: A) => resolve(err ? undefined : ack));
  });
}

/** Answers a fresh challenge with the room's access key: a member join (or a token rejoin). */
export async function memberJoin(deps: Pick<EntryDeps, 'socket' | 'sessionId' | 'backend' | 'inbox' | 'timeoutMs'>, room: StoredRoom, token?: string): Promise<V3JoinAck | Failure | undefined> {
  const { socket, sessionId, backend, timeoutMs } = deps;
  const challenge = await ask<{ success: true; nonce: string } | Failure>(socket, 'challenge', { sessionId }, timeoutMs);
  if (!challenge) return undefined;
  if (!challenge.success) return challenge;
  const keys = await deriveRoomKeys(backend, room);
  const proof = await joinProof(backend, keys.accessKey, sessionId, fromBase64(challenge.nonce));
  // `owner` names the creator's device to the server, which then lets it alone clear the inbox;
  // every member sends it, so a join that brings the session back names the same device.
  const owner = toBase64(room.creatorPk);
  const request = { sessionId, v: 3, access: toBase64(keys.accessKey), owner, proof: toBase64(proof), inbox: deps.inbox, ...(token ? { token } : {}) };
  return ask<V3JoinAck | Failure>(socket, 'join', request, timeoutMs);
}

async function newRoom(deps: EntryDeps, secret: RoomSecret, name: string, device?: StoredRoom['device']): Promise<StoredRoom> {
  const key = device ? deviceKeyFrom(device) : await createDeviceKey(deps.webCryptoKeys);
  return {
    ...secret,
    device: key.stored,
    name,
    seqReserved: 0,
    roster: { cards: [], records: [] },
    replay: [],
    policy: { anyoneMayClear: false },
    lastUsed: Date.now(),
  };
}

export async function enterV3(deps: EntryDeps, intent: EntryIntent): Promise<EntryResult> {
  const stored = await deps.store.get(deps.sessionId);
  if (intent.kind === 'stored' || (stored && intent.kind === 'passphrase')) {
    if (!stored) return { ok: false, code: 'no-secret', message: t('server.noKey') };
    return finishJoin(deps, { ...stored, lastUsed: Date.now() });
  }
  if (intent.kind === 'invite') return finishJoin(deps, await newRoom(deps, intent.secret, intent.name));
  return applyOrCreate(deps, intent);
}

async function finishJoin(deps: EntryDeps, room: StoredRoom, admittedBy?: string): Promise<EntryResult> {
  await deps.store.put(room);
  const ack = await memberJoin(deps, room);
  if (!ack) return { ok: false, code: 'timeout', message: t('server.timeout') };
  if (!ack.success) return { ok: false, code: ack.code, message: ack.error, retryAfterMs: ack.retryAfterMs };
  return { ok: true, ack, room, admittedBy };
}

async function applyOrCreate(deps: EntryDeps, intent: Extract<EntryIntent, { kind: 'passphrase' }>): Promise<EntryResult> {
  const { socket, sessionId, timeoutMs } = deps;
  // Derived once the server says the session is v3 (or is to be made): a legacy one needs none.
  let prs: Awaited<ReturnType<typeof derivePrs>> | undefined;
  const passphraseKey = async () => (prs ??= await derivePrs(deps.backend, intent.passphrase, sessionId, intent.iterations));
  for (;;) {
    const ack = await ask<ApplyAck>(socket, 'join', { sessionId, v: 3, apply: true }, timeoutMs);
    if (!ack) return { ok: false, code: 'timeout', message: t('server.timeout') };
    if (!ack.success && ack.code === 'no_such_session' && intent.create) {
      const device = await createDeviceKey(deps.webCryptoKeys);
      const room = await newRoom(deps, { sessionId, roomKey: newRoomKey(), creatorPk: device.publicKey, prs: await passphraseKey() }, intent.name, device.stored);
      const created = await finishJoin(deps, room);
      // Another device created it first, with its own key: apply to theirs instead.
      if (!created.ok && created.code === 'access_denied') {
        await deps.store.delete(sessionId);
        continue;
      }
      return created;
    }
    if (!ack.success) return { ok: false, code: ack.code, message: ack.error, retryAfterMs: ack.retryAfterMs };
    const device = await createDeviceKey(deps.webCryptoKeys);
    const outcome = await waitForAdmission(deps, ack.clientId, ack.members, await passphraseKey(), device, intent.name);
    if (!outcome.ok && outcome.why === 'stopped' && !deps.signal?.aborted) {
      // The connection was lost or closed (the server ends a wait past its limit): apply again.
      await reconnected(socket);
      continue;
    }
    if (!outcome.ok) return { ok: false, code: outcome.why, message: t(whyMessage[outcome.why]) };
    const { secret, cards, record } = outcome.admission;
    const room = await newRoom(deps, secret, intent.name, device.stored);
    room.roster = { cards: withoutDuplicates(cards), records: [record] };
    return finishJoin(deps, room, record.by);
  }
}

function reconnected(socket: Socket): Promise<void> {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('connect', () => resolve());
    if (!socket.active) socket.connect();
  });
}

const whyMessage = {
  'wrong-passphrase': 'server.wrongPassphrase',
  'invalid-answer': 'server.invalidAnswer',
  stopped: 'server.stopped',
} as const;

const withoutDuplicates = (cards: Card[]) => [...new Map(cards.map((c) => [c.device, c])).values()];

/** Runs the admission with the members online, and with each one that comes, until it ends. */
function waitForAdmission(
  deps: EntryDeps,
  selfId: string,
  members: string[],
  prs: Uint8Array,
  device: Awaited<ReturnType<typeof createDeviceKey>>,
  name: string,
): Promise<ApplyOutcome> {
  const { socket, sessionId } = deps;
  const host = new ApplicantHost({
    sessionId,
    prs,
    selfId,
    device,
    name,
    backend: deps.backend,
    verifier: deps.verifier,
    sendAdmit: (to, step, data) => socket.emit('admit', { sessionId, to, step, data }),
    status: (s) => deps.status?.(s),
  });
  const onAdmit = (e: { from: string; step: number; data: unknown }) => host.admit(e.from, e.step, e.data);
  const onJoined = (e: { clientId: string }) => host.memberJoined(e.clientId);
  const onLeft = (e: { clientId: string }) => host.memberLeft(e.clientId);
  // The server closes a device that waited past its limit; applying again starts afresh.
  const onDisconnect = () => host.stop();
  const onAbort = () => host.stop();
  socket.on('admit', onAdmit);
  socket.on('client-joined', onJoined);
  socket.on('client-left', onLeft);
  socket.on('disconnect', onDisconnect);
  deps.signal?.addEventListener('abort', onAbort);
  host.start(members);
  return host.outcome.finally(() => {
    socket.off('admit', onAdmit);
    socket.off('client-joined', onJoined);
    socket.off('client-left', onLeft);
    socket.off('disconnect', onDisconnect);
    deps.signal?.removeEventListener('abort', onAbort);
  });
}
