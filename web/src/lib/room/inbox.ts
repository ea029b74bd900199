/**
 * This device's side of a session inbox (docs/protocol.md, "Inbox"): the server keeps the
 * sealed envelopes of every item for devices that join later, and sends a kept item's chunks
 * only when asked, a few at a time. This says which to ask for next, so that the server's send
 * queue for us holds a few chunks, never a whole large item.
 */

/** Chunks the server sends for one `inbox-fetch` at most. */
export const INBOX_FETCH_CHUNKS = 8;

/** The next window is asked for once fewer than this many asked-for chunks are still due. */
const REFILL_BELOW = 4;

export interface InboxWindow {
  fromChunk: number;
  count: number;
}

/**
 * The next window of an item of `total` chunks, or `null` when none is due yet: chunks
 * `[0, asked)` were asked for so far and `received` of them arrived.
 */
export function nextInboxWindow(asked: number, received: number, total: number): InboxWindow | null {
  if (asked >= total || asked - received >= REFILL_BELOW) return null;
  return { fromChunk: asked, count: Math.min(INBOX_FETCH_CHUNKS, total - asked) };
}
