/** What a room tells the page besides its state: one-off events the UI may announce. */
import type { ErrorCode, InboxAck } from '../../types/protocol';

type InboxRefusal = Extract<InboxAck, { kept: false }>['code'];

export type Notice =
  | { kind: 'member-joined'; name: string }
  | { kind: 'member-left'; name: string }
  /** An item arrived complete; `late` when it was offered to us as a late joiner. */
  | { kind: 'received'; name: string; from: string; late: boolean }
  /** As a late joiner we were offered an item too large to fetch unasked; it waits for "Get". */
  | { kind: 'offered'; name: string; from: string }
  | { kind: 'cleared'; byName: string }
  | { kind: 'undecryptable' }
  | { kind: 'transfer-failed'; name: string; reason: string }
  /** The sender of an item we were receiving cancelled it. */
  | { kind: 'transfer-cancelled'; name: string; byName: string }
  | { kind: 'rejoin-failed'; code: ErrorCode | 'unreachable'; message: string }
  | { kind: 'replaced' }
  /** The session's inbox refused an item we sent (it still reached the members online). */
  | { kind: 'inbox-refused'; name: string; code: InboxRefusal; message: string };
