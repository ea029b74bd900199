/** The device history's state, for the components that show it. */
import { useSyncExternalStore } from 'react';
import type { HistoryState } from '../../../lib/history/history';
import { deviceHistory } from '../device-history';

export function useHistoryState(): HistoryState {
  const { store } = deviceHistory();
  return useSyncExternalStore(store.subscribe, store.get);
}
