/**
 * Opening a format v3 room (docs/protocol.md, "Format v3"): connects, enters (stored secret,
 * invite secret, or passphrase: create, or apply and be admitted), and builds what the room
 * needs from the kept secret: its keys, this device's key, the roster, the replay windows, the
 * `seq` counter and the codec, all saved back to the room-secret store as they change. The
 * connection rejoins with the token, or with a fresh proof, on every reconnect. Loaded on
 * demand, so format v2 pages do not carry it.
 */
import type { Socket } from 'socket.io-client';
import { pickBackend } from '../crypto/engine';
import { deviceKeyFrom, pickVerifier, webCryptoHasEd25519 } from '../crypto/v3/device-key';
import { toBase64Url } from '../crypto/v3/lv';
import { deriveRoomKeys } from '../crypto/v3/room-keys';
import { type Connect, Connection, type JoinStrategy, type OpenResult } from '../room/connection';
import type { JoinAck } from '../../types/protocol';
import type { ApplicantStatus } from './admission/applicant';
import { ReplayWindows } from './replay-windows';
import { RoomCodec } from './room-codec';
import { RoomStore, SeqCounter, type StoredRoom } from './room-store';
import { Roster } from './roster';
import { enterV3, type EntryIntent, type EntryResult, memberJoin, type V3JoinAck } from './v3-entry';
import { V3Room } from './v3-room';

export interface OpenV3Options {
  sessionId: string;
  intent: EntryIntent;
  inbox: boolean;
  status?: (s: ApplicantStatus) => void;
  signal?: AbortSignal;
  url?: string;
  connect?: Connect;
  joinTimeoutMs?: number;
  store?: RoomStore;
}

export type OpenV3Result =
  | (Extract<OpenResult, { ok: true }> & { v3: V3Room; admittedBy?: string })
  | { ok: false; code: string; message: string; retryAfterMs?: number };

const asJoinAck = (ack: V3JoinAck): JoinAck => ({ ...ack, clients: ack.clients.map((c) => ({ id: c.id, name: '' })) });

let sharedStore: Promise<RoomStore> | undefined;
const roomStore = () => (sharedStore ??= RoomStore.open());

export async function openV3(opts: OpenV3Options): Promise<OpenV3Result> {
  const backend = pickBackend();
  const [store, verifier, webCryptoKeys] = await Promise.all([opts.store ?? roomStore(), pickVerifier(), webCryptoHasEd25519()]);
  let entered: EntryResult | undefined;
  const strategy: JoinStrategy = {
    async enter(socket: Socket, timeoutMs: number) {
      entered = await enterV3({ socket, sessionId: opts.sessionId, store, backend, verifier, webCryptoKeys, inbox: opts.inbox, timeoutMs, status: opts.status, signal: opts.signal }, opts.intent);
      if (entered.ok) return asJoinAck(entered.ack);
      return { success: false, code: entered.code as never, error: entered.message, retryAfterMs: entered.retryAfterMs };
    },
    async rejoin(socket: Socket, token: string, inbox: boolean, timeoutMs: number) {
      if (!entered?.ok) return undefined;
      const ack = await memberJoin({ socket, sessionId: opts.sessionId, backend, inbox, timeoutMs }, entered.room, token);
      if (!ack) return undefined;
      return ack.success ? asJoinAck(ack) : { success: false, code: ack.code as never, error: ack.error, retryAfterMs: ack.retryAfterMs };
    },
    // The session holds another room key now (it expired and someone made it anew): we are out.
    ends: (code) => code === 'access_denied',
  };
  const r = await Connection.open({
    sessionId: opts.sessionId,
    clientName: '',
    fingerprint: undefined,
    strategy,
    inbox: opts.inbox,
    url: opts.url,
    connect: opts.connect,
    // An applicant waits for a member for as long as the server lets it.
    joinTimeoutMs: opts.joinTimeoutMs,
  });
  if (!r.ok) return r;
  if (!entered?.ok) return { ok: false, code: 'internal', message: 'Joined without a room secret.' };
  const v3 = await buildRoom(store, entered.room, backend, verifier);
  return { ...r, v3, admittedBy: entered.admittedBy };
}

async function buildRoom(store: RoomStore, room: StoredRoom, backend: ReturnType<typeof pickBackend>, verifier: Awaited<ReturnType<typeof pickVerifier>>): Promise<V3Room> {
  const keys = await deriveRoomKeys(backend, room);
  const device = deviceKeyFrom(room.device);
  const roster = Roster.from(toBase64Url(room.creatorPk), room.roster);
  const replay = ReplayWindows.from(room.replay);
  const policy = { ...room.policy };
  let saving: Promise<void> = Promise.resolve();
  const save = (patch: Partial<StoredRoom> = {}) => {
    Object.assign(room, patch, { roster: roster.toStored(), replay: replay.toStored(), policy: { ...policy }, lastUsed: Date.now() });
    const snapshot = { ...room };
    saving = saving.then(() => store.put(snapshot)).catch(() => undefined);
    return saving;
  };
  const seq = new SeqCounter(async () => {
    const reserved = await store.reserveSeq(room.sessionId);
    room.seqReserved = Math.max(room.seqReserved, reserved);
    return reserved;
  });
  let pending: ReturnType<typeof setTimeout> | undefined;
  const codec = new RoomCodec({
    keys: { backend, content: await backend.aeadKey(keys.contentKey), epoch: keys.epoch, verifier },
    device,
    nextSeq: () => seq.next(),
    replay,
    roster,
    policy,
    // Saved a moment later, so a burst of items writes once.
    changed: () => {
      pending ??= setTimeout(() => {
        pending = undefined;
        void save();
      }, 200);
    },
  });
  return new V3Room({ room, keys, device, verifier, backend, roster, codec, forget: () => store.delete(room.sessionId) });
}
