/**
 * One v3 session's sealing and opening (docs/protocol.md, "Sealed blobs", "Control messages
 * (v3)", "No replay"): every `content` it seals is padded, counted with this device's `seq` and
 * signed with its device key; every one it opens must have the envelope's shape, a signature of
 * the device it names, open under the content key and carry a counter not seen before, in that
 * order, before anything of it is believed. Then it applies what members say about the room
 * (hellos, rosters, admissions, the creator's policy) and decides who may cancel or clear.
 * Names come only from the roster it keeps; the server's `from` only says which connection a
 * verified `hello` came from.
 */
import { fromBase64, toBase64 } from '../crypto/format';
import { verifiedCard, verifiedRecord, type AdmissionRecord, type Card } from '../crypto/v3/cards';
import type { DeviceKey } from '../crypto/v3/device-key';
import { fromBase64Url, type Bytes } from '../crypto/v3/lv';
import { padJson, unpadJson } from '../crypto/v3/padding';
import { type BlobKeys, BlobRejected, chunkAad, metaAad, openBlob, sealBlob } from '../crypto/v3/sealing';
import type { ControlMessage } from '../../types/protocol';
import { newContentId } from '../room/ids';
import { type Classified, classifyV3, type ItemMetaV3, type RoomControl } from './room-messages';
import type { ReplayWindows } from './replay-windows';
import type { RoomPolicy } from './room-store';
import type { Roster } from './roster';

export const FORMAT_V3 = 3;
/** Item senders remembered, to honour a cancel only from the item's own sender. */
const REMEMBERED_ITEMS = 4096;
/** Larger sealed metadata is refused unread (the server's inbox keeps at most 16 KiB). */
export const MAX_META_BYTES = 16 * 1024;

export interface ContentEnvelopeV3 {
  contentId: string;
  format: 3;
  totalChunks: number;
  iv: string;
  by: string;
  seq: number;
  sig: string;
}

export interface ChunkEnvelopeV3 {
  contentId: string;
  chunkIndex: number;
  totalChunks: number;
  iv: string;
  sig: string;
  encryptedData: Bytes;
}

/** What a verified `content` said, with its sender's device and roster name. */
export type OpenedV3 = (
  | { kind: 'item'; meta: ItemMetaV3 }
  | { kind: 'control'; msg: ControlMessage }
  | { kind: 'room'; msg: RoomControl; effect: RoomEffect }
) & { device: string; name?: string };

/** What a room control changed, for the shell to act on and show. */
export type RoomEffect =
  | { kind: 'member-online'; clientId: string; isNew: boolean }
  | { kind: 'roster-grew' }
  | { kind: 'admitted'; record: AdmissionRecord }
  | { kind: 'admission-failed' }
  | { kind: 'policy'; policy: RoomPolicy }
  | { kind: 'none' };

export type DropReason = 'shape' | 'signature' | 'aead' | 'replay' | 'not-allowed';

export class Dropped extends Error {
  override name = 'Dropped';
  constructor(readonly reason: DropReason) {
    super(`dropped: ${reason}`);
  }
}

export interface RoomCodecDeps {
  keys: BlobKeys;
  device: DeviceKey;
  nextSeq: () => Promise<number>;
  replay: ReplayWindows;
  roster: Roster;
  policy: RoomPolicy;
  /** Called after the roster, the replay windows or the policy changed: save them. */
  changed: () => void;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isContentId = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{32}$/.test(v);

function decode(text: unknown, length?: number): Bytes | undefined {
  if (typeof text !== 'string' || text.length > 128) return undefined;
  try {
    const b = fromBase64(text);
    return length === undefined || b.length === length ? b : undefined;
  } catch {
    return undefined;
  }
}

export class RoomCodec {
  private readonly itemSenders = new Map<string, string>();

  constructor(private readonly d: RoomCodecDeps) {}

  get deviceId(): string {
    return this.d.device.id;
  }

  get policy(): RoomPolicy {
    return this.d.policy;
  }

  /** Seals JSON (item metadata or a control) as a signed, counted, padded `content`. */
  async sealContent(value: unknown, contentId: string, totalChunks: number): Promise<{ content: ContentEnvelopeV3; data: Bytes }> {
    const seq = await this.d.nextSeq();
    const aad = metaAad(this.d.keys.epoch, contentId, this.d.device.publicKey, seq, totalChunks);
    const blob = await sealBlob(this.d.keys, this.d.device, padJson(value), aad);
    if (totalChunks > 0) this.remember(contentId, this.d.device.id);
    return {
      content: { contentId, format: FORMAT_V3, totalChunks, iv: toBase64(blob.iv), by: this.d.device.id, seq, sig: toBase64(blob.signature) },
      data: blob.ciphertext,
    };
  }

  async sealChunk(contentId: string, chunkIndex: number, totalChunks: number, plaintext: Bytes): Promise<ChunkEnvelopeV3> {
    const aad = chunkAad(this.d.keys.epoch, contentId, this.d.device.publicKey, chunkIndex, totalChunks);
    const blob = await sealBlob(this.d.keys, this.d.device, plaintext, aad);
    return { contentId, chunkIndex, totalChunks, iv: toBase64(blob.iv), sig: toBase64(blob.signature), encryptedData: blob.ciphertext };
  }

  /** Checks and opens a relayed `content`; throws `Dropped` with the reason when it may not be believed. */
  async openContent(from: string | undefined, content: unknown, data: Uint8Array): Promise<OpenedV3> {
    const env = content as Partial<ContentEnvelopeV3> | undefined;
    const byPk = env ? (typeof env.by === 'string' ? fromBase64UrlSafe(env.by) : undefined) : undefined;
    const iv = decode(env?.iv, 12);
    const sig = decode(env?.sig, 64);
    if (!env || env.format !== FORMAT_V3 || !isContentId(env.contentId) || !isCount(env.totalChunks) || !isCount(env.seq) || !byPk || !iv || !sig) {
      throw new Dropped('shape');
    }
    if (data.length > MAX_META_BYTES) throw new Dropped('shape');
    const by = env.by as string;
    const aad = metaAad(this.d.keys.epoch, env.contentId, byPk, env.seq, env.totalChunks);
    let plain: Bytes;
    try {
      plain = await openBlob(this.d.keys, byPk, { iv, ciphertext: new Uint8Array(data), signature: sig }, aad);
    } catch (err) {
      throw new Dropped(err instanceof BlobRejected ? err.reason : 'aead');
    }
    let classified: Classified | undefined;
    try {
      classified = classifyV3(unpadJson(plain));
    } catch {
      classified = undefined;
    }
    if (!classified || (classified.kind === 'item') !== env.totalChunks > 0) throw new Dropped('shape');
    // Counted only once it authenticated, so a forgery cannot burn a sender's counters.
    if (!this.d.replay.accept(by, env.seq)) throw new Dropped('replay');
    this.d.changed();
    const name = this.d.roster.nameOf(by);
    if (classified.kind === 'item') {
      this.remember(env.contentId, by);
      return { kind: 'item', meta: classified.meta, device: by, name };
    }
    if (classified.kind === 'control') {
      this.authorize(classified.msg, by);
      return { kind: 'control', msg: classified.msg, device: by, name };
    }
    const effect = await this.apply(classified.msg, by, from, { content: env as ContentEnvelopeV3, data });
    return { kind: 'room', msg: classified.msg, effect, device: by, name: this.d.roster.nameOf(by) };
  }

  /** Checks and opens a chunk of an item whose metadata came from `senderDevice`. */
  async openChunk(chunk: unknown, senderDevice: string): Promise<Bytes> {
    const c = chunk as Partial<ChunkEnvelopeV3> | undefined;
    const iv = decode(c?.iv, 12);
    const sig = decode(c?.sig, 64);
    const pk = fromBase64UrlSafe(senderDevice);
    const data: unknown = c?.encryptedData;
    if (!c || !isContentId(c.contentId) || !isCount(c.chunkIndex) || !isCount(c.totalChunks) || c.chunkIndex >= c.totalChunks || !iv || !sig || !pk || !(data instanceof Uint8Array || data instanceof ArrayBuffer)) {
      throw new Dropped('shape');
    }
    const aad = chunkAad(this.d.keys.epoch, c.contentId, pk, c.chunkIndex, c.totalChunks);
    try {
      return await openBlob(this.d.keys, pk, { iv, ciphertext: new Uint8Array(data as ArrayBuffer), signature: sig }, aad);
    } catch (err) {
      throw new Dropped(err instanceof BlobRejected ? err.reason : 'aead');
    }
  }

  /** Who sent item `contentId`, as its verified metadata said. */
  senderOf(contentId: string): string | undefined {
    return this.itemSenders.get(contentId);
  }

  /**
   * Who sent item `contentId`, as an earlier page of this device verified it (the record of an
   * unfinished item). Metadata verified since, on this page, wins.
   */
  rememberSender(contentId: string, device: string) {
    if (!this.itemSenders.has(contentId)) this.remember(contentId, device);
  }

  /** Whether `device` may clear the room: the creator, or anyone once the creator allowed it. */
  mayClear(device: string): boolean {
    return this.d.roster.isCreator(device) || this.d.policy.anyoneMayClear;
  }

  private authorize(msg: ControlMessage, by: string) {
    if (msg.kind === 'cancel' && this.itemSenders.get(msg.contentId) !== by) throw new Dropped('not-allowed');
    if (msg.kind === 'clear' && !this.mayClear(by)) throw new Dropped('not-allowed');
  }

  private async apply(msg: RoomControl, by: string, from: string | undefined, blob: { content: ContentEnvelopeV3; data: Uint8Array }): Promise<RoomEffect> {
    const { verifier, epoch } = this.d.keys;
    switch (msg.kind) {
      case 'hello': {
        const card = await verifiedCard(verifier, epoch, msg.card);
        // The hello must name the connection it came from, and its card the device that signed it.
        if (!card || card.device !== by || from === undefined || msg.clientId !== from) throw new Dropped('not-allowed');
        this.d.roster.addCard(card);
        const isNew = this.d.roster.deviceOf(from) !== by;
        this.d.roster.bind(from, by);
        this.d.changed();
        return { kind: 'member-online', clientId: from, isNew };
      }
      case 'roster': {
        let grew = false;
        for (const c of msg.cards) {
          const card = await verifiedCard(verifier, epoch, c);
          if (card && this.d.roster.addCard(card)) grew = true;
        }
        for (const r of msg.admitted) {
          const record = await verifiedRecord(verifier, epoch, r);
          if (record && this.d.roster.addRecord(record)) grew = true;
        }
        if (grew) this.d.changed();
        return grew ? { kind: 'roster-grew' } : { kind: 'none' };
      }
      case 'admitted': {
        const record = await verifiedRecord(verifier, epoch, msg.record);
        if (!record || record.by !== by) throw new Dropped('not-allowed');
        this.d.roster.addRecord(record);
        this.d.changed();
        return { kind: 'admitted', record };
      }
      case 'admission-failed':
        return { kind: 'admission-failed' };
      case 'policy':
        if (!this.d.roster.isCreator(by)) throw new Dropped('not-allowed');
        // A forwarded or replayed policy older than the one held changes nothing.
        if (blob.content.seq <= (this.d.policy.signed?.content.seq ?? 0)) return { kind: 'none' };
        this.keepPolicy(msg.anyoneMayClear, blob.content, blob.data);
        return { kind: 'policy', policy: { ...this.d.policy } };
    }
  }

  /**
   * The creator only: seals a new policy (docs/protocol.md, "Control messages (v3)"), keeps it
   * as this device's own, and returns it to send to everyone.
   */
  async sealPolicy(anyoneMayClear: boolean): Promise<{ content: ContentEnvelopeV3; data: Bytes }> {
    if (!this.d.roster.isCreator(this.d.device.id)) throw new Error('only the creator sets the room’s policy');
    const sealed = await this.sealContent({ kind: 'policy', anyoneMayClear }, newContentId(), 0);
    this.keepPolicy(anyoneMayClear, sealed.content, sealed.data);
    return sealed;
  }

  /** The creator's newest policy as it was sealed, for a newcomer; none while the creator never set one. */
  signedPolicy(): { content: ContentEnvelopeV3; data: Bytes } | undefined {
    const signed = this.d.policy.signed;
    return signed ? { content: { ...signed.content }, data: fromBase64(signed.data) } : undefined;
  }

  private keepPolicy(anyoneMayClear: boolean, content: ContentEnvelopeV3, data: Uint8Array) {
    this.d.policy.anyoneMayClear = anyoneMayClear;
    this.d.policy.signed = { content: { ...content }, data: toBase64(new Uint8Array(data)) };
    this.d.changed();
  }

  /** Adds cards and records that arrived in an admission bundle (each checked on its signature). */
  async addVerified(cards: unknown[], records: unknown[]): Promise<{ cards: Card[]; records: AdmissionRecord[] }> {
    const { verifier, epoch } = this.d.keys;
    const out = { cards: [] as Card[], records: [] as AdmissionRecord[] };
    for (const c of cards) {
      const card = await verifiedCard(verifier, epoch, c);
      if (card && this.d.roster.addCard(card)) out.cards.push(card);
    }
    for (const r of records) {
      const record = await verifiedRecord(verifier, epoch, r);
      if (record && this.d.roster.addRecord(record)) out.records.push(record);
    }
    this.d.changed();
    return out;
  }

  private remember(contentId: string, device: string) {
    this.itemSenders.delete(contentId);
    this.itemSenders.set(contentId, device);
    if (this.itemSenders.size > REMEMBERED_ITEMS) this.itemSenders.delete(this.itemSenders.keys().next().value as string);
  }
}

function fromBase64UrlSafe(id: string): Bytes | undefined {
  if (id.length !== 43) return undefined;
  try {
    return fromBase64Url(id);
  } catch {
    return undefined;
  }
}
