/** "a, b and c" in the page's language (the catalog's separator and last joiner). */
import { t } from './index';

export function listNames(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return t('common.andList', { head: names.slice(0, -1).join(t('common.listSeparator')), last: names[names.length - 1] });
}
