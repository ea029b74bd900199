/**
 * Invite links. The session name, (only when the user asks) the passphrase, and a member's
 * invite travel in the URL fragment, which browsers never send to a server, so none of them
 * shows up in any log. The invite (from the server, for this session only) lets a join
 * through the link skip the session's limit on failed joins, so that strangers guessing at
 * the session's name cannot hold the invited device back (docs/security.md).
 */

export interface Invite {
  sessionId: string;
  passphrase?: string;
  /** The server's invite, which the join presents. */
  token?: string;
}

export function buildInviteLink(origin: string, invite: Invite): string {
  const params = new URLSearchParams({ s: invite.sessionId });
  if (invite.passphrase) params.set('p', invite.passphrase);
  if (invite.token) params.set('i', invite.token);
  return `${origin}/#${params.toString()}`;
}

export function parseInvite(hash: string): Invite | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const sessionId = params.get('s');
  if (!sessionId) return null;
  return { sessionId, passphrase: params.get('p') ?? undefined, token: params.get('i') ?? undefined };
}

/** Reads an invite from the address bar once, then removes it so the passphrase does not linger. */
export function takeInviteFromLocation(): Invite | null {
  const invite = parseInvite(window.location.hash);
  if (invite) history.replaceState(null, '', window.location.pathname + window.location.search);
  return invite;
}
