/**
 * React access to the current room: context plus subscriptions to fields of its state
 * snapshots. A component re-renders only when the field it reads changes: progress replaces
 * `items` twice a second during a transfer, and re-rendering the whole page with it cost a
 * receiving browser more CPU than opening and writing the chunks.
 */
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { RoomClient, RoomState } from '../lib/room/room-client';

export const RoomContext = createContext<RoomClient | null>(null);

export function useRoom(): RoomClient {
  const room = useContext(RoomContext);
  if (!room) throw new Error('useRoom outside a RoomContext');
  return room;
}

export function useRoomValue<K extends keyof RoomState>(key: K): RoomState[K] {
  const room = useRoom();
  return useSyncExternalStore(room.store.subscribe, () => room.store.get()[key]);
}

/** How far one item's transfer is: for the one component that shows it (see `content-item.tsx`). */
export function useItemProgress(id: string, key: 'transferred' | 'bytesPerSecond'): number {
  const room = useRoom();
  return useSyncExternalStore(room.store.subscribe, () => room.store.get().items.find((i) => i.id === id)?.[key] ?? 0);
}
