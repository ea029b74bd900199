/**
 * How many items from others arrived while nobody was looking (the page hidden or without
 * focus). Back in view, everything counts as seen. Computed from the room's items: when
 * attention leaves, the ids already done are remembered; anything done since is unseen.
 */
import { useEffect, useState } from 'react';
import type { Item } from '../lib/room/room-client';
import { useRoom, useRoomState } from './use-room';

const attending = () => document.visibilityState === 'visible' && document.hasFocus();
const doneIds = (items: readonly Item[]) => new Set(items.filter((i) => i.state === 'done').map((i) => i.id));

export function useUnseenCount(): number {
  const room = useRoom();
  const { items } = useRoomState();
  const [seenWhenAway, setSeenWhenAway] = useState<ReadonlySet<string> | null>(() => (attending() ? null : doneIds(room.store.get().items)));
  useEffect(() => {
    const update = () => setSeenWhenAway((prev) => (attending() ? null : (prev ?? doneIds(room.store.get().items))));
    window.addEventListener('focus', update);
    window.addEventListener('blur', update);
    document.addEventListener('visibilitychange', update);
    return () => {
      window.removeEventListener('focus', update);
      window.removeEventListener('blur', update);
      document.removeEventListener('visibilitychange', update);
    };
  }, [room]);
  if (!seenWhenAway) return 0;
  return items.filter((i) => !i.mine && i.state === 'done' && !seenWhenAway.has(i.id)).length;
}
