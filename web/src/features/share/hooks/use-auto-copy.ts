/**
 * With the "copy received text" setting on, the newest text from another device goes to the
 * clipboard as it arrives, where the browser allows a copy without a click (a secure, focused
 * page). Items already here when the setting is read are left alone.
 */
import { useEffect } from 'react';
import { toaster } from '../../../components/ui/toaster';
import { useRoom } from '../../../hooks/use-room';
import { copyTextQuietly } from '../../../utils/clipboard';

export function useAutoCopy(enabled: boolean) {
  const room = useRoom();
  useEffect(() => {
    if (!enabled) return;
    const handled = new Set(room.store.get().items.filter((i) => i.state === 'done').map((i) => i.id));
    return room.store.subscribe(() => {
      const fresh = room.store.get().items.filter((i) => i.state === 'done' && !handled.has(i.id));
      for (const i of fresh) handled.add(i.id);
      // Items are newest first: the first fresh text is the one to keep.
      const text = fresh.find((i) => !i.mine && i.kind === 'text' && i.text !== undefined)?.text;
      if (text === undefined) return;
      void copyTextQuietly(text).then((ok) => {
        if (ok) toaster.create({ id: 'auto-copied', type: 'success', title: 'Copied the received text', duration: 2000 });
      });
    });
  }, [room, enabled]);
}
