/**
 * "Leave": it asks first, and says what leaving deletes on this device (received files) and
 * what stops (transfers under way), so nobody loses a file they have not saved by one tap.
 */
import { Button, Text } from '@chakra-ui/react';
import { LogOut } from 'lucide-react';
import { useState } from 'react';
import { ConfirmDialog } from '../../../components/ui/dialog';
import { useRoom } from '../../../hooks/use-room';

export function LeaveButton({ sessionId, onLeave }: { sessionId: string; onLeave: () => void }) {
  const room = useRoom();
  const [open, setOpen] = useState(false);
  // Read when the dialog opens: the counts it shows are of that moment.
  const items = open ? room.store.get().items : [];
  const received = items.filter((i) => !i.mine && i.state === 'done' && i.kind !== 'text').length;
  const moving = items.filter((i) => i.state === 'sending' || i.state === 'receiving' || i.state === 'paused').length;
  return (
    <ConfirmDialog
      title={`Leave “${sessionId}”?`}
      open={open}
      onOpenChange={setOpen}
      trigger={
        <Button size="sm" variant="ghost" aria-label="Leave session" minH={{ base: '11', md: 'auto' }}>
          <LogOut />
          <Text hideBelow="sm">Leave</Text>
        </Button>
      }
      action="Leave"
      actionPalette="red"
      onAction={() => {
        setOpen(false);
        onLeave();
      }}
      focus="cancel"
    >
      <Text fontSize="sm" data-testid="leave-consequences">
        Everything shared in this session disappears from this device
        {received > 0 ? `, including ${received === 1 ? 'the file' : `${received} files`} received here (download what you want to keep first)` : ''}.
        {moving > 0 ? ` ${moving === 1 ? 'A transfer' : `${moving} transfers`} still under way will stop.` : ''} The other devices keep
        their items, and you can join again with the passphrase.
      </Text>
    </ConfirmDialog>
  );
}
