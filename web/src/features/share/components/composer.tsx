/** The text box (Ctrl/Cmd+Enter sends), the file and folder pickers, and who it goes to. */
import { Box, Button, HStack, Kbd, Text, Textarea } from '@chakra-ui/react';
import { FolderUp, Paperclip, SendHorizontal } from 'lucide-react';
import { type ReactNode, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
/** A folder picker: every browser has it, React's types do not. */
const FOLDER_PICKER = { webkitdirectory: '' } as Record<string, string>;

interface Props {
  onText: (t: string) => void;
  onFiles: (f: File[]) => void;
  /** The files of a picked folder (`webkitRelativePath` says where each is). */
  onFolder: (f: File[]) => void;
  /** Who it goes to (a `RecipientSelect`). */
  recipient?: ReactNode;
  disabled?: boolean;
}

export function Composer({ onText, onFiles, onFolder, recipient, disabled }: Props) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);

  const send = () => {
    if (!text.trim() || disabled) return;
    onText(text);
    setText('');
  };

  return (
    <Box borderWidth="1px" borderColor="border" borderRadius="l3" bg="bg.panel" shadow="xs" _focusWithin={{ borderColor: 'teal.focusRing', shadow: 'sm' }} transition="all 0.15s">
      <Textarea
        aria-label={t('share.textToShare')}
        placeholder={t('share.placeholder')}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            send();
          }
        }}
        autoresize
        minH="20"
        maxH="60"
        border="none"
        _focusVisible={{ outline: 'none' }}
        px="4"
        pt="3"
        resize="none"
      />
      <HStack justify="space-between" px="2" pb="2" wrap="wrap">
        <input
          ref={fileInput}
          type="file"
          multiple
          hidden
          aria-label={t('share.chooseFiles')}
          data-testid="file-input"
          onChange={(e) => {
            const files = Array.from(e.currentTarget.files ?? []);
            e.currentTarget.value = '';
            if (files.length) onFiles(files);
          }}
        />
        <input
          ref={folderInput}
          type="file"
          hidden
          {...FOLDER_PICKER}
          aria-label={t('share.chooseFolder')}
          data-testid="folder-input"
          onChange={(e) => {
            const files = Array.from(e.currentTarget.files ?? []);
            e.currentTarget.value = '';
            if (files.length) onFolder(files);
          }}
        />
        <HStack gap="1">
          <Button variant="ghost" size="sm" onClick={() => fileInput.current?.click()} disabled={disabled}>
            <Paperclip /> {t('share.files')}
          </Button>
          <Button variant="ghost" size="sm" onClick={() => folderInput.current?.click()} disabled={disabled}>
            <FolderUp /> {t('share.folder')}
          </Button>
        </HStack>
        <HStack gap="3">
          {recipient}
          <Text fontSize="xs" color="fg.muted" hideBelow="sm">
            <Kbd size="sm">{isMac ? '⌘' : t('share.ctrl')}</Kbd> + <Kbd size="sm">{t('share.enter')}</Kbd>
          </Text>
          <Button colorPalette="teal" size="sm" onClick={send} disabled={!text.trim() || disabled}>
            <SendHorizontal /> {t('share.send')}
          </Button>
        </HStack>
      </HStack>
    </Box>
  );
}
