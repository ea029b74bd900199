/**
 * "History": the text and links this device sent and received, across reloads and sessions,
 * searchable, with copy, pin and delete, and "Clear this device's history". It says where the
 * history is and what protects it, and that nothing here touches another device. The panel
 * (`history-body.tsx`) loads when first opened: the session page does not wait for it.
 */
import { Button, Dialog, Text } from '@chakra-ui/react';
import { History as HistoryIcon } from 'lucide-react';
import { lazy, Suspense, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { DialogFrame } from '../../../components/ui/dialog';

const HistoryBody = lazy(() => import('./history-body'));
const ClearFooter = lazy(() => import('./history-body').then((m) => ({ default: m.ClearFooter })));

export function HistoryDialog() {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  return (
    <Dialog.Root open={open} onOpenChange={(e) => setOpen(e.open)} size={{ base: 'full', md: 'lg' }} scrollBehavior="inside" placement="center">
      <Dialog.Trigger asChild>
        <Button size="sm" variant="ghost" aria-label={t('history.open')} minH={{ base: '11', md: 'auto' }} data-testid="history-open">
          <HistoryIcon />
          <Text hideBelow="sm">{t('history.button')}</Text>
        </Button>
      </Dialog.Trigger>
      <DialogFrame
        title={t('history.open')}
        footer={
          open && (
            <Suspense>
              <ClearFooter />
            </Suspense>
          )
        }
      >
        {open && (
          <Suspense fallback={<Text color="fg.muted">{t('history.opening')}</Text>}>
            <HistoryBody />
          </Suspense>
        )}
      </DialogFrame>
    </Dialog.Root>
  );
}
