/**
 * Items other members send us. Each chunk is opened as it comes off the socket and its
 * plaintext handed to the worker that writes it to disk (`sinks.ts`); the page keeps one byte
 * per chunk to know what has arrived. Every transfer ends: `done` once all chunks authenticated, `cancelled`
 * or `failed` when its sender says so (sealed, so the server cannot forge it) or when this
 * device cannot keep it (a full disk fails here only), and `paused` while its sender is away,
 * resuming when they are back, or ending when they closed their page or stay gone. A watchdog
 * asks again for whatever stops arriving (`pace.ts` says when a silence is one), so a lost
 * chunk or a relay restart can slow a transfer but never leave it hanging.
 *
 * Where files are written in place, an unfinished item outlives its page (`disk/partials.ts`):
 * after a reload the session offers it again, paused, and Resume asks only for what is missing.
 *
 * Before an item is taken, it must fit: in the browser's free storage quota when files go to
 * disk (else it fails here at once, saying so), and within a share of the device's memory where
 * they cannot (else it waits, offered, saying it would be kept in memory, until the user asks).
 */
import { ChunkError, ChunkTracker, MAX_ITEM_BYTES } from '../chunking';
import type { CryptoClient } from '../crypto/crypto-client';
import { DiskError } from '../crypto/errors';
import { CHUNK_SIZE } from '../crypto/format';
import { release } from '../crypto/release';
import type { CancelNotice, ChunkEvent, ContentEnvelope, ControlMessage, InboxFetchAck, ItemMeta, Member } from '../../types/protocol';
import type { Connection } from './connection';
import { EarlyChunks, MAX_EARLY_ITEMS } from './early-chunks';
import { noSpace, reasonFor, senderEnding } from './endings';
import { type Incoming, newIncoming, receivedItem } from './incoming';
import { INBOX_FETCH_CHUNKS, type InboxWindow, nextInboxWindow } from './inbox';
import type { Item, ItemBoard } from './items';
import type { Notice } from './notices';
import { chunkCame, quietFor, restarted, stallAfter } from './pace';
import { type RoomSealing, sealControlWith } from './sealing';
import { DiskSink, MemorySink, type Sink } from './sinks';
import type { StorageMode } from '../disk/opfs';
import { deletePartial, deletePartials, type PartialItem } from '../disk/partials';
import { checkFolder } from '../folder/manifest';
import { t } from '../../i18n';
import { formatBytes } from '../../utils/format';

/**
 * Unanswered asks before the item shows as paused (it keeps asking, less often, and the next
 * chunk resumes it). A sender whose page vanished without a goodbye is only noticed by the
 * relay after its ping timeout and rejoin grace; this says so within seconds. One ask: with
 * two, a loaded receiver still draining its backlog took 15 s to say so.
 */
export const MAX_ASKS = 1;
const PAUSED_ASK_MS = 30_000;
/**
 * A sender gone from the session this long while its item is paused (its page crashed, or it
 * came back as a new page that no longer has the file) ends the item: waiting longer helps no one.
 */
export const SENDER_GONE_MS = 30_000;
const WATCHDOG_MS = 2000;
/** Written chunks between two progress reports to the sender (its flow control). */
export const REPORT_EVERY = 16;

export interface ReceiverContext {
  connection: Connection;
  crypto: CryptoClient;
  keyId: number;
  sealing: RoomSealing;
  board: ItemBoard;
  notify(n: Notice): void;
  members(): Member[];
  /** Offered items up to this size are fetched without asking the user. */
  autoFetchBytes(): number;
  /** This room's folder on disk. */
  folder: string;
  sessionId: string;
  /** Bytes the browser still lets us store on disk, when it says. */
  freeSpace(): Promise<number | undefined>;
  /** The largest item kept in memory without asking first. */
  memoryBudget(): number;
  /** Keeps the record of an item on disk (see `disk/partials.ts`); none in tests. */
  savePartial?(p: PartialItem): void;
  /** A file an earlier page finished, where it lies (`disk/opfs.ts`); none in tests. */
  keptFile?(folder: string, name: string, size: number): Promise<Blob | undefined>;
  now?: () => number;
}

export class Receiver {
  private readonly incoming = new Map<string, Incoming>();
  /** Received items whose file is on disk (deleted when the item goes). */
  private readonly stored = new Map<string, Sink>();
  private readonly early = new EarlyChunks();
  /** Items removed or refused here: anything more about them is ignored. */
  private readonly dropped = new Set<string>();
  /** Sealed metadata of offered items, to start them when asked. */
  private readonly offers = new Map<string, { from: string; meta: ItemMeta; inbox: boolean }>();
  /** Items stopped on this device, with what they had received: Get goes on from there. */
  private readonly halted = new Map<string, Incoming>();
  /** Cancels that arrived before their item's metadata. */
  private readonly earlyCancels = new Map<string, CancelNotice>();
  private readonly watchdog: ReturnType<typeof setInterval>;
  /** How received files are kept here (see `disk/opfs.ts`). */
  readonly storage: Promise<StorageMode>;

  constructor(private readonly ctx: ReceiverContext) {
    this.storage = ctx.crypto.storage();
    this.watchdog = setInterval(() => this.checkStalls(), WATCHDOG_MS);
  }

  private now() {
    return this.ctx.now?.() ?? Date.now();
  }

  /** A `content` event that may announce an item is being opened: its chunks are kept until then. */
  announced(env: ContentEnvelope | undefined) {
    if (typeof env?.contentId !== 'string' || !(env.totalChunks > 0)) return;
    this.early.taken(env.contentId);
    return env.contentId;
  }

  /** An announced item was opened and taken, offered or refused: chunks kept for nothing go. */
  settled(id: string) {
    this.early.settled(id, this.incoming.has(id));
  }

  /**
   * Sealed metadata of an item from `from`, announcing `totalChunks` chunks; `inbox` when the
   * session's inbox gave it to us (its chunks then come from there, when asked for). `marks`
   * go on the item's board entry as soon as it is there (what the inbox says of it).
   */
  async item(from: string, id: string, totalChunks: number, meta: ItemMeta, inbox = false, marks?: Partial<Item>) {
    // Awaited before anything is looked at: an earlier page's record of this item (`adopt`,
    // which awaits the same) may be taken up meanwhile, and the checks below must see it, or
    // the item waits to be asked for instead of going on where it stopped.
    const storage = await this.storage;
    // `take` puts the item on the board before its first wait, so the marks find it there.
    const taking = this.take(from, id, totalChunks, meta, inbox, storage);
    if (marks && this.ctx.board.get(id)) this.ctx.board.patch(id, marks);
    await taking;
  }

  private async take(from: string, id: string, totalChunks: number, meta: ItemMeta, inbox: boolean, storage: StorageMode) {
    if (this.dropped.has(id)) return;
    const inc = this.incoming.get(id);
    if (inc) {
      inc.from = from;
      if (this.ctx.board.get(id)?.state === 'paused') this.resume(inc);
      return;
    }
    const known = this.ctx.board.get(id);
    const waiting = this.halted.get(id);
    if (waiting?.autoResume) {
      // Its sender is back (a page reopened, the file picked again): go on where it stopped.
      waiting.from = from;
      return this.fetch(id);
    }
    if (known) {
      const offer = this.offers.get(id);
      if (known.state === 'offered') this.offers.set(id, { from, meta: offer?.meta ?? meta, inbox: offer?.inbox ?? inbox });
      // Offered to this page although an earlier one received it whole: its sender learns so.
      else if (known.state === 'done' && !known.mine && !inbox) this.tellHave(from, id, totalChunks);
      return;
    }
    // Refused before anything is allocated: the count must be what the sealed size implies.
    if (meta.size > MAX_ITEM_BYTES || totalChunks !== this.ctx.sealing.chunkCount(meta.size)) {
      this.dropped.add(id);
      this.ctx.board.add({ ...receivedItem(id, from, meta), state: 'failed', error: t('transfer.chunkCount') });
      return;
    }
    const cancelled = this.earlyCancels.get(id);
    if (cancelled) {
      this.earlyCancels.delete(id);
      this.dropped.add(id);
      this.ctx.board.add({ ...receivedItem(id, from, meta), ...senderEnding(cancelled.reason, meta.senderName) });
      return;
    }
    const inMemory = meta.size > this.ctx.memoryBudget() && storage === 'memory';
    if (inMemory || (meta.offered && meta.size > this.ctx.autoFetchBytes())) {
      this.offers.set(id, { from, meta, inbox });
      this.ctx.board.add({ ...receivedItem(id, from, meta), state: 'offered', note: inMemory ? this.memoryNote() : undefined });
      this.ctx.notify({ kind: 'offered', name: meta.name, from: meta.senderName });
      return;
    }
    this.ctx.board.add({ ...receivedItem(id, from, meta), state: 'receiving' });
    await this.start(id, from, meta, meta.offered === true, inbox);
  }

  /** Why an item waits although it was sent to us: this browser would keep it in memory. */
  private memoryNote() {
    return t('transfer.memoryNote', { size: formatBytes(this.ctx.memoryBudget()) });
  }

  /** The user asks for an offered item, or again after stopping it (which goes on where it stopped). */
  async fetch(id: string) {
    const halted = this.halted.get(id);
    if (halted) {
      this.wake(halted);
      this.ask(halted);
      return;
    }
    const offer = this.offers.get(id);
    if (!offer || this.incoming.has(id)) return;
    this.ctx.board.patch(id, { state: 'receiving', transferred: 0, error: undefined, note: undefined });
    await this.start(id, offer.from, offer.meta, true, offer.inbox);
  }

  private async start(id: string, from: string, meta: ItemMeta, late: boolean, inbox: boolean) {
    this.early.taken(id);
    try {
      await this.begin(id, from, meta, late, inbox);
    } finally {
      this.early.settled(id, this.incoming.has(id));
    }
  }

  private async begin(id: string, from: string, meta: ItemMeta, late: boolean, inbox: boolean) {
    const { crypto, keyId } = this.ctx;
    const mime = meta.mime || 'application/octet-stream';
    const onDisk = (await this.storage) !== 'memory';
    // Asked now, answered while chunks already arrive (a sender does not wait for it); they
    // wait for the answer before the first is written (see `chunk`).
    const free = onDisk ? this.ctx.freeSpace() : undefined;
    const sink: Sink = onDisk ? new DiskSink(crypto, keyId, this.ctx.folder, id, meta.size, mime) : new MemorySink(crypto, keyId, mime);
    const folder = onDisk ? this.ctx.folder : undefined;
    if (this.dropped.has(id) || !this.ctx.board.get(id)) return;
    const tracker = new ChunkTracker(this.ctx.sealing.chunkCount(meta.size));
    const inc = newIncoming({ id, from, meta, sink, late, inbox: inbox ? { asked: 0 } : undefined, folder, free }, this.now(), tracker);
    this.incoming.set(id, inc);
    void free?.then((left) => {
      if (left === undefined || left >= meta.size || this.incoming.get(id) !== inc) return;
      this.failHere(inc, noSpace(meta.size, left));
    });
    // Offered items come only when asked; everything else is already on its way.
    if (late) this.ask(inc);
    for (const c of this.early.take(id)) void this.chunk(c);
  }

  async chunk(e: ChunkEvent) {
    const c = e.chunk;
    if (!c || typeof c.contentId !== 'string' || typeof c.iv !== 'string' || this.dropped.has(c.contentId)) return;
    let inc = this.incoming.get(c.contentId);
    const waiting = this.halted.get(c.contentId);
    if (!inc && waiting?.autoResume) {
      // Its sender is sending again: take it, and ask for whatever this delivery will not bring.
      this.wake(waiting);
      this.ask(waiting);
      inc = waiting;
    }
    if (!inc) {
      if (waiting) return; // stopped here by the user: Get asks again
      if (this.ctx.board.get(c.contentId) && !this.early.isTaken(c.contentId)) return; // complete, offered or stopped
      this.early.keep(e); // not ready for it yet
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
      // Nothing is written before the browser says how much it lets us store: an item larger
      // than that is refused with its file still empty (refused above, as the answer came).
      if (!inc.written) await inc.free;
      if (this.incoming.get(c.contentId) !== inc) return;
      length = await this.ctx.sealing.openChunk(inc.sink, c, inc.meta.size);
    } catch (err) {
      // Out of space: say how much it needs and how much the browser allows, when it says.
      const left = err instanceof DiskError && err.full ? await inc.free : undefined;
      if (this.incoming.get(c.contentId) === inc) this.failHere(inc, left !== undefined && left < inc.meta.size ? noSpace(inc.meta.size, left) : reasonFor(err));
      return;
    } finally {
      inc.writing.delete(index);
      // Opened or refused, the ciphertext is done with: its socket buffer is freed now.
      release(c.encryptedData);
    }
    if (this.incoming.get(c.contentId) !== inc) return; // stopped meanwhile
    inc.written = true;
    inc.tracker.accept(index, c.totalChunks);
    if (inc.inbox) this.fetchMore(inc, inc.inbox);
    else if (inc.tracker.receivedCount % REPORT_EVERY === 0) this.report(inc);
    if (inc.tracker.receivedCount % REPORT_EVERY === 0 && !inc.tracker.complete) void this.keep(inc);
    inc.bytes += length;
    chunkCame(inc.pace, this.now());
    inc.asks = 0;
    inc.pausedAt = undefined;
    const item = this.ctx.board.get(inc.id);
    if (item?.state === 'paused') this.ctx.board.patch(inc.id, { state: 'receiving', note: undefined });
    if (!inc.tracker.complete) {
      this.ctx.board.progress(inc.id, inc.bytes);
      return;
    }
    this.incoming.delete(inc.id);
    // The sender learns that this device has it all (its per-device delivery).
    if (!inc.inbox) this.report(inc);
    try {
      const blob = await inc.sink.finish();
      if (inc.meta.kind === 'folder') await checkFolder(blob, inc.meta.files ?? 0);
      const text = inc.meta.kind === 'text' ? await blob.text() : undefined;
      if (!this.ctx.board.get(inc.id) || this.dropped.has(inc.id)) {
        void deletePartials(inc.id);
        return void inc.sink.discard();
      }
      this.stored.set(inc.id, inc.sink);
      // Only now is the record marked finished: a page that goes away between the last chunk
      // and here (a reload takes a while to unload on a busy phone, and chunks already queued
      // keep arriving) leaves the unfinished one, and the next page takes the item up from it.
      this.keepFinished(inc);
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
      if (this.earlyCancels.size < MAX_EARLY_ITEMS) this.earlyCancels.set(msg.contentId, msg);
      return;
    }
    if (item.mine || item.state === 'done' || item.state === 'failed' || item.state === 'cancelled') return;
    if (msg.reason === 'left') return this.senderClosed(msg.contentId, item.senderName, item.name);
    const inc = this.incoming.get(msg.contentId) ?? this.halted.get(msg.contentId);
    this.incoming.delete(msg.contentId);
    this.halted.delete(msg.contentId);
    this.offers.delete(msg.contentId);
    void inc?.sink.discard();
    void deletePartials(msg.contentId);
    const ending = senderEnding(msg.reason, item.senderName);
    this.ctx.board.patch(msg.contentId, { ...ending, bytesPerSecond: 0, note: undefined });
    if (msg.reason === 'cancelled') this.ctx.notify({ kind: 'transfer-cancelled', name: item.name, byName: item.senderName });
    else this.ctx.notify({ kind: 'transfer-failed', name: item.name, reason: ending.error });
  }

  /**
   * Stops receiving on this device only; the item stays with what it has, and Get goes on from
   * there (asking only for the chunks still missing).
   */
  stop(id: string) {
    const inc = this.incoming.get(id);
    if (!inc) return;
    this.incoming.delete(id);
    this.halted.set(id, inc);
    inc.pausedAt = undefined;
    this.ctx.board.patch(id, { state: 'offered', bytesPerSecond: 0, resumable: true, transferred: inc.bytes, note: t('transfer.stoppedAt', { size: formatBytes(inc.bytes) }) });
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
    void deletePartials(id);
    this.offers.delete(id);
    this.early.forget(id);
    void this.incoming.get(id)?.sink.discard();
    this.incoming.delete(id);
    void this.halted.get(id)?.sink.discard();
    this.halted.delete(id);
    void this.stored.get(id)?.discard();
    this.stored.delete(id);
  }

  /** Forgets everything (a clear): every file is deleted. */
  clear() {
    for (const id of [...this.incoming.keys(), ...this.halted.keys(), ...this.stored.keys(), ...this.offers.keys()]) this.remove(id);
    this.early.clear();
  }

  /** Leaving: stop, and delete this room's folder (and the folders of items it took over). */
  async close() {
    clearInterval(this.watchdog);
    const folders = new Set([...this.incoming.values(), ...this.halted.values()].map((i) => i.folder).filter((f): f is string => f !== undefined));
    this.clear();
    for (const f of folders) if (f !== this.ctx.folder) await this.ctx.crypto.diskRemove(f).catch(() => undefined);
    if ((await this.storage) !== 'memory') await this.ctx.crypto.diskRemove(this.ctx.folder).catch(() => undefined);
  }

  /** A member left: what they were sending stops here, keeping what arrived, and says why. */
  memberLeft(memberId: string, name: string) {
    for (const inc of [...this.incoming.values()]) {
      // Every chunk already here (written, or being opened and written): it finishes without
      // its sender. A sender that does not wait (the CLI) leaves as its last chunk goes out,
      // and halting then dropped the chunks still being written, so the item never finished.
      const allHere = inc.tracker.receivedCount + inc.writing.size >= inc.tracker.totalChunks;
      if (inc.from === memberId && !inc.inbox && !allHere) this.halt(inc, `${name} left before sending all of it; it goes on if they come back`);
    }
  }

  /**
   * Someone joined (perhaps a sender coming back under a new id): resume what is paused, and
   * ask again for what stopped because its sender went away (whoever has it answers).
   */
  memberJoined() {
    for (const inc of this.incoming.values()) {
      if (this.ctx.board.get(inc.id)?.state === 'paused') this.resume(inc);
    }
    for (const inc of this.halted.values()) if (inc.autoResume) this.ask(inc);
  }

  /** Stops an item whose sender went away, keeping what arrived (see `autoResume`). */
  private halt(inc: Incoming, note: string) {
    this.incoming.delete(inc.id);
    this.halted.set(inc.id, inc);
    inc.autoResume = true;
    inc.pausedAt = undefined;
    void this.keep(inc);
    this.ctx.board.patch(inc.id, { state: 'offered', resumable: true, transferred: inc.bytes, bytesPerSecond: 0, note });
  }

  /** A stopped item goes on: it is received again from where it stopped. */
  private wake(inc: Incoming) {
    this.halted.delete(inc.id);
    inc.autoResume = undefined;
    inc.asks = 0;
    restarted(inc.pace, this.now());
    this.incoming.set(inc.id, inc);
    this.ctx.board.patch(inc.id, { state: 'receiving', transferred: inc.bytes, error: undefined, note: undefined, resumable: undefined });
  }

  /** Back on a new connection: ask for what is missing; pause what has no sender here. */
  rejoined() {
    const here = new Set(this.ctx.members().map((m) => m.id));
    for (const inc of this.incoming.values()) {
      if (here.has(inc.from) || inc.inbox) this.ask(inc);
      else this.pause(inc, t('transfer.waitingForReturn', { sender: inc.meta.senderName }));
    }
  }

  /**
   * The sender's page closed before the item was all here. What arrived is kept (on disk, with
   * its record), the item says so at once, and it goes on by itself if the sender opens the
   * session again and picks the file again; Discard frees it.
   */
  private senderClosed(id: string, senderName: string, name: string) {
    const note = t('transfer.senderLeftResumes', { sender: senderName });
    const inc = this.incoming.get(id) ?? this.halted.get(id);
    if (inc) {
      this.halt(inc, note);
    } else {
      this.ctx.board.patch(id, { note });
    }
    this.ctx.notify({ kind: 'transfer-failed', name, reason: note });
  }

  /**
   * Items an earlier page of this session left unfinished (reloaded, closed, frozen): shown
   * stopped, with what they have; Resume (`fetch`) asks their sender for the rest.
   */
  async adopt(partials: PartialItem[]) {
    const storage = await this.storage;
    for (const p of partials) {
      if (this.underWay(p.id)) continue;
      if (p.finished) {
        if (storage !== 'memory') await this.adoptFinished(p);
        continue;
      }
      if (storage !== 'sync') continue;
      const known = this.ctx.board.get(p.id);
      let tracker: ChunkTracker;
      try {
        tracker = ChunkTracker.restore(p.totalChunks, p.have);
      } catch {
        continue;
      }
      if (p.totalChunks !== this.ctx.sealing.chunkCount(p.meta.size)) continue;
      // Its chunks may come before its sender offers it again (a sender still sending).
      if (p.sender) this.ctx.sealing.rememberSender(p.id, p.sender);
      const bytes = Math.min(p.meta.size, tracker.receivedCount * CHUNK_SIZE);
      const mime = p.meta.mime || 'application/octet-stream';
      const sink = new DiskSink(this.ctx.crypto, this.ctx.keyId, p.folder, p.id, p.meta.size, mime);
      const inc = newIncoming({ id: p.id, from: '', meta: p.meta, sink, late: true, folder: p.folder, autoResume: true }, this.now(), tracker, bytes);
      this.halted.set(p.id, inc);
      this.offers.set(p.id, { from: this.offers.get(p.id)?.from ?? '', meta: { ...p.meta, offered: true }, inbox: false });
      const shown = { state: 'offered' as const, transferred: bytes, resumable: true, note: t('transfer.interruptedAt', { size: formatBytes(bytes) }) };
      if (known) this.ctx.board.patch(p.id, shown);
      else this.ctx.board.add({ ...receivedItem(p.id, '', p.meta), ...shown });
      // Its sender offered it before the record was read: it is here, go on at once.
      const sender = this.offers.get(p.id)?.from;
      if (known && sender) {
        inc.from = sender;
        void this.fetch(p.id);
      }
    }
  }

  /**
   * A file received whole stays with the next page (see `adopt`) until it is removed here.
   * Text does not: the device's history keeps that, sealed (`lib/history`).
   */
  private keepFinished(inc: Incoming) {
    if (!inc.folder) return;
    if (!this.ctx.savePartial || inc.meta.kind === 'text') return void deletePartial(inc.folder, inc.id);
    const { id, folder, meta, tracker } = inc;
    this.ctx.savePartial({ id, sessionId: this.ctx.sessionId, folder, meta, totalChunks: tracker.totalChunks, have: tracker.receivedRanges(), finished: true, savedAt: Date.now() });
  }

  /**
   * Whether this page has item `id` in hand, so an earlier page's record of it is not taken up.
   * An offer is not in hand: its sender may have offered it again (a late joiner's offer).
   */
  private underWay(id: string): boolean {
    const known = this.ctx.board.get(id);
    return (known !== undefined && known.state !== 'offered') || this.halted.has(id) || this.incoming.has(id) || this.dropped.has(id);
  }

  /** A file an earlier page received whole: shown received, read from where it lies. */
  private async adoptFinished(p: PartialItem) {
    const file = await this.ctx.keptFile?.(p.folder, p.id, p.meta.size);
    if (!file) return void deletePartial(p.folder, p.id);
    if (this.underWay(p.id)) return;
    const known = this.ctx.board.get(p.id);
    const mime = p.meta.mime || 'application/octet-stream';
    this.stored.set(p.id, new DiskSink(this.ctx.crypto, this.ctx.keyId, p.folder, p.id, p.meta.size, mime));
    const offer = this.offers.get(p.id);
    this.offers.delete(p.id);
    if (offer && !offer.inbox) this.tellHave(offer.from, p.id, p.totalChunks);
    const done = { state: 'done' as const, transferred: p.meta.size, blob: new Blob([file], { type: mime }) };
    if (known) this.ctx.board.patch(p.id, done);
    else this.ctx.board.add({ ...receivedItem(p.id, '', p.meta), ...done });
  }

  /** Records what an unfinished item has written, for a page after this one (see `adopt`). */
  private async keep(inc: Incoming) {
    if (!this.ctx.savePartial || !inc.folder || (await this.storage) !== 'sync') return;
    const sender = this.ctx.sealing.senderOf(inc.id);
    this.ctx.savePartial({ id: inc.id, sessionId: this.ctx.sessionId, folder: inc.folder, meta: inc.meta, totalChunks: inc.tracker.totalChunks, have: inc.tracker.receivedRanges(), sender, savedAt: Date.now() });
  }

  private pause(inc: Incoming, note: string) {
    inc.pausedAt ??= this.now();
    this.ctx.board.patch(inc.id, { state: 'paused', bytesPerSecond: 0, note });
  }

  private resume(inc: Incoming) {
    inc.asks = 0;
    inc.pausedAt = undefined;
    this.ctx.board.patch(inc.id, { state: 'receiving', note: undefined });
    this.ask(inc);
  }

  private checkStalls() {
    if (!this.ctx.connection.joined) return;
    const now = this.now();
    const here = new Set(this.ctx.members().map((m) => m.id));
    for (const inc of [...this.incoming.values()]) {
      const paused = this.ctx.board.get(inc.id)?.state === 'paused';
      if (paused && !inc.inbox && !here.has(inc.from) && now - (inc.pausedAt ?? now) >= SENDER_GONE_MS) {
        this.failHere(inc, `${inc.meta.senderName} left before sending all of it`);
        continue;
      }
      const quiet = quietFor(inc.pace, now);
      if (quiet < (paused ? PAUSED_ASK_MS : stallAfter(inc.pace))) continue;
      if (!paused && inc.asks >= MAX_ASKS) {
        this.pause(inc, t('transfer.noData', { sender: inc.meta.senderName }));
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
    inc.pace.lastAsk = this.now();
    inc.asks++;
    if (inc.inbox) {
      this.fetchWindow(inc, inc.inbox, { fromChunk: inc.tracker.firstMissing(), count: INBOX_FETCH_CHUNKS });
      return;
    }
    const msg: ControlMessage = { kind: 'resend', contentId: inc.id, fromChunk: inc.tracker.firstMissing(), ranges: inc.tracker.missingRanges() };
    void sealControlWith(this.ctx.sealing, msg).then((env) => this.ctx.connection.emit('content', env));
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
    this.tellHave(inc.from, inc.id, inc.tracker.receivedCount);
  }

  private tellHave(sender: string, contentId: string, have: number) {
    if (!sender) return; // a resumed item before its sender's first chunk
    const msg: ControlMessage = { kind: 'progress', contentId, have };
    void sealControlWith(this.ctx.sealing, msg).then((env) => this.ctx.connection.emit('content', { ...env, to: sender }));
  }

  /** This device cannot keep the item (bad data, full disk): it fails here, nowhere else. */
  private failHere(inc: Incoming, reason: string) {
    if (inc.folder) void deletePartial(inc.folder, inc.id);
    this.incoming.delete(inc.id);
    this.dropped.add(inc.id);
    void inc.sink.discard();
    this.ctx.board.patch(inc.id, { state: 'failed', error: reason, bytesPerSecond: 0, note: undefined });
    this.ctx.notify({ kind: 'transfer-failed', name: inc.meta.name, reason });
  }
}
