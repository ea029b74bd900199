/**
 * The I/O shell around a member's `Admitter`: it feeds the server's `applicant-left` and `admit`
 * events and the room's `admission-failed` announcements in, runs its timer, checks a confirmed
 * applicant's intro, signs the admission record and hands over the room secret, and tells the
 * room (sealed `admitted` and `admission-failed` controls) and the user what happened.
 */
import { type AdmissionRecord, introVerifies, makeRecord } from '../../crypto/v3/cards';
import type { DeviceKey, SignatureVerifier } from '../../crypto/v3/device-key';
import type { RoomSecret } from '../../crypto/v3/room-keys';
import type { Roster } from '../roster';
import { Admitter, type AdmitterAction } from './admitter';
import { MAX_BUNDLE_CARDS, type StepData } from './messages';

export type MemberNotice = { kind: 'admitted'; record: AdmissionRecord } | { kind: 'wrong-passphrase' };

export interface MemberHostDeps {
  secret: RoomSecret & { prs: Uint8Array };
  device: DeviceKey;
  epoch: Uint8Array;
  verifier: SignatureVerifier;
  roster: Roster;
  sendAdmit(to: string, step: number, data: StepData): void;
  /** Seals and sends a room control to every member. */
  announce(control: object): Promise<void>;
  notice(n: MemberNotice): void;
  now?: () => number;
}

export class MemberHost {
  private readonly admitter: Admitter;
  private timer?: ReturnType<typeof setTimeout>;
  private closed = false;

  constructor(
    private readonly d: MemberHostDeps,
    selfId: string,
  ) {
    this.admitter = new Admitter({ sessionId: d.secret.sessionId, prs: d.secret.prs }, selfId);
  }

  private now = () => (this.d.now ?? Date.now)();

  setSelf(clientId: string) {
    this.admitter.setSelf(clientId);
    this.schedule();
  }

  admit(from: string, step: number, data: unknown) {
    this.act(this.admitter.handle(from, step, data, this.now()));
  }

  applicantLeft(clientId: string) {
    this.act(this.admitter.applicantLeft(clientId, this.now()));
  }

  /** Another member told the room of a failed run: it counts here too, and the user sees it. */
  failureAnnounced() {
    this.admitter.failureAnnounced(this.now());
    this.d.notice({ kind: 'wrong-passphrase' });
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private act(actions: AdmitterAction[]) {
    if (this.closed) return;
    for (const a of actions) {
      if (a.type === 'send') this.d.sendAdmit(a.to, a.step, a.data);
      else if (a.type === 'failed') {
        this.d.notice({ kind: 'wrong-passphrase' });
        void this.d.announce({ kind: 'admission-failed', at: Date.now() });
      } else void this.confirm(a);
    }
    this.schedule();
  }

  private async confirm(a: Extract<AdmitterAction, { type: 'confirmed' }>) {
    const { secret, device, epoch, verifier, roster } = this.d;
    if (!(await introVerifies(verifier, secret.sessionId, a.sid, a.intro))) {
      this.admitter.refuse(a.run);
      return;
    }
    const record = await makeRecord(epoch, device, a.intro.device, a.intro.name, Date.now());
    const cards = roster.newestCards(MAX_BUNDLE_CARDS);
    this.act(this.admitter.deliver(a.run, { roomKey: secret.roomKey, creatorPk: secret.creatorPk, prs: secret.prs, cards, admitted: record }));
    roster.addRecord(record);
    this.d.notice({ kind: 'admitted', record });
    await this.d.announce({ kind: 'admitted', record });
  }

  private schedule() {
    clearTimeout(this.timer);
    const next = this.admitter.nextDeadline();
    if (next === undefined || this.closed) return;
    this.timer = setTimeout(() => this.act(this.admitter.tick(this.now())), Math.max(0, next - this.now()));
  }
}
