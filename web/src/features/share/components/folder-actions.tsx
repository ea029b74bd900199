/**
 * A received folder, complete and checked: save it as a folder where the browser lets a page
 * write into one the user picks, and as a ZIP everywhere. Both read the stored body a slice at
 * a time (lib/folder/unpack.ts).
 */
import { Button, HStack, Text } from '@chakra-ui/react';
import { FileArchive, FolderDown } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { t } from '../../../i18n';
import { toaster } from '../../../components/ui/toaster';
import { TOUCH } from '../../../components/ui/touch';
import { readFolderPlan } from '../../../lib/folder/manifest';
import { canPickFolder, pickFolder, writeToFolder, zipFile } from '../../../lib/folder/unpack';
import type { Item } from '../../../lib/room/room-client';
import { formatBytes } from '../../../utils/format';

/** Lets the browser save `file` as a download. */
function download(file: File) {
  const url = URL.createObjectURL(file);
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  a.click();
  // The download has taken its reference by the time the page runs again.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** "1,024 files · 30 MB": what a folder holds, as its sender announced before sending it. */
export function folderSummary(item: Pick<Item, 'files'>): string {
  return t('item.folderSummary', { count: item.files ?? 0 });
}

export function FolderActions({ item }: { item: Item }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState<string>();
  const [saved, setSaved] = useState<string>();
  const body = item.blob;
  if (!body || item.mine || item.state !== 'done') return null;

  const run = async (what: string, job: () => Promise<void>) => {
    setBusy(what);
    try {
      await job();
    } catch (err) {
      toaster.create({ type: 'error', title: t('item.couldNotSave', { name: item.name }), description: err instanceof Error ? err.message : String(err) });
    } finally {
      setBusy(undefined);
    }
  };
  const toFolder = () =>
    run(t('item.saving'), async () => {
      const parent = await pickFolder();
      if (!parent) return;
      const plan = await readFolderPlan(body, item.files ?? 0);
      const name = await writeToFolder(body, plan, item.name, parent, (bytes) => setBusy(t('item.savingProgress', { size: formatBytes(bytes) })));
      setSaved(t('item.savedAs', { name }));
    });
  const toZip = () =>
    run(t('item.makingZip'), async () => {
      download(await zipFile(body, await readFolderPlan(body, item.files ?? 0), item.name));
    });

  return (
    <HStack justify="space-between" fontSize="xs" color="fg.muted" gap="2" wrap="wrap" data-testid="folder-actions">
      <Text data-testid="folder-status" role="status">
        {busy ?? saved ?? ''}
      </Text>
      <HStack gap="1">
        {canPickFolder() && (
          <Button size="2xs" variant="outline" disabled={busy !== undefined} onClick={() => void toFolder()} aria-label={t('item.saveFolderLabel', { name: item.name })} data-testid="save-folder" {...TOUCH}>
            <FolderDown /> {t('item.saveFolder')}
          </Button>
        )}
        <Button size="2xs" variant="outline" disabled={busy !== undefined} onClick={() => void toZip()} aria-label={t('item.zipLabel', { name: item.name })} data-testid="save-zip" {...TOUCH}>
          <FileArchive /> {t('item.zip')}
        </Button>
      </HStack>
    </HStack>
  );
}
