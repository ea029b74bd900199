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
 */
import { chunkRange, type ChunkRanges, rangeIndices } from '../chunking';
import type { CryptoClient } from '../crypto/crypto-client';
import { ReadError } from '../crypto/errors';
import { MAX_UNACKED_CHUNKS } from '../crypto/format';
import type { CancelNotice, ItemMeta, Member } from '../../types/protocol';
import type { Connection } from './connection';
import type { SealedEnvelope } from './envelopes';
import { newContentId } from './ids';
import type { Item, ItemBoard } from './items';
import type { Notice } from './notices';
import { type ItemSource, type RoomSealing, type SealedChunk, sealControlWith } from './sealing';

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
  /** The same metadata marked `offered`, for late joiners; sealed on first use. */
  offer?: Promise<SealedEnvelope>;
  stopped?: CancelNotice['reason'];
  /** Per receiver: chunks of this item picked for it, and when the first was. */
  sent: Map<string, { count: number; first: number }>;
  /** Per receiver: its last progress report. */
  reports: Map<string, { have: number; at: number }>;
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
  crypto: CryptoClient;
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
}

export class Sender {
  private readonly outgoing = new Map<string, Outgoing>();
  private jobs: Job[] = [];
  private ready: ReadyChunk[] = [];
  private sealing = 0;
  private inflight = 0;
  private turn = 0;
  private closed = false;
  private recheck?: ReturnType<typeof setTimeout>;

  constructor(private readonly ctx: SenderContext) {}

  /** Seals the metadata and starts sending to everyone. Resolves to the item id once queued. */
  async share(blob: Blob, meta: Omit<ItemMeta, 'senderName' | 'createdAt' | 'size'>, text?: string): Promise<string> {
    const { crypto, sealing, board } = this.ctx;
    const full: ItemMeta = { ...meta, size: blob.size, senderName: this.ctx.clientName(), createdAt: Date.now() };
    const id = newContentId();
    const totalChunks = sealing.chunkCount(blob.size);
    const sealed = await sealing.envelope(full, id, totalChunks);
    const out: Outgoing = { id, blob, size: blob.size, source: crypto.openSource(blob), meta: full, totalChunks, sealed, sent: new Map(), reports: new Map() };
    this.outgoing.set(id, out);
    const sending = this.ctx.members().length > 1 || this.ctx.keepsForAbsent?.() === true;
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
    };
    board.add(item);
    if (sending) this.addJob(out, undefined, rangeIndices([[0, totalChunks]], totalChunks));
    return id;
  }

  owns(id: string): boolean {
    return this.outgoing.has(id);
  }

  /** Stops sending our item everywhere and tells the receivers (sealed, so they can trust it). */
  cancel(id: string) {
    const out = this.outgoing.get(id);
    if (!out || out.stopped) return;
    this.stop(out, 'cancelled');
    this.ctx.board.patch(id, { state: 'cancelled', bytesPerSecond: 0, error: 'Cancelled' });
  }

  /** Forgets our item on this device (nothing more is sent of it). */
  forget(id: string) {
    const out = this.outgoing.get(id);
    if (!out) return;
    this.outgoing.delete(id);
    this.ctx.crypto.closeSource(out.source);
    this.dropJobs((j) => j.out === out);
  }

  /** Forgets every item (a clear, or leaving). */
  clear() {
    for (const out of this.outgoing.values()) this.ctx.crypto.closeSource(out.source);
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
    const recent = [...this.outgoing.values()].filter((o) => !o.stopped && o.meta.createdAt >= since).sort((a, b) => a.meta.createdAt - b.meta.createdAt);
    for (const out of recent) {
      out.offer ??= this.ctx.sealing.envelope({ ...out.meta, offered: true }, out.id, out.totalChunks);
      void out.offer.then((env) => this.ctx.connection.emit('content', { ...env, to: memberId }));
    }
  }

  /** Deliveries meant only for a member who left are pointless now. */
  memberLeft(memberId: string) {
    for (const j of this.jobs) j.targets.delete(memberId);
    this.dropJobs((j) => j.to === memberId);
  }

  /** A receiver reports how many chunks of our item it has written. */
  progress(from: string, contentId: string, have: number) {
    const out = this.outgoing.get(contentId);
    if (!out) return;
    out.reports.set(from, { have, at: Date.now() });
    this.pump();
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
    if (!out) return;
    if (out.stopped) {
      void this.tell({ kind: 'cancel', contentId, reason: out.stopped }, from);
      return;
    }
    const wanted = rangeIndices(ranges ?? [[fromChunk, out.totalChunks]], out.totalChunks);
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
      reportsProgress: to === undefined,
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
    const reason = unreadable ? 'the file could not be read any more' : `could not encrypt (${err instanceof Error ? err.message : String(err)})`;
    this.stop(out, unreadable ? 'unreadable' : 'failed');
    this.ctx.board.patch(out.id, { state: 'failed', error: reason, bytesPerSecond: 0 });
    this.ctx.notify({ kind: 'transfer-failed', name: out.meta.name, reason });
  }

  private stop(out: Outgoing, reason: CancelNotice['reason']) {
    out.stopped = reason;
    this.dropJobs((j) => j.out === out);
    void this.tell({ kind: 'cancel', contentId: out.id, reason });
  }

  /** Sends a sealed control message, to one member or everyone. */
  private async tell(msg: CancelNotice, to?: string) {
    const env = await sealControlWith(this.ctx.sealing, msg);
    this.ctx.connection.emit('content', { ...env, ...(to !== undefined ? { to } : {}) });
  }
}
