/**
 * Everything for sharing: composer, paste/drop anywhere (a paste asks first unless switched
 * off), the list, arrival summaries with their live region, and auto-copy. What is sent goes
 * to the composer's recipient: everyone, or one member alone.
 */
import { Box, Stack, VisuallyHidden } from '@chakra-ui/react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type Tree, treesFromPicker } from '../../../lib/folder/pack';
import { toaster } from '../../../components/ui/toaster';
import { usePreference } from '../../../hooks/use-preference';
import { useRoomValue } from '../../../hooks/use-room';
import { useArrivals } from '../hooks/use-arrivals';
import { useAutoCopy } from '../hooks/use-auto-copy';
import { type Pasted, usePasteAndDrop } from '../hooks/use-paste-and-drop';
import { useShare } from '../hooks/use-share';
import { Composer } from './composer';
import { ContentList } from './content-list';
import { DropOverlay } from './drop-overlay';
import { PasteConfirm } from './paste-confirm';
import { RecipientSelect } from './recipient-select';

export function SharePanel() {
  const { t } = useTranslation();
  const members = useRoomValue('members');
  const selfId = useRoomValue('selfId');
  const others = members.filter((m) => m.id !== selfId);
  const [chosen, setChosen] = useState<string>();
  // A member who left is no one to send to: back to everyone.
  const to = others.some((m) => m.id === chosen) ? chosen : undefined;
  const { shareText, shareFiles, shareFolders } = useShare(to);
  const status = useRoomValue('status');
  const [confirmPaste] = usePreference('confirmPaste');
  const [autoCopy] = usePreference('autoCopy');
  const [pending, setPending] = useState<Pasted | null>(null);
  const announcement = useArrivals();
  useAutoCopy(autoCopy);

  const report = (p: Promise<unknown>) =>
    p.catch((err: unknown) => toaster.create({ type: 'error', title: t('share.couldNotShare'), description: String(err) }));
  const sharePasted = (p: Pasted) => void report('text' in p ? shareText(p.text) : shareFiles(p.files));
  const sendFolders = (trees: Promise<Tree[]>) =>
    void report(
      trees.then(shareFolders).then((skipped) => {
        if (skipped.length > 0) toaster.create({ type: 'warning', title: t('share.leftOut', { n: skipped.length }), description: skipped.slice(0, 5).join('\n') });
      }),
    );
  const { dragging } = usePasteAndDrop({
    onDrop: (f) => void report(shareFiles(f)),
    onDropFolders: sendFolders,
    onPaste: (p) => (confirmPaste ? setPending(p) : sharePasted(p)),
  });
  return (
    <Stack gap="6">
      <Box as="section" aria-labelledby="share-heading">
        <VisuallyHidden as="h2" id="share-heading">
          {t('share.heading')}
        </VisuallyHidden>
        <Composer
          onText={(t) => void report(shareText(t))}
          onFiles={(f) => void report(shareFiles(f))}
          onFolder={(f) => sendFolders(Promise.resolve(treesFromPicker(f)))}
          recipient={others.length > 0 ? <RecipientSelect members={others} to={to} onChange={setChosen} disabled={status === 'closed'} /> : undefined}
          disabled={status === 'closed'}
        />
      </Box>
      <ContentList />
      {dragging && <DropOverlay />}
      <PasteConfirm pasted={pending} onShare={sharePasted} onClose={() => setPending(null)} />
      <VisuallyHidden role="status" aria-live="polite" data-testid="arrivals-live">
        {announcement}
      </VisuallyHidden>
    </Stack>
  );
}
