/**
 * Our own items and their deliveries. One pump serves every delivery ("job": an item to
 * everyone, or some of its chunks to one member), round-robin, with two limits: at most
 * MAX_UNACKED_CHUNKS chunks on the wire without an ack (the protocol's flow control), and up to
 * PIPELINE_CHUNKS more already read and sealed in the worker, so that encryption runs ahead of
 * the ack window instead of after each ack. The page never touches file bytes: the worker reads
 * each slice and hands back ciphertext, which goes straight to the socket.
 *
 * Reconnects: chunks without an ack are sent again after the rejoin, metadata first. A file
 * that becomes unreadable fails the item here and tells the receivers (a sealed `cancel`).
 * A page that closes tells them too (`goodbye`, with a `cancel` sealed in advance, as a closing
 * page cannot wait for the worker). Receivers confirm an item once they have all of it, and the
 * item lists who did (`deliveredTo`). Until everyone here has it, a picked file is remembered
 * by name (`disk/partials.ts`): a page that comes back offers it again once it is picked again.
 */
import { chunkRange, type ChunkRanges, rangeIndices } from '../chunking';
import { ReadError } from '../crypto/errors';
import { MAX_UNACKED_CHUNKS } from '../crypto/format';
import type { CancelNotice, ItemMeta, Member } from '../../types/protocol';
import type { Connection } from './connection';
import type { SealedEnvelope } from './envelopes';
import { newContentId } from './ids';
import type { Item, ItemBoard } from './items';
import type { Notice } from './notices';
import { type ItemSource, type RoomSealing, type SealedChunk, sealControlWith } from './sealing';
import type { UnsentItem } from '../disk/partials';
import { t } from '../../i18n';

/** Chunks read and sealed ahead of the ack window. */
export const PIPELINE_CHUNKS = 8;
/**
 * The pipeline is topped up once this many places are free, all in one message to the worker
 * (see `CryptoClient`): one message per chunk cost each side a wake-up of the other.
 */
export const SEAL_BATCH = 4;
/**
 * Chunks we may send a receiver beyond what it reported written. The server acks once a chunk
 * is queued for the receiver, not once it is stored there: without this, a receiver whose disk
 * or CPU is slower than the network would pile chunks up in memory.
 */
export const RECEIVER_WINDOW = 96;
/** A receiver that has not reported for this long (an old client, or it stopped) no longer holds us back. */
export const REPORT_SILENCE_MS = 5000;

interface Outgoing extends ItemSource {
  meta: ItemMeta;
  totalChunks: number;
  sealed: SealedEnvelope;
  /** The one member it is for (docs/protocol.md, `to`); everyone when undefined. */
  to?: string;
  /** The same metadata marked `offered`, for late joiners; sealed on first use. */
  offer?: Promise<SealedEnvelope>;
  stopped?: CancelNotice['reason'];
  /** Per receiver: chunks of this item picked for it, and when the first was. */
  sent: Map<string, { count: number; first: number }>;
  /** Per receiver: its last progress report. */
  reports: Map<string, { have: number; at: number }>;
  /** The sealed `cancel` a closing page sends, once sealed. */
  goodbye?: SealedEnvelope;
}

interface Job {
  out: Outgoing;
  /** One member, or everyone when undefined. */
  to?: string;
  /** Who this delivery is for (everyone here when it started, or `to`): whose pace it keeps. */
  targets: Set<string>;
  /** Chunk indices still to read, descending (the next one is at the end). */
  pending: number[];
  /** Emitted and waiting for an ack. */
  inflight: Set<number>;
  total: number;
  acked: number;
  ackedBytes: number;
  /** The connection generation in which this job's metadata was last sent. */
  announced: number;
  /** Only the delivery to everyone shows progress on our item. */
  reportsProgress: boolean;
}

interface ReadyChunk {
  job: Job;
  index: number;
  sealed: SealedChunk;
  bytes: number;
}

export interface SenderContext {
  connection: Connection;
  sealing: RoomSealing;
  board: ItemBoard;
  notify(n: Notice): void;
  members(): Member[];
  selfId(): string;
  clientName(): string;
  /** Items younger than this are offered to members who join later. */
  recentWindowMs(): number;
  /** The session keeps an inbox: items go to the server even when no other member is here. */
  keepsForAbsent?(): boolean;
  sessionId: string;
  /** Remembers (or forgets) a file being sent, for a page after this one; none in tests. */
  rememberUnsent?(u: UnsentItem): void;
  forgetUnsent?(id: string): void;
}

export class Sender {
  private readonly outgoing = new Map<string, Outgoing>();
  /** Items an earlier page was sending, until their file is picked again. */
  private readonly unsent = new Map<string, UnsentItem>();
  private jobs: Job[] = [];
  private ready: ReadyChunk[] = [];
  private sealing = 0;
  private inflight = 0;
  private turn = 0;
  private closed = false;
  private recheck?: ReturnType<typeof setTimeout>;

  constructor(private readonly ctx: SenderContext) {}

  /**
   * Seals the metadata and starts sending, to everyone or to the member `to` alone (the server
   * relays it to no one else; it is neither kept in the inbox nor offered to later joiners).
   * Resolves to the item id once queued.
   */
  async share(blob: Blob, meta: Omit<ItemMeta, 'senderName' | 'createdAt' | 'size'>, text?: string, to?: string): Promise<string> {
    const { sealing, board } = this.ctx;
    const addressee = to === undefined ? undefined : this.ctx.members().find((m) => m.id === to);
    if (to !== undefined && !addressee) throw new Error('that member is not in the session any more');
    const full: ItemMeta = { ...meta, size: blob.size, senderName: this.ctx.clientName(), createdAt: Date.now() };
    const id = newContentId();
    const totalChunks = sealing.chunkCount(blob.size);
    const out = this.keep({ id, blob, meta: full, totalChunks, sealed: await sealing.envelope(full, id, totalChunks), to });
    const sending = addressee !== undefined || this.ctx.members().length > 1 || this.ctx.keepsForAbsent?.() === true;
    const item: Item = {
      id,
      from: this.ctx.selfId(),
      senderName: full.senderName,
      mine: true,
      kind: full.kind,
      name: full.name,
      mime: full.mime,
      size: full.size,
      width: full.width,
      height: full.height,
      createdAt: full.createdAt,
      state: sending ? 'sending' : 'done',
      transferred: sending ? 0 : full.size,
      bytesPerSecond: 0,
      blob,
      text,
      files: full.files,
      toName: addressee?.name,
    };
    board.add(item);
    if (sending) {
      // A page after this one offers a remembered item to everyone: not so for one member's.
      if (blob instanceof File && to === undefined) this.ctx.rememberUnsent?.({ id, sessionId: this.ctx.sessionId, meta: full, totalChunks, lastModified: blob.lastModified, savedAt: Date.now() });
      this.addJob(out, to, rangeIndices([[0, totalChunks]], totalChunks));
    }
    return id;
  }

  /** Items an earlier page of this session was sending: shown, waiting for their file to be picked again. */
  restore(unsent: UnsentItem[]) {
    for (const u of unsent) {
      if (this.outgoing.has(u.id) || this.ctx.board.get(u.id)) continue;
      this.unsent.set(u.id, u);
      this.ctx.board.add({
        id: u.id,
        from: this.ctx.selfId(),
        senderName: u.meta.senderName,
        mine: true,
        kind: u.meta.kind,
        name: u.meta.name,
        mime: u.meta.mime,
        size: u.meta.size,
        width: u.meta.width,
        height: u.meta.height,
        createdAt: u.meta.createdAt,
        state: 'failed',
        transferred: 0,
        bytesPerSecond: 0,
        repick: true,
        error: t('transfer.pageClosed', { name: u.meta.name }),
      });
    }
  }

  /**
   * The file of a restored item, picked again: if it is the same file (name, size, date), the
   * item is offered again under its own id, and receivers that have part of it ask for the rest.
   */
  async resumeWith(id: string, file: File): Promise<string | undefined> {
    const u = this.unsent.get(id);
    if (!u) return 'nothing to resume';
    if (file.name !== u.meta.name || file.size !== u.meta.size || file.lastModified !== u.lastModified) {
      return t('transfer.notSameFile', { name: u.meta.name, size: u.meta.size });
    }
    this.unsent.delete(id);
    const { sealing } = this.ctx;
    const out = this.keep({ id, blob: file, meta: u.meta, totalChunks: u.totalChunks, sealed: await sealing.envelope(u.meta, id, u.totalChunks) });
    this.ctx.board.patch(id, { state: 'done', transferred: u.meta.size, repick: undefined, error: undefined, blob: file });
    out.offer = sealing.envelope({ ...u.meta, offered: true }, id, u.totalChunks);
    void out.offer.then((env) => this.ctx.connection.emit('content', env));
    return undefined;
  }

  /**
   * Keeps an item to send until it is forgotten: its file taken up for sealing, and the sealed
   * `cancel` its receivers get if this page closes, sealed now so that closing need not wait.
   */
  private keep(item: Pick<Outgoing, 'id' | 'blob' | 'meta' | 'totalChunks' | 'sealed' | 'to'>): Outgoing {
    const out: Outgoing = { ...item, size: item.blob.size, sent: new Map(), reports: new Map() };
    this.ctx.sealing.take(out);
    this.outgoing.set(out.id, out);
    void sealControlWith(this.ctx.sealing, { kind: 'cancel', contentId: out.id, reason: 'left' }).then((env) => (out.goodbye = env));
    return out;
  }

  owns(id: string): boolean {
    return this.outgoing.has(id);
  }

  /** Stops sending our item everywhere and tells the receivers (sealed, so they can trust it). */
  cancel(id: string) {
    this.ctx.forgetUnsent?.(id);
    const out = this.outgoing.get(id);
    if (!out || out.stopped) return;
    this.stop(out, 'cancelled');
    this.ctx.board.patch(id, { state: 'cancelled', bytesPerSecond: 0, error: t('item.cancelled') });
  }

  /** Forgets our item on this device (nothing more is sent of it). */
  forget(id: string) {
    this.ctx.forgetUnsent?.(id);
    this.unsent.delete(id);
    const out = this.outgoing.get(id);
    if (!out) return;
    this.outgoing.delete(id);
    this.ctx.sealing.release(out);
    this.dropJobs((j) => j.out === out);
  }

  /** Forgets every item (a clear, or leaving). */
  clear() {
    for (const id of [...this.outgoing.keys(), ...this.unsent.keys()]) this.ctx.forgetUnsent?.(id);
    this.unsent.clear();
    for (const out of this.outgoing.values()) this.ctx.sealing.release(out);
    this.outgoing.clear();
    this.dropJobs(() => true);
  }

  close() {
    this.closed = true;
    clearTimeout(this.recheck);
    this.clear();
  }

  /** A member joined: offer them our recent items (metadata only; they ask for what they want). */
  memberJoined(memberId: string) {
    const since = Date.now() - this.ctx.recentWindowMs();
    const recent = [...this.outgoing.values()].filter((o) => !o.stopped && o.to === undefined && o.meta.createdAt >= since).sort((a, b) => a.meta.createdAt - b.meta.createdAt);
    for (const out of recent) {
      out.offer ??= this.ctx.sealing.envelope({ ...out.meta, offered: true }, out.id, out.totalChunks);
      void out.offer.then((env) => this.ctx.connection.emit('content', { ...env, to: memberId }));
    }
  }

  /** Deliveries meant only for a member who left are pointless now; an item for them alone fails. */
  memberLeft(memberId: string, name = 'They') {
    for (const j of this.jobs) j.targets.delete(memberId);
    this.endAddressed((j) => j.to === memberId, `${name} left before receiving all of it`);
    this.dropJobs((j) => j.to === memberId);
  }

  /** Items for one member whose main delivery is among `which`: failed, since no one else may have them. */
  private endAddressed(which: (j: Job) => boolean, reason: string) {
    for (const j of this.jobs) {
      if (!which(j) || !j.reportsProgress || j.out.to === undefined) continue;
      this.ctx.board.patch(j.out.id, { state: 'failed', error: reason, bytesPerSecond: 0 });
      this.ctx.notify({ kind: 'transfer-failed', name: j.out.meta.name, reason });
    }
  }

  /** A receiver reports how many chunks of our item it has written; all of them: it has the item. */
  progress(from: string, contentId: string, have: number) {
    const out = this.outgoing.get(contentId);
    if (!out) return;
    out.reports.set(from, { have, at: Date.now() });
    const item = this.ctx.board.get(contentId);
    if (have >= out.totalChunks && item && !item.deliveredTo?.some((d) => d.id === from)) {
      const name = this.ctx.members().find((m) => m.id === from)?.name ?? 'Someone';
      const deliveredTo = [...(item.deliveredTo ?? []), { id: from, name }];
      this.ctx.board.patch(contentId, { deliveredTo });
      // Everyone here has it: a page after this one has nothing left to send of it.
      const others = this.ctx.members().filter((m) => m.id !== this.ctx.selfId());
      if (others.every((m) => deliveredTo.some((d) => d.id === m.id))) this.ctx.forgetUnsent?.(contentId);
    }
    this.pump();
  }

  /** Whether an item of ours is still on its way to someone (closing the page would stop it). */
  busy(): boolean {
    return this.jobs.length > 0;
  }

  /**
   * The page is closing: receivers of what is still on its way are told at once, so they end
   * it instead of waiting for a sender who will not come back.
   */
  goodbye() {
    const going = new Set(this.jobs.map((j) => j.out));
    for (const out of going) if (out.goodbye) this.ctx.connection.emit('content', { ...out.goodbye, ...addressedTo(out.to) });
  }

  /** Whether a receiver of this job is a full window behind (and still reporting). */
  private held(job: Job, now: number): boolean {
    const here = this.ctx.members();
    for (const t of job.targets) {
      const sent = job.out.sent.get(t);
      if (!sent || !here.some((m) => m.id === t)) continue;
      const report = job.out.reports.get(t);
      const heardAt = report?.at ?? sent.first;
      if (now - heardAt > REPORT_SILENCE_MS) continue;
      if (sent.count - (report?.have ?? 0) >= RECEIVER_WINDOW) return true;
    }
    return false;
  }

  /** A receiver asks for chunks of one of our items (after a loss, or as a late joiner). */
  resend(from: string, contentId: string, fromChunk: number, ranges?: ChunkRanges) {
    const out = this.outgoing.get(contentId);
    if (!out || (out.to !== undefined && out.to !== from)) return;
    if (out.stopped) {
      void this.tell({ kind: 'cancel', contentId, reason: out.stopped }, from);
      return;
    }
    const wanted = rangeIndices(ranges ?? [[fromChunk, out.totalChunks]], out.totalChunks);
    // The ask says what the receiver has: count from there. What was picked for it before (a
    // first delivery it stopped) is not on its way any more, and must not hold it a window behind.
    const has = out.totalChunks - wanted.length;
    const now = Date.now();
    out.sent.set(from, { count: has, first: now });
    out.reports.set(from, { have: has, at: now });
    // What the delivery to everyone has still to send reaches them anyway.
    const broadcast = this.jobs.find((j) => j.out === out && j.to === undefined);
    const coming = new Set(broadcast?.pending);
    const existing = this.jobs.find((j) => j.out === out && j.to === from);
    const skip = new Set([...(existing?.pending ?? []), ...(existing?.inflight ?? [])]);
    const add = wanted.filter((i) => !coming.has(i) && !skip.has(i));
    if (add.length === 0) return;
    if (existing) {
      existing.pending = [...existing.pending, ...add].sort((a, b) => b - a);
      existing.total += add.length;
      this.pump();
    } else {
      this.addJob(out, from, add);
    }
  }

  /** The connection went away: whatever had no ack goes again, metadata first, after the rejoin. */
  lost() {
    for (const job of this.jobs) {
      job.pending = [...job.pending, ...job.inflight].sort((a, b) => b - a);
      job.inflight.clear();
      job.announced = -1;
    }
    this.inflight = 0;
  }

  rejoined() {
    const here = new Set(this.ctx.members().map((m) => m.id));
    this.endAddressed((j) => j.to !== undefined && !here.has(j.to), 'its receiver is not in the session any more');
    this.dropJobs((j) => j.to !== undefined && !here.has(j.to));
    this.pump();
  }

  private addJob(out: Outgoing, to: string | undefined, indices: number[]) {
    const targets = to !== undefined ? [to] : this.ctx.members().map((m) => m.id).filter((id) => id !== this.ctx.selfId());
    this.jobs.push({
      out,
      to,
      targets: new Set(targets),
      pending: indices.reverse(),
      inflight: new Set(),
      total: indices.length,
      acked: 0,
      ackedBytes: 0,
      announced: -1,
      reportsProgress: to === out.to,
    });
    this.pump();
  }

  private dropJobs(which: (j: Job) => boolean) {
    const dropped = this.jobs.filter(which);
    if (dropped.length === 0) return;
    // Their slots in the window are free now: an ack for a member who is gone may never come.
    for (const j of dropped) {
      this.inflight -= j.inflight.size;
      j.inflight.clear();
    }
    this.jobs = this.jobs.filter((j) => !which(j));
    this.ready = this.ready.filter((r) => !which(r.job));
    this.pump();
  }

  private live(job: Job) {
    return !this.closed && !job.out.stopped && this.jobs.includes(job);
  }

  /** Emits what the window allows, then keeps the pipeline of sealed chunks full. */
  private pump() {
    if (this.closed) return;
    const conn = this.ctx.connection;
    while (conn.joined && this.inflight < MAX_UNACKED_CHUNKS && this.ready.length > 0) {
      const r = this.ready.shift()!;
      if (this.live(r.job)) this.emitChunk(r);
    }
    if (PIPELINE_CHUNKS - this.sealing - this.ready.length < SEAL_BATCH) return;
    while (this.sealing + this.ready.length < PIPELINE_CHUNKS) {
      const pick = this.nextPick();
      if (!pick) break;
      this.seal(pick.job, pick.index);
    }
  }

  /** The next chunk to read, taking jobs in turn; a job whose receiver is behind waits. */
  private nextPick(): { job: Job; index: number } | undefined {
    const now = Date.now();
    let waiting = false;
    for (let k = 0; k < this.jobs.length; k++) {
      const job = this.jobs[(this.turn + k) % this.jobs.length];
      if (job.pending.length > 0 && this.held(job, now)) {
        waiting = true;
        continue;
      }
      const index = job.pending.pop();
      if (index !== undefined) {
        // Counted when picked: what is sealed ahead goes out without asking again.
        for (const t of job.targets) {
          const sent = job.out.sent.get(t);
          if (sent) sent.count++;
          else job.out.sent.set(t, { count: 1, first: now });
        }
        this.turn = (this.turn + k + 1) % this.jobs.length;
        return { job, index };
      }
    }
    // A report wakes the pump; so does this, for a receiver that fell silent.
    if (waiting && this.recheck === undefined) {
      this.recheck = setTimeout(() => {
        this.recheck = undefined;
        this.pump();
      }, 1000);
    }
    return undefined;
  }

  private seal(job: Job, index: number) {
    const { out } = job;
    // The item's own bytes in this chunk (none in format v3's padding past its end).
    const [start, end] = chunkRange(index, out.meta.size);
    this.sealing++;
    this.ctx.sealing.sealChunk(out, index, out.totalChunks).then(
      (sealed) => {
        this.sealing--;
        if (this.live(job)) this.ready.push({ job, index, sealed, bytes: Math.max(0, end - start) });
        this.pump();
      },
      (err: unknown) => {
        this.sealing--;
        if (this.live(job)) this.fail(out, err);
        this.pump();
      },
    );
  }

  private emitChunk({ job, index, sealed, bytes }: ReadyChunk) {
    const conn = this.ctx.connection;
    const { out } = job;
    const to = job.to !== undefined ? { to: job.to } : {};
    if (job.announced !== conn.generation) {
      // Metadata first on every connection: a receiver ignores a copy it already has.
      job.announced = conn.generation;
      void conn.emitAck('content', { ...out.sealed, ...to }).then((r) => {
        if (r !== 'ok' && r !== 'retry' && this.live(job)) this.refused(job, r);
      });
    }
    job.inflight.add(index);
    this.inflight++;
    const gen = conn.generation;
    void conn
      .emitAck('chunk', {
        chunk: { contentId: out.id, chunkIndex: index, totalChunks: out.totalChunks, ...sealed },
        ...to,
      })
      .then((r) => {
        // After a loss `lost()` has already put it back; after a drop the job is gone.
        if (gen !== conn.generation || !job.inflight.delete(index)) return;
        this.inflight--;
        if (!this.live(job)) return this.pump();
        if (r === 'ok') this.acked(job, bytes);
        else if (r === 'retry') job.pending.push(index);
        else this.refused(job, r);
        this.pump();
      });
  }

  private acked(job: Job, bytes: number) {
    job.acked++;
    job.ackedBytes += bytes;
    const { board } = this.ctx;
    if (job.acked < job.total) {
      if (job.reportsProgress) board.progress(job.out.id, job.ackedBytes);
      return;
    }
    this.jobs = this.jobs.filter((j) => j !== job);
    if (job.reportsProgress) board.patch(job.out.id, { state: 'done', transferred: job.out.meta.size, bytesPerSecond: 0 });
  }

  /** The server refused a chunk (too large, not a member any more): this delivery ends. */
  private refused(job: Job, reason: string) {
    this.dropJobs((j) => j === job);
    if (!job.reportsProgress) return;
    this.ctx.board.patch(job.out.id, { state: 'failed', error: reason, bytesPerSecond: 0 });
    this.ctx.notify({ kind: 'transfer-failed', name: job.out.meta.name, reason });
  }

  /** Reading or sealing failed: the item cannot be sent to anyone, and they are told. */
  private fail(out: Outgoing, err: unknown) {
    const unreadable = err instanceof ReadError;
    const reason = unreadable ? t('transfer.unreadableHere') : t('transfer.couldNotEncrypt', { reason: err instanceof Error ? err.message : String(err) });
    this.stop(out, unreadable ? 'unreadable' : 'failed');
    this.ctx.board.patch(out.id, { state: 'failed', error: reason, bytesPerSecond: 0 });
    this.ctx.notify({ kind: 'transfer-failed', name: out.meta.name, reason });
  }

  private stop(out: Outgoing, reason: CancelNotice['reason']) {
    out.stopped = reason;
    this.dropJobs((j) => j.out === out);
    void this.tell({ kind: 'cancel', contentId: out.id, reason }, out.to);
  }

  /** Sends a sealed control message, to one member or everyone. */
  private async tell(msg: CancelNotice, to?: string) {
    const env = await sealControlWith(this.ctx.sealing, msg);
    this.ctx.connection.emit('content', { ...env, ...addressedTo(to) });
  }
}

/** The `to` field of an event for one member, or nothing for everyone. */
const addressedTo = (to: string | undefined) => (to !== undefined ? { to } : {});
