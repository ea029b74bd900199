/**
 * What this device can hold, asked before an item is accepted rather than found out halfway:
 * the browser's free storage quota for files on disk, and a share of the device's memory for
 * items a browser without disk storage keeps in memory. And the request that the browser keep
 * what is stored (Safari otherwise evicts a site's storage after days without a visit).
 */

/** Items kept in memory may take up to this share of the device's memory without asking. */
export const MEMORY_SHARE = 0.25;
/** The memory assumed where the browser does not say (only Chromium does): an older phone's. */
const ASSUMED_MEMORY_BYTES = 2 * 1024 ** 3;

/** The largest item this device keeps in memory without asking first. */
export function memoryBudget(): number {
  const gib = typeof navigator !== 'undefined' ? (navigator as Navigator & { deviceMemory?: number }).deviceMemory : undefined;
  return Math.floor((gib ? gib * 1024 ** 3 : ASSUMED_MEMORY_BYTES) * MEMORY_SHARE);
}

/** Bytes the browser still lets this site store, when it says. */
export async function freeSpace(): Promise<number | undefined> {
  try {
    const { quota, usage } = await navigator.storage.estimate();
    return quota === undefined ? undefined : Math.max(0, quota - (usage ?? 0));
  } catch {
    return undefined;
  }
}

/** Asks the browser to keep this site's storage (partial and received files) until the user deletes it. */
export async function askToPersist(): Promise<boolean> {
  try {
    if (await navigator.storage.persisted()) return true;
    return await navigator.storage.persist();
  } catch {
    return false;
  }
}
