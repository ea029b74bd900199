/**
 * Copying text. The Clipboard API exists only in secure contexts, so over plain HTTP on a LAN
 * this falls back to the old way: a hidden textarea, selected, and `execCommand('copy')`,
 * which browsers still honour inside a click. Resolves to whether the text was copied.
 */

function copyWithSelection(text: string): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  // Off-screen but still selectable; fixed so the page does not scroll to it.
  area.style.position = 'fixed';
  area.style.top = '0';
  area.style.left = '-9999px';
  area.style.opacity = '0';
  const focused = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  document.body.appendChild(area);
  area.select();
  area.setSelectionRange(0, text.length);
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  focused?.focus();
  return ok;
}

export async function copyText(text: string): Promise<boolean> {
  if (navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Refused (no permission, page not focused): try the selection way below.
    }
  }
  return copyWithSelection(text);
}

/**
 * Copies without a user gesture (auto-copy of received text). Only the Clipboard API can do
 * that, and only where the browser allows it; there is no fallback worth trying.
 */
export async function copyTextQuietly(text: string): Promise<boolean> {
  if (!navigator.clipboard?.writeText) return false;
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
