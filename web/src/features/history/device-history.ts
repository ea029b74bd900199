/**
 * This page's one `History` (see lib/history): opened on first use, with the bounds the
 * settings say, read each time so a changed setting applies to the next entry.
 */
import { settings } from '../../config/settings';
import { History, type HistoryBounds } from '../../lib/history/history';

export const MiB = 1024 * 1024;

export const historyBounds = (): HistoryBounds => ({ items: settings.historyItems(), bytes: settings.historyMiB() * MiB });

let history: History | undefined;

export function deviceHistory(): History {
  history ??= new History({ bounds: historyBounds });
  return history;
}
