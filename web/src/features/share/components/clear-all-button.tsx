/**
 * "Clear on every device": it says what it does (the shared items, not the histories each
 * device keeps), and asks first (it cannot be undone).
 */
import { Button, Text } from '@chakra-ui/react';
import { Trash2 } from 'lucide-react';
import { useState } from 'react';
import { ConfirmDialog } from '../../../components/ui/dialog';

export function ClearAllButton({ count, sessionId, onConfirm }: { count: number; sessionId: string; onConfirm: () => void }) {
  const [open, setOpen] = useState(false);
  return (
    <ConfirmDialog
      title="Clear every device?"
      open={open}
      onOpenChange={setOpen}
      trigger={
        <Button size="xs" variant="ghost" colorPalette="red">
          <Trash2 /> Clear on every device
        </Button>
      }
      action="Clear every device"
      actionPalette="red"
      onAction={() => {
        setOpen(false);
        onConfirm();
      }}
      // Focus starts on Cancel: a reflexive Enter must not wipe every device.
      focus="cancel"
    >
      <Text fontSize="sm" data-testid="clear-all-consequences">
        {count === 1 ? 'The item' : `All ${count} items`} in “{sessionId}” will disappear from every device in the session, not
        just this one, including transfers still running. This cannot be undone. Each device’s own history of text and links
        keeps its copies: delete those in History on that device.
      </Text>
    </ConfirmDialog>
  );
}
