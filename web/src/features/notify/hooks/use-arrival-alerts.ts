/**
 * Items that arrive while the page is hidden: counted on the app icon (Badging API; the tab
 * title's count is the session page's, from useUnseenCount), and announced by a notification
 * when the user allowed it. Showing the page again marks them seen. Each of the two can be
 * switched off (preferences.ts).
 */
import { useEffect } from 'react';
import type { Item, RoomClient } from '../../../lib/room/room-client';
import { arrivalText } from '../arrival-text';
import { alertEnabled } from '../preferences';

/** One notification stands for every unseen item; each arrival replaces it. */
const TAG = 'sharethings-arrivals';

async function notify(unseen: Item[]) {
  if (!alertEnabled('notifications') || typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  const { title, body } = arrivalText(unseen);
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

export function useArrivalAlerts(room: RoomClient) {
  useEffect(() => {
    const seen = new Set(room.store.get().items.map((i) => i.id));
    let unseen: Item[] = [];

    const onState = () => {
      const arrived = room.store.get().items.filter((i) => !i.mine && i.state === 'done' && !seen.has(i.id));
      if (arrived.length === 0) return;
      for (const item of arrived) seen.add(item.id);
      if (document.visibilityState === 'visible') return;
      unseen = [...unseen, ...arrived];
      showCount(unseen.length);
      void notify(unseen).catch(() => {});
    };
    const onVisibility = () => {
      if (document.visibilityState !== 'visible' || unseen.length === 0) return;
      unseen = [];
      showCount(0);
      void withdrawNotifications().catch(() => {});
    };

    const unsubscribe = room.store.subscribe(onState);
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      unsubscribe();
      document.removeEventListener('visibilitychange', onVisibility);
      showCount(0);
    };
  }, [room]);
}
