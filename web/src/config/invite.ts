/**
 * Invite links. Everything they carry travels in the URL fragment, which browsers never send
 * to a server, so none of it shows up in any log. A format v3 session's link carries the room
 * secret (`k`, docs/protocol.md "Invites"), never the passphrase: opening it joins directly.
 * A legacy (v2) session's link carries the session name, (only when the user asks) the
 * passphrase, and a member's invite, which lets a join through the link skip the session's
 * limit on failed joins (docs/security.md).
 */

export interface Invite {
  sessionId: string;
  /** Format v3: `b64url(roomKey || creatorPk || prs?)`, the room secret (see `encodeSecretKey`). */
  key?: string;
  passphrase?: string;
  /** The server's invite, which the join presents. */
  token?: string;
}

export function buildInviteLink(origin: string, invite: Invite): string {
  // The contract's form: the name percent-encoded as encodeURIComponent does (a space is %20).
  if (invite.key) return `${origin}/#s=${encodeURIComponent(invite.sessionId)}&k=${invite.key}`;
  const params = new URLSearchParams({ s: invite.sessionId });
  if (invite.passphrase) params.set('p', invite.passphrase);
  if (invite.token) params.set('i', invite.token);
  return `${origin}/#${params.toString()}`;
}

export function parseInvite(hash: string): Invite | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const sessionId = params.get('s');
  if (!sessionId) return null;
  const key = params.get('k') ?? undefined;
  if (key) return { sessionId, key };
  return { sessionId, passphrase: params.get('p') ?? undefined, token: params.get('i') ?? undefined };
}

/** Reads an invite from the address bar once, then removes it so no secret lingers there. */
export function takeInviteFromLocation(): Invite | null {
  const invite = parseInvite(window.location.hash);
  if (invite) history.replaceState(null, '', window.location.pathname + window.location.search);
  return invite;
}

/** Names that only ever mean this machine: a link with one cannot work on another device. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\./.test(h) || h === '::1';
}
