/**
 * "Leave": it asks first, and says what leaving deletes on this device (received files) and
 * what stops (transfers under way), so nobody loses a file they have not saved by one tap.
 */
import { Button, Text } from '@chakra-ui/react';
import { LogOut } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ConfirmDialog } from '../../../components/ui/dialog';
import { useRoom } from '../../../hooks/use-room';

export function LeaveButton({ sessionId, onLeave }: { sessionId: string; onLeave: () => void }) {
  const { t } = useTranslation();
  const room = useRoom();
  const [open, setOpen] = useState(false);
  // Read when the dialog opens: the counts it shows are of that moment.
  const items = open ? room.store.get().items : [];
  const received = items.filter((i) => !i.mine && i.state === 'done' && i.kind !== 'text').length;
  const moving = items.filter((i) => i.state === 'sending' || i.state === 'receiving' || i.state === 'paused').length;
  return (
    <ConfirmDialog
      title={t('session.leaveTitle', { session: sessionId })}
      open={open}
      onOpenChange={setOpen}
      trigger={
        <Button size="sm" variant="ghost" aria-label={t('session.leaveSession')} minH={{ base: '11', md: 'auto' }}>
          <LogOut />
          <Text hideBelow="sm">{t('session.leave')}</Text>
        </Button>
      }
      action={t('session.leave')}
      actionPalette="red"
      onAction={() => {
        setOpen(false);
        onLeave();
      }}
      focus="cancel"
    >
      <Text fontSize="sm" data-testid="leave-consequences">
        {[
          received > 0 ? t('session.leaveReceived', { count: received }) : t('session.leaveEverything'),
          moving > 0 ? t('session.leaveMoving', { count: moving }) : undefined,
          t('session.leaveKept'),
        ]
          .filter(Boolean)
          .join(' ')}
      </Text>
    </ConfirmDialog>
  );
}
