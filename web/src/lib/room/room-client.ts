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
import type { ContentEvent, FailedJoins, InboxAck, InboxFetchedEvent, InboxItemEvent, InboxListAck, InboxRemovedEvent, InboxTerms, InviteAck, ItemMeta, Member, MemberEvent } from '../../types/protocol';
import type { ApplicantStatus } from '../membership/admission/applicant';
import type { EntryIntent } from '../membership/v3-entry';
import type { V3Room } from '../membership/v3-room';
import { type Connect, Connection, type ConnectionStatus, type OpenResult } from './connection';
import { type Opened, openEnvelope, ReplayGuard } from './envelopes';
import { fetchedByOf, withFetcher } from './fetched-by';
import { newContentId } from './ids';
import { type Item, ItemBoard } from './items';
import type { Notice } from './notices';
import { Receiver } from './receiver';
import { type RoomSealing, sealControlWith, v2Sealing } from './sealing';
import { Sender } from './sender';
import { Store } from './store';
import { heldFolders, keptFile, type StorageMode } from '../disk/opfs';
import { freeSpace, memoryBudget } from '../disk/space';
import { deleteUnsent, partialsOf, savePartial, saveUnsent, unsentOf } from '../disk/partials';

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
  /** How received files are kept on this device, once known. */
  storage: StorageMode | null;
  /** 3: random room keys, admission by members, signed items; 2: a legacy session, keyed by its passphrase. */
  format: 2 | 3;
  /** Format v3: the safety code of the members online, as this device sees them. */
  safetyCode?: string;
  /**
   * Who may clear the room on every device. In format v3 the creator decides (`anyoneMayClear`,
   * signed; only the creator may change it) and the other members refuse a clear from anyone
   * else; a legacy session lets everyone.
   */
  clearing: { mayClear: boolean; anyoneMayClear: boolean; creator: boolean };
}

/** What differs between a format v2 and a format v3 room. */
interface RoomFormat {
  /** The worker's key for format v2's chunks (0 in format v3, which seals on the page). */
  keyId: number;
  sealing: RoomSealing;
  /** Opens a `content`; undefined when it does not check out (or, in v3, was for the roster). */
  open(e: ContentEvent): Promise<Opened | undefined>;
  forget(): void;
  v3?: V3Room;
}

export type JoinResult =
  | { ok: true; room: RoomClient; created: boolean; admittedBy?: string }
  | { ok: false; code: Extract<OpenResult, { ok: false }>['code'] | string; message: string; retryAfterMs?: number; failedJoins?: FailedJoins };

export interface JoinOptions {
  sessionId: string;
  clientName: string;
  passphrase: string;
  /**
   * `3`: format v3 first, with this browser's kept secret, an invite's secret, or the
   * passphrase to be admitted (or to create the session, with `createV3`); a legacy session,
   * or a new one without `createV3`, is then joined in format v2. `2` (the default): v2 only.
   */
  format?: 2 | 3;
  /** A session this join creates is a format v3 one. */
  createV3?: boolean;
  /** Format v3: an invite link's room secret, which joins without the passphrase. */
  secret?: Extract<EntryIntent, { kind: 'invite' }>['secret'];
  /** Format v3: what this device does while it waits to be admitted. */
  applying?: (s: ApplicantStatus) => void;
  /** Format v3: stops waiting to be admitted. */
  signal?: AbortSignal;
  /** Creating the session: keep items for devices that join later. */
  inbox?: boolean;
  /** A member's invite, from an invite link. */
  invite?: string;
  crypto: CryptoClient;
  /** Own items younger than this are offered to members who join later. */
  recentWindowMs: () => number;
  /** Offered items up to this size are fetched at once; larger ones wait until asked for. */
  autoFetchBytes?: () => number;
  /** Free storage quota and memory budget (see `disk/space.ts`); tests pass their own. */
  freeSpace?: () => Promise<number | undefined>;
  memoryBudget?: () => number;
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
    opts: JoinOptions,
    private readonly format: RoomFormat,
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
      storage: null,
      format: format.v3 ? 3 : 2,
      clearing: { mayClear: true, anyoneMayClear: !format.v3, creator: false },
    });
    this.board = new ItemBoard(
      () => this.store.get().items,
      (items, soon) => this.patch({ items }, soon),
    );
    const shared = {
      connection,
      crypto: opts.crypto,
      keyId: format.keyId,
      sealing: format.sealing,
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
      sessionId: opts.sessionId,
      rememberUnsent: (u) => void saveUnsent(u),
      forgetUnsent: (id) => void deleteUnsent(id),
    });
    this.receiver = new Receiver({
      ...shared,
      autoFetchBytes: opts.autoFetchBytes ?? (() => DEFAULT_AUTO_FETCH_BYTES),
      folder: newContentId(),
      freeSpace: opts.freeSpace ?? freeSpace,
      memoryBudget: opts.memoryBudget ?? memoryBudget,
      sessionId: opts.sessionId,
      savePartial: (p) => void savePartial(p),
      keptFile,
    });
    void this.receiver.storage.then((storage) => this.patch({ storage }));
    // What an earlier page of this session received here: unfinished, offered again to resume;
    // whole, shown received.
    void heldFolders().then((held) => partialsOf(opts.sessionId, held)).then((partials) => {
      if (!this.closed) void this.receiver.adopt(partials);
    });
    void unsentOf(opts.sessionId).then((unsent) => {
      if (!this.closed) this.sender.restore(unsent);
    });
    connection.attach({
      status: (status) => this.patch({ status }),
      lost: () => this.sender.lost(),
      closing: () => this.sender.goodbye(),
      rejoined: (id, list, inbox) => {
        this.patch({ selfId: id, members: this.named(list), inbox });
        this.format.v3?.joined(id);
        void this.format.v3?.syncInboxPolicy(inbox);
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
      inboxFetched: (e) => this.onInboxFetched(e),
      inboxAck: (id, ack) => this.onInboxAck(id, ack),
      applicantLeft: (e) => this.format.v3?.applicantLeft(e.clientId),
      admit: (e) => this.format.v3?.admit(e),
    });
    format.v3?.attach(
      {
        emit: (event, payload) => connection.emit(event, payload),
        request: (event, payload) => connection.request(event, payload),
        notify: (n) => this.notify(n),
        named: (id, name) => this.patch({ members: this.store.get().members.map((m) => (m.id === id ? { ...m, name } : m)) }),
        safetyCode: (safetyCode) => this.patch({ safetyCode }),
        policy: (anyoneMayClear) => {
          const v3 = this.format.v3;
          if (v3) this.patch({ clearing: { mayClear: v3.mayClear, anyoneMayClear, creator: v3.isCreator } });
        },
      },
      selfId,
    );
    if (format.v3) this.patch({ members: this.named(members) });
    void format.v3?.syncInboxPolicy(inbox);
    void this.listInbox();
  }

  /**
   * Derives the keys (in the worker), connects with the session's routing key and joins.
   * Creates the session when it does not exist; `created` says which happened.
   */
  static async join(opts: JoinOptions): Promise<JoinResult> {
    // A member's invite exists only for a legacy session: it goes straight to format v2.
    if (opts.format === 3 && !opts.invite) {
      const r = await RoomClient.joinV3(opts);
      if (r.ok || (r.code !== 'legacy_session' && r.code !== 'no_such_session')) return r;
    }
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
    const format: RoomFormat = {
      keyId: derived.keyId,
      sealing: v2Sealing(opts.crypto, derived.keyId),
      open: (e) => openEnvelope(opts.crypto, derived.keyId, e),
      forget: () => opts.crypto.forget(derived.keyId),
    };
    const room = new RoomClient(r.connection, opts, format, r.selfId, r.members, derived.backend, r.inbox);
    return { ok: true, room, created: r.created };
  }

  /** Format v3: with this browser's kept secret, an invite's, or the passphrase (see `JoinOptions.format`). */
  private static async joinV3(opts: JoinOptions): Promise<JoinResult> {
    const { openV3 } = await import('../membership/v3-session');
    const intent: EntryIntent = opts.secret
      ? { kind: 'invite', secret: opts.secret, name: opts.clientName }
      : opts.passphrase
        ? { kind: 'passphrase', passphrase: opts.passphrase, name: opts.clientName, create: opts.createV3 === true }
        : { kind: 'stored' };
    const r = await openV3({
      sessionId: opts.sessionId,
      intent,
      inbox: opts.inbox === true,
      status: opts.applying,
      signal: opts.signal,
      url: opts.url,
      connect: opts.connect,
      joinTimeoutMs: opts.joinTimeoutMs,
    });
    if (!r.ok) return r;
    const v3 = r.v3;
    const format: RoomFormat = {
      keyId: 0,
      sealing: v3.sealing,
      open: (e) => v3.open(e),
      forget: () => v3.close(),
      v3,
    };
    const backend = typeof crypto !== 'undefined' && crypto.subtle ? 'webcrypto' : 'purejs';
    const room = new RoomClient(r.connection, { ...opts, clientName: v3.name, passphrase: '' }, format, r.selfId, r.members, backend, r.inbox);
    return { ok: true, room, created: r.created, admittedBy: r.admittedBy };
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

  /** Seals the metadata and starts sending the item to everyone, or to the member `to` alone. Resolves to its id. */
  share(blob: Blob, meta: Omit<ItemMeta, 'senderName' | 'createdAt' | 'size'>, text?: string, to?: string): Promise<string> {
    return this.sender.share(blob, meta, text, to);
  }

  /** Our item: stop sending it and tell everyone. Another's: stop receiving it here. */
  cancel(id: string) {
    if (this.sender.owns(id)) this.sender.cancel(id);
    else this.receiver.stop(id);
  }

  /**
   * Our item from an earlier page, its file picked again: offered again if it is the same file;
   * otherwise says why not.
   */
  resumeSending(id: string, file: File): Promise<string | undefined> {
    return this.sender.resumeWith(id, file);
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

  /**
   * Deletes an item from the session's inbox (every member is told); it stays on this device.
   * Another member's item needs the creator's say in format 3 (signed by the creator's device).
   */
  async deleteFromInbox(id: string) {
    const v3 = this.format.v3;
    const request = { contentId: id };
    const ack = v3 && !this.board.get(id)?.mine ? await v3.inboxRequest('inbox-delete', request, ['delete', id]) : await this.connection.request('inbox-delete', request);
    if (ack?.success || (ack && ack.code === 'not_in_inbox')) this.board.patch(id, { inInbox: false });
  }

  /**
   * Clears every item on every device (a sealed message; the server cannot fake one), and the
   * session's inbox (the server's `clear-all-content`, which empties it).
   */
  clearAll() {
    // The other members would refuse it (and the inbox is theirs too): nothing to do.
    if (!this.store.get().clearing.mayClear) return;
    this.clearHere('You');
    if (this.store.get().inbox) void (this.format.v3?.inboxRequest('clear-all-content', {}, ['clear']) ?? this.connection.request('clear-all-content', {}));
    void sealControlWith(this.format.sealing, { kind: 'clear', at: Date.now() }).then((env) => this.connection.emit('content', env));
  }

  /** Format v3, the creator only: whether anyone may clear the room, or only the creator. */
  setAnyoneMayClear(anyoneMayClear: boolean): Promise<void> {
    return this.format.v3?.setAnyoneMayClear(anyoneMayClear) ?? Promise.resolve();
  }

  /** Whether something of ours is still on its way to another device. */
  sending(): boolean {
    return this.sender.busy();
  }

  /** Leaves the session for good: tells the server, frees the disk, forgets the key. */
  leave() {
    if (this.closed) return;
    this.connection.leave();
    void this.format.v3?.forget();
    this.shutdown();
  }

  // ---- what the others do ----------------------------------------------------------------

  private clearHere(byName: string) {
    this.sender.clear();
    this.receiver.clear();
    this.board.clear();
    this.notify({ kind: 'cleared', byName });
  }

  /** Format v3's members as the roster names them (the server sends no names). */
  private named(members: Member[]): Member[] {
    const v3 = this.format.v3;
    return v3 ? members.map((m) => ({ ...m, name: v3.nameOf(m.id) ?? m.name })) : members;
  }

  private onMemberJoined(e: MemberEvent) {
    const [member] = this.named([{ id: e.clientId, name: e.clientName ?? '' }]);
    this.patch({ members: [...this.store.get().members.filter((m) => m.id !== e.clientId), member] });
    // A v3 member is announced once its hello verified (`V3Room`).
    if (!this.format.v3) this.notify({ kind: 'member-joined', name: e.clientName });
    this.sender.memberJoined(e.clientId);
    this.receiver.memberJoined();
  }

  private onMemberLeft(e: MemberEvent) {
    const name = e.clientName ?? this.memberName(e.clientId);
    this.patch({ members: this.store.get().members.filter((m) => m.id !== e.clientId) });
    this.format.v3?.memberLeft(e.clientId);
    this.notify({ kind: 'member-left', name });
    this.sender.memberLeft(e.clientId, name);
    this.receiver.memberLeft(e.clientId, name);
  }

  private async onContent(e: ContentEvent) {
    const announced = this.receiver.announced(e.content);
    try {
      await this.onOpened(e, await this.format.open(e));
    } finally {
      if (announced) this.receiver.settled(announced);
    }
  }

  private async onOpened(e: ContentEvent, opened: Opened | undefined) {
    if (this.closed) return;
    const from = e.from ?? '';
    if (!opened) {
      // Format v3 drops what does not check out, and keeps the roster, quietly.
      if (!this.format.v3 && !this.warnedUndecryptable) {
        this.warnedUndecryptable = true;
        this.notify({ kind: 'undecryptable' });
      }
      return;
    }
    if (opened.kind === 'item') {
      return this.receiver.item(from, e.content.contentId, e.content.totalChunks, opened.meta, false, e.inbox === true ? { inInbox: true } : undefined);
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

  /** Format v3: the room secret for an invite link (docs/protocol.md, "Invites"); none in a legacy session. */
  inviteKey(): string | undefined {
    return this.format.v3?.inviteKey;
  }

  /** An invite for another device: invite links carry it, so that a join through one is not held back while strangers guess at the session's name. */
  async invite(): Promise<string | undefined> {
    const ack = await this.connection.request<InviteAck>('invite', {});
    return ack?.success ? ack.invite : undefined;
  }

  /** A kept item, offered to us as to any late joiner; its chunks come from the inbox. */
  private async onInboxItem(e: InboxItemEvent) {
    const opened = await this.format.open(e);
    if (this.closed || !opened || opened.kind !== 'item') return;
    const id = e.content.contentId;
    await this.receiver.item(e.from ?? '', id, e.content.totalChunks, { ...opened.meta, offered: true }, true, { inInbox: true, fetchedBy: fetchedByOf(e.fetchedBy) });
  }

  private onInboxRemoved(e: InboxRemovedEvent) {
    this.board.patch(e.contentId, { inInbox: false });
    this.receiver.inboxGone(e.contentId, e.reason === 'expired' ? 'it expired from the inbox' : 'it is no longer in the inbox');
  }

  private onInboxFetched(e: InboxFetchedEvent) {
    const item = this.board.get(e.contentId);
    const fetchedBy = item && withFetcher(item.fetchedBy, e.clientId);
    if (item && fetchedBy !== item.fetchedBy) this.board.patch(item.id, { fetchedBy });
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
    this.format.forget();
    this.patch({ status: 'closed' });
  }
}
