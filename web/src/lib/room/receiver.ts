/**
 * Items other members send us. Each chunk is opened as it comes off the socket and its
 * plaintext handed to the worker that writes it to disk (`sinks.ts`); the page keeps one byte
 * per chunk to know what has arrived. Every transfer ends: `done` once all chunks authenticated, `cancelled`
 * or `failed` when its sender says so (sealed, so the server cannot forge it) or when this
 * device cannot keep it (a full disk fails here only), and `paused` while its sender is away,
 * resuming when they are back. A watchdog asks again for whatever stops arriving, so a lost
 * chunk or a relay restart can slow a transfer but never leave it hanging.
 */
import { chunkCount, ChunkError, ChunkTracker, MAX_ITEM_BYTES } from '../chunking';
import type { CryptoClient } from '../crypto/crypto-client';
import { AuthError, DiskError } from '../crypto/errors';
import { chunkAad, fromBase64 } from '../crypto/format';
import type { CancelNotice, ChunkEvent, ControlMessage, InboxFetchAck, ItemMeta, Member } from '../../types/protocol';
import type { Connection } from './connection';
import { sealControl } from './envelopes';
import { INBOX_FETCH_CHUNKS, type InboxWindow, nextInboxWindow } from './inbox';
import type { Item, ItemBoard } from './items';
import type { Notice } from './notices';
import { DiskSink, MemorySink, type Sink } from './sinks';

/** No new chunk for this long while receiving: ask the sender again. */
export const STALL_MS = 4000;
/**
 * Unanswered asks before the item shows as paused (it keeps asking, less often, and the next
 * chunk resumes it). A sender whose page vanished without a goodbye is only noticed by the
 * relay after its ping timeout and rejoin grace; this says so within seconds. One ask: with
 * two, a loaded receiver still draining its backlog took 15 s to say so.
 */
export const MAX_ASKS = 1;
const PAUSED_ASK_MS = 30_000;
const WATCHDOG_MS = 2000;
const MAX_ORPHAN_ITEMS = 8;
const MAX_ORPHAN_CHUNKS = 16;
/** Written chunks between two progress reports to the sender (its flow control). */
export const REPORT_EVERY = 16;

interface Incoming {
  id: string;
  /** The sender's current clientId (it changes when the relay restarts). */
  from: string;
  meta: ItemMeta;
  tracker: ChunkTracker;
  sink: Sink;
  /** Chunks being decrypted and written. */
  writing: Set<number>;
  bytes: number;
  late: boolean;
  /** Fetched from the session's inbox (not from its sender), and how many chunks were asked for. */
  inbox?: { asked: number };
  lastProgress: number;
  lastAsk: number;
  asks: number;
}

export interface ReceiverContext {
  connection: Connection;
  crypto: CryptoClient;
  keyId: number;
  board: ItemBoard;
  notify(n: Notice): void;
  members(): Member[];
  /** Offered items up to this size are fetched without asking the user. */
  autoFetchBytes(): number;
  /** This room's folder on disk. */
  folder: string;
  now?: () => number;
}

export class Receiver {
  private readonly incoming = new Map<string, Incoming>();
  /** Received items whose file is on disk (deleted when the item goes). */
  private readonly stored = new Map<string, Sink>();
  private readonly orphans = new Map<string, ChunkEvent[]>();
  /** Items removed or refused here: anything more about them is ignored. */
  private readonly dropped = new Set<string>();
  /** Sealed metadata of offered items, to start them when asked. */
  private readonly offers = new Map<string, { from: string; meta: ItemMeta; inbox: boolean }>();
  /** Cancels that arrived before their item's metadata. */
  private readonly early = new Map<string, CancelNotice>();
  private readonly watchdog: ReturnType<typeof setInterval>;
  private readonly disk: Promise<boolean>;

  constructor(private readonly ctx: ReceiverContext) {
    this.disk = ctx.crypto.diskAvailable();
    this.watchdog = setInterval(() => this.checkStalls(), WATCHDOG_MS);
  }

  private now() {
    return this.ctx.now?.() ?? Date.now();
  }

  /**
   * Sealed metadata of an item from `from`, announcing `totalChunks` chunks; `inbox` when the
   * session's inbox gave it to us (its chunks then come from there, when asked for).
   */
  async item(from: string, id: string, totalChunks: number, meta: ItemMeta, inbox = false) {
    if (this.dropped.has(id)) return;
    const inc = this.incoming.get(id);
    if (inc) {
      inc.from = from;
      if (this.ctx.board.get(id)?.state === 'paused') this.resume(inc);
      return;
    }
    const known = this.ctx.board.get(id);
    if (known) {
      const offer = this.offers.get(id);
      if (known.state === 'offered') this.offers.set(id, { from, meta: offer?.meta ?? meta, inbox: offer?.inbox ?? inbox });
      return;
    }
    // Refused before anything is allocated: the count must be what the sealed size implies.
    if (meta.size > MAX_ITEM_BYTES || totalChunks !== chunkCount(meta.size)) {
      this.dropped.add(id);
      this.ctx.board.add({ ...itemFrom(id, from, meta), state: 'failed', error: 'refused: its chunk count does not match its sealed size' });
      return;
    }
    const early = this.early.get(id);
    if (early) {
      this.early.delete(id);
      this.dropped.add(id);
      this.ctx.board.add({ ...itemFrom(id, from, meta), ...senderEnding(early.reason, meta.senderName) });
      return;
    }
    if (meta.offered && meta.size > this.ctx.autoFetchBytes()) {
      this.offers.set(id, { from, meta, inbox });
      this.ctx.board.add({ ...itemFrom(id, from, meta), state: 'offered' });
      this.ctx.notify({ kind: 'offered', name: meta.name, from: meta.senderName });
      return;
    }
    this.ctx.board.add({ ...itemFrom(id, from, meta), state: 'receiving' });
    await this.start(id, from, meta, meta.offered === true, inbox);
  }

  /** The user asks for an offered item (or again, after stopping it). */
  async fetch(id: string) {
    const offer = this.offers.get(id);
    if (!offer || this.incoming.has(id)) return;
    this.ctx.board.patch(id, { state: 'receiving', transferred: 0, error: undefined, note: undefined });
    await this.start(id, offer.from, offer.meta, true, offer.inbox);
  }

  private async start(id: string, from: string, meta: ItemMeta, late: boolean, inbox: boolean) {
    const { crypto, keyId } = this.ctx;
    const mime = meta.mime || 'application/octet-stream';
    const sink: Sink = (await this.disk) ? new DiskSink(crypto, keyId, this.ctx.folder, id, meta.size, mime) : new MemorySink(crypto, keyId, mime);
    if (this.dropped.has(id) || !this.ctx.board.get(id)) return;
    const now = this.now();
    const inc: Incoming = {
      id,
      from,
      meta,
      tracker: new ChunkTracker(chunkCount(meta.size)),
      sink,
      writing: new Set(),
      bytes: 0,
      late,
      inbox: inbox ? { asked: 0 } : undefined,
      lastProgress: now,
      lastAsk: now,
      asks: 0,
    };
    this.incoming.set(id, inc);
    // Offered items come only when asked; everything else is already on its way.
    if (late) this.ask(inc);
    const waiting = this.orphans.get(id);
    this.orphans.delete(id);
    for (const c of waiting ?? []) void this.chunk(c);
  }

  async chunk(e: ChunkEvent) {
    const c = e.chunk;
    if (!c || typeof c.contentId !== 'string' || typeof c.iv !== 'string' || this.dropped.has(c.contentId)) return;
    const inc = this.incoming.get(c.contentId);
    if (!inc) {
      if (this.ctx.board.get(c.contentId)) return; // complete, offered or stopped
      // Its metadata is still being opened: keep a few chunks, and only for a few items.
      const list = this.orphans.get(c.contentId);
      if (list) {
        if (list.length < MAX_ORPHAN_CHUNKS) list.push(e);
      } else if (this.orphans.size < MAX_ORPHAN_ITEMS) {
        this.orphans.set(c.contentId, [e]);
      }
      return;
    }
    const index = c.chunkIndex;
    if (inc.writing.has(index) || (Number.isInteger(index) && inc.tracker.has(index))) return;
    if (e.from) inc.from = e.from;
    inc.writing.add(index);
    let length: number;
    try {
      if (c.totalChunks !== inc.tracker.totalChunks || !Number.isInteger(index) || index < 0 || index >= c.totalChunks) {
        throw new ChunkError('chunk does not fit its item');
      }
      length = await inc.sink.write(index, fromBase64(c.iv), c.encryptedData, chunkAad(c.contentId, index, c.totalChunks));
    } catch (err) {
      if (this.incoming.get(c.contentId) === inc) this.failHere(inc, reasonFor(err));
      return;
    } finally {
      inc.writing.delete(index);
    }
    if (this.incoming.get(c.contentId) !== inc) return; // stopped meanwhile
    inc.tracker.accept(index, c.totalChunks);
    if (inc.inbox) this.fetchMore(inc, inc.inbox);
    else if (inc.tracker.receivedCount % REPORT_EVERY === 0) this.report(inc);
    inc.bytes += length;
    inc.lastProgress = this.now();
    inc.asks = 0;
    const item = this.ctx.board.get(inc.id);
    if (item?.state === 'paused') this.ctx.board.patch(inc.id, { state: 'receiving', note: undefined });
    if (!inc.tracker.complete) {
      this.ctx.board.progress(inc.id, inc.bytes);
      return;
    }
    this.incoming.delete(inc.id);
    try {
      const blob = await inc.sink.finish();
      const text = inc.meta.kind === 'text' ? await blob.text() : undefined;
      if (!this.ctx.board.get(inc.id) || this.dropped.has(inc.id)) return void inc.sink.discard();
      this.stored.set(inc.id, inc.sink);
      this.offers.delete(inc.id);
      this.ctx.board.patch(inc.id, { state: 'done', transferred: inc.meta.size, bytesPerSecond: 0, blob, text, note: undefined });
      this.ctx.notify({ kind: 'received', name: inc.meta.name, from: inc.meta.senderName, late: inc.late });
    } catch (err) {
      this.failHere(inc, reasonFor(err));
    }
  }

  /** A sealed control message about one of the items we receive. */
  control(msg: ControlMessage & { kind: 'cancel' }) {
    const item = this.ctx.board.get(msg.contentId);
    if (!item) {
      // Opened before the item's own metadata (both are opened concurrently): keep it for then.
      if (this.early.size < MAX_ORPHAN_ITEMS) this.early.set(msg.contentId, msg);
      return;
    }
    if (item.mine || item.state === 'done' || item.state === 'failed' || item.state === 'cancelled') return;
    const inc = this.incoming.get(msg.contentId);
    this.incoming.delete(msg.contentId);
    this.offers.delete(msg.contentId);
    void inc?.sink.discard();
    const ending = senderEnding(msg.reason, item.senderName);
    this.ctx.board.patch(msg.contentId, { ...ending, bytesPerSecond: 0, note: undefined });
    if (ending.state === 'cancelled') this.ctx.notify({ kind: 'transfer-cancelled', name: item.name, byName: item.senderName });
    else this.ctx.notify({ kind: 'transfer-failed', name: item.name, reason: ending.error });
  }

  /** Stops receiving on this device only; the item stays, and can be fetched again. */
  stop(id: string) {
    const inc = this.incoming.get(id);
    if (!inc) return;
    this.incoming.delete(id);
    void inc.sink.discard();
    this.offers.set(id, { from: inc.from, meta: { ...inc.meta, offered: true }, inbox: inc.inbox !== undefined });
    this.ctx.board.patch(id, { state: 'offered', transferred: 0, bytesPerSecond: 0, note: 'Stopped on this device' });
  }

  /** The session's inbox no longer keeps item `id`: what was to come from there cannot. */
  inboxGone(id: string, why: string) {
    const inc = this.incoming.get(id);
    if (inc?.inbox) return this.failHere(inc, why);
    const offer = this.offers.get(id);
    if (offer?.inbox && this.ctx.board.get(id)?.state === 'offered') {
      this.offers.delete(id);
      this.dropped.add(id);
      this.ctx.board.patch(id, { state: 'failed', error: why });
    }
  }

  /** Forgets an item here and frees its space. */
  remove(id: string) {
    this.dropped.add(id);
    this.offers.delete(id);
    this.orphans.delete(id);
    void this.incoming.get(id)?.sink.discard();
    this.incoming.delete(id);
    void this.stored.get(id)?.discard();
    this.stored.delete(id);
  }

  /** Forgets everything (a clear): every file is deleted. */
  clear() {
    for (const id of [...this.incoming.keys(), ...this.stored.keys(), ...this.offers.keys()]) this.remove(id);
    this.orphans.clear();
  }

  /** Leaving: stop, and delete this room's folder. */
  async close() {
    clearInterval(this.watchdog);
    this.clear();
    if (await this.disk) await this.ctx.crypto.diskRemove(this.ctx.folder).catch(() => undefined);
  }

  /** A member left: what they were sending pauses, and says why. */
  memberLeft(memberId: string, name: string) {
    for (const inc of this.incoming.values()) {
      if (inc.from === memberId && !inc.inbox) this.pause(inc, `${name} left; it resumes if they come back`);
    }
  }

  /** Someone joined (perhaps a sender coming back under a new id): resume what is paused. */
  memberJoined() {
    for (const inc of this.incoming.values()) {
      if (this.ctx.board.get(inc.id)?.state === 'paused') this.resume(inc);
    }
  }

  /** Back on a new connection: ask for what is missing; pause what has no sender here. */
  rejoined() {
    const here = new Set(this.ctx.members().map((m) => m.id));
    for (const inc of this.incoming.values()) {
      if (here.has(inc.from) || inc.inbox) this.ask(inc);
      else this.pause(inc, `waiting for ${inc.meta.senderName} to come back`);
    }
  }

  private pause(inc: Incoming, note: string) {
    this.ctx.board.patch(inc.id, { state: 'paused', bytesPerSecond: 0, note });
  }

  private resume(inc: Incoming) {
    inc.asks = 0;
    this.ctx.board.patch(inc.id, { state: 'receiving', note: undefined });
    this.ask(inc);
  }

  private checkStalls() {
    if (!this.ctx.connection.joined) return;
    const now = this.now();
    for (const inc of this.incoming.values()) {
      const paused = this.ctx.board.get(inc.id)?.state === 'paused';
      const quiet = now - Math.max(inc.lastProgress, inc.lastAsk);
      if (paused ? quiet < PAUSED_ASK_MS : quiet < STALL_MS) continue;
      if (!paused && inc.asks >= MAX_ASKS) {
        this.pause(inc, `no data from ${inc.meta.senderName}; waiting for them`);
        continue;
      }
      this.ask(inc);
    }
  }

  /**
   * Asks for the missing chunks. To everyone: after a relay restart the sender has a new id,
   * and only the member that has the item answers.
   */
  private ask(inc: Incoming) {
    inc.lastAsk = this.now();
    inc.asks++;
    if (inc.inbox) {
      this.fetchWindow(inc, inc.inbox, { fromChunk: inc.tracker.firstMissing(), count: INBOX_FETCH_CHUNKS });
      return;
    }
    const msg: ControlMessage = { kind: 'resend', contentId: inc.id, fromChunk: inc.tracker.firstMissing(), ranges: inc.tracker.missingRanges() };
    void sealControl(this.ctx.crypto, this.ctx.keyId, msg).then((env) => this.ctx.connection.emit('content', env));
  }

  /** An item from the inbox: ask for the next chunks as the ones asked for arrive. */
  private fetchMore(inc: Incoming, inbox: { asked: number }) {
    const next = nextInboxWindow(inbox.asked, inc.tracker.receivedCount, inc.tracker.totalChunks);
    if (next) this.fetchWindow(inc, inbox, next);
  }

  /**
   * Asks the inbox for a window of chunks. The server may send fewer (its queue for us was at
   * its mark): its ack, which comes after what it sent, says where to go on from.
   */
  private fetchWindow(inc: Incoming, inbox: { asked: number }, window: InboxWindow) {
    inbox.asked = window.fromChunk + window.count;
    void this.ctx.connection.request<InboxFetchAck>('inbox-fetch', { contentId: inc.id, ...window }).then((ack) => {
      if (!ack?.success || typeof ack.next !== 'number' || ack.next >= inbox.asked || this.incoming.get(inc.id) !== inc) return;
      inbox.asked = ack.next;
      this.fetchMore(inc, inbox);
    });
  }

  /** Tells the sender how far we are, so it never runs far ahead of what this device can write. */
  private report(inc: Incoming) {
    const msg: ControlMessage = { kind: 'progress', contentId: inc.id, have: inc.tracker.receivedCount };
    void sealControl(this.ctx.crypto, this.ctx.keyId, msg).then((env) => this.ctx.connection.emit('content', { ...env, to: inc.from }));
  }

  /** This device cannot keep the item (bad data, full disk): it fails here, nowhere else. */
  private failHere(inc: Incoming, reason: string) {
    this.incoming.delete(inc.id);
    this.dropped.add(inc.id);
    void inc.sink.discard();
    this.ctx.board.patch(inc.id, { state: 'failed', error: reason, bytesPerSecond: 0, note: undefined });
    this.ctx.notify({ kind: 'transfer-failed', name: inc.meta.name, reason });
  }
}

function itemFrom(id: string, from: string, meta: ItemMeta): Item {
  return {
    id,
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
  };
}

function reasonFor(err: unknown): string {
  if (err instanceof AuthError) return 'integrity check failed';
  if (err instanceof DiskError) return err.message;
  if (err instanceof ChunkError) return 'corrupt transfer';
  return err instanceof Error ? err.message : String(err);
}

function senderEnding(reason: CancelNotice['reason'], sender: string): { state: 'cancelled' | 'failed'; error: string } {
  switch (reason) {
    case 'cancelled':
      return { state: 'cancelled', error: `Cancelled by ${sender}` };
    case 'unreadable':
      return { state: 'failed', error: `${sender}'s device could not read the file any more` };
    case 'failed':
      return { state: 'failed', error: `sending failed on ${sender}'s device` };
  }
}
