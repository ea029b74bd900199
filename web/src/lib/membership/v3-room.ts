/**
 * What a format v3 room adds to a room (docs/protocol.md, "Devices, cards and the roster",
 * "Control messages (v3)", "Admission by a member", "Safety code"): it says hello with this
 * device's card after every join and answers a newcomer's hello with its own and the roster;
 * it opens every `content` through the codec (signature, AEAD, replay, who may cancel or
 * clear) and names senders from the roster only; it runs admissions for applicants with the
 * `MemberHost`; and it keeps the safety code of the members online current.
 */
import type { CryptoBackend } from '../crypto/backend';
import { type Card, makeCard } from '../crypto/v3/cards';
import type { DeviceKey, SignatureVerifier } from '../crypto/v3/device-key';
import { fromBase64Url } from '../crypto/v3/lv';
import { fromBase64, toBase64 } from '../crypto/format';
import { encodeSecretKey, inboxMessage, type RoomKeys } from '../crypto/v3/room-keys';
import { safetyCode } from '../crypto/v3/safety-code';
import type { Opened } from '../room/envelopes';
import { newContentId } from '../room/ids';
import type { Notice } from '../room/notices';
import type { RoomSealing } from '../room/sealing';
import type { ContentEvent, InboxTerms, SimpleAck } from '../../types/protocol';
import { MemberHost } from './admission/member-host';
import { Dropped, type RoomCodec } from './room-codec';
import type { StoredRoom } from './room-store';
import type { Roster } from './roster';
import { v3Sealing } from './v3-sealing';

/** How a sender with no card in the roster is shown. */
export const UNKNOWN_DEVICE = 'an unknown device';

export interface V3RoomParts {
  room: StoredRoom;
  keys: RoomKeys;
  device: DeviceKey;
  verifier: SignatureVerifier;
  backend: CryptoBackend;
  roster: Roster;
  codec: RoomCodec;
  /** Deletes the kept secret (leaving for good). */
  forget(): Promise<void>;
}

export interface V3RoomEvents {
  /** Emits on the room's connection (dropped while not joined). */
  emit(event: string, payload: object): void;
  /** Emits on the room's connection and resolves with the server's ack (undefined when not joined). */
  request(event: string, payload: object): Promise<(SimpleAck & { nonce?: string }) | undefined>;
  notify(n: Notice): void;
  /** A member online said who it is (or said so again). */
  named(clientId: string, name: string): void;
  safetyCode(code: string): void;
  /** The creator's policy changed (or is known at start): whether anyone may clear the room. */
  policy(anyoneMayClear: boolean): void;
}

export class V3Room {
  readonly sealing: RoomSealing;
  private events?: V3RoomEvents;
  private card?: Promise<Card>;
  private host?: MemberHost;
  private selfId = '';

  constructor(private readonly p: V3RoomParts) {
    this.sealing = v3Sealing(p.codec);
  }

  get name(): string {
    return this.p.room.name;
  }

  /** Whether this device created the room: only it sets the room's policy. */
  get isCreator(): boolean {
    return this.p.roster.isCreator(this.p.device.id);
  }

  /** Whether the other members honour a clear from this device. */
  get mayClear(): boolean {
    return this.p.codec.mayClear(this.p.device.id);
  }

  /**
   * The creator only: lets anyone clear the room, or only the creator; the server is told first
   * (it empties its inbox on the same rule), so that a member that learns it can act on it
   * there; then every member, signed.
   */
  async setAnyoneMayClear(anyoneMayClear: boolean) {
    await this.tellServerPolicy(anyoneMayClear);
    const sealed = await this.p.codec.sealPolicy(anyoneMayClear);
    this.events?.emit('content', sealed);
    this.events?.policy(anyoneMayClear);
  }

  /**
   * The creator only, after each join: the server lets only the creator clear a session that
   * came back (from its disk, or anew), so it is told the creator's policy again when the join
   * ack (`inbox.anyoneMayClear`) says otherwise.
   */
  async syncInboxPolicy(terms: InboxTerms | null) {
    const held = this.p.codec.policy.anyoneMayClear;
    if (this.isCreator && terms?.anyoneMayClear !== undefined && terms.anyoneMayClear !== held) await this.tellServerPolicy(held);
  }

  private tellServerPolicy(anyoneMayClear: boolean) {
    return this.inboxRequest('inbox-policy', { anyoneMayClear }, ['policy', anyoneMayClear ? 'anyone' : 'creator']);
  }

  /**
   * A request that acts on the server's inbox (docs/protocol.md, "Inbox authority"). From the
   * creator's device it carries `auth`, the device's signature over a fresh nonce of the
   * server's and `action`; from any other it goes as it is, and the server decides (a member's
   * own item, or the creator's policy).
   */
  async inboxRequest(event: string, payload: object, action: readonly string[]): Promise<SimpleAck | undefined> {
    const events = this.events;
    if (!events) return undefined;
    if (!this.isCreator) return events.request(event, payload);
    const challenge = await events.request('challenge', {});
    if (!challenge?.success || !challenge.nonce) return challenge;
    const auth = await this.p.device.sign(inboxMessage(this.p.room.sessionId, fromBase64(challenge.nonce), action));
    return events.request(event, { ...payload, auth: toBase64(auth) });
  }

  /** The room secret as an invite link carries it: whoever holds the link joins without the passphrase. */
  get inviteKey(): string {
    return encodeSecretKey(this.p.room);
  }

  /** Starts: says hello to everyone as `selfId`, and admits applicants when the room has a passphrase. */
  attach(events: V3RoomEvents, selfId: string) {
    this.events = events;
    const { room, device, keys, verifier, roster } = this.p;
    this.card = makeCard(keys.epoch, device, room.name, Date.now()).then((card) => {
      roster.addCard(card);
      return card;
    });
    if (room.prs) {
      const prs = room.prs;
      this.host = new MemberHost(
        {
          secret: { sessionId: room.sessionId, roomKey: room.roomKey, creatorPk: room.creatorPk, prs },
          device,
          epoch: keys.epoch,
          verifier,
          roster,
          sendAdmit: (to, step, data) => events.emit('admit', { to, step, data }),
          announce: (control) => this.send(control),
          notice: (n) => {
            if (n.kind === 'wrong-passphrase') events.notify({ kind: 'admission-failed' });
            else void this.code().then((code) => events.notify({ kind: 'admitted', name: n.record.name, safetyCode: code }));
          },
        },
        selfId,
      );
    }
    events.policy(this.p.codec.policy.anyoneMayClear);
    this.joined(selfId);
  }

  /** After every join: our connection id may be new; everyone hears our card again. */
  joined(selfId: string) {
    this.selfId = selfId;
    this.p.roster.unbindAll();
    this.p.roster.bind(selfId, this.p.device.id);
    this.host?.setSelf(selfId);
    void this.hello();
    void this.refreshCode();
  }

  memberLeft(clientId: string) {
    this.p.roster.unbind(clientId);
    void this.refreshCode();
  }

  applicantLeft(clientId: string) {
    this.host?.applicantLeft(clientId);
  }

  admit(e: { from: string; step: number; data: unknown }) {
    this.host?.admit(e.from, e.step, e.data);
  }

  nameOf(clientId: string): string | undefined {
    const device = this.p.roster.deviceOf(clientId);
    if (device === this.p.device.id) return this.p.room.name;
    return device ? this.p.roster.nameOf(device) : undefined;
  }

  /** Opens a relayed or kept `content`: an item or a control for the room, or undefined when it was dropped or was for the roster. */
  async open(e: ContentEvent): Promise<Opened | undefined> {
    let opened;
    try {
      opened = await this.p.codec.openContent(e.from, e.content, new Uint8Array(e.data));
    } catch (err) {
      if (err instanceof Dropped) return undefined;
      throw err;
    }
    const senderName = opened.name ?? UNKNOWN_DEVICE;
    if (opened.kind === 'item') return { kind: 'item', meta: { ...opened.meta, senderName } };
    if (opened.kind === 'control') return { kind: 'control', msg: opened.msg };
    const effect = opened.effect;
    if (effect.kind === 'member-online') {
      this.events?.named(effect.clientId, senderName);
      if (effect.isNew) {
        // A newcomer (or one we had not heard from): our card, and the roster we know, to it.
        void this.hello(effect.clientId);
        void this.send({ kind: 'roster', cards: this.p.roster.newestCards(64), admitted: this.p.roster.newestRecords(64) }, effect.clientId);
        // The creator's policy as the creator signed it: a newcomer learns it also while the creator is away.
        const policy = this.p.codec.signedPolicy();
        if (policy) this.events?.emit('content', { ...policy, to: effect.clientId });
        this.events?.notify({ kind: 'member-joined', name: senderName });
      }
      void this.refreshCode();
    } else if (effect.kind === 'policy') {
      this.events?.policy(effect.policy.anyoneMayClear);
    } else if (effect.kind === 'admission-failed') {
      this.host?.failureAnnounced();
    }
    return undefined;
  }

  /** The safety code of the members online as this device sees them, itself included. */
  async code(): Promise<string> {
    const keys = this.p.roster.membersOnline().map((m) => fromBase64Url(m.device));
    return safetyCode(this.p.backend, this.p.keys.safetyKey, keys);
  }

  private async refreshCode() {
    const code = await this.code();
    this.events?.safetyCode(code);
  }

  private async hello(to?: string) {
    const card = await this.card;
    if (card) await this.send({ kind: 'hello', clientId: this.selfId, card }, to);
  }

  private async send(control: object, to?: string) {
    const env = await this.p.codec.sealContent(control, newContentId(), 0);
    this.events?.emit('content', { ...env, ...(to !== undefined ? { to } : {}) });
  }

  close() {
    this.host?.close();
  }

  /** Leaving for good: this browser forgets the session's secret. */
  forget(): Promise<void> {
    return this.p.forget();
  }
}
