/**
 * The service worker answers the share sheet with a redirect to `/?share=<outcome>`. Read once
 * at start and removed from the address bar, so a reload does not report it again.
 */
export type ShareOutcome = 'stored' | 'full' | 'empty' | 'failed';

let taken: ShareOutcome | null | undefined;

export function takeShareOutcome(): ShareOutcome | null {
  if (taken !== undefined) return taken;
  const url = new URL(window.location.href);
  const value = url.searchParams.get('share');
  taken = value === 'stored' || value === 'full' || value === 'empty' || value === 'failed' ? value : null;
  if (value !== null) {
    url.searchParams.delete('share');
    history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
  }
  return taken;
}
