/**
 * "Clear on every device": it says what it does (the shared items, not the histories each
 * device keeps), and asks first (it cannot be undone).
 */
import { Button, Text } from '@chakra-ui/react';
import { Trash2 } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ConfirmDialog } from '../../../components/ui/dialog';

export function ClearAllButton({ count, sessionId, onConfirm }: { count: number; sessionId: string; onConfirm: () => void }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  return (
    <ConfirmDialog
      title={t('share.clearTitle')}
      open={open}
      onOpenChange={setOpen}
      trigger={
        <Button size="xs" variant="ghost" colorPalette="red">
          <Trash2 /> {t('share.clearTrigger')}
        </Button>
      }
      action={t('share.clearAction')}
      actionPalette="red"
      onAction={() => {
        setOpen(false);
        onConfirm();
      }}
      // Focus starts on Cancel: a reflexive Enter must not wipe every device.
      focus="cancel"
    >
      <Text fontSize="sm" data-testid="clear-all-consequences">
        {t('share.clearBody', { count, session: sessionId })}
      </Text>
    </ConfirmDialog>
  );
}
