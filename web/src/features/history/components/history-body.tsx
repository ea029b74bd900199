/**
 * The history's panel, loaded when it is first opened: the entries, searchable, with copy, pin
 * and delete; what protects them; and "Clear this device's history" (see `history-dialog.tsx`).
 */
import { Box, Button, HStack, IconButton, Input, Stack, Text } from '@chakra-ui/react';
import { Check, Copy, Pin, PinOff, Search, Trash2 } from 'lucide-react';
import { useDeferredValue, useState } from 'react';
import { ConfirmDialog } from '../../../components/ui/dialog';
import { TextBody } from '../../../components/ui/text-body';
import { toaster } from '../../../components/ui/toaster';
import { useCopy } from '../../../hooks/use-copy';
import { type HistoryEntry, searchHistory } from '../../../lib/history/history';
import { formatTime } from '../../../utils/format';
import { deviceHistory, historyBounds, MiB } from '../device-history';
import { useHistoryState } from '../hooks/use-history';

const PROTECTION = {
  'device-key': 'Kept only in this browser, encrypted with a key this device keeps and that no page can read out.',
  'stored-key':
    'Kept only in this browser, encrypted — but this page is plain HTTP, where browsers give no protected key store, so the key is kept beside the history: anyone who can read this browser’s data can read it.',
};

/** Pins first, then newest first: what someone pinned is what they come back for. */
const pinnedFirst = (entries: readonly HistoryEntry[]) => [...entries].sort((a, b) => Number(b.pinned) - Number(a.pinned) || b.at - a.at);

function preview(text: string): string {
  const line = text.split('\n')[0];
  return line.length > 40 ? `${line.slice(0, 40)}…` : line;
}

function HistoryRow({ entry }: { entry: HistoryEntry }) {
  const { copied, copy } = useCopy();
  const label = `text “${preview(entry.text)}”`;
  const pin = async () => {
    const r = await deviceHistory().pin(entry.id, !entry.pinned);
    if (r === 'limit') {
      toaster.create({ type: 'warning', title: 'Cannot pin more', description: 'Pinned entries would fill the history’s limit: unpin one, or keep more in Settings.' });
    }
  };
  return (
    <Box as="li" listStyleType="none" borderWidth="1px" borderColor={entry.pinned ? 'teal.muted' : 'border'} borderRadius="l2" p="3" data-testid="history-entry" data-pinned={entry.pinned} data-id={entry.id}>
      <HStack justify="space-between" align="start" gap="2">
        <Text fontSize="xs" color="fg.muted" data-testid="history-meta">
          {entry.mine ? 'You' : entry.from} · {entry.sessionId} · {formatTime(entry.at)}
        </Text>
        <HStack gap="0.5" flexShrink={0}>
          <IconButton aria-label={copied ? `Copied ${label}` : `Copy ${label}`} title="Copy" size="xs" variant="ghost" onClick={() => void copy(entry.text)}>
            {copied ? <Check /> : <Copy />}
          </IconButton>
          <IconButton
            aria-label={`${entry.pinned ? 'Unpin' : 'Pin'} ${label}`}
            aria-pressed={entry.pinned}
            title={entry.pinned ? 'Unpin' : 'Pin: kept whatever the limit'}
            size="xs"
            variant="ghost"
            colorPalette={entry.pinned ? 'teal' : undefined}
            onClick={() => void pin()}
          >
            {entry.pinned ? <PinOff /> : <Pin />}
          </IconButton>
          <IconButton aria-label={`Delete from this device’s history: ${label}`} title="Delete from this device’s history" size="xs" variant="ghost" onClick={() => void deviceHistory().remove([entry.id])}>
            <Trash2 />
          </IconButton>
        </HStack>
      </HStack>
      <TextBody text={entry.text} label={label} />
    </Box>
  );
}

function ClearHistoryButton({ count }: { count: number }) {
  const [open, setOpen] = useState(false);
  return (
    <ConfirmDialog
      title="Clear this device’s history?"
      open={open}
      onOpenChange={setOpen}
      trigger={
        <Button size="sm" variant="ghost" colorPalette="red" disabled={count === 0}>
          <Trash2 /> Clear this device’s history
        </Button>
      }
      action="Clear history"
      actionPalette="red"
      onAction={() => {
        setOpen(false);
        void deviceHistory().clear();
      }}
      focus="cancel"
    >
      <Text fontSize="sm" data-testid="clear-history-consequences">
        {count === 1 ? 'The entry' : `All ${count} entries`} in this device’s history will be deleted, pinned ones too. The items in
        your sessions and the histories of your other devices stay as they are.
      </Text>
    </ConfirmDialog>
  );
}

export default function HistoryBody() {
  const state = useHistoryState();
  const [query, setQuery] = useState('');
  const deferred = useDeferredValue(query);
  if (state.status === 'opening') return <Text color="fg.muted">Opening…</Text>;
  if (state.status === 'unavailable') {
    return (
      <Text color="fg.muted" data-testid="history-unavailable">
        This browser cannot keep a history here: {state.reason}.
      </Text>
    );
  }
  const shown = pinnedFirst(searchHistory(state.entries, deferred));
  const bounds = historyBounds();
  const pinned = state.entries.filter((e) => e.pinned).length;
  return (
    <Stack gap="4">
      <Text fontSize="xs" color="fg.muted" data-testid="history-protection" data-protection={state.protection}>
        {PROTECTION[state.protection]} Text and links only,{' '}
        {bounds.items === 0 ? 'pinned entries only' : `up to ${bounds.items} entries and ${bounds.bytes / MiB} MB, pinned ones included`} (change it in
        Settings).
      </Text>
      <HStack gap="2">
        <Search size={16} aria-hidden="true" />
        <Input size="sm" type="search" placeholder="Search text, senders and sessions" aria-label="Search the history" value={query} onChange={(e) => setQuery(e.currentTarget.value)} data-testid="history-search" />
      </HStack>
      <Text fontSize="xs" color="fg.muted" data-testid="history-count">
        {query.trim() ? `${shown.length} of ${state.entries.length} match` : `${state.entries.length} kept`}
        {pinned > 0 ? ` · ${pinned} pinned` : ''}
      </Text>
      {shown.length === 0 ? (
        <Text color="fg.muted" fontSize="sm" py="6" textAlign="center">
          {state.entries.length === 0 ? 'Text and links you send and receive will be kept here.' : 'Nothing matches.'}
        </Text>
      ) : (
        <Stack as="ul" gap="2" aria-label="History entries">
          {shown.map((e) => (
            <HistoryRow key={e.id} entry={e} />
          ))}
        </Stack>
      )}
    </Stack>
  );
}

export function ClearFooter() {
  const state = useHistoryState();
  return <ClearHistoryButton count={state.status === 'ready' ? state.entries.length : 0} />;
}

