/** Everything for sharing: composer, paste/drop anywhere, and the list. */
import { Stack } from '@chakra-ui/react';
import { toaster } from '../../../components/ui/toaster';
import { useRoomState } from '../../../hooks/use-room';
import { usePasteAndDrop } from '../hooks/use-paste-and-drop';
import { useShare } from '../hooks/use-share';
import { Composer } from './composer';
import { ContentList } from './content-list';
import { DropOverlay } from './drop-overlay';

export function SharePanel() {
  const { shareText, shareFiles } = useShare();
  const { status } = useRoomState();
  const report = (p: Promise<unknown>) =>
    p.catch((err: unknown) => toaster.create({ type: 'error', title: 'Could not share', description: String(err) }));
  const { dragging } = usePasteAndDrop({
    onFiles: (f) => void report(shareFiles(f)),
    onText: (t) => void report(shareText(t)),
  });
  return (
    <Stack gap="6">
      <Composer onText={(t) => void report(shareText(t))} onFiles={(f) => void report(shareFiles(f))} disabled={status === 'closed'} />
      <ContentList />
      {dragging && <DropOverlay />}
    </Stack>
  );
}
