/**
 * Preferences kept in localStorage. Nothing secret goes here: no passphrase, no token, no
 * key, no content — only the display name, the colour scheme, the language, the late-joiner
 * window, the size up to which offered items are fetched unasked, how much this device's
 * history keeps, and two switches (ask before sharing a paste, copy received text). The
 * history itself is sealed in IndexedDB (lib/history), never here.
 */

const KEYS = {
  name: 'sharethings.name',
  colorMode: 'sharethings.colorMode',
  recentMinutes: 'sharethings.recentMinutes',
  lastSession: 'sharethings.lastSession',
  confirmPaste: 'sharethings.confirmPaste',
  autoCopy: 'sharethings.autoCopy',
  autoFetchMiB: 'sharethings.autoFetchMiB',
  historyItems: 'sharethings.historyItems',
  historyMiB: 'sharethings.historyMiB',
  language: 'sharethings.language',
} as const;

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage disabled (private mode, policies): fall back to defaults
  }
}

function write(key: string, value: string) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Not being able to remember a preference is not worth bothering anyone about.
  }
}

export const DEFAULT_RECENT_MINUTES = 30;
export const RECENT_MINUTES_CHOICES = [0, 5, 30, 120, 1440] as const;

export const DEFAULT_AUTO_FETCH_MIB = 16;
export const AUTO_FETCH_MIB_CHOICES = [0, 1, 16, 100, 1024] as const;

/** The history's bounds: entries (0 keeps nothing new) and stored megabytes. */
export const DEFAULT_HISTORY_ITEMS = 200;
export const HISTORY_ITEMS_CHOICES = [0, 20, 200, 1000] as const;
export const DEFAULT_HISTORY_MIB = 4;
export const HISTORY_MIB_CHOICES = [1, 4, 16] as const;

/** A stored number when it is one of `choices`, else `fallback`: a hand-edited value cannot unbound anything. */
function chosen(key: string, choices: readonly number[], fallback: number): number {
  const raw = read(key);
  return choices.find((c) => String(c) === raw) ?? fallback;
}

export const settings = {
  name: () => read(KEYS.name) ?? '',
  setName: (v: string) => write(KEYS.name, v),
  lastSession: () => read(KEYS.lastSession) ?? '',
  setLastSession: (v: string) => write(KEYS.lastSession, v),
  colorMode: (): 'light' | 'dark' | 'system' => {
    const v = read(KEYS.colorMode);
    return v === 'light' || v === 'dark' ? v : 'system';
  },
  setColorMode: (v: 'light' | 'dark' | 'system') => write(KEYS.colorMode, v),
  recentMinutes: (): number => {
    const v = Number(read(KEYS.recentMinutes));
    return read(KEYS.recentMinutes) !== null && Number.isFinite(v) && v >= 0 ? v : DEFAULT_RECENT_MINUTES;
  },
  setRecentMinutes: (v: number) => write(KEYS.recentMinutes, String(v)),
  /** Ask before a paste outside a text box is shared with everyone (on unless switched off). */
  confirmPaste: (): boolean => read(KEYS.confirmPaste) !== 'false',
  setConfirmPaste: (v: boolean) => write(KEYS.confirmPaste, String(v)),
  /** Copy text received from others to the clipboard, where the browser allows it (off). */
  autoCopy: (): boolean => read(KEYS.autoCopy) === 'true',
  setAutoCopy: (v: boolean) => write(KEYS.autoCopy, String(v)),
  autoFetchMiB: (): number => {
    const raw = read(KEYS.autoFetchMiB);
    const v = Number(raw);
    return raw !== null && Number.isFinite(v) && v >= 0 ? v : DEFAULT_AUTO_FETCH_MIB;
  },
  setAutoFetchMiB: (v: number) => write(KEYS.autoFetchMiB, String(v)),
  historyItems: (): number => chosen(KEYS.historyItems, HISTORY_ITEMS_CHOICES, DEFAULT_HISTORY_ITEMS),
  setHistoryItems: (v: number) => write(KEYS.historyItems, String(v)),
  historyMiB: (): number => chosen(KEYS.historyMiB, HISTORY_MIB_CHOICES, DEFAULT_HISTORY_MIB),
  setHistoryMiB: (v: number) => write(KEYS.historyMiB, String(v)),
  /** The page's language when one was chosen; empty or absent: the browser's. */
  language: (): string | null => read(KEYS.language),
  setLanguage: (v: string) => write(KEYS.language, v),
};
