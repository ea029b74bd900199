/**
 * One ShareThings room (the UI says "session") as seen from this browser: the Socket.IO
 * connection, join and token rejoin, the member list, and every item sent or received with
 * its transfer. No React, no Chakra: the UI reads `store` snapshots and calls methods; results
 * come back as values (`JoinResult`) or `notices`, never as toasts or redirects from here.
 *
 * What the server sees: the session name (in `join`, and hashed in the routing key), the
 * fingerprint, our display name, item ids, chunk counts and ciphertext sizes. Never the
 * passphrase, keys, file names, types, sizes or content: those are sealed in the worker.
 *
 * Flow control: at most MAX_UNACKED_CHUNKS chunks per sender wait for an ack; file slices are
 * read only when about to be sent, so a 1 GiB file costs a few chunks of memory.
 * Reconnects: after a token rejoin, our transfers continue from the first chunk without an ack,
 * and we ask senders to resend whatever we are still missing.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { chunkCount, chunkRange, ChunkError, Reassembler } from '../chunking';
import type { CryptoClient } from '../crypto/crypto-client';
import { AuthError } from '../crypto/errors';
import { chunkAad, fromBase64, MAX_UNACKED_CHUNKS, metaAad, toBase64 } from '../crypto/format';
import { routeKey } from '../realtime/route';
import type {
  ChunkEvent,
  ContentEvent,
  ErrorCode,
  Failure,
  ItemMeta,
  JoinAck,
  Member,
  MemberEvent,
  RemovedEvent,
  SealedMeta,
  ServerError,
  SimpleAck,
} from '../../types/protocol';
import { newContentId } from './ids';
import { SpeedMeter } from './speed';
import { Store } from './store';

export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'closed';

export type TransferState = 'sending' | 'receiving' | 'done' | 'failed' | 'cancelled';

export interface Item {
  id: string;
  from: string;
  senderName: string;
  mine: boolean;
  kind: ItemMeta['kind'];
  name: string;
  mime: string;
  size: number;
  width?: number;
  height?: number;
  createdAt: number;
  state: TransferState;
  /** Bytes sent (acknowledged) or received so far. */
  transferred: number;
  bytesPerSecond: number;
  /** The assembled content once complete (or the original, for our own items). */
  blob?: Blob;
  text?: string;
  error?: string;
}

export interface RoomState {
  sessionId: string;
  clientName: string;
  selfId: string;
  status: ConnectionStatus;
  members: Member[];
  items: Item[];
  cryptoBackend: 'webcrypto' | 'purejs';
}

export type Notice =
  | { kind: 'member-joined'; name: string }
  | { kind: 'member-left'; name: string }
  | { kind: 'received'; name: string; from: string }
  | { kind: 'cleared'; byName: string }
  | { kind: 'undecryptable' }
  | { kind: 'transfer-failed'; name: string; reason: string }
  | { kind: 'rejoin-failed'; code: ErrorCode | 'unreachable'; message: string }
  | { kind: 'replaced' };

export type JoinResult =
  | { ok: true; room: RoomClient; created: boolean }
  | { ok: false; code: ErrorCode | 'unreachable' | 'timeout'; message: string; retryAfterMs?: number };

export interface JoinOptions {
  sessionId: string;
  clientName: string;
  passphrase: string;
  crypto: CryptoClient;
  /** Own items younger than this are re-sent to members who join later. */
  recentWindowMs: () => number;
  /** Socket.IO URL; same origin when omitted. */
  url?: string;
  /** Opens the Socket.IO connection; tests pass a fake. Defaults to socket.io-client's `io`. */
  connect?: (url: string, options: Partial<ManagerOptions & SocketOptions>) => Socket;
  joinTimeoutMs?: number;
}

/** A sealed item we can send: our own items keep their Blob so they can be re-sent. */
interface Outgoing {
  item: Item;
  blob: Blob;
  totalChunks: number;
  sealedMeta: { iv: string; data: Uint8Array };
  cancelled: boolean;
}

/** One delivery of an outgoing item: to everyone, or to one member (`to`) from a chunk on. */
interface SendJob {
  out: Outgoing;
  to?: string;
  fromChunk: number;
  /** Only the first job of an item (to everyone) reports progress. */
  reportsProgress: boolean;
  /** Set when the server refused a chunk: this delivery ends, the item stays shareable. */
  stopped?: boolean;
}

interface Incoming {
  from: string;
  reassembler: Reassembler<Blob>;
  meter: SpeedMeter;
  bytes: number;
}

const JOIN_TIMEOUT_MS = 15_000;
const MAX_ORPHAN_CHUNKS = 64;

export class RoomClient {
  readonly store: Store<RoomState>;
  private readonly noticeListeners = new Set<(n: Notice) => void>();
  private token = '';
  private closed = false;
  /** Bumped on every (re)join; acks from an older connection are ignored. */
  private generation = 0;
  private joined = false;
  private readonly outgoing = new Map<string, Outgoing>();
  private readonly incoming = new Map<string, Incoming>();
  /** Chunks that arrived before their item's metadata (bounded). */
  private readonly orphans = new Map<string, ChunkEvent[]>();
  /** Items removed or cancelled here: late chunks for them are dropped. */
  private readonly dropped = new Set<string>();
  private queue: SendJob[] = [];
  private pumping = false;
  private wake: (() => void) | undefined;
  private warnedUndecryptable = false;

  private constructor(
    private readonly socket: Socket,
    private readonly opts: JoinOptions,
    private readonly keyId: number,
    private readonly fingerprint: unknown,
    selfId: string,
    members: Member[],
    token: string,
    backend: RoomState['cryptoBackend'],
  ) {
    this.token = token;
    this.joined = true;
    this.store = new Store<RoomState>({
      sessionId: opts.sessionId,
      clientName: opts.clientName,
      selfId,
      status: 'connected',
      members,
      items: [],
      cryptoBackend: backend,
    });
    this.listen();
  }

  /**
   * Derives the keys (in the worker), connects with the session's routing key and joins.
   * Creates the session when it does not exist; `created` says which happened.
   */
  static async join(opts: JoinOptions): Promise<JoinResult> {
    const derived = await opts.crypto.derive(opts.passphrase, opts.sessionId);
    const socket = (opts.connect ?? io)(opts.url ?? '', {
      query: { route: routeKey(opts.sessionId) },
      // We connect explicitly below, after the listeners are in place.
      autoConnect: false,
      reconnectionDelayMax: 4000,
    });
    const fail = (r: Extract<JoinResult, { ok: false }>): JoinResult => {
      socket.disconnect();
      opts.crypto.forget(derived.keyId);
      return r;
    };
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), opts.joinTimeoutMs ?? JOIN_TIMEOUT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
      // The first failed attempt is enough to say so; socket.io would keep retrying quietly.
      socket.once('connect_error', () => {
        clearTimeout(timer);
        resolve(false);
      });
      socket.connect();
    });
    if (!connected) {
      return fail({ ok: false, code: 'unreachable', message: 'The server could not be reached.' });
    }
    const ack = await emitJoin(socket, {
      sessionId: opts.sessionId,
      clientName: opts.clientName,
      fingerprint: derived.fingerprint,
    }, opts.joinTimeoutMs ?? JOIN_TIMEOUT_MS);
    if (!ack) return fail({ ok: false, code: 'timeout', message: 'The server did not answer in time.' });
    if (!ack.success) {
      return fail({ ok: false, code: ack.code, message: ack.error, retryAfterMs: ack.retryAfterMs });
    }
    const room = new RoomClient(
      socket,
      opts,
      derived.keyId,
      derived.fingerprint,
      ack.clientId,
      ack.clients,
      ack.token,
      derived.backend,
    );
    return { ok: true, room, created: ack.created };
  }

  onNotice(listener: (n: Notice) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }

  private notify(n: Notice) {
    for (const l of this.noticeListeners) l(n);
  }

  private patch(p: Partial<RoomState>, soon = false) {
    const next = { ...this.store.get(), ...p };
    if (soon) this.store.setSoon(next);
    else this.store.set(next);
  }

  private patchItem(id: string, p: Partial<Item>, soon = false) {
    const s = this.store.get();
    if (!s.items.some((i) => i.id === id)) return;
    this.patch({ items: s.items.map((i) => (i.id === id ? { ...i, ...p } : i)) }, soon);
    const out = this.outgoing.get(id);
    if (out) out.item = { ...out.item, ...p };
  }

  private addItem(item: Item) {
    const items = [item, ...this.store.get().items].sort((a, b) => b.createdAt - a.createdAt);
    this.patch({ items });
  }

  private memberName(id: string): string {
    return this.store.get().members.find((m) => m.id === id)?.name ?? 'Someone';
  }

  // ---- connection lifecycle -------------------------------------------------------------

  private listen() {
    const s = this.socket;
    s.on('connect', () => void this.rejoin());
    s.on('disconnect', (reason) => {
      this.joined = false;
      this.generation++;
      this.kick();
      if (this.closed) return;
      // "io server disconnect" does not reconnect by itself; ask again.
      if (reason === 'io server disconnect') s.connect();
      this.patch({ status: navigator.onLine === false ? 'offline' : 'reconnecting' });
    });
    s.io.on('reconnect_attempt', () => {
      if (!this.closed && !this.joined) {
        this.patch({ status: navigator.onLine === false ? 'offline' : 'reconnecting' });
      }
    });
    s.on('client-joined', (e: MemberEvent) => this.onMemberJoined(e));
    s.on('client-left', (e: MemberEvent) => this.onMemberLeft(e));
    s.on('content', (e: ContentEvent) => void this.onContent(e));
    s.on('chunk', (e: ChunkEvent) => void this.onChunk(e));
    s.on('content-removed', (e: RemovedEvent) => this.removeLocal(e.contentId));
    s.on('all-content-cleared', (e: RemovedEvent) => this.onCleared(e.from));
    s.on('error', (e: ServerError) => {
      if (e?.code === 'replaced') {
        // Another connection took over our membership (same token): stop fighting over it.
        this.notify({ kind: 'replaced' });
        this.shutdown();
      }
    });
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
    document.addEventListener('visibilitychange', this.onVisible);
  }

  /**
   * Going offline: drop the connection now instead of waiting for a ping timeout, so the
   * badge tells the truth and transfers pause at once; coming back reconnects and rejoins.
   */
  private readonly onOffline = () => {
    if (this.closed) return;
    this.patch({ status: 'offline' });
    this.socket.disconnect();
  };

  private readonly onOnline = () => {
    if (this.closed) return;
    this.patch({ status: 'reconnecting' });
    if (!this.socket.connected) this.socket.connect();
  };

  /** A phone waking from sleep: the socket may be long dead; try at once. */
  private readonly onVisible = () => {
    if (!this.closed && document.visibilityState === 'visible' && !this.socket.connected) {
      this.socket.connect();
    }
  };

  /** Joins again on a new connection with our token (same clientId), then resumes. */
  private async rejoin() {
    if (this.closed || this.joined) return;
    const s = this.store.get();
    const ack = await emitJoin(this.socket, {
      sessionId: s.sessionId,
      clientName: s.clientName,
      token: this.token,
      fingerprint: this.fingerprint,
    }, JOIN_TIMEOUT_MS);
    if (this.closed) return;
    if (!ack || !ack.success) {
      const code = ack ? ack.code : 'unreachable';
      this.notify({ kind: 'rejoin-failed', code, message: ack ? ack.error : 'No answer from the server.' });
      if (ack?.code === 'invalid_passphrase') {
        this.shutdown();
        return;
      }
      // Try again on this connection after a pause (the server may say how long).
      const delay = ack && !ack.success && ack.retryAfterMs ? ack.retryAfterMs : 3000;
      setTimeout(() => {
        if (this.socket.connected) void this.rejoin();
      }, delay);
      return;
    }
    this.token = ack.token;
    this.joined = true;
    this.generation++;
    this.patch({ status: 'connected', selfId: ack.clientId, members: ack.clients });
    this.requestMissing();
    this.kick();
  }

  /** Leaves the session for good: tells the server, closes the connection, forgets the key. */
  leave() {
    if (this.closed) return;
    if (this.socket.connected) this.socket.emit('leave', { sessionId: this.store.get().sessionId });
    this.shutdown();
  }

  private shutdown() {
    this.closed = true;
    this.joined = false;
    this.queue = [];
    this.kick();
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    document.removeEventListener('visibilitychange', this.onVisible);
    this.socket.disconnect();
    this.opts.crypto.forget(this.keyId);
    this.patch({ status: 'closed' });
  }

  // ---- members --------------------------------------------------------------------------

  private onMemberJoined(e: MemberEvent) {
    const s = this.store.get();
    const members = [...s.members.filter((m) => m.id !== e.clientId), { id: e.clientId, name: e.clientName }];
    this.patch({ members });
    this.notify({ kind: 'member-joined', name: e.clientName });
    // Late joiner: give them our recent items, to them only. The server stores nothing.
    const since = Date.now() - this.opts.recentWindowMs();
    const recent = [...this.outgoing.values()]
      .filter((o) => !o.cancelled && o.item.createdAt >= since)
      .sort((a, b) => a.item.createdAt - b.item.createdAt);
    for (const out of recent) this.enqueue({ out, to: e.clientId, fromChunk: 0, reportsProgress: false });
  }

  private onMemberLeft(e: MemberEvent) {
    const s = this.store.get();
    this.patch({ members: s.members.filter((m) => m.id !== e.clientId) });
    this.notify({ kind: 'member-left', name: e.clientName });
    // Deliveries meant only for them are pointless now; a running one notices on wake-up.
    this.queue = this.queue.filter((j) => j.to !== e.clientId);
    this.kick();
  }

  // ---- sending --------------------------------------------------------------------------

  /** Seals the metadata and queues the item for everyone. Resolves once it is queued. */
  async share(blob: Blob, meta: Omit<ItemMeta, 'senderName' | 'createdAt' | 'size'>, text?: string) {
    const s = this.store.get();
    const full: ItemMeta = { ...meta, size: blob.size, senderName: s.clientName, createdAt: Date.now() };
    const id = newContentId();
    const totalChunks = chunkCount(blob.size);
    const sealed = await this.opts.crypto.seal(this.keyId, encodeJson(full), metaAad(id));
    const item: Item = {
      id,
      from: s.selfId,
      senderName: full.senderName,
      mine: true,
      kind: full.kind,
      name: full.name,
      mime: full.mime,
      size: full.size,
      width: full.width,
      height: full.height,
      createdAt: full.createdAt,
      state: s.members.length > 1 ? 'sending' : 'done',
      transferred: s.members.length > 1 ? 0 : full.size,
      bytesPerSecond: 0,
      blob,
      text,
    };
    const out: Outgoing = { item, blob, totalChunks, sealedMeta: { iv: toBase64(sealed.iv), data: sealed.data }, cancelled: false };
    this.outgoing.set(id, out);
    this.addItem(item);
    if (s.members.length > 1) this.enqueue({ out, fromChunk: 0, reportsProgress: true });
    return id;
  }

  /** Stops sending our item and asks everyone to drop it. */
  cancel(id: string) {
    const out = this.outgoing.get(id);
    if (out) {
      out.cancelled = true;
      this.queue = this.queue.filter((j) => j.out !== out);
      this.patchItem(id, { state: 'cancelled', bytesPerSecond: 0 });
      if (this.joined) this.socket.emit('remove-content', { sessionId: this.store.get().sessionId, contentId: id });
      this.kick();
      return;
    }
    // Receiving: drop what we have and ignore the rest.
    this.incoming.delete(id);
    this.dropped.add(id);
    this.patchItem(id, { state: 'cancelled', bytesPerSecond: 0 });
  }

  /** Removes an item from this device only. */
  removeLocal(id: string) {
    const out = this.outgoing.get(id);
    if (out) {
      out.cancelled = true;
      this.queue = this.queue.filter((j) => j.out !== out);
      this.outgoing.delete(id);
    }
    this.incoming.delete(id);
    this.orphans.delete(id);
    this.dropped.add(id);
    this.patch({ items: this.store.get().items.filter((i) => i.id !== id) });
  }

  /** Clears every item for everyone; the server echoes `all-content-cleared` to us too. */
  clearAll() {
    if (this.joined) this.socket.emit('clear-all-content', { sessionId: this.store.get().sessionId });
  }

  private onCleared(from?: string) {
    for (const out of this.outgoing.values()) out.cancelled = true;
    for (const id of this.incoming.keys()) this.dropped.add(id);
    this.outgoing.clear();
    this.incoming.clear();
    this.orphans.clear();
    this.queue = [];
    this.patch({ items: [] });
    const self = this.store.get().selfId;
    this.notify({ kind: 'cleared', byName: from === undefined || from === self ? 'You' : this.memberName(from) });
  }

  private enqueue(job: SendJob) {
    this.queue.push(job);
    if (!this.pumping) void this.pump();
  }

  /** Wakes the pump (an ack arrived, or the connection changed). */
  private kick() {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /** Runs send jobs one after another; only one pump runs at a time. */
  private async pump() {
    this.pumping = true;
    try {
      for (let job = this.queue.shift(); job && !this.closed; job = this.queue.shift()) {
        await this.runJob(job);
      }
    } finally {
      this.pumping = false;
    }
  }

  private async runJob(job: SendJob) {
    const { out } = job;
    const total = out.totalChunks;
    const acked = new Set<number>();
    const inflight = new Set<number>();
    let next = job.fromChunk;
    let gen = -1;
    const meter = new SpeedMeter();
    let ackedBytes = 0;
    const sessionId = () => this.store.get().sessionId;
    const todo = total - job.fromChunk;

    while (acked.size < todo) {
      if (out.cancelled || job.stopped || this.closed) return;
      if (job.to !== undefined && !this.store.get().members.some((m) => m.id === job.to)) return;
      if (!this.joined) {
        await this.sleep();
        continue;
      }
      if (gen !== this.generation) {
        // A new connection: whatever had no ack may be lost; send the metadata again (the
        // receiver ignores a duplicate) and continue from the first chunk without an ack.
        gen = this.generation;
        inflight.clear();
        next = job.fromChunk;
        while (acked.has(next)) next++;
        const ok = await this.emitAck('content', {
          sessionId: sessionId(),
          content: { contentId: out.item.id, format: 2, totalChunks: total, iv: out.sealedMeta.iv },
          data: out.sealedMeta.data,
          ...(job.to !== undefined ? { to: job.to } : {}),
        });
        if (ok === 'retry') continue;
        if (ok !== 'ok') return this.failJob(job, ok);
      }
      if (inflight.size >= MAX_UNACKED_CHUNKS || next >= total) {
        await this.sleep();
        continue;
      }
      const index = next++;
      if (acked.has(index)) continue;
      const [start, end] = chunkRange(index, out.blob.size);
      // Read only this slice now: the whole file is never in memory.
      const plain = new Uint8Array(await out.blob.slice(start, end).arrayBuffer());
      const sealed = await this.opts.crypto.seal(this.keyId, plain, chunkAad(out.item.id, index, total));
      if (gen !== this.generation || !this.joined || out.cancelled) continue;
      inflight.add(index);
      const sentGen = gen;
      void this.emitAck('chunk', {
        sessionId: sessionId(),
        chunk: { contentId: out.item.id, chunkIndex: index, totalChunks: total, encryptedData: sealed.data, iv: toBase64(sealed.iv) },
        ...(job.to !== undefined ? { to: job.to } : {}),
      }).then((r) => {
        if (sentGen !== this.generation) return;
        inflight.delete(index);
        if (r === 'ok') {
          if (acked.has(index)) return this.kick();
          acked.add(index);
          ackedBytes += end - start;
          if (job.reportsProgress) {
            this.patchItem(out.item.id, { transferred: ackedBytes, bytesPerSecond: meter.update(performance.now(), ackedBytes) }, true);
          }
        } else if (r !== 'retry' && !job.stopped) {
          job.stopped = true;
          this.failJob(job, r);
        }
        this.kick();
      });
    }
    if (job.reportsProgress) this.patchItem(out.item.id, { state: 'done', transferred: out.blob.size, bytesPerSecond: 0 });
  }

  private failJob(job: SendJob, reason: string) {
    if (!job.reportsProgress) return;
    this.patchItem(job.out.item.id, { state: 'failed', error: reason, bytesPerSecond: 0 });
    this.notify({ kind: 'transfer-failed', name: job.out.item.name, reason });
  }

  /**
   * Emits with an ack. 'retry' means the connection went away before the ack (the pump will
   * resend after the rejoin); anything else but 'ok' is the server's refusal message.
   */
  private emitAck(event: 'content' | 'chunk', payload: object): Promise<'ok' | 'retry' | string> {
    const gen = this.generation;
    return new Promise((resolve) => {
      const onDisconnect = () => resolve('retry');
      this.socket.once('disconnect', onDisconnect);
      this.socket.emit(event, payload, (ack: SimpleAck | undefined) => {
        this.socket.off('disconnect', onDisconnect);
        if (gen !== this.generation) return resolve('retry');
        if (!ack || ack.success) return resolve('ok');
        // not_joined after a reconnect race: rejoin and resend.
        if (ack.code === 'not_joined') return resolve('retry');
        resolve(ack.error || ack.code);
      });
    });
  }

  // ---- receiving ------------------------------------------------------------------------

  private async onContent(e: ContentEvent) {
    const env = e.content;
    const from = e.from ?? '';
    if (!env || env.format !== 2 || typeof env.contentId !== 'string' || this.dropped.has(env.contentId)) return;
    let meta: SealedMeta;
    try {
      const plain = await this.opts.crypto.open(this.keyId, fromBase64(env.iv), toBytes(e.data), metaAad(env.contentId));
      meta = JSON.parse(new TextDecoder().decode(plain)) as SealedMeta;
    } catch {
      if (!this.warnedUndecryptable) {
        this.warnedUndecryptable = true;
        this.notify({ kind: 'undecryptable' });
      }
      return;
    }
    if (meta.kind === 'resend') {
      const out = this.outgoing.get(meta.contentId);
      if (out && !out.cancelled) {
        this.enqueue({ out, to: from, fromChunk: Math.max(0, Math.min(meta.fromChunk, out.totalChunks - 1)), reportsProgress: false });
      }
      return;
    }
    if (this.store.get().items.some((i) => i.id === env.contentId)) {
      this.flushOrphans(env.contentId);
      return;
    }
    let reassembler: Reassembler<Blob>;
    try {
      reassembler = new Reassembler<Blob>(env.totalChunks);
    } catch {
      return;
    }
    this.incoming.set(env.contentId, { from, reassembler, meter: new SpeedMeter(), bytes: 0 });
    this.addItem({
      id: env.contentId,
      from,
      senderName: meta.senderName,
      mine: false,
      kind: meta.kind,
      name: meta.name,
      mime: meta.mime,
      size: meta.size,
      width: meta.width,
      height: meta.height,
      createdAt: meta.createdAt,
      state: 'receiving',
      transferred: 0,
      bytesPerSecond: 0,
    });
    this.flushOrphans(env.contentId);
  }

  private flushOrphans(id: string) {
    const waiting = this.orphans.get(id);
    if (!waiting) return;
    this.orphans.delete(id);
    for (const c of waiting) void this.onChunk(c);
  }

  private async onChunk(e: ChunkEvent) {
    const c = e.chunk;
    if (!c || typeof c.contentId !== 'string' || this.dropped.has(c.contentId)) return;
    const inc = this.incoming.get(c.contentId);
    if (!inc) {
      if (this.store.get().items.some((i) => i.id === c.contentId)) return; // already complete
      const list = this.orphans.get(c.contentId) ?? [];
      if (list.length < MAX_ORPHAN_CHUNKS) list.push(e);
      this.orphans.set(c.contentId, list);
      return;
    }
    if (inc.reassembler.has(c.chunkIndex)) return;
    let plain: Uint8Array<ArrayBuffer>;
    try {
      if (c.totalChunks !== inc.reassembler.totalChunks) throw new ChunkError('chunk count changed');
      plain = await this.opts.crypto.open(
        this.keyId,
        fromBase64(c.iv),
        toBytes(c.encryptedData),
        chunkAad(c.contentId, c.chunkIndex, c.totalChunks),
      );
      if (inc.reassembler.accept(c.chunkIndex, c.totalChunks, new Blob([plain])) === 'duplicate') return;
    } catch (err) {
      if (this.incoming.get(c.contentId) !== inc) return;
      this.incoming.delete(c.contentId);
      this.dropped.add(c.contentId);
      const reason = err instanceof AuthError ? 'integrity check failed' : 'corrupt transfer';
      this.patchItem(c.contentId, { state: 'failed', error: reason, bytesPerSecond: 0 });
      return;
    }
    if (this.incoming.get(c.contentId) !== inc) return; // cancelled meanwhile
    inc.bytes += plain.length;
    const item = this.store.get().items.find((i) => i.id === c.contentId);
    if (!item) return;
    if (!inc.reassembler.complete) {
      this.patchItem(c.contentId, { transferred: inc.bytes, bytesPerSecond: inc.meter.update(performance.now(), inc.bytes) }, true);
      return;
    }
    this.incoming.delete(c.contentId);
    const blob = new Blob(inc.reassembler.assemble(), { type: item.mime || 'application/octet-stream' });
    const text = item.kind === 'text' ? await blob.text() : undefined;
    this.patchItem(c.contentId, { state: 'done', transferred: item.size, bytesPerSecond: 0, blob, text });
    this.notify({ kind: 'received', name: item.name, from: item.senderName });
  }

  /** After a rejoin: ask each sender for what we still miss of their items. */
  private requestMissing() {
    const members = new Set(this.store.get().members.map((m) => m.id));
    for (const [contentId, inc] of this.incoming) {
      if (!members.has(inc.from)) continue;
      const req: SealedMeta = { kind: 'resend', contentId, fromChunk: inc.reassembler.firstMissing() };
      void this.sendControl(inc.from, req);
    }
  }

  private async sendControl(to: string, msg: SealedMeta) {
    const id = newContentId();
    const sealed = await this.opts.crypto.seal(this.keyId, encodeJson(msg), metaAad(id));
    this.socket.emit('content', {
      sessionId: this.store.get().sessionId,
      content: { contentId: id, format: 2, totalChunks: 0, iv: toBase64(sealed.iv) },
      data: sealed.data,
      to,
    });
  }
}

function emitJoin(socket: Socket, req: object, timeoutMs: number): Promise<JoinAck | undefined> {
  return new Promise((resolve) => {
    socket.timeout(timeoutMs).emit('join', req, (err: Error | null, ack: JoinAck) => {
      resolve(err ? undefined : normalizeAck(ack));
    });
  });
}

function normalizeAck(ack: JoinAck): JoinAck {
  if (ack && typeof ack === 'object' && 'success' in ack) return ack;
  return { success: false, code: 'internal', error: 'Unexpected answer from the server.' } satisfies Failure;
}

const encodeJson = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

function toBytes(data: ArrayBuffer | Uint8Array): Uint8Array<ArrayBuffer> {
  return data instanceof Uint8Array ? new Uint8Array(data) : new Uint8Array(data);
}
