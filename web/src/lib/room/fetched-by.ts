/**
 * Which devices fetched a kept item from the session's inbox (docs/protocol.md, "Inbox": a
 * server that records fetches sends `fetchedBy` with each `inbox-item`, and `inbox-fetched`
 * when a member is first recorded). What the server says is checked like any input: a list of
 * at most FETCHED_BY_MAX ids of at most ID_MAX characters, each once. Pure.
 */

/** The server records 64 at most. */
export const FETCHED_BY_MAX = 64;
const ID_MAX = 64;

const validId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= ID_MAX;

/** The `fetchedBy` of an `inbox-item`, or `undefined` when there is none (a server that does not record them). */
export function fetchedByOf(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return [...new Set(v.filter(validId))].slice(0, FETCHED_BY_MAX);
}

/** `list` with `id` added (an `inbox-fetched`), or `list` itself when it adds nothing. */
export function withFetcher(list: readonly string[] | undefined, id: unknown): readonly string[] | undefined {
  if (!validId(id)) return list;
  const known = list ?? [];
  if (known.includes(id) || known.length >= FETCHED_BY_MAX) return list;
  return [...known, id];
}
