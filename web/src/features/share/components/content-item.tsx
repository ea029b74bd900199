/** One shared item: text, image, file or folder, with sender, time, size, progress and actions. */
import { Box, Button, Circle, Dialog, HStack, IconButton, Image, Stack, Text } from '@chakra-ui/react';
import { Check, Copy, Download, File as FileIcon, Folder as FolderIcon, Image as ImageIcon, Share, Type, X } from 'lucide-react';
import { memo, useContext, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { t } from '../../../i18n';
import { toaster } from '../../../components/ui/toaster';
import { DialogFrame } from '../../../components/ui/dialog';
import { TOUCH } from '../../../components/ui/touch';
import { useItemProgress, useRoom } from '../../../hooks/use-room';
import { useCopy } from '../../../hooks/use-copy';
import { useObjectUrl } from '../../../hooks/use-object-url';
import { useRoomValue } from '../../../hooks/use-room';
import type { Item } from '../../../lib/room/room-client';
import { formatBytes, formatSpeed, formatTime } from '../../../utils/format';
import { ItemExtra } from '../item-extra';
import { itemLabel } from '../item-label';
import { FolderActions, folderSummary } from './folder-actions';
import { TextBody } from '../../../components/ui/text-body';

const KIND_ICON = { text: Type, image: ImageIcon, file: FileIcon, folder: FolderIcon };
/** Kinds whose content is one file to download (a folder is saved through `FolderActions`). */
const isOneFile = (item: Item) => item.kind === 'image' || item.kind === 'file';

function ImageBody({ item, url }: { item: Item; url: string }) {
  const { t } = useTranslation();
  // Full screen on a phone: "full size" in a dialog with margins was smaller than the preview.
  return (
    <Dialog.Root size={{ base: 'full', md: 'cover' }} placement="center">
      <Dialog.Trigger asChild>
        <Box as="button" display="block" w="fit-content" borderRadius="l2" overflow="hidden" bg="bg.muted" cursor="zoom-in" aria-label={t('item.openFullSize', { name: item.name })} maxW="full">
          <Image src={url} alt={item.name} maxH="72" maxW="full" objectFit="contain" data-testid="item-image" />
        </Box>
      </Dialog.Trigger>
      <DialogFrame
        title={item.name}
        contentProps={{ bg: 'bg.panel' }}
        titleProps={{ lineClamp: 1 }}
        bodyProps={{ display: 'flex', alignItems: 'center', justifyContent: 'center', p: { base: '0', md: '6' } }}
      >
        <Image src={url} alt={item.name} w="full" h="full" objectFit="contain" data-testid="full-image" />
      </DialogFrame>
    </Dialog.Root>
  );
}

/**
 * Our item: who has it. Receivers confirm once they hold every byte, so "done" on the sender
 * means something: delivered to these, still on its way to those, or nobody here to get it.
 * A device that reloaded confirms again under its new id: its name is said once.
 */
function Delivery({ item }: { item: Item }) {
  const { t } = useTranslation();
  const members = useRoomValue('members');
  const selfId = useRoomValue('selfId');
  const inbox = useRoomValue('inbox');
  if (!item.mine || (item.state !== 'done' && item.state !== 'sending')) return null;
  const delivered = item.deliveredTo ?? [];
  const waiting = members.filter((m) => m.id !== selfId && !delivered.some((d) => d.id === m.id)).map((m) => m.name);
  let text: string;
  if (delivered.length === 0 && waiting.length === 0) {
    text = inbox ? t('item.waitsInInbox') : t('item.nobodyHere');
  } else {
    const parts = [];
    const names = (list: string[]) => list.join(t('common.listSeparator'));
    if (delivered.length > 0) parts.push(t('item.deliveredTo', { names: names([...new Set(delivered.map((d) => d.name))]) }));
    if (waiting.length > 0) parts.push(t(delivered.length > 0 ? 'item.alsoWaitingFor' : 'item.waitingFor', { names: names(waiting) }));
    text = parts.join(' · ');
  }
  return (
    <Text fontSize="xs" color="fg.muted" data-testid="delivery">
      {text}
    </Text>
  );
}

/** Whether this browser can hand a file to the system's share sheet (iOS: "Save to Files"). */
function canShareFile(file: File): boolean {
  try {
    return typeof navigator.share === 'function' && navigator.canShare?.({ files: [file] }) === true;
  } catch {
    return false;
  }
}

/**
 * Save through the share sheet: on an iPhone, downloading a large file from a page fails or
 * opens it in a tab, while the share sheet's "Save to Files" keeps it. Offered wherever the
 * browser can share files; Download stays beside it.
 */
function ShareSaveButton({ item }: { item: Item }) {
  const { t } = useTranslation();
  if (!item.blob || !isOneFile(item)) return null;
  const file = new File([item.blob], item.name, { type: item.mime || 'application/octet-stream' });
  if (!canShareFile(file)) return null;
  return (
    <IconButton
      aria-label={t('item.saveOrShare', { name: item.name })}
      title={t('item.saveOrShareHint')}
      size="xs"
      variant="ghost"
      {...TOUCH}
      onClick={() => void navigator.share({ files: [file], title: item.name }).catch(() => undefined)}
      data-testid="share-save"
    >
      <Share />
    </IconButton>
  );
}

/**
 * Chromium holds every download from a page served over plain HTTP ("insecure download") until
 * the user chooses Keep; Firefox and Safari save them. Said where it happens, once per file.
 */
const chromiumOverHttp = () => !window.isSecureContext && /Chrom(e|ium)\//.test(navigator.userAgent);

/**
 * Our item from a page that closed while sending it: pick the file again to go on (a page
 * cannot keep a picked file). The room checks it is the same file.
 */
function PickAgain({ item }: { item: Item }) {
  const { t } = useTranslation();
  const room = useRoom();
  const input = useRef<HTMLInputElement>(null);
  return (
    <HStack justify="end">
      <input
        ref={input}
        type="file"
        hidden
        data-testid="repick-input"
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (!file) return;
          void room.resumeSending(item.id, file).then((why) => why && toaster.create({ type: 'error', title: t('item.couldNotResume', { name: item.name }), description: why }));
        }}
      />
      <Button size="2xs" variant="outline" onClick={() => input.current?.click()} aria-label={t('item.pickAgainLabel', { name: item.name })} {...TOUCH}>
        <FileIcon /> {t('item.pickAgain')}
      </Button>
    </HStack>
  );
}

/** What a transfer that is not running says about itself (who cancelled it, why it failed). */
function endingText(item: Item): string {
  if (item.state === 'failed') return t('item.failed', { reason: item.error ?? t('item.unknownError') });
  return item.error ?? t('item.cancelled');
}

/** The states with a progress bar, and what the bar says. */
const ACTIVE_LABEL: Partial<Record<Item['state'], 'item.sending' | 'item.receiving' | 'item.paused'>> = {
  sending: 'item.sending',
  receiving: 'item.receiving',
  paused: 'item.paused',
};

/** The fields that change while a transfer runs, twice a second: only `TransferBar` and `TransferNumbers` read them. */
const PROGRESS_FIELDS: ReadonlySet<string> = new Set<keyof Item>(['transferred', 'bytesPerSecond']);

/** Whether two versions of an item differ in more than their progress. */
function sameButProgress(a: Item, b: Item): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof Item>;
  return [...keys].every((k) => PROGRESS_FIELDS.has(k) || a[k] === b[k]);
}

/** How far a transfer is, as a bar: with `TransferNumbers`, all that a progress update re-renders. */
function TransferBar({ id, size, paused, activeLabel }: { id: string; size: number; paused: boolean; activeLabel: string }) {
  const transferred = useItemProgress(id, 'transferred');
  const pct = size > 0 ? Math.min(100, (transferred / size) * 100) : 0;
  return (
    <Box
      h="2"
      bg="bg.muted"
      borderRadius="full"
      overflow="hidden"
      role="progressbar"
      aria-label={activeLabel}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(pct)}
    >
      {/* The width inline, with no transition: a class per width would add a style rule
          with every update, and animating a width lays out and paints every frame. */}
      <Box h="full" bg={paused ? 'orange.solid' : 'teal.solid'} style={{ width: `${pct}%` }} />
    </Box>
  );
}

/** "Receiving · 12 MB of 200 MB · 20 MB/s", or why it is paused. */
function TransferNumbers({ item, activeLabel }: { item: Item; activeLabel: string }) {
  const transferred = useItemProgress(item.id, 'transferred');
  const bytesPerSecond = useItemProgress(item.id, 'bytesPerSecond');
  return (
    <>
      {t('item.progress', { state: activeLabel, done: formatBytes(transferred), total: formatBytes(item.size) })}
      {item.state !== 'paused' && bytesPerSecond > 0 ? ` · ${formatSpeed(bytesPerSecond)}` : ''}
      {item.state === 'paused' && item.note ? ` · ${item.note}` : ''}
    </>
  );
}

/**
 * A running transfer: bar, numbers and Cancel. Only the bar and the numbers follow progress
 * (twice a second); the rest renders with the item, as Chakra's components cost a style pass
 * each time they render.
 */
function TransferProgress({ item, label, activeLabel }: { item: Item; label: string; activeLabel: string }) {
  const { t } = useTranslation();
  const room = useRoom();
  return (
    <Stack gap="1.5" data-testid="progress">
      <TransferBar id={item.id} size={item.size} paused={item.state === 'paused'} activeLabel={activeLabel} />
      <HStack justify="space-between" fontSize="xs" color="fg.muted">
        <Text>
          <TransferNumbers item={item} activeLabel={activeLabel} />
        </Text>
        <Button size="2xs" variant="ghost" onClick={() => room.cancel(item.id)} aria-label={t('item.cancelLabel', { label })} {...TOUCH}>
          {t('common.cancel')}
        </Button>
      </HStack>
    </Stack>
  );
}

function ItemCard({ item }: { item: Item }) {
  const { t } = useTranslation();
  const room = useRoom();
  const extra = useContext(ItemExtra);
  const url = useObjectUrl(item.state === 'done' && isOneFile(item) ? item.blob : undefined);
  const { copied, copy } = useCopy();
  const label = itemLabel(item);
  const Icon = KIND_ICON[item.kind];
  const activeKey = ACTIVE_LABEL[item.state];
  const activeLabel = activeKey && t(activeKey);
  const active = activeLabel !== undefined;

  return (
    <Box
      as="li"
      listStyleType="none"
      borderWidth="1px"
      borderColor="border"
      borderRadius="l3"
      bg="bg.panel"
      p={{ base: '3.5', md: '4' }}
      shadow="xs"
      data-testid="item"
      data-kind={item.kind}
      data-state={item.state}
      data-id={item.id}
      data-name={item.name}
      aria-label={item.mine ? t('item.fromYou', { label }) : t('item.fromSender', { label, sender: item.senderName })}
    >
      <HStack gap="3" align="start">
        <Circle size="9" bg={item.mine ? 'teal.subtle' : 'bg.muted'} color={item.mine ? 'teal.fg' : 'fg.muted'} flexShrink={0} aria-hidden="true">
          <Icon size={16} />
        </Circle>
        <Stack gap="2.5" flex="1" minW="0">
          <HStack gap="2" justify="space-between" align="start">
            <Box minW="0">
              {item.kind !== 'text' && (
                <Text fontWeight="medium" fontSize="sm" lineClamp={1} title={item.name}>
                  {item.name}
                </Text>
              )}
              <Text fontSize="xs" color="fg.muted" data-testid="item-meta">
                <Text as="span" fontWeight={item.mine ? 'semibold' : 'medium'} color={item.mine ? 'teal.fg' : 'fg'} data-testid="item-sender">
                  {item.mine ? t('common.you') : item.senderName}
                </Text>
                {' · '}
                {formatTime(item.createdAt)}
                {' · '}
                {formatBytes(item.size)}
                {item.width && item.height ? ` · ${item.width}×${item.height}` : ''}
                {item.kind === 'folder' ? ` · ${folderSummary(item)}` : ''}
                {item.toName !== undefined ? ` · ${t('item.toOnly', { name: item.toName })}` : ''}
              </Text>
            </Box>
            <HStack gap="0.5" flexShrink={0}>
              {item.kind === 'text' && item.text !== undefined && (
                <IconButton
                  aria-label={copied ? t('item.copiedLabel', { label }) : t('item.copyLabel', { label })}
                  title={copied ? t('item.copied') : t('item.copyText')}
                  size="xs"
                  variant="ghost"
                  {...TOUCH}
                  colorPalette={copied ? 'green' : undefined}
                  onClick={() => item.text !== undefined && void copy(item.text)}
                  data-testid="copy"
                >
                  {copied ? <Check /> : <Copy />}
                </IconButton>
              )}
              {item.kind !== 'text' && url && (
                <IconButton asChild aria-label={t('item.downloadLabel', { name: item.name })} title={t('item.download')} size="xs" variant="ghost" {...TOUCH}>
                  <a href={url} download={item.name} data-testid="download">
                    <Download />
                  </a>
                </IconButton>
              )}
              {item.state === 'done' && <ShareSaveButton item={item} />}
              {!active && (
                <IconButton aria-label={t('item.removeLabel', { label })} title={t('item.remove')} size="xs" variant="ghost" {...TOUCH} onClick={() => room.removeLocal(item.id)}>
                  <X />
                </IconButton>
              )}
            </HStack>
          </HStack>

          {item.state === 'done' && item.kind === 'text' && item.text !== undefined && <TextBody text={item.text} label={label} />}
          {item.state === 'done' && item.kind === 'image' && url && <ImageBody item={item} url={url} />}

          {item.kind === 'folder' && <FolderActions item={item} />}
          {active && <TransferProgress item={item} label={label} activeLabel={activeLabel} />}
          <Delivery item={item} />
          {item.state === 'done' && !item.mine && item.kind !== 'text' && chromiumOverHttp() && (
            <Text fontSize="xs" color="fg.muted" data-testid="insecure-download">
              {t('item.insecureDownload')}
            </Text>
          )}
          {item.state === 'offered' && (
            <HStack justify="space-between" fontSize="xs" color="fg.muted" data-testid="offered">
              <Text>{item.note ?? t('item.notDownloaded')}</Text>
              {item.resumable ? (
                <HStack gap="1">
                  <Button size="2xs" variant="ghost" onClick={() => room.removeLocal(item.id)} aria-label={t('item.discardLabel', { name: item.name })} {...TOUCH}>
                    {t('common.discard')}
                  </Button>
                  <Button size="2xs" variant="outline" onClick={() => room.fetch(item.id)} aria-label={t('item.resumeLabel', { name: item.name })} {...TOUCH}>
                    <Download /> {t('item.resume', { size: formatBytes(item.size - item.transferred) })}
                  </Button>
                </HStack>
              ) : (
                <Button size="2xs" variant="outline" onClick={() => room.fetch(item.id)} aria-label={t('item.getLabel', { name: item.name })} {...TOUCH}>
                  <Download /> {t('item.get', { size: formatBytes(item.size) })}
                </Button>
              )}
            </HStack>
          )}
          {extra(item, label)}
          {item.mine && item.repick && <PickAgain item={item} />}
          {(item.state === 'failed' || item.state === 'cancelled') && (
            <Text fontSize="xs" color={item.state === 'failed' ? 'fg.error' : 'fg.muted'} data-testid="ending" role="status">
              {endingText(item)}
            </Text>
          )}
        </Stack>
      </HStack>
    </Box>
  );
}

/**
 * One shared item, memoised progress aside: a progress update re-renders its bar and numbers
 * only, and a list update only the items it replaced. Rendering whole cards
 * (and the page) with each update cost a receiving browser more CPU than opening and writing
 * the chunks.
 */
export const ContentItem = memo(ItemCard, (prev, next) => sameButProgress(prev.item, next.item));
