/** Human-readable sizes, speeds and times, in the page's language (decimal marks, units, dates). */
import { currentLocale, t } from '../i18n';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '';
  let i = 0;
  let v = n;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  // Whole bytes; one decimal below 10 of a larger unit ("1.5 MB"), whole numbers above.
  const digits = i > 0 && v < 10 ? 1 : 0;
  const number = new Intl.NumberFormat(currentLocale(), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
  return t('size.value', { number, unit: t(`size.${UNITS[i]}`) });
}

export const formatSpeed = (bytesPerSecond: number): string => t('size.perSecond', { size: formatBytes(bytesPerSecond) });

export function formatTime(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return sameDay
    ? d.toLocaleTimeString(currentLocale(), { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString(currentLocale(), { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
