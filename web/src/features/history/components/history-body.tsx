/**
 * The history's panel, loaded when it is first opened: the entries, searchable, with copy, pin
 * and delete; what protects them; and "Clear this device's history" (see `history-dialog.tsx`).
 */
import { Box, Button, HStack, IconButton, Input, Stack, Text } from '@chakra-ui/react';
import { Check, Copy, Pin, PinOff, Search, Trash2 } from 'lucide-react';
import { useDeferredValue, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ConfirmDialog } from '../../../components/ui/dialog';
import { TextBody } from '../../../components/ui/text-body';
import { toaster } from '../../../components/ui/toaster';
import { useCopy } from '../../../hooks/use-copy';
import { type HistoryEntry, searchHistory } from '../../../lib/history/history';
import { formatTime } from '../../../utils/format';
import { deviceHistory, historyBounds, MiB } from '../device-history';
import { useHistoryState } from '../hooks/use-history';

const PROTECTION = { 'device-key': 'history.deviceKey', 'stored-key': 'history.storedKey' } as const;

/** Pins first, then newest first: what someone pinned is what they come back for. */
const pinnedFirst = (entries: readonly HistoryEntry[]) => [...entries].sort((a, b) => Number(b.pinned) - Number(a.pinned) || b.at - a.at);

function preview(text: string): string {
  const line = text.split('\n')[0];
  return line.length > 40 ? `${line.slice(0, 40)}…` : line;
}

function HistoryRow({ entry }: { entry: HistoryEntry }) {
  const { t } = useTranslation();
  const { copied, copy } = useCopy();
  const label = t('item.textLabel', { snippet: preview(entry.text) });
  const pin = async () => {
    const r = await deviceHistory().pin(entry.id, !entry.pinned);
    if (r === 'limit') {
      toaster.create({ type: 'warning', title: t('history.cannotPin'), description: t('history.cannotPinDetail') });
    }
  };
  return (
    <Box as="li" listStyleType="none" borderWidth="1px" borderColor={entry.pinned ? 'teal.muted' : 'border'} borderRadius="l2" p="3" data-testid="history-entry" data-pinned={entry.pinned} data-id={entry.id}>
      <HStack justify="space-between" align="start" gap="2">
        <Text fontSize="xs" color="fg.muted" data-testid="history-meta">
          {entry.mine ? t('common.you') : entry.from} · {entry.sessionId} · {formatTime(entry.at)}
        </Text>
        <HStack gap="0.5" flexShrink={0}>
          <IconButton aria-label={copied ? t('history.copiedLabel', { label }) : t('history.copyLabel', { label })} title={t('history.copy')} size="xs" variant="ghost" onClick={() => void copy(entry.text)}>
            {copied ? <Check /> : <Copy />}
          </IconButton>
          <IconButton
            aria-label={entry.pinned ? t('history.unpinLabel', { label }) : t('history.pinLabel', { label })}
            aria-pressed={entry.pinned}
            title={entry.pinned ? t('history.unpin') : t('history.pinHint')}
            size="xs"
            variant="ghost"
            colorPalette={entry.pinned ? 'teal' : undefined}
            onClick={() => void pin()}
          >
            {entry.pinned ? <PinOff /> : <Pin />}
          </IconButton>
          <IconButton aria-label={t('history.deleteLabel', { label })} title={t('history.delete')} size="xs" variant="ghost" onClick={() => void deviceHistory().remove([entry.id])}>
            <Trash2 />
          </IconButton>
        </HStack>
      </HStack>
      <TextBody text={entry.text} label={label} />
    </Box>
  );
}

function ClearHistoryButton({ count }: { count: number }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  return (
    <ConfirmDialog
      title={t('history.clearTitle')}
      open={open}
      onOpenChange={setOpen}
      trigger={
        <Button size="sm" variant="ghost" colorPalette="red" disabled={count === 0}>
          <Trash2 /> {t('history.clear')}
        </Button>
      }
      action={t('history.clearAction')}
      actionPalette="red"
      onAction={() => {
        setOpen(false);
        void deviceHistory().clear();
      }}
      focus="cancel"
    >
      <Text fontSize="sm" data-testid="clear-history-consequences">
        {t('history.clearBody', { count })}
      </Text>
    </ConfirmDialog>
  );
}

export default function HistoryBody() {
  const { t } = useTranslation();
  const state = useHistoryState();
  const [query, setQuery] = useState('');
  const deferred = useDeferredValue(query);
  if (state.status === 'opening') return <Text color="fg.muted">{t('history.opening')}</Text>;
  if (state.status === 'unavailable') {
    return (
      <Text color="fg.muted" data-testid="history-unavailable">
        {t('history.unavailable', { reason: state.reason })}
      </Text>
    );
  }
  const shown = pinnedFirst(searchHistory(state.entries, deferred));
  const bounds = historyBounds();
  const pinned = state.entries.filter((e) => e.pinned).length;
  return (
    <Stack gap="4">
      <Text fontSize="xs" color="fg.muted" data-testid="history-protection" data-protection={state.protection}>
        {t(PROTECTION[state.protection])}{' '}
        {t('history.scope', {
          bounds: bounds.items === 0 ? t('history.boundsPinnedOnly') : t('history.bounds', { items: bounds.items, mb: bounds.bytes / MiB }),
        })}
      </Text>
      <HStack gap="2">
        <Search size={16} aria-hidden="true" />
        <Input size="sm" type="search" placeholder={t('history.searchPlaceholder')} aria-label={t('history.search')} value={query} onChange={(e) => setQuery(e.currentTarget.value)} data-testid="history-search" />
      </HStack>
      <Text fontSize="xs" color="fg.muted" data-testid="history-count">
        {query.trim() ? t('history.matching', { shown: shown.length, total: state.entries.length }) : t('history.kept', { total: state.entries.length })}
        {pinned > 0 ? t('history.pinned', { pinned }) : ''}
      </Text>
      {shown.length === 0 ? (
        <Text color="fg.muted" fontSize="sm" py="6" textAlign="center">
          {state.entries.length === 0 ? t('history.empty') : t('history.noMatch')}
        </Text>
      ) : (
        <Stack as="ul" gap="2" aria-label={t('history.entries')}>
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

