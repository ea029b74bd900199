/**
 * One ShareThings room (the UI says "session") as seen from this browser. This facade wires
 * three parts and owns the state the page reads (`store`): the connection (`connection.ts`:
 * socket, join, token rejoin), our items and their deliveries (`sender.ts`), and the items
 * others send (`receiver.ts`). No React, no Chakra: the UI reads `store` snapshots and calls
 * methods; results come back as values (`JoinResult`) or `notices`, never as toasts from here.
 *
 * What the server sees: the session name (in `join`, and hashed in the routing key), the
 * fingerprint, our display name, item ids, chunk counts and ciphertext sizes. Never the
 * passphrase, keys, file names, types, sizes or content: those are sealed in the worker, and
 * so are the control messages (resend, cancel, clear), which the server therefore cannot forge.
 */
import type { CryptoClient } from '../crypto/crypto-client';
import type { ContentEvent, InboxAck, InboxItemEvent, InboxListAck, InboxRemovedEvent, InboxTerms, InviteAck, ItemMeta, Member, MemberEvent } from '../../types/protocol';
import { type Connect, Connection, type ConnectionStatus, type OpenResult } from './connection';
import { openEnvelope, ReplayGuard, sealControl } from './envelopes';
import { newContentId } from './ids';
import { type Item, ItemBoard } from './items';
import type { Notice } from './notices';
import { Receiver } from './receiver';
import { Sender } from './sender';
import { Store } from './store';

export type { ConnectionStatus } from './connection';
export type { Item, TransferState } from './items';
export type { Notice } from './notices';

export interface RoomState {
  sessionId: string;
  clientName: string;
  selfId: string;
  status: ConnectionStatus;
  members: Member[];
  items: Item[];
  cryptoBackend: 'webcrypto' | 'purejs';
  /** Items that arrived complete since joining (for a summary or a title badge). */
  arrivals: number;
  /** The session's inbox for devices that join later, when it keeps one. */
  inbox: InboxTerms | null;
}

export type JoinResult =
  | { ok: true; room: RoomClient; created: boolean }
  | Extract<OpenResult, { ok: false }>;

export interface JoinOptions {
  sessionId: string;
  clientName: string;
  passphrase: string;
  /** Creating the session: keep items for devices that join later. */
  inbox?: boolean;
  /** A member's invite, from an invite link. */
  invite?: string;
  crypto: CryptoClient;
  /** Own items younger than this are offered to members who join later. */
  recentWindowMs: () => number;
  /** Offered items up to this size are fetched at once; larger ones wait until asked for. */
  autoFetchBytes?: () => number;
  /** Socket.IO URL; same origin when omitted. */
  url?: string;
  /** Opens the Socket.IO connection; tests pass a fake. Defaults to socket.io-client's `io`. */
  connect?: Connect;
  joinTimeoutMs?: number;
}

/** Offered items up to this size are fetched without asking, unless the page says otherwise. */
export const DEFAULT_AUTO_FETCH_BYTES = 16 * 1024 * 1024;

export class RoomClient {
  readonly store: Store<RoomState>;
  private readonly noticeListeners = new Set<(n: Notice) => void>();
  private readonly board: ItemBoard;
  private readonly sender: Sender;
  private readonly receiver: Receiver;
  private readonly clears = new ReplayGuard();
  private closed = false;
  private warnedUndecryptable = false;

  private constructor(
    private readonly connection: Connection,
    private readonly opts: JoinOptions,
    private readonly keyId: number,
    selfId: string,
    members: Member[],
    backend: RoomState['cryptoBackend'],
    inbox: InboxTerms | null,
  ) {
    this.store = new Store<RoomState>({
      sessionId: opts.sessionId,
      clientName: opts.clientName,
      selfId,
      status: 'connected',
      members,
      items: [],
      cryptoBackend: backend,
      arrivals: 0,
      inbox,
    });
    this.board = new ItemBoard(
      () => this.store.get().items,
      (items, soon) => this.patch({ items }, soon),
    );
    const shared = {
      connection,
      crypto: opts.crypto,
      keyId,
      board: this.board,
      notify: (n: Notice) => this.notify(n),
      members: () => this.store.get().members,
    };
    this.sender = new Sender({
      ...shared,
      selfId: () => this.store.get().selfId,
      clientName: () => opts.clientName,
      recentWindowMs: opts.recentWindowMs,
      keepsForAbsent: () => this.store.get().inbox !== null,
    });
    this.receiver = new Receiver({
      ...shared,
      autoFetchBytes: opts.autoFetchBytes ?? (() => DEFAULT_AUTO_FETCH_BYTES),
      folder: newContentId(),
    });
    connection.attach({
      status: (status) => this.patch({ status }),
      lost: () => this.sender.lost(),
      rejoined: (id, list, inbox) => {
        this.patch({ selfId: id, members: list, inbox });
        this.sender.rejoined();
        this.receiver.rejoined();
        void this.listInbox();
      },
      rejoinFailed: (code, message) => this.notify({ kind: 'rejoin-failed', code, message }),
      ended: (why) => {
        if (why === 'replaced') this.notify({ kind: 'replaced' });
        this.shutdown();
      },
      memberJoined: (e) => this.onMemberJoined(e),
      memberLeft: (e) => this.onMemberLeft(e),
      content: (e) => void this.onContent(e),
      chunk: (e) => void this.receiver.chunk(e),
      inboxItem: (e) => void this.onInboxItem(e),
      inboxRemoved: (e) => this.onInboxRemoved(e),
      inboxAck: (id, ack) => this.onInboxAck(id, ack),
    });
    void this.listInbox();
  }

  /**
   * Derives the keys (in the worker), connects with the session's routing key and joins.
   * Creates the session when it does not exist; `created` says which happened.
   */
  static async join(opts: JoinOptions): Promise<JoinResult> {
    const derived = await opts.crypto.derive(opts.passphrase, opts.sessionId);
    const r = await Connection.open({
      sessionId: opts.sessionId,
      clientName: opts.clientName,
      fingerprint: derived.fingerprint,
      inbox: opts.inbox,
      invite: opts.invite,
      url: opts.url,
      connect: opts.connect,
      joinTimeoutMs: opts.joinTimeoutMs,
    });
    if (!r.ok) {
      opts.crypto.forget(derived.keyId);
      return r;
    }
    const room = new RoomClient(r.connection, opts, derived.keyId, r.selfId, r.members, derived.backend, r.inbox);
    return { ok: true, room, created: r.created };
  }

  onNotice(listener: (n: Notice) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }

  private notify(n: Notice) {
    if (n.kind === 'received') this.patch({ arrivals: this.store.get().arrivals + 1 });
    for (const l of this.noticeListeners) l(n);
  }

  private patch(p: Partial<RoomState>, soon = false) {
    const next = { ...this.store.get(), ...p };
    if (soon) this.store.setSoon(next);
    else this.store.set(next);
  }

  private memberName(id: string | undefined): string {
    return this.store.get().members.find((m) => m.id === id)?.name ?? 'Someone';
  }

  // ---- what the page can do ------------------------------------------------------------

  /** Seals the metadata and starts sending the item to everyone. Resolves to its id. */
  share(blob: Blob, meta: Omit<ItemMeta, 'senderName' | 'createdAt' | 'size'>, text?: string): Promise<string> {
    return this.sender.share(blob, meta, text);
  }

  /** Our item: stop sending it and tell everyone. Another's: stop receiving it here. */
  cancel(id: string) {
    if (this.sender.owns(id)) this.sender.cancel(id);
    else this.receiver.stop(id);
  }

  /** Asks for an item that was offered to us (late joiners choose what to fetch). */
  fetch(id: string) {
    void this.receiver.fetch(id);
  }

  /** Removes an item from this device only, and frees its space. */
  removeLocal(id: string) {
    this.sender.forget(id);
    this.receiver.remove(id);
    this.board.remove(id);
  }

  /** Deletes an item from the session's inbox (every member is told); it stays on this device. */
  async deleteFromInbox(id: string) {
    const ack = await this.connection.request('inbox-delete', { contentId: id });
    if (ack?.success || (ack && ack.code === 'not_in_inbox')) this.board.patch(id, { inInbox: false });
  }

  /**
   * Clears every item on every device (a sealed message; the server cannot fake one), and the
   * session's inbox (the server's `clear-all-content`, which empties it).
   */
  clearAll() {
    this.clearHere('You');
    if (this.store.get().inbox) this.connection.emit('clear-all-content', {});
    void sealControl(this.opts.crypto, this.keyId, { kind: 'clear', at: Date.now() }).then((env) => this.connection.emit('content', env));
  }

  /** Leaves the session for good: tells the server, frees the disk, forgets the key. */
  leave() {
    if (this.closed) return;
    this.connection.leave();
    this.shutdown();
  }

  // ---- what the others do ----------------------------------------------------------------

  private clearHere(byName: string) {
    this.sender.clear();
    this.receiver.clear();
    this.board.clear();
    this.notify({ kind: 'cleared', byName });
  }

  private onMemberJoined(e: MemberEvent) {
    const members = [...this.store.get().members.filter((m) => m.id !== e.clientId), { id: e.clientId, name: e.clientName }];
    this.patch({ members });
    this.notify({ kind: 'member-joined', name: e.clientName });
    this.sender.memberJoined(e.clientId);
    this.receiver.memberJoined();
  }

  private onMemberLeft(e: MemberEvent) {
    this.patch({ members: this.store.get().members.filter((m) => m.id !== e.clientId) });
    this.notify({ kind: 'member-left', name: e.clientName });
    this.sender.memberLeft(e.clientId);
    this.receiver.memberLeft(e.clientId, e.clientName);
  }

  private async onContent(e: ContentEvent) {
    const opened = await openEnvelope(this.opts.crypto, this.keyId, e);
    if (this.closed) return;
    const from = e.from ?? '';
    if (!opened) {
      if (!this.warnedUndecryptable) {
        this.warnedUndecryptable = true;
        this.notify({ kind: 'undecryptable' });
      }
      return;
    }
    if (opened.kind === 'item') {
      const arriving = this.receiver.item(from, e.content.contentId, e.content.totalChunks, opened.meta);
      if (e.inbox === true) this.board.patch(e.content.contentId, { inInbox: true });
      return arriving;
    }
    const msg = opened.msg;
    switch (msg.kind) {
      case 'resend':
        return this.sender.resend(from, msg.contentId, msg.fromChunk, msg.ranges);
      case 'progress':
        return this.sender.progress(from, msg.contentId, msg.have);
      case 'cancel':
        return this.receiver.control(msg);
      case 'clear':
        if (this.clears.accept(e.content.contentId, msg.at)) this.clearHere(this.memberName(from));
    }
  }

  // ---- the session's inbox -------------------------------------------------------------------

  /**
   * A late joiner's first step when the session keeps an inbox: what did I miss? The server
   * answers a page at a time (its ack comes after the page's items); the next page is asked
   * for from where the ack says.
   */
  private async listInbox(from = 0) {
    if (!this.store.get().inbox) return;
    const ack = await this.connection.request<InboxListAck>('inbox-list', { from });
    if (!this.closed && ack?.success && typeof ack.next === 'number') await this.listInbox(ack.next);
  }

  /** An invite for another device: invite links carry it, so that a join through one is not held back while strangers guess at the session's name. */
  async invite(): Promise<string | undefined> {
    const ack = await this.connection.request<InviteAck>('invite', {});
    return ack?.success ? ack.invite : undefined;
  }

  /** A kept item, offered to us as to any late joiner; its chunks come from the inbox. */
  private async onInboxItem(e: InboxItemEvent) {
    const opened = await openEnvelope(this.opts.crypto, this.keyId, e);
    if (this.closed || !opened || opened.kind !== 'item') return;
    const id = e.content.contentId;
    const arriving = this.receiver.item(e.from ?? '', id, e.content.totalChunks, { ...opened.meta, offered: true }, true);
    this.board.patch(id, { inInbox: true });
    await arriving;
  }

  private onInboxRemoved(e: InboxRemovedEvent) {
    this.board.patch(e.contentId, { inInbox: false });
    this.receiver.inboxGone(e.contentId, e.reason === 'expired' ? 'it expired from the inbox' : 'it is no longer in the inbox');
  }

  private onInboxAck(id: string, ack: InboxAck) {
    if (ack.kept) return this.board.patch(id, { inInbox: true, inboxError: undefined });
    this.board.patch(id, { inInbox: false, inboxError: ack.error });
    this.notify({ kind: 'inbox-refused', name: this.board.get(id)?.name ?? 'An item', code: ack.code, message: ack.error });
  }

  private shutdown() {
    if (this.closed) return;
    this.closed = true;
    this.connection.close();
    this.sender.close();
    void this.receiver.close();
    this.opts.crypto.forget(this.keyId);
    this.patch({ status: 'closed' });
  }
}
