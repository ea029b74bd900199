/**
 * Throttling of admission runs (docs/protocol.md, "Admission by a member"): a member counts the
 * failed runs of the last hour for its session, its own and those other members announced, and
 * with `n ≥ 3` of them waits `min(300, 2^(n−3))` seconds before it answers the next one. So an
 * active attacker's guesses slow down exponentially, whoever it asks. Bounded; time is passed in.
 */
export const FAILURE_WINDOW_MS = 60 * 60_000;
const MAX_FAILURES = 64;
const FREE_FAILURES = 3;
const MAX_DELAY_S = 300;

export class FailureLog {
  private readonly times: number[] = [];

  record(now: number): void {
    this.times.push(now);
    if (this.times.length > MAX_FAILURES) this.times.shift();
  }

  count(now: number): number {
    while (this.times.length > 0 && now - this.times[0] >= FAILURE_WINDOW_MS) this.times.shift();
    return this.times.length;
  }

  /** How long to wait before answering a run that starts now. */
  delayMs(now: number): number {
    const n = this.count(now);
    return n < FREE_FAILURES ? 0 : Math.min(MAX_DELAY_S, 2 ** (n - FREE_FAILURES)) * 1000;
  }
}
