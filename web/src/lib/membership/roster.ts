/**
 * The roster (docs/protocol.md, "Devices, cards and the roster"): who is in the room, as the
 * members say it. It maps device ids to their newest verified card and to the admission records
 * seen for them, and the server's connection ids to the devices whose `hello` named them. A name
 * is shown only from here, never from the server's `from` or `clients`. Plain state: callers
 * verify signatures before they add anything (see `crypto/v3/cards.ts`). Bounded.
 */
import type { AdmissionRecord, Card } from '../crypto/v3/cards';

export const MAX_DEVICES = 256;

/** What the roster keeps in storage, beside the room secret. */
export interface StoredRoster {
  cards: Card[];
  records: AdmissionRecord[];
}

export interface OnlineMember {
  clientId: string;
  device: string;
  name: string;
}

export class Roster {
  private readonly cards = new Map<string, Card>();
  private readonly records = new Map<string, AdmissionRecord>();
  /** Server connection id → device id, for members whose `hello` verified. */
  private readonly online = new Map<string, string>();

  constructor(
    /** The creator's device id: its card is never dropped to make room. */
    readonly creator: string,
    private readonly maxDevices = MAX_DEVICES,
  ) {}

  static from(creator: string, stored: StoredRoster, maxDevices = MAX_DEVICES): Roster {
    const roster = new Roster(creator, maxDevices);
    for (const c of stored.cards) roster.addCard(c);
    for (const r of stored.records) roster.addRecord(r);
    return roster;
  }

  /** Keeps a verified card if it is the device's newest; false when an equal or newer one is known. */
  addCard(card: Card): boolean {
    const known = this.cards.get(card.device);
    if (known && known.at >= card.at) return false;
    this.cards.set(card.device, card);
    this.bound(this.cards);
    return true;
  }

  /** Keeps a verified admission record (the newest per device). */
  addRecord(record: AdmissionRecord): boolean {
    const known = this.records.get(record.device);
    if (known && known.at >= record.at) return false;
    this.records.set(record.device, record);
    this.bound(this.records);
    return true;
  }

  /** Past the bound, drops the entry with the oldest `at` (never the creator's). */
  private bound<T extends { device: string; at: number }>(map: Map<string, T>) {
    while (map.size > this.maxDevices) {
      let oldest: T | undefined;
      for (const v of map.values()) if (v.device !== this.creator && (!oldest || v.at < oldest.at)) oldest = v;
      if (!oldest) return;
      map.delete(oldest.device);
    }
  }

  /** A member's `hello` verified: `clientId` is that device until it leaves. */
  bind(clientId: string, device: string): void {
    for (const [c, d] of this.online) if (d === device && c !== clientId) this.online.delete(c);
    this.online.set(clientId, device);
  }

  unbind(clientId: string): void {
    this.online.delete(clientId);
  }

  /** Forgets every connection (our own connection was lost: ids will be told again). */
  unbindAll(): void {
    this.online.clear();
  }

  deviceOf(clientId: string): string | undefined {
    return this.online.get(clientId);
  }

  /** The device's name: from its card, else from the record of its admission, else none. */
  nameOf(device: string): string | undefined {
    return this.cards.get(device)?.name ?? this.records.get(device)?.name;
  }

  recordOf(device: string): AdmissionRecord | undefined {
    return this.records.get(device);
  }

  cardOf(device: string): Card | undefined {
    return this.cards.get(device);
  }

  isCreator(device: string): boolean {
    return device === this.creator;
  }

  membersOnline(): OnlineMember[] {
    return [...this.online].map(([clientId, device]) => ({ clientId, device, name: this.nameOf(device) ?? '' }));
  }

  /** Up to `limit` cards, newest first: what a member hands a newcomer. */
  newestCards(limit: number): Card[] {
    return [...this.cards.values()].sort((a, b) => b.at - a.at).slice(0, limit);
  }

  newestRecords(limit: number): AdmissionRecord[] {
    return [...this.records.values()].sort((a, b) => b.at - a.at).slice(0, limit);
  }

  toStored(): StoredRoster {
    return { cards: [...this.cards.values()], records: [...this.records.values()] };
  }
}
