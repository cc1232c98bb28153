/** A scheduled callback that can be cancelled. Cancelling twice is harmless. */
export interface Timer {
  cancel(): void;
}

/**
 * The only source of time for clusterd. Protocol code never reads the system clock:
 * the daemon injects {@link SystemClock}, tests and the simulator a {@link ManualClock}.
 */
export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin; never goes backwards. */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (may jump; used for HLC and display). */
  wall(): number;
  /** Runs `fn` once after `ms` milliseconds (0 or negative: as soon as possible). */
  setTimer(ms: number, fn: () => void): Timer;
}

/** The real clock: `performance.now()` for monotonic time, `Date.now()` for wall time. */
export class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }
  wall(): number {
    return Date.now();
  }
  setTimer(ms: number, fn: () => void): Timer {
    const handle = setTimeout(fn, Math.max(0, ms));
    handle.unref?.();
    return { cancel: () => clearTimeout(handle) };
  }
}

/** A pending timer of a ManualClock; it is its own handle (no closure per timer). */
class Scheduled implements Timer {
  cancelled = false;

  constructor(
    readonly clock: ManualClock,
    readonly at: number,
    readonly order: number,
    readonly fn: () => void,
  ) {}

  cancel(): void {
    if (!this.cancelled) {
      this.cancelled = true;
      this.clock.cancelled();
    }
  }
}

/**
 * A virtual clock for tests and the simulator. Time moves only when `advance`,
 * `advanceTo` or `runNext` is called; timers fire in (time, scheduling order) order,
 * so a run is reproducible. Timers are kept in a binary heap: O(log n) per timer even
 * with hundreds of thousands pending (a 10,000-node simulation).
 */
export class ManualClock implements Clock {
  private time: number;
  private readonly epoch: number;
  private heap: Scheduled[] = [];
  private seq = 0;
  private live = 0;

  /**
   * @param start initial monotonic time in ms. @default 0
   * @param epoch wall-clock ms that corresponds to monotonic 0. @default 1_700_000_000_000
   */
  constructor(start = 0, epoch = 1_700_000_000_000) {
    this.time = start;
    this.epoch = epoch;
  }

  now(): number {
    return this.time;
  }

  wall(): number {
    return this.epoch + this.time;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const item = new Scheduled(this, this.time + Math.max(0, ms), this.seq++, fn);
    // cancelled timers stay in the heap until they reach its top; when they outnumber
    // the live ones, rebuild it without them (a sorted array is a heap)
    if (this.heap.length >= 4096 && this.heap.length > 2 * this.live) {
      this.heap = this.heap.filter((x) => !x.cancelled).sort((a, b) => a.at - b.at || a.order - b.order);
    }
    this.push(item);
    this.live++;
    return item;
  }

  /** Called by a pending timer being cancelled. @internal */
  cancelled(): void {
    this.live--;
  }

  /** Number of timers scheduled and not yet fired or cancelled. */
  get pending(): number {
    return this.live;
  }

  /** Time of the next pending timer, or undefined when none is pending. */
  nextAt(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.at;
  }

  /** Fires the earliest timer (moving time to it) if it is due by `limit`; true if one fired. */
  runNext(limit = Infinity): boolean {
    this.dropCancelled();
    const top = this.heap[0];
    if (!top || top.at > limit) return false;
    this.pop();
    this.live--;
    top.cancelled = true;
    if (top.at > this.time) this.time = top.at;
    top.fn();
    return true;
  }

  /** Moves time forward to `target`, firing every timer due on the way (including new ones). */
  advanceTo(target: number): void {
    while (this.runNext(target)) {
      // each fired timer may schedule more; loop until none is due by target
    }
    if (target > this.time) this.time = target;
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.time + ms);
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private less(a: Scheduled, b: Scheduled): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  private push(item: Scheduled): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
