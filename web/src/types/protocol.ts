/**
 * Wire payloads (docs/protocol.md, "ShareThings events"), mirrored from the server, plus the
 * envelope this client puts inside `content`. Types only.
 *
 * Envelope (format v2), what the server can see:
 *   content event: { contentId, format: 2, totalChunks, iv } + `data` = sealed metadata
 *   chunk event:   { contentId, chunkIndex, totalChunks, encryptedData, iv }
 * `iv` is base64 of the 12-byte IV. Everything else (kind, name, type, size, sender name,
 * text) is inside the sealed metadata or the sealed chunks.
 */

export type ErrorCode =
  | 'invalid_request'
  | 'invalid_passphrase'
  | 'not_joined'
  | 'session_full'
  | 'server_full'
  | 'rate_limited'
  | 'payload_too_large'
  | 'replaced'
  | 'inbox_full'
  | 'server_inbox_full'
  | 'inbox_item_too_large'
  | 'not_in_inbox'
  | 'internal';

/** With a wrong passphrase: the client address's failed joins in the server's window, its limit, and the window's length. */
export interface FailedJoins {
  count: number;
  limit: number;
  windowMs: number;
}

export interface Failure {
  success: false;
  code: ErrorCode;
  error: string;
  retryAfterMs?: number;
  failedJoins?: FailedJoins;
}

export interface Member {
  id: string;
  name: string;
}

export interface JoinRequest {
  sessionId: string;
  clientName: string;
  fingerprint?: unknown;
  token?: string;
  /** A member's invite (from an invite link): the session's limit on failed joins does not apply. */
  invite?: string;
  /** Creating the session: keep items for devices that join later (PROTOCOL.md, "Inbox"). */
  inbox?: boolean;
}

/** A session's inbox, as every join ack of it says: how long items wait, how much it keeps. */
export interface InboxTerms {
  ttlMs: number;
  maxBytes: number;
  /** Format 3: whether the server lets any member clear it, or only the creator (as the creator last told it). */
  anyoneMayClear?: boolean;
}

export type JoinAck =
  | { success: true; token: string; clientId: string; clients: Member[]; created: boolean; inbox?: InboxTerms }
  | Failure;

/** The `inbox` field of a `content` or `chunk` ack: whether the session's inbox kept the item. */
export type InboxAck = { kept: true } | { kept: false; code: 'inbox_full' | 'server_inbox_full' | 'inbox_item_too_large'; error: string };

export type SimpleAck = { success: true; inbox?: InboxAck } | Failure;

/** `inbox-list`'s ack: the items sent, after their `inbox-item` events; `next` when more are left. */
export type InboxListAck = { success: true; items: { contentId: string; expiresInMs: number }[]; next?: number } | Failure;

/** `inbox-fetch`'s ack, after the chunks; `next` when the item has more from there on. */
export type InboxFetchAck = { success: true; sent: number; next?: number } | Failure;

/** `invite`'s ack: an invite for another device, for the invite link. */
export type InviteAck = { success: true; invite: string; expiresInMs: number } | Failure;

export interface ContentEnvelope {
  contentId: string;
  format: 2 | 3;
  totalChunks: number;
  iv: string;
  /** Format v3: the sender's device id, its counter and its signature. */
  by?: string;
  seq?: number;
  sig?: string;
}

export interface ContentEvent {
  sessionId: string;
  content: ContentEnvelope;
  data: ArrayBuffer | Uint8Array;
  to?: string;
  from?: string;
  /** Set by the server: the session's inbox keeps this item. */
  inbox?: true;
}

/**
 * A kept item, as its `content` was relayed (envelope and sealed metadata), given to a member
 * that asked with `inbox-list`; `fetchedBy`, from a server that records it, the members who
 * fetched it to its last chunk (checked by `lib/room/fetched-by.ts`).
 */
export type InboxItemEvent = ContentEvent & { fetchedBy?: unknown };

/** A member fetched a kept item to its last chunk, for the first time: to the other members. */
export interface InboxFetchedEvent {
  sessionId: string;
  contentId: string;
  clientId: string;
}

export interface InboxRemovedEvent {
  sessionId: string;
  contentId: string;
  reason: 'deleted' | 'expired' | 'full';
}

export interface ChunkPayload {
  contentId: string;
  chunkIndex: number;
  totalChunks: number;
  encryptedData: ArrayBuffer | Uint8Array;
  iv: string;
  /** Format v3: the sender's signature. */
  sig?: string;
}

export interface ChunkEvent {
  sessionId: string;
  chunk: ChunkPayload;
  to?: string;
  from?: string;
}

export interface MemberEvent {
  sessionId: string;
  clientId: string;
  clientName: string;
}

export interface RemovedEvent {
  sessionId: string;
  contentId: string;
  from?: string;
}

export interface ServerError {
  code: ErrorCode;
  message: string;
}

/** Sealed metadata of an item (never visible to the server). */
export interface ItemMeta {
  kind: 'text' | 'image' | 'file' | 'folder';
  name: string;
  mime: string;
  size: number;
  width?: number;
  height?: number;
  senderName: string;
  createdAt: number;
  /** A folder's number of entries (files and empty folders), announced before its body (docs/protocol.md, "Folders"). */
  files?: number;
  /**
   * Set on the metadata a sender gives a member who joined later: no chunks follow until the
   * receiver asks for them with a `resend` (PROTOCOL.md, "Late joiners choose").
   */
  offered?: true;
}

/**
 * Sealed control message: "send me item `contentId` again": the chunks in `ranges` (half-open
 * `[from, to)` pairs) when present, else everything from chunk `fromChunk` on.
 */
export interface ResendRequest {
  kind: 'resend';
  contentId: string;
  fromChunk: number;
  ranges?: [number, number][];
}

/**
 * Sealed control message: the sender stopped item `contentId`: cancelled by them, its file
 * became unreadable, sending failed for another reason, or its page is closing (`left`).
 */
export interface CancelNotice {
  kind: 'cancel';
  contentId: string;
  reason: 'cancelled' | 'unreadable' | 'failed' | 'left';
}

/** Sealed control message: clear every item on every device; `at` is the sender's clock (ms). */
export interface ClearRequest {
  kind: 'clear';
  at: number;
}

/**
 * Sealed control message, receiver to sender: `have` chunks of item `contentId` are written
 * here. Senders keep at most a window of chunks ahead of each receiver that reports.
 */
export interface ProgressReport {
  kind: 'progress';
  contentId: string;
  have: number;
}

export type ControlMessage = ResendRequest | CancelNotice | ClearRequest | ProgressReport;

export type SealedMeta = ItemMeta | ControlMessage;
