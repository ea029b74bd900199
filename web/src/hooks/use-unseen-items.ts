/**
 * The items from others that arrived while nobody was looking (the page hidden or without
 * focus), the one count of unseen items: the tab title, the app badge and the arrival
 * notification all show it. Back in view, everything counts as seen. Computed from the room's
 * items: when attention leaves, the ids already done are remembered; anything done since is
 * unseen (a removed item no longer counts).
 */
import { useEffect, useState } from 'react';
import type { Item } from '../lib/room/room-client';
import { listen } from '../utils/listen';
import { useRoom, useRoomValue } from './use-room';

const attending = () => document.visibilityState === 'visible' && document.hasFocus();
const doneIds = (items: readonly Item[]) => new Set(items.filter((i) => i.state === 'done').map((i) => i.id));

export function useUnseenItems(): Item[] {
  const room = useRoom();
  const items = useRoomValue('items');
  const [seenWhenAway, setSeenWhenAway] = useState<ReadonlySet<string> | null>(() => (attending() ? null : doneIds(room.store.get().items)));
  useEffect(() => {
    const update = () => setSeenWhenAway((prev) => (attending() ? null : (prev ?? doneIds(room.store.get().items))));
    const stopWindow = listen<WindowEventMap>(window, { focus: update, blur: update });
    const stopDocument = listen<DocumentEventMap>(document, { visibilitychange: update });
    return () => {
      stopWindow();
      stopDocument();
    };
  }, [room]);
  if (!seenWhenAway) return [];
  return items.filter((i) => !i.mine && i.state === 'done' && !seenWhenAway.has(i.id));
}
