/**
 * The member's side of admission (docs/protocol.md, "Admission by a member"), sans-IO: `admit`
 * messages, departures and time go in, messages to send and outcomes come out. It answers each
 * applicant's CPace run, throttled by the session's recent failures, and when the applicant's
 * confirmation verifies it asks its shell to sign the admission record (`confirmed`), then seals
 * the room secret for it (`deliver`). A run whose confirmation fails, or that goes silent after
 * this member answered it (the applicant learnt whether its guess was right), is a failure: the
 * shell announces it to the room. Nothing here reads the clock or touches a socket.
 */
import { CpaceError } from '../../crypto/v3/cpace';
import { applicantAad, bundleAad, type MemberRun, memberRespond, openAdmit, sealAdmit } from '../../crypto/v3/admission-crypto';
import { utf8Bytes } from '../../crypto/v3/lv';
import { toBase64 } from '../../crypto/format';
import { FailureLog } from './failure-log';
import {
  type ApplicantIntro,
  bundleJson,
  type BundleFields,
  parseIntro,
  parseStep1,
  parseStep3,
  type StepData,
  step0,
  step2,
  step4,
} from './messages';

export const RUN_TIMEOUT_MS = 60_000;
/** Runs one member answers at once; more applicants wait for a later member or a retry. */
export const MAX_RUNS = 4;
/** Run ids remembered to refuse a repeated `sid`. */
const REMEMBERED_SIDS = 256;

export type AdmitterAction =
  | { type: 'send'; to: string; step: number; data: StepData }
  /**
   * The applicant knows the passphrase: check its intro's signature for run `sid` (see
   * `introVerifies`), then sign its record and call `deliver(run, …)`, or `refuse(run)`.
   */
  | { type: 'confirmed'; run: number; applicant: string; sid: Uint8Array; intro: ApplicantIntro }
  /** A failed guess: announce `admission-failed` to the room and tell the user. */
  | { type: 'failed'; applicant: string };

export interface AdmitterConfig {
  sessionId: string;
  prs: Uint8Array;
  runTimeoutMs?: number;
  maxRuns?: number;
  random?: (n: number) => Uint8Array;
}

type Stage = 'waiting' | 'answered' | 'confirmed';

interface Run {
  id: number;
  applicant: string;
  sid: Uint8Array;
  cpace: MemberRun;
  stage: Stage;
  /** When step 2 goes out (throttled runs), and when the run is given up. */
  answerAt: number;
  deadline: number;
}

export class Admitter {
  private readonly runs = new Map<string, Run>();
  private readonly sids = new Set<string>();
  private readonly failures = new FailureLog();
  private nextRun = 1;

  constructor(
    private readonly config: AdmitterConfig,
    /** This member's current connection id (CPace's ADb). */
    private selfId: string,
  ) {}

  /** Our connection changed (a reconnect): runs bound to the old id cannot finish. */
  setSelf(clientId: string): void {
    this.selfId = clientId;
    this.runs.clear();
  }

  /** Another member announced a failed run. */
  failureAnnounced(now: number): void {
    this.failures.record(now);
  }

  /** Failed runs of the last hour that this member knows of. */
  failureCount(now: number): number {
    return this.failures.count(now);
  }

  handle(from: string, step: number, data: unknown, now: number): AdmitterAction[] {
    if (step === 1) return this.start(from, data, now);
    const run = this.runs.get(from);
    if (!run) return [];
    if (step === 3 && run.stage === 'answered') return this.confirm(run, data, now);
    // Anything else is out of order: the run ends, a failure if the applicant had our answer.
    return this.end(run, now);
  }

  private start(from: string, data: unknown, now: number): AdmitterAction[] {
    const out: AdmitterAction[] = [];
    const old = this.runs.get(from);
    if (old) out.push(...this.end(old, now));
    const m = parseStep1(data);
    if (!m) return out;
    const sidKey = toBase64(m.sid);
    if (this.sids.has(sidKey) || this.runs.size >= (this.config.maxRuns ?? MAX_RUNS)) return out;
    this.sids.add(sidKey);
    if (this.sids.size > REMEMBERED_SIDS) this.sids.delete(this.sids.values().next().value as string);
    let cpace: MemberRun;
    try {
      cpace = memberRespond(this.config.prs, this.config.sessionId, m.sid, m.Ya, from, this.selfId, this.config.random);
    } catch (err) {
      if (err instanceof CpaceError) return out;
      throw err;
    }
    const wait = this.failures.delayMs(now);
    const run: Run = {
      id: this.nextRun++,
      applicant: from,
      sid: m.sid,
      cpace,
      stage: 'waiting',
      answerAt: now + wait,
      deadline: now + wait + (this.config.runTimeoutMs ?? RUN_TIMEOUT_MS),
    };
    this.runs.set(from, run);
    if (wait > 0) return [...out, { type: 'send', to: from, step: 0, data: step0(wait) }];
    return [...out, ...this.answer(run)];
  }

  private answer(run: Run): AdmitterAction[] {
    run.stage = 'answered';
    return [{ type: 'send', to: run.applicant, step: 2, data: step2({ Yb: run.cpace.Yb, Tb: run.cpace.Tb }) }];
  }

  private confirm(run: Run, data: unknown, now: number): AdmitterAction[] {
    const m = parseStep3(data);
    if (!m || !run.cpace.confirms(m.Ta)) return this.end(run, now, true);
    let intro: ApplicantIntro | undefined;
    try {
      intro = parseIntro(JSON.parse(new TextDecoder().decode(openAdmit(run.cpace.admitKey, m, applicantAad(this.config.sessionId, run.sid)))));
    } catch {
      intro = undefined;
    }
    // The passphrase was right but the rest is not readable: no guess failed, the run just ends.
    if (!intro) return this.end(run, now, false);
    run.stage = 'confirmed';
    return [{ type: 'confirmed', run: run.id, applicant: run.applicant, sid: run.sid, intro }];
  }

  private confirmedRun(runId: number): Run | undefined {
    const run = [...this.runs.values()].find((r) => r.id === runId && r.stage === 'confirmed');
    if (run) this.runs.delete(run.applicant);
    return run;
  }

  /** Ends a confirmed run whose intro did not verify: a broken client, not a failed guess. */
  refuse(runId: number): void {
    this.confirmedRun(runId);
  }

  /** Seals the room secret for a confirmed run: step 4. */
  deliver(runId: number, bundle: BundleFields): AdmitterAction[] {
    const run = this.confirmedRun(runId);
    if (!run) return [];
    const plain = utf8Bytes(JSON.stringify(bundleJson(bundle)));
    const sealed = sealAdmit(run.cpace.admitKey, plain, bundleAad(this.config.sessionId, run.sid), this.config.random);
    return [{ type: 'send', to: run.applicant, step: 4, data: step4(sealed) }];
  }

  applicantLeft(clientId: string, now: number): AdmitterAction[] {
    const run = this.runs.get(clientId);
    return run ? this.end(run, now) : [];
  }

  /**
   * Ends a run. It is a failed guess when `failed` says so, or by default when the applicant
   * had our answer (step 2) and did not confirm: it knows whether its guess was right.
   */
  private end(run: Run, now: number, failed = run.stage === 'answered'): AdmitterAction[] {
    this.runs.delete(run.applicant);
    if (!failed) return [];
    this.failures.record(now);
    return [{ type: 'failed', applicant: run.applicant }];
  }

  tick(now: number): AdmitterAction[] {
    const out: AdmitterAction[] = [];
    for (const run of [...this.runs.values()]) {
      if (now >= run.deadline) out.push(...this.end(run, now));
      else if (run.stage === 'waiting' && now >= run.answerAt) out.push(...this.answer(run));
    }
    return out;
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const run of this.runs.values()) {
      const at = run.stage === 'waiting' ? Math.min(run.answerAt, run.deadline) : run.deadline;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }
}
