/**
 * The Socket.IO connection of one room: connect with the routing key, join, rejoin with the
 * token after every reconnect (same clientId), and the browser's online/offline/visibility
 * hints. It owns the connection state (`joined`, `generation`) and passes every server event
 * to its handlers; it knows nothing of items.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { t } from '../../i18n';
import { routeKey } from '../realtime/route';
import type {
  ChunkEvent,
  ContentEvent,
  ErrorCode,
  FailedJoins,
  Failure,
  InboxAck,
  InboxFetchedEvent,
  InboxItemEvent,
  InboxRemovedEvent,
  InboxTerms,
  JoinAck,
  JoinRequest,
  Member,
  MemberEvent,
  ServerError,
  SimpleAck,
} from '../../types/protocol';

export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'closed';

export type Connect = (url: string, options: Partial<ManagerOptions & SocketOptions>) => Socket;

export interface ConnectionHandlers {
  status(status: ConnectionStatus): void;
  /** Joined again on a new connection (a new `generation`); `inbox` as the ack says. */
  rejoined(selfId: string, members: Member[], inbox: InboxTerms | null): void;
  /** The connection went away; acks still outstanding will never come. */
  lost(): void;
  /** The page is closing: what must still go out goes now, before the socket says goodbye. */
  closing(): void;
  rejoinFailed(code: ErrorCode | 'unreachable', message: string): void;
  /** The server ended our membership (another connection took it, or the passphrase changed). */
  ended(why: 'replaced' | 'refused'): void;
  memberJoined(e: MemberEvent): void;
  memberLeft(e: MemberEvent): void;
  content(e: ContentEvent): void;
  chunk(e: ChunkEvent): void;
  inboxItem(e: InboxItemEvent): void;
  inboxRemoved(e: InboxRemovedEvent): void;
  inboxFetched(e: InboxFetchedEvent): void;
  /** Format v3: a device applies to be admitted, or stops applying; an admission message for us. */
  applicant?(e: { clientId: string }): void;
  applicantLeft?(e: { clientId: string }): void;
  admit?(e: { from: string; step: number; data: unknown }): void;
  /** What the session's inbox did with an item we sent (the `inbox` field of its acks). */
  inboxAck(contentId: string, ack: InboxAck): void;
}

/** 'ok', 'retry' (the connection went away first; send again after the rejoin), or the server's refusal. */
export type AckResult = 'ok' | 'retry' | string;

const JOIN_TIMEOUT_MS = 15_000;

export type OpenResult =
  | { ok: true; connection: Connection; selfId: string; members: Member[]; created: boolean; inbox: InboxTerms | null }
  | { ok: false; code: ErrorCode | 'unreachable' | 'timeout'; message: string; retryAfterMs?: number; failedJoins?: FailedJoins };

/**
 * How a connection joins its session, first and again after every reconnect: format v2 sends
 * the name and fingerprint; format v3 (`membership/v3-entry.ts`) answers a challenge, and may
 * apply and wait for admission first.
 */
export interface JoinStrategy {
  enter(socket: Socket, timeoutMs: number): Promise<JoinAck | undefined>;
  rejoin(socket: Socket, token: string, inbox: boolean, timeoutMs: number): Promise<JoinAck | undefined>;
  /** Whether a rejoin refused with `code` means our membership is over. */
  ends(code: string): boolean;
}

export interface OpenOptions {
  sessionId: string;
  clientName: string;
  fingerprint: unknown;
  /** How to join; the format v2 join with `clientName` and `fingerprint` when omitted. */
  strategy?: JoinStrategy;
  /** Ask for an inbox, should this join create the session. */
  inbox?: boolean;
  /** A member's invite, from an invite link (only the first join carries it). */
  invite?: string;
  url?: string;
  connect?: Connect;
  joinTimeoutMs?: number;
}

export class Connection {
  /** Given by every join ack; a rejoin presents it. */
  private token = '';
  private closed = false;
  private handlers?: ConnectionHandlers;
  /**
   * Whether the session keeps an inbox. A rejoin asks for one too, so that a session created
   * again after a server restart keeps items as before, whichever member rejoins first.
   */
  private inbox = false;
  /** Bumped on every loss and every rejoin; acks from an older connection are ignored. */
  generation = 0;
  joined = true;

  /**
   * Server events that came before the room attached, delivered to it in order on `attach`.
   * Over long polling one response can carry the join ack and, right behind it, what the others
   * sent us at once (the offers a late joiner is owed): socket.io-client dispatches them all in
   * one task, before the ack's promise lets the room attach, and drops events nobody listens to.
   * Only that one payload can land here, so the queue needs no bound.
   */
  private readonly early: ((h: ConnectionHandlers) => void)[] = [];

  private constructor(
    private readonly socket: Socket,
    private readonly opts: OpenOptions,
  ) {
    const deliver = (call: (h: ConnectionHandlers) => void) => (this.handlers ? call(this.handlers) : this.early.push(call));
    socket.on('client-joined', (e: MemberEvent) => deliver((h) => h.memberJoined(e)));
    socket.on('client-left', (e: MemberEvent) => deliver((h) => h.memberLeft(e)));
    socket.on('content', (e: ContentEvent) => deliver((h) => h.content(e)));
    socket.on('chunk', (e: ChunkEvent) => deliver((h) => h.chunk(e)));
    socket.on('inbox-item', (e: InboxItemEvent) => deliver((h) => h.inboxItem(e)));
    socket.on('inbox-removed', (e: InboxRemovedEvent) => deliver((h) => h.inboxRemoved(e)));
    socket.on('inbox-fetched', (e: InboxFetchedEvent) => deliver((h) => h.inboxFetched(e)));
    socket.on('applicant', (e: { clientId: string }) => deliver((h) => h.applicant?.(e)));
    socket.on('applicant-left', (e: { clientId: string }) => deliver((h) => h.applicantLeft?.(e)));
    socket.on('admit', (e: { from: string; step: number; data: unknown }) => deliver((h) => h.admit?.(e)));
    this.strategy = opts.strategy ?? v2Join(opts);
  }

  private readonly strategy: JoinStrategy;

  /** Connects and joins (creating the session when it does not exist). */
  static async open(opts: OpenOptions): Promise<OpenResult> {
    const socket = (opts.connect ?? io)(opts.url ?? '', {
      query: { route: routeKey(opts.sessionId) },
      // We connect explicitly below, after the listeners are in place.
      autoConnect: false,
      reconnectionDelayMax: 4000,
    });
    // Listening before the join: whatever arrives with its ack is kept for the room.
    const connection = new Connection(socket, opts);
    const timeout = opts.joinTimeoutMs ?? JOIN_TIMEOUT_MS;
    const fail = (r: Extract<OpenResult, { ok: false }>): OpenResult => {
      socket.disconnect();
      return r;
    };
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeout);
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
    if (!connected) return fail({ ok: false, code: 'unreachable', message: t('server.unreachable') });
    const ack = await connection.strategy.enter(socket, timeout);
    if (!ack) return fail({ ok: false, code: 'timeout', message: t('server.timeout') });
    if (!ack.success) return fail({ ok: false, code: ack.code, message: ack.error, retryAfterMs: ack.retryAfterMs, failedJoins: ack.failedJoins });
    const inbox = ack.inbox ?? null;
    connection.token = ack.token;
    connection.inbox = inbox !== null;
    return { ok: true, connection, selfId: ack.clientId, members: ack.clients, created: ack.created, inbox };
  }

  /** Starts delivering events; called once, by the room that owns this connection. */
  attach(handlers: ConnectionHandlers) {
    this.handlers = handlers;
    for (const call of this.early.splice(0)) call(handlers);
    const s = this.socket;
    s.on('connect', () => void this.rejoin());
    s.on('disconnect', (reason) => {
      this.joined = false;
      this.generation++;
      handlers.lost();
      if (this.closed) return;
      // "io server disconnect" does not reconnect by itself; ask again.
      if (reason === 'io server disconnect') s.connect();
      handlers.status(navigator.onLine === false ? 'offline' : 'reconnecting');
    });
    s.io.on('reconnect_attempt', () => {
      if (!this.closed && !this.joined) handlers.status(navigator.onLine === false ? 'offline' : 'reconnecting');
    });
    s.on('error', (e: ServerError) => {
      if (e?.code === 'replaced') {
        // Another connection took over our membership (same token): stop fighting over it.
        this.close();
        handlers.ended('replaced');
      }
    });
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
    addEventListener('pagehide', this.onPageHide);
    addEventListener('pageshow', this.onPageShow);
    document.addEventListener('visibilitychange', this.onVisible);
  }

  /**
   * The page is closing (or going into the back/forward cache): say goodbye on the socket, so
   * the others learn at once that our transfers stopped instead of after the rejoin grace.
   */
  private readonly onPageHide = () => {
    if (this.closed || !this.socket.connected) return;
    // Last words first (a sender's goodbyes), then the disconnect: in that order on the wire.
    this.handlers?.closing();
    this.socket.disconnect();
  };

  private readonly onPageShow = (e: PageTransitionEvent) => {
    if (!this.closed && e.persisted && !this.socket.connected) this.socket.connect();
  };

  /**
   * Going offline: drop the connection now instead of waiting for a ping timeout, so the
   * badge tells the truth and transfers pause at once; coming back reconnects and rejoins.
   */
  private readonly onOffline = () => {
    if (this.closed) return;
    this.handlers?.status('offline');
    this.socket.disconnect();
  };

  private readonly onOnline = () => {
    if (this.closed) return;
    this.handlers?.status('reconnecting');
    if (!this.socket.connected) this.socket.connect();
  };

  /** A phone waking from sleep: the socket may be long dead; try at once. */
  private readonly onVisible = () => {
    if (!this.closed && document.visibilityState === 'visible' && !this.socket.connected) this.socket.connect();
  };

  /** Joins again on a new connection with our token (same clientId). */
  private async rejoin() {
    if (this.closed || this.joined) return;
    const ack = await this.strategy.rejoin(this.socket, this.token, this.inbox, JOIN_TIMEOUT_MS);
    if (this.closed || !this.handlers) return;
    if (!ack || !ack.success) {
      this.handlers.rejoinFailed(ack ? ack.code : 'unreachable', ack ? ack.error : t('server.noAnswer'));
      if (ack && this.strategy.ends(ack.code)) {
        this.close();
        this.handlers.ended('refused');
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
    this.handlers.status('connected');
    this.inbox = ack.inbox !== undefined;
    this.handlers.rejoined(ack.clientId, ack.clients, ack.inbox ?? null);
  }

  /** Emits without waiting for an answer (dropped when not joined). */
  emit(event: string, payload: object) {
    if (this.joined) this.socket.emit(event, { sessionId: this.opts.sessionId, ...payload });
  }

  /** Emits with an ack; see `AckResult`. */
  emitAck(event: 'content' | 'chunk', payload: object): Promise<AckResult> {
    const gen = this.generation;
    if (!this.joined) return Promise.resolve('retry');
    return new Promise((resolve) => {
      const onDisconnect = () => resolve('retry');
      this.socket.once('disconnect', onDisconnect);
      this.socket.emit(event, { sessionId: this.opts.sessionId, ...payload }, (ack: SimpleAck | undefined) => {
        this.socket.off('disconnect', onDisconnect);
        if (gen !== this.generation) return resolve('retry');
        if (ack?.success && ack.inbox) this.handlers?.inboxAck(contentIdOf(payload), ack.inbox);
        if (!ack || ack.success) return resolve('ok');
        // not_joined after a reconnect race: rejoin and resend.
        if (ack.code === 'not_joined') return resolve('retry');
        resolve(ack.error || ack.code);
      });
    });
  }

  /** Emits and resolves with the server's ack (`undefined` when not joined or the connection went away). */
  request<A = SimpleAck>(event: string, payload: object): Promise<A | undefined> {
    if (!this.joined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const onDisconnect = () => resolve(undefined);
      this.socket.once('disconnect', onDisconnect);
      this.socket.emit(event, { sessionId: this.opts.sessionId, ...payload }, (ack: A | undefined) => {
        this.socket.off('disconnect', onDisconnect);
        resolve(ack);
      });
    });
  }

  /** Leaves the session for good (the others are told at once) and closes. */
  leave() {
    if (this.closed) return;
    if (this.socket.connected) this.socket.emit('leave', { sessionId: this.opts.sessionId });
    this.close();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.joined = false;
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    removeEventListener('pagehide', this.onPageHide);
    removeEventListener('pageshow', this.onPageShow);
    document.removeEventListener('visibilitychange', this.onVisible);
    this.socket.disconnect();
  }
}

/** The item a `content` or `chunk` payload belongs to. */
function contentIdOf(payload: object): string {
  const p = payload as { content?: { contentId?: unknown }; chunk?: { contentId?: unknown } };
  const id = p.content?.contentId ?? p.chunk?.contentId;
  return typeof id === 'string' ? id : '';
}

/** Format v2: the name and the passphrase's fingerprint, and a token on every rejoin. */
function v2Join(opts: OpenOptions): JoinStrategy {
  return {
    enter(socket, timeoutMs) {
      const request: JoinRequest = { sessionId: opts.sessionId, clientName: opts.clientName, fingerprint: opts.fingerprint, inbox: opts.inbox === true };
      if (opts.invite) request.invite = opts.invite;
      return emitJoin(socket, request, timeoutMs);
    },
    rejoin(socket, token, inbox, timeoutMs) {
      return emitJoin(socket, { sessionId: opts.sessionId, clientName: opts.clientName, token, fingerprint: opts.fingerprint, inbox }, timeoutMs);
    },
    ends: (code) => code === 'invalid_passphrase',
  };
}

export function emitJoin(socket: Socket, req: object, timeoutMs: number): Promise<JoinAck | undefined> {
  return new Promise((resolve) => {
    socket.timeout(timeoutMs).emit('join', req, (err: Error | null, ack: JoinAck) => {
      resolve(err ? undefined : normalizeAck(ack));
    });
  });
}

function normalizeAck(ack: JoinAck): JoinAck {
  if (ack && typeof ack === 'object' && 'success' in ack) return ack;
  return { success: false, code: 'internal', error: t('server.unexpected') } satisfies Failure;
}
