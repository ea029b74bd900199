/**
 * Puts the room's text items into this device's history: ours as soon as they are shared,
 * others' once they arrived whole. Each item once; the history ignores one it knows. Files and
 * images are not kept: they are the device's downloads, not its history.
 */
import { useEffect } from 'react';
import { useRoom } from '../../../hooks/use-room';
import { deviceHistory } from '../device-history';

export function useHistoryRecorder() {
  const room = useRoom();
  useEffect(() => {
    const history = deviceHistory();
    const seen = new Set<string>();
    const record = () => {
      const { items, sessionId } = room.store.get();
      for (const item of items) {
        if (seen.has(item.id) || item.kind !== 'text' || item.text === undefined) continue;
        if (!item.mine && item.state !== 'done') continue;
        seen.add(item.id);
        void history.add({ id: item.id, text: item.text, from: item.senderName, mine: item.mine, sessionId, at: item.createdAt });
      }
    };
    record();
    return room.store.subscribe(record);
  }, [room]);
}
