/** React access to the current room: context plus a subscription to its state snapshots. */
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { RoomClient, RoomState } from '../lib/room/room-client';

export const RoomContext = createContext<RoomClient | null>(null);

export function useRoom(): RoomClient {
  const room = useContext(RoomContext);
  if (!room) throw new Error('useRoom outside a RoomContext');
  return room;
}

export function useRoomState(): RoomState {
  const room = useRoom();
  return useSyncExternalStore(room.store.subscribe, room.store.get);
}
