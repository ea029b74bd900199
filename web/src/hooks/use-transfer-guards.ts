/**
 * What a page with transfers under way owes its user, for as long as they run:
 * - closing or reloading the tab asks first (the browser's own "Leave site?" prompt);
 * (a page that closes anyway tells the receivers of what it was sending: see `Connection`);
 * - the screen stays on (Screen Wake Lock): a phone that locks itself freezes the page, and
 *   with it the transfer. The lock is let go when nothing moves, and taken again when the page
 *   is shown again (a hidden page loses it).
 * And once per session: the browser is asked to keep this site's storage (received files),
 * which Safari otherwise evicts after days without a visit.
 */
import { useEffect } from 'react';
import { askToPersist } from '../lib/disk/space';
import type { RoomClient } from '../lib/room/room-client';

const moving = (room: RoomClient) => room.store.get().items.some((i) => i.state === 'sending' || i.state === 'receiving' || i.state === 'paused');

export function useTransferGuards(room: RoomClient) {
  useEffect(() => {
    void askToPersist();
    let lock: WakeLockSentinel | undefined;
    let asking = false;
    const sync = () => {
      const want = moving(room) && document.visibilityState === 'visible';
      if (want && !lock && !asking && 'wakeLock' in navigator) {
        asking = true;
        navigator.wakeLock.request('screen').then(
          (l) => {
            asking = false;
            lock = l;
            l.addEventListener('release', () => {
              if (lock === l) lock = undefined;
            });
            sync();
          },
          () => {
            asking = false; // not allowed here (no user gesture yet, battery saver): nothing to do
          },
        );
      } else if (!want && lock) {
        const l = lock;
        lock = undefined;
        void l.release();
      }
    };
    const beforeUnload = (e: BeforeUnloadEvent) => {
      if (!moving(room)) return;
      e.preventDefault();
      // Older browsers show the prompt only when a value is set.
      e.returnValue = '';
    };
    const unsubscribe = room.store.subscribe(sync);
    document.addEventListener('visibilitychange', sync);
    window.addEventListener('beforeunload', beforeUnload);
    return () => {
      unsubscribe();
      document.removeEventListener('visibilitychange', sync);
      window.removeEventListener('beforeunload', beforeUnload);
      void lock?.release();
    };
  }, [room]);
}
