/**
 * Arrivals are summarised, not announced one by one: items received close together (each
 * within WINDOW_MS of the previous one) form one batch, shown as one toast and one live-region
 * message such as "3 items from Laptop". Pure: the clock is passed in.
 */

import { t } from '../../i18n';
import { listNames } from '../../i18n/list';

export interface Arrival {
  name: string;
  from: string;
}

export interface ArrivalSummary {
  title: string;
  description: string;
}

export const WINDOW_MS = 4000;
const NAMES_SHOWN = 3;

function listSenders(senders: string[]): string {
  if (senders.length === 1) return senders[0];
  if (senders.length === 2) return listNames(senders);
  return t('arrivals.devices', { n: senders.length });
}

export function summarizeArrivals(arrivals: readonly Arrival[]): ArrivalSummary {
  const senders = [...new Set(arrivals.map((a) => a.from))];
  if (arrivals.length === 1) return { title: t('arrivals.receivedFrom', { from: senders[0] }), description: arrivals[0].name };
  // Newest first; the same name (every text is "Text") once, with its count.
  const counts = new Map<string, number>();
  for (const a of [...arrivals].reverse()) counts.set(a.name, (counts.get(a.name) ?? 0) + 1);
  const names = [...counts].map(([name, n]) => (n > 1 ? `${name} (${n})` : name));
  const more = names.length - NAMES_SHOWN;
  const shown = names.slice(0, NAMES_SHOWN).join(t('common.listSeparator'));
  return {
    title: t('arrivals.itemsFrom', { n: arrivals.length, senders: listSenders(senders) }),
    description: more > 0 ? t('arrivals.andMore', { names: shown, count: more }) : shown,
  };
}

/** Groups arrivals into batches; `isOpen` says whether a batch's toast is still on screen. */
export class ArrivalBatcher {
  private batch: { id: number; arrivals: Arrival[]; lastAt: number } | undefined;
  private nextId = 1;

  add(arrival: Arrival, now: number, isOpen: (batchId: number) => boolean): { batchId: number; fresh: boolean; summary: ArrivalSummary } {
    const b = this.batch;
    if (b && now - b.lastAt < WINDOW_MS && isOpen(b.id)) {
      b.arrivals.push(arrival);
      b.lastAt = now;
      return { batchId: b.id, fresh: false, summary: summarizeArrivals(b.arrivals) };
    }
    const next = { id: this.nextId++, arrivals: [arrival], lastAt: now };
    this.batch = next;
    return { batchId: next.id, fresh: true, summary: summarizeArrivals(next.arrivals) };
  }
}
