/** The shares waiting in the service worker's storage, kept current across tabs. */
import { useCallback, useEffect, useState } from 'react';
import { t } from '../../../i18n';
import { listNames } from '../../../i18n/list';
import { deletePendingShares, listPendingShares, SHARES_CHANNEL, type PendingShare } from '../../../sw/pending-shares';

const supported = () => typeof indexedDB !== 'undefined' && typeof BroadcastChannel !== 'undefined';

export function usePendingShares(): { shares: PendingShare[]; remove: (ids: string[]) => Promise<void> } {
  const [shares, setShares] = useState<PendingShare[]>([]);
  useEffect(() => {
    if (!supported()) return;
    let live = true;
    const reload = () => {
      listPendingShares()
        .then((list) => live && setShares(list))
        .catch(() => live && setShares([]));
    };
    reload();
    const channel = new BroadcastChannel(SHARES_CHANNEL);
    channel.onmessage = reload;
    return () => {
      live = false;
      channel.close();
    };
  }, []);
  const remove = useCallback(async (ids: string[]) => {
    await deletePendingShares(ids);
    setShares((list) => list.filter((s) => !ids.includes(s.id)));
  }, []);
  return { shares, remove };
}

/** "2 texts and 3 files", for one line of UI. */
export function describeShares(shares: PendingShare[]): string {
  const texts = shares.filter((s) => s.text !== '').length;
  const files = shares.reduce((n, s) => n + s.files.length, 0);
  const parts = [texts > 0 ? t('shares.texts', { count: texts }) : '', files > 0 ? t('shares.files', { count: files }) : ''];
  return listNames(parts.filter(Boolean));
}
