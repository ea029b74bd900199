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
import type { ContentEvent, ItemMeta, Member, MemberEvent } from '../../types/protocol';
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
}

export type JoinResult =
  | { ok: true; room: RoomClient; created: boolean }
  | Extract<OpenResult, { ok: false }>;

export interface JoinOptions {
  sessionId: string;
  clientName: string;
  passphrase: string;
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
    });
    this.receiver = new Receiver({
      ...shared,
      autoFetchBytes: opts.autoFetchBytes ?? (() => DEFAULT_AUTO_FETCH_BYTES),
      folder: newContentId(),
    });
    connection.attach({
      status: (status) => this.patch({ status }),
      lost: () => this.sender.lost(),
      rejoined: (id, list) => {
        this.patch({ selfId: id, members: list });
        this.sender.rejoined();
        this.receiver.rejoined();
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
    });
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
      url: opts.url,
      connect: opts.connect,
      joinTimeoutMs: opts.joinTimeoutMs,
    });
    if (!r.ok) {
      opts.crypto.forget(derived.keyId);
      return r;
    }
    const room = new RoomClient(r.connection, opts, derived.keyId, r.selfId, r.members, derived.backend);
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

  /** Clears every item on every device (a sealed message; the server cannot fake one). */
  clearAll() {
    this.clearHere('You');
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
    if (opened.kind === 'item') return this.receiver.item(from, e.content.contentId, e.content.totalChunks, opened.meta);
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
