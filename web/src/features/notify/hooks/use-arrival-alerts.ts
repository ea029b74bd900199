/**
 * The unseen items (useUnseenItems, which also counts them in the tab title) on the app icon
 * (Badging API), and, while the page is hidden, in a notification when the user allowed it.
 * Once they are seen, the badge and the notification go. Each of the two can be switched off
 * (preferences.ts).
 */
import { useEffect } from 'react';
import type { Item } from '../../../lib/room/room-client';
import { arrivalText } from '../arrival-text';
import { alertEnabled } from '../preferences';

/** One notification stands for every unseen item; each arrival replaces it. */
const TAG = 'sharethings-arrivals';

async function notify({ title, body }: { title: string; body: string }) {
  if (!alertEnabled('notifications') || typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  const options: NotificationOptions = { body, tag: TAG, icon: '/icon-192.png' };
  // Android allows notifications only through the service worker; elsewhere either works.
  const registration = await navigator.serviceWorker?.getRegistration();
  if (registration) await registration.showNotification(title, options);
  else new Notification(title, options);
}

async function withdrawNotifications() {
  const registration = await navigator.serviceWorker?.getRegistration();
  for (const n of (await registration?.getNotifications({ tag: TAG })) ?? []) n.close();
}

function showCount(count: number) {
  const on = alertEnabled('badge');
  if (!('setAppBadge' in navigator)) return;
  const done = on && count > 0 ? navigator.setAppBadge(count) : navigator.clearAppBadge();
  done.catch(() => {
    // Not installed, or the platform has no badges: the title still counts.
  });
}

export function useArrivalAlerts(unseen: readonly Item[]) {
  const count = unseen.length;
  // Strings, so that the effect runs when what it would show changes, not on every render.
  const text = count > 0 ? arrivalText(unseen) : undefined;
  const title = text?.title;
  const body = text?.body;
  useEffect(() => {
    showCount(count);
    if (title === undefined || body === undefined) void withdrawNotifications().catch(() => {});
    else if (document.visibilityState !== 'visible') void notify({ title, body }).catch(() => {});
  }, [count, title, body]);
  useEffect(() => () => showCount(0), []);
}
