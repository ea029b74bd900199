/**
 * The two switches of arrival alerts, kept in localStorage (nothing secret). Both default to
 * on; notifications also need the browser's permission, which only a click asks for.
 */
const KEYS = { notifications: 'sharethings.notifications', badge: 'sharethings.unseenCount' } as const;

export type AlertPreference = keyof typeof KEYS;

export function alertEnabled(which: AlertPreference): boolean {
  try {
    return localStorage.getItem(KEYS[which]) !== 'off';
  } catch {
    return true;
  }
}

export function setAlertEnabled(which: AlertPreference, on: boolean) {
  try {
    localStorage.setItem(KEYS[which], on ? 'on' : 'off');
  } catch {
    // Storage disabled: the switch holds for this page only.
  }
}
