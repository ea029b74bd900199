/** "Clear on every device": it says what it does, and asks first (it cannot be undone). */
import { Button, CloseButton, Dialog, Portal, Text } from '@chakra-ui/react';
import { Trash2 } from 'lucide-react';
import { useRef, useState } from 'react';

export function ClearAllButton({ count, sessionId, onConfirm }: { count: number; sessionId: string; onConfirm: () => void }) {
  const [open, setOpen] = useState(false);
  const cancel = useRef<HTMLButtonElement>(null);
  return (
    // Focus starts on Cancel: a reflexive Enter must not wipe every device.
    <Dialog.Root role="alertdialog" placement="center" size="sm" open={open} onOpenChange={(e) => setOpen(e.open)} initialFocusEl={() => cancel.current}>
      <Dialog.Trigger asChild>
        <Button size="xs" variant="ghost" colorPalette="red">
          <Trash2 /> Clear on every device
        </Button>
      </Dialog.Trigger>
      <Portal>
        <Dialog.Backdrop />
        <Dialog.Positioner>
          <Dialog.Content>
            <Dialog.Header>
              <Dialog.Title>Clear every device?</Dialog.Title>
            </Dialog.Header>
            <Dialog.Body>
              <Text fontSize="sm">
                {count === 1 ? 'The item' : `All ${count} items`} in “{sessionId}” will disappear from every device in the session,
                not just this one, including transfers still running. This cannot be undone.
              </Text>
            </Dialog.Body>
            <Dialog.Footer>
              <Dialog.ActionTrigger asChild>
                <Button ref={cancel} variant="outline">
                  Cancel
                </Button>
              </Dialog.ActionTrigger>
              <Button
                colorPalette="red"
                onClick={() => {
                  setOpen(false);
                  onConfirm();
                }}
              >
                Clear every device
              </Button>
            </Dialog.Footer>
            <Dialog.CloseTrigger asChild>
              <CloseButton size="sm" />
            </Dialog.CloseTrigger>
          </Dialog.Content>
        </Dialog.Positioner>
      </Portal>
    </Dialog.Root>
  );
}
