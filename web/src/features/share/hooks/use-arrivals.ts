/**
 * Received items, summarised: one toast per batch of arrivals (updated as more come in) and
 * the same words for the page's polite live region, which this returns.
 */
import { useEffect, useState } from 'react';
import { toaster } from '../../../components/ui/toaster';
import { useRoom } from '../../../hooks/use-room';
import { t } from '../../../i18n';
import { ArrivalBatcher } from '../arrivals';

const TOAST_MS = 5000;

export function useArrivals(): string {
  const room = useRoom();
  const [announcement, setAnnouncement] = useState('');
  useEffect(() => {
    const batcher = new ArrivalBatcher();
    // The toast showing the current batch, if any.
    let shown: { batchId: number; toastId: string } | undefined;
    return room.onNotice((n) => {
      if (n.kind !== 'received') return;
      const isOpen = (batchId: number) => shown?.batchId === batchId && toaster.isVisible(shown.toastId);
      const { batchId, fresh, summary } = batcher.add({ name: n.name, from: n.from }, Date.now(), isOpen);
      const toast = { type: 'info', ...summary, duration: TOAST_MS };
      if (!fresh && shown) toaster.update(shown.toastId, toast);
      else shown = { batchId, toastId: toaster.create(toast) };
      setAnnouncement(t('arrivals.live', { title: summary.title, description: summary.description }));
    });
  }, [room]);
  return announcement;
}
