/**
 * Turns a monotonically increasing counter (frames, bytes, sessions) into a per-second
 * rate between consecutive samples. A counter that goes down means the agent restarted
 * and its counters began again at zero: that sample yields no rate instead of a huge
 * negative one, and the next sample is measured from the new baseline.
 */
export class RateTracker {
  private last: { value: number; at: number } | undefined;

  /** Records `value` read at `at` (ms); returns the rate since the previous sample, per second. */
  sample(value: number | undefined, at: number): number | undefined {
    if (value === undefined) {
      this.last = undefined;
      return undefined;
    }
    const prev = this.last;
    this.last = { value, at };
    if (!prev || at <= prev.at || value < prev.value) return undefined;
    return ((value - prev.value) * 1000) / (at - prev.at);
  }

  /** Forgets the baseline (after an outage, so the first rate is not averaged over it). */
  reset(): void {
    this.last = undefined;
  }
}

/** A fixed-capacity series of samples, oldest first; `undefined` marks a missing sample. */
export class Series {
  private readonly buf: (number | undefined)[] = [];

  /** @param capacity samples kept (the widest sparkline needs no more). @default 240 */
  constructor(private readonly capacity = 240) {}

  push(v: number | undefined): void {
    this.buf.push(v);
    if (this.buf.length > this.capacity) this.buf.splice(0, this.buf.length - this.capacity);
  }

  values(): readonly (number | undefined)[] {
    return this.buf;
  }

  /** The newest sample, undefined when none or missing. */
  get latest(): number | undefined {
    return this.buf[this.buf.length - 1];
  }
}

/** Counts occurrences between reads (messages seen on the event stream) and turns them into a rate. */
export class EventCounter {
  private count = 0;
  private since: number | undefined;

  add(n = 1): void {
    this.count += n;
  }

  /** The rate per second since the previous call (undefined on the first call), then restarts counting. */
  take(now: number): number | undefined {
    const since = this.since;
    const count = this.count;
    this.since = now;
    this.count = 0;
    if (since === undefined || now <= since) return undefined;
    return (count * 1000) / (now - since);
  }
}
