/**
 * The two on/off preferences, shared by every component that shows or uses them (the settings
 * panel, the paste dialog's "don't ask again", the auto-copy hook), kept in localStorage.
 */
import { useSyncExternalStore } from 'react';
import { settings } from '../config/settings';

const PREFERENCES = {
  confirmPaste: { get: settings.confirmPaste, set: settings.setConfirmPaste },
  autoCopy: { get: settings.autoCopy, set: settings.setAutoCopy },
} as const;

export type Preference = keyof typeof PREFERENCES;

const listeners = new Set<() => void>();
const subscribe = (l: () => void) => {
  listeners.add(l);
  return () => {
    listeners.delete(l);
  };
};

export function setPreference(key: Preference, value: boolean) {
  PREFERENCES[key].set(value);
  for (const l of listeners) l();
}

export function usePreference(key: Preference): [boolean, (value: boolean) => void] {
  const value = useSyncExternalStore(subscribe, PREFERENCES[key].get);
  return [value, (v: boolean) => setPreference(key, v)];
}
