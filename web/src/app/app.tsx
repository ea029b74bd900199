/**
 * The two screens and the hand-over between them. The passphrase lives only in this component's
 * memory while a session is open (for invite links); it is never written anywhere.
 *
 * The session token stays inside the RoomClient, in memory only. Keeping it in sessionStorage
 * would let a reload rejoin the member list, but not read anything: the keys come from the
 * passphrase, which is never stored. So a reload returns to the home page with the session name
 * filled in, and joining again costs one passphrase entry.
 */
import { useState } from 'react';
import { toaster } from '../components/ui/toaster';
import { takeInviteFromLocation } from '../config/invite';
import type { RoomClient } from '../lib/room/room-client';
import { HomePage } from './routes/home';
import { SessionPage } from './routes/session';

interface Open {
  room: RoomClient;
  passphrase: string;
}

export function App() {
  const [invite] = useState(takeInviteFromLocation);
  const [open, setOpen] = useState<Open | null>(null);

  if (!open) {
    return (
      <HomePage
        invite={invite}
        onJoined={(room, created, passphrase) => {
          setOpen({ room, passphrase });
          const name = room.store.get().sessionId;
          toaster.create(
            created
              ? { type: 'success', title: 'Session created', description: `“${name}” is new. Invite your other devices.` }
              : { type: 'success', title: 'Joined session', description: `You are in “${name}”.` },
          );
        }}
      />
    );
  }
  return (
    <SessionPage
      room={open.room}
      passphrase={open.passphrase}
      onLeave={() => {
        open.room.leave();
        setOpen(null);
      }}
    />
  );
}
