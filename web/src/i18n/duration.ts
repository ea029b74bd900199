/** "1 hour", "90 minutes", "30 seconds": a length of time in the largest unit that reads well, in the page's language. */
import { t } from './index';

export function describeDuration(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000));
  if (seconds < 120) return t('duration.seconds', { count: seconds });
  const minutes = Math.round(seconds / 60);
  if (minutes < 120 && minutes % 60 !== 0) return t('duration.minutes', { count: minutes });
  const hours = Math.round(minutes / 60);
  if (hours < 48 || hours % 24 !== 0) return t('duration.hours', { count: hours });
  return t('duration.days', { count: hours / 24 });
}
