/**
 * The applicant's side of admission (docs/protocol.md, "Admission by a member"), sans-IO: the
 * members online, their `admit` messages and time go in; messages to send, the status to show
 * and the outcome come out. It runs CPace with one member at a time. A member that leaves, goes
 * silent or sends nonsense is given up and the next one asked; with none online it waits and
 * starts the moment one joins. A member whose confirmation does not verify means the passphrase
 * is wrong: the run still sends its own confirmation (so the member learns it at once), and the
 * applicant stops: trying the same passphrase with another member would only spend a guess.
 * Each run's intro (step 3) is signed with the device key for that run's `sid`: signing is
 * asynchronous, so a run starts with a `sign` action and its step 1 goes out once the shell
 * calls `signed`.
 */
import { CpaceError } from '../../crypto/v3/cpace';
import { type ApplicantRun, applicantAad, applicantFinish, applicantStart, bundleAad, openAdmit, sealAdmit } from '../../crypto/v3/admission-crypto';
import { utf8Bytes } from '../../crypto/v3/lv';
import { type AdmissionBundle, type ApplicantIntro, parseBundle, parseStep0, parseStep2, parseStep4, type StepData, step1, step3 } from './messages';
import { RUN_TIMEOUT_MS } from './admitter';

/** Before asking again a member that failed to answer, when no other is online. */
export const RETRY_DELAY_MS = 5_000;

export type ApplicantStatus =
  | { kind: 'no-member' }
  | { kind: 'asking'; member: string }
  | { kind: 'throttled'; member: string; until: number }
  /** Every member online failed to answer; they are asked again at `until`. */
  | { kind: 'retrying'; until: number }
  | { kind: 'wrong-passphrase' }
  | { kind: 'admitted' };

export type ApplicantAction =
  | { type: 'send'; to: string; step: number; data: StepData }
  /** Sign the intro for run `sid` (see `signIntro`) and call `signed(sid, sig, now)`. */
  | { type: 'sign'; sid: Uint8Array }
  | { type: 'status'; status: ApplicantStatus }
  | { type: 'admitted'; by: string; bundle: AdmissionBundle };

export interface ApplicantConfig {
  sessionId: string;
  prs: Uint8Array;
  /** Our connection id (CPace's ADa). */
  selfId: string;
  /** The device id this device will be, and the name it asks for. */
  device: string;
  name: string;
  runTimeoutMs?: number;
  retryDelayMs?: number;
  random?: (n: number) => Uint8Array;
}

interface Run {
  member: string;
  cpace: ApplicantRun;
  /** The intro's signature, once the shell made it: step 1 goes out then. */
  sig?: string;
  admitKey?: Uint8Array;
  deadline: number;
}

export class Applicant {
  /** Members online, in the order they were seen. */
  private readonly members = new Set<string>();
  /** Members that failed to answer since the last retry. */
  private readonly tried = new Set<string>();
  private run?: Run;
  private retryAt?: number;
  private done = false;

  constructor(private readonly config: ApplicantConfig) {}

  /** The join ack's members: asks the first. */
  start(members: readonly string[], now: number): ApplicantAction[] {
    for (const m of members) this.members.add(m);
    return this.next(now);
  }

  memberJoined(clientId: string, now: number): ApplicantAction[] {
    this.members.add(clientId);
    return this.run || this.done ? [] : this.next(now);
  }

  memberLeft(clientId: string, now: number): ApplicantAction[] {
    this.members.delete(clientId);
    this.tried.delete(clientId);
    if (this.run?.member !== clientId) return [];
    this.run = undefined;
    return this.next(now);
  }

  /** The shell signed the intro of run `sid`: step 1 goes out. */
  signed(sid: Uint8Array, sig: string, now: number): ApplicantAction[] {
    const run = this.run;
    if (this.done || !run || run.sig !== undefined || !sameBytes(run.cpace.sid, sid)) return [];
    run.sig = sig;
    run.deadline = now + (this.config.runTimeoutMs ?? RUN_TIMEOUT_MS);
    const member = run.member;
    return [
      { type: 'send', to: member, step: 1, data: step1({ sid: run.cpace.sid, Ya: run.cpace.Ya }) },
      { type: 'status', status: { kind: 'asking', member } },
    ];
  }

  handle(from: string, step: number, data: unknown, now: number): ApplicantAction[] {
    const run = this.run;
    if (this.done || !run || run.sig === undefined || run.member !== from) return [];
    if (step === 0 && !run.admitKey) {
      const wait = parseStep0(data);
      if (wait === undefined) return this.giveUp(now);
      run.deadline = now + wait + (this.config.runTimeoutMs ?? RUN_TIMEOUT_MS);
      return [{ type: 'status', status: { kind: 'throttled', member: from, until: now + wait } }];
    }
    if (step === 2 && !run.admitKey) return this.confirm(run, data, now);
    if (step === 4 && run.admitKey) return this.finish(run, data, now);
    return this.giveUp(now);
  }

  private confirm(run: Run, data: unknown, now: number): ApplicantAction[] {
    const m = parseStep2(data);
    if (!m) return this.giveUp(now);
    let finish: ReturnType<typeof applicantFinish>;
    try {
      finish = applicantFinish(run.cpace, run.member, m.Yb, m.Tb);
    } catch (err) {
      if (err instanceof CpaceError) return this.giveUp(now);
      throw err;
    }
    const intro: ApplicantIntro = { device: this.config.device, name: this.config.name, sig: run.sig ?? '' };
    const introBytes = utf8Bytes(JSON.stringify(intro));
    const sealed = sealAdmit(finish.admitKey, introBytes, applicantAad(this.config.sessionId, run.cpace.sid), this.config.random);
    const send: ApplicantAction = { type: 'send', to: run.member, step: 3, data: step3({ Ta: finish.Ta, ...sealed }) };
    if (!finish.memberConfirmed) {
      this.done = true;
      this.run = undefined;
      return [send, { type: 'status', status: { kind: 'wrong-passphrase' } }];
    }
    run.admitKey = finish.admitKey;
    return [send];
  }

  private finish(run: Run, data: unknown, now: number): ApplicantAction[] {
    const m = parseStep4(data);
    let bundle: AdmissionBundle | undefined;
    try {
      if (m && run.admitKey) {
        const plain = openAdmit(run.admitKey, m, bundleAad(this.config.sessionId, run.cpace.sid));
        bundle = parseBundle(JSON.parse(new TextDecoder().decode(plain)));
      }
    } catch {
      bundle = undefined;
    }
    if (!bundle) return this.giveUp(now);
    this.done = true;
    this.run = undefined;
    return [
      { type: 'status', status: { kind: 'admitted' } },
      { type: 'admitted', by: run.member, bundle },
    ];
  }

  /** The current member did not answer properly: ask another. */
  private giveUp(now: number): ApplicantAction[] {
    if (this.run) this.tried.add(this.run.member);
    this.run = undefined;
    return this.next(now);
  }

  private next(now: number): ApplicantAction[] {
    if (this.done) return [];
    const member = [...this.members].find((m) => !this.tried.has(m));
    if (member === undefined) {
      // Every member online failed to answer: ask them again after a pause.
      if (this.members.size === 0) {
        this.retryAt = undefined;
        return [{ type: 'status', status: { kind: 'no-member' } }];
      }
      this.retryAt = now + (this.config.retryDelayMs ?? RETRY_DELAY_MS);
      return [{ type: 'status', status: { kind: 'retrying', until: this.retryAt } }];
    }
    this.retryAt = undefined;
    const cpace = applicantStart(this.config.prs, this.config.sessionId, this.config.selfId, this.config.random);
    this.run = { member, cpace, deadline: now + (this.config.runTimeoutMs ?? RUN_TIMEOUT_MS) };
    return [{ type: 'sign', sid: cpace.sid }];
  }

  tick(now: number): ApplicantAction[] {
    if (this.done) return [];
    if (this.run && now >= this.run.deadline) return this.giveUp(now);
    if (!this.run && this.retryAt !== undefined && now >= this.retryAt) {
      this.tried.clear();
      return this.next(now);
    }
    return [];
  }

  nextDeadline(): number | undefined {
    if (this.done) return undefined;
    return this.run ? this.run.deadline : this.retryAt;
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
