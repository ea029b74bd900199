/** Transfer speed over a sliding window of recent samples. Pure; time is passed in. */
export class SpeedMeter {
  private samples: { t: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 3000) {}

  /** Records the running total `bytes` at time `t` and returns bytes per second. */
  update(t: number, bytes: number): number {
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0].t > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const dt = t - first.t;
    return dt > 0 ? ((bytes - first.bytes) * 1000) / dt : 0;
  }
}
