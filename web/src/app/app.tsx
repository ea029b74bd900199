/**
 * The two screens and the hand-over between them. The passphrase lives only in this component's
 * memory while a session is open (for invite links); it is never written anywhere.
 *
 * The session token stays inside the RoomClient, in memory only. Keeping it in sessionStorage
 * would let a reload rejoin the member list, but not read anything: the keys come from the
 * passphrase, which is never stored. So a reload returns to the home page with the session name
 * filled in, and joining again costs one passphrase entry.
 *
 * An invitation (the link's #fragment) is read once, at load or when a link is opened in this
 * tab, and dropped once used, so leaving the session does not walk back into it.
 */
import { useEffect, useState } from 'react';
import { toaster } from '../components/ui/toaster';
import { takeInviteFromLocation } from '../config/invite';
import { t } from '../i18n';
import type { RoomClient } from '../lib/room/room-client';
import { HomePage } from './routes/home';
import { SessionPage } from './routes/session';

interface Open {
  room: RoomClient;
  passphrase: string;
  /** The join created a session whose name was typed: ask whether that was meant. */
  askNew: boolean;
}

export function App() {
  const [invite, setInvite] = useState(takeInviteFromLocation);
  const [open, setOpen] = useState<Open | null>(null);

  useEffect(() => {
    const onHash = () => {
      const next = takeInviteFromLocation();
      if (next) setInvite(next);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  if (!open) {
    return (
      <HomePage
        invite={invite}
        onDeclineInvite={() => setInvite(null)}
        onJoined={(room, created, passphrase, askNew) => {
          setInvite(null);
          setOpen({ room, passphrase, askNew });
          const name = room.store.get().sessionId;
          if (askNew) return; // the session page asks first, and says "created" once confirmed
          toaster.create(
            created
              ? { type: 'success', title: t('app.created'), description: t('app.createdDetail', { session: name }) }
              : { type: 'success', title: t('app.joined'), description: t('app.joinedDetail', { session: name }) },
          );
        }}
      />
    );
  }
  return (
    <SessionPage
      room={open.room}
      passphrase={open.passphrase}
      askNew={open.askNew}
      onConfirmNew={() => {
        setOpen({ ...open, askNew: false });
        toaster.create({ type: 'success', title: t('app.created'), description: t('app.createdDetail', { session: open.room.store.get().sessionId }) });
      }}
      onLeave={() => {
        open.room.leave();
        // Notices of this session mean nothing in the next one.
        toaster.dismiss();
        setOpen(null);
      }}
    />
  );
}
