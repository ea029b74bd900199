/** The text box (Ctrl/Cmd+Enter sends) and the file picker. */
import { Box, Button, HStack, Kbd, Text, Textarea } from '@chakra-ui/react';
import { Paperclip, SendHorizontal } from 'lucide-react';
import { useRef, useState } from 'react';

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

export function Composer({ onText, onFiles, disabled }: { onText: (t: string) => void; onFiles: (f: File[]) => void; disabled?: boolean }) {
  const [text, setText] = useState('');
  const fileInput = useRef<HTMLInputElement>(null);

  const send = () => {
    if (!text.trim() || disabled) return;
    onText(text);
    setText('');
  };

  return (
    <Box borderWidth="1px" borderColor="border" borderRadius="l3" bg="bg.panel" shadow="xs" _focusWithin={{ borderColor: 'teal.focusRing', shadow: 'sm' }} transition="all 0.15s">
      <Textarea
        aria-label="Text to share"
        placeholder="Type or paste text, or drop files anywhere…"
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
      <HStack justify="space-between" px="2" pb="2">
        <input
          ref={fileInput}
          type="file"
          multiple
          hidden
          aria-label="Choose files to share"
          data-testid="file-input"
          onChange={(e) => {
            const files = Array.from(e.currentTarget.files ?? []);
            e.currentTarget.value = '';
            if (files.length) onFiles(files);
          }}
        />
        <Button variant="ghost" size="sm" onClick={() => fileInput.current?.click()} disabled={disabled}>
          <Paperclip /> Files
        </Button>
        <HStack gap="3">
          <Text fontSize="xs" color="fg.muted" hideBelow="sm">
            <Kbd size="sm">{isMac ? '⌘' : 'Ctrl'}</Kbd> + <Kbd size="sm">Enter</Kbd>
          </Text>
          <Button colorPalette="teal" size="sm" onClick={send} disabled={!text.trim() || disabled}>
            <SendHorizontal /> Send
          </Button>
        </HStack>
      </HStack>
    </Box>
  );
}
