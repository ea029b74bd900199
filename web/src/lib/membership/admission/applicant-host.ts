/**
 * The I/O shell around an `Applicant`: it feeds the server's member events and `admit` messages
 * in, signs each run's intro with this device's key, runs the timer, and when a member hands
 * over the room secret checks it (the record names this device, every card and the record on
 * its signature under the secret's epoch) before it resolves.
 */
import type { Bytes, CryptoBackend } from '../../crypto/backend';
import { type AdmissionRecord, type Card, signIntro, verifiedCard, verifiedRecord } from '../../crypto/v3/cards';
import type { DeviceKey, SignatureVerifier } from '../../crypto/v3/device-key';
import { epochOf, type RoomSecret } from '../../crypto/v3/room-keys';
import { Applicant, type ApplicantAction, type ApplicantStatus } from './applicant';
import type { AdmissionBundle, StepData } from './messages';

export interface Admission {
  secret: RoomSecret;
  epoch: Bytes;
  cards: Card[];
  record: AdmissionRecord;
}

/**
 * `invalid-answer`: the member knew the passphrase but what it handed over does not check out
 * (not for this device, or signatures that fail): a broken or hostile member; apply again.
 */
export type ApplyOutcome = { ok: true; admission: Admission } | { ok: false; why: 'wrong-passphrase' | 'invalid-answer' | 'stopped' };

export interface ApplicantHostDeps {
  sessionId: string;
  prs: Uint8Array;
  selfId: string;
  device: DeviceKey;
  name: string;
  backend: CryptoBackend;
  verifier: SignatureVerifier;
  sendAdmit(to: string, step: number, data: StepData): void;
  status(s: ApplicantStatus): void;
  now?: () => number;
}

export class ApplicantHost {
  private readonly applicant: Applicant;
  private timer?: ReturnType<typeof setTimeout>;
  private settle?: (o: ApplyOutcome) => void;
  readonly outcome: Promise<ApplyOutcome>;

  constructor(private readonly d: ApplicantHostDeps) {
    this.applicant = new Applicant({ sessionId: d.sessionId, prs: d.prs, selfId: d.selfId, device: d.device.id, name: d.name });
    this.outcome = new Promise((resolve) => (this.settle = resolve));
  }

  private now = () => (this.d.now ?? Date.now)();

  start(members: readonly string[]) {
    this.act(this.applicant.start(members, this.now()));
  }
  memberJoined(clientId: string) {
    this.act(this.applicant.memberJoined(clientId, this.now()));
  }
  memberLeft(clientId: string) {
    this.act(this.applicant.memberLeft(clientId, this.now()));
  }
  admit(from: string, step: number, data: unknown) {
    this.act(this.applicant.handle(from, step, data, this.now()));
  }

  stop() {
    this.finish({ ok: false, why: 'stopped' });
  }

  private finish(o: ApplyOutcome) {
    clearTimeout(this.timer);
    this.settle?.(o);
    this.settle = undefined;
  }

  private act(actions: ApplicantAction[]) {
    if (!this.settle) return;
    for (const a of actions) {
      if (a.type === 'send') this.d.sendAdmit(a.to, a.step, a.data);
      else if (a.type === 'sign') {
        void signIntro(this.d.device, this.d.sessionId, a.sid, this.d.name).then((sig) => this.act(this.applicant.signed(a.sid, sig, this.now())));
      } else if (a.type === 'status') {
        this.d.status(a.status);
        if (a.status.kind === 'wrong-passphrase') this.finish({ ok: false, why: 'wrong-passphrase' });
      } else void this.accept(a.bundle);
    }
    this.schedule();
  }

  /** Checks the handed-over secret before it is believed. */
  private async accept(bundle: AdmissionBundle) {
    const epoch = await epochOf(this.d.backend, bundle.creatorPk);
    const record = await verifiedRecord(this.d.verifier, epoch, bundle.admitted);
    if (!record || record.device !== this.d.device.id || record.name !== this.d.name) {
      this.finish({ ok: false, why: 'invalid-answer' });
      return;
    }
    const cards: Card[] = [];
    for (const c of bundle.cards) {
      const card = await verifiedCard(this.d.verifier, epoch, c);
      if (card) cards.push(card);
    }
    const secret: RoomSecret = { sessionId: this.d.sessionId, roomKey: bundle.roomKey, creatorPk: bundle.creatorPk, prs: bundle.prs };
    this.finish({ ok: true, admission: { secret, epoch, cards, record } });
  }

  private schedule() {
    clearTimeout(this.timer);
    const next = this.applicant.nextDeadline();
    if (next === undefined || !this.settle) return;
    this.timer = setTimeout(() => this.act(this.applicant.tick(this.now())), Math.max(0, next - this.now()));
  }
}
