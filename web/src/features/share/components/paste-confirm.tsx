/**
 * A paste outside a text box is shown before it goes to everyone: the text (its start), or
 * the files with their sizes and image thumbnails. "Don't ask again" switches the question
 * off (the settings panel switches it back on).
 */
import { Box, Checkbox, HStack, Image, Stack, Text } from '@chakra-ui/react';
import { File as FileIcon } from 'lucide-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ConfirmDialog } from '../../../components/ui/dialog';
import { useObjectUrl } from '../../../hooks/use-object-url';
import { setPreference } from '../../../hooks/use-preference';
import { formatBytes } from '../../../utils/format';
import type { Pasted } from '../hooks/use-paste-and-drop';

const PREVIEW_CHARS = 1000;

function FileRow({ file }: { file: File }) {
  const { t } = useTranslation();
  const url = useObjectUrl(file.type.startsWith('image/') ? file : undefined);
  return (
    <HStack as="li" gap="3" data-testid="paste-file">
      {url ? (
        <Image src={url} alt="" boxSize="12" objectFit="cover" borderRadius="l1" flexShrink={0} />
      ) : (
        <Box color="fg.muted" flexShrink={0}>
          <FileIcon size={20} aria-hidden="true" />
        </Box>
      )}
      <Box minW="0">
        <Text fontSize="sm" fontWeight="medium" lineClamp={1} title={file.name}>
          {file.name || t('share.pastedFile')}
        </Text>
        <Text fontSize="xs" color="fg.muted">
          {formatBytes(file.size)}
        </Text>
      </Box>
    </HStack>
  );
}

function Preview({ pasted }: { pasted: Pasted }) {
  const { t } = useTranslation();
  if ('text' in pasted) {
    const more = pasted.text.length - PREVIEW_CHARS;
    return (
      <Box borderWidth="1px" borderColor="border" borderRadius="l2" bg="bg.muted" px="3" py="2" maxH="48" overflowY="auto">
        <Text as="pre" whiteSpace="pre-wrap" wordBreak="break-word" fontFamily="inherit" fontSize="sm" data-testid="paste-preview">
          {more > 0 ? t('share.moreCharacters', { text: pasted.text.slice(0, PREVIEW_CHARS), count: more }) : pasted.text}
        </Text>
      </Box>
    );
  }
  return (
    <Stack as="ul" gap="2.5" listStyleType="none" maxH="60" overflowY="auto">
      {pasted.files.map((f, i) => (
        <FileRow key={i} file={f} />
      ))}
    </Stack>
  );
}

export function PasteConfirm({ pasted, onShare, onClose }: { pasted: Pasted | null; onShare: (p: Pasted) => void; onClose: () => void }) {
  const { t } = useTranslation();
  const [dontAsk, setDontAsk] = useState(false);
  return (
    <ConfirmDialog
      title={!pasted || 'text' in pasted ? t('share.pasteTextTitle') : t('share.pasteFilesTitle', { count: pasted.files.length })}
      size="md"
      open={pasted !== null}
      onOpenChange={(open) => {
        if (!open) onClose();
      }}
      onExitComplete={() => setDontAsk(false)}
      action={t('share.pasteAction')}
      actionPalette="teal"
      onAction={() => {
        if (!pasted) return;
        if (dontAsk) setPreference('confirmPaste', false);
        onShare(pasted);
        onClose();
      }}
      // Enter confirms what the person just did on purpose; Escape or Cancel drops it.
      focus="action"
    >
      <Stack gap="4">
        <Text fontSize="sm" color="fg.muted">
          {t('share.pasteExplained')}
        </Text>
        {pasted && <Preview pasted={pasted} />}
        <Checkbox.Root size="sm" checked={dontAsk} onCheckedChange={(d) => setDontAsk(d.checked === true)}>
          <Checkbox.HiddenInput />
          <Checkbox.Control />
          <Checkbox.Label>{t('share.dontAskAgain')}</Checkbox.Label>
        </Checkbox.Root>
      </Stack>
    </ConfirmDialog>
  );
}
