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

/**
 * A pending timer of a ManualClock; it is its own handle. The callback gets `arg`, so a
 * caller with many timers (the simulator: one per frame in flight) can pass one shared
 * function and a per-timer object instead of a closure per timer.
 */
class Scheduled implements Timer {
  cancelled = false;

  constructor(
    readonly clock: ManualClock,
    readonly at: number,
    public fn: (arg: never) => void,
    public arg: unknown,
  ) {}

  cancel(): void {
    if (!this.cancelled) {
      this.cancelled = true;
      this.release();
      this.clock.cancelled();
    }
  }

  /**
   * Lets go of the callback and its argument once they can no longer run. A spent timer
   * often lives on in an older object (its bucket, a handle kept for cancelling), and a
   * dead old object's references keep young objects alive through every scavenge until
   * the next full GC: a simulation's closures and messages would be copied and promoted
   * for nothing.
   */
  release(): void {
    this.fn = noop;
    this.arg = undefined;
  }
}

function noop(): void {}

/**
 * The timers due at one instant, in scheduling order; `next` is the first not yet run.
 * Slots before `next` are emptied (see Scheduled.release).
 */
interface Bucket {
  items: (Scheduled | undefined)[];
  next: number;
}

/**
 * A virtual clock for tests and the simulator. Time moves only when `advance`,
 * `advanceTo` or `runNext` is called; timers fire in (time, scheduling order) order,
 * so a run is reproducible.
 *
 * Timers are kept in one bucket per distinct due time (appended in scheduling order,
 * which is the order they fire in) plus a binary heap of the distinct times: a
 * simulation schedules hundreds of thousands of timers on a few thousand distinct
 * milliseconds, so scheduling is O(1) for most timers (a Map lookup and a push) and the
 * heap stays small. Cancelled timers stay in their bucket until their time comes, or
 * until they outnumber the live ones and the buckets are compacted.
 */
export class ManualClock implements Clock {
  private time: number;
  private readonly epoch: number;
  private readonly buckets = new Map<number, Bucket>();
  /** Binary min-heap of the keys of `buckets`. */
  private times: number[] = [];
  private live = 0;
  private dead = 0;

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
    return this.schedule(ms, fn, undefined);
  }

  /**
   * Like {@link setTimer}, calling `fn(arg)`: one function shared by many timers, with
   * the per-timer state in `arg`, allocates no closure per timer.
   */
  schedule<T>(ms: number, fn: (arg: T) => void, arg: T): Timer {
    const at = ms > 0 ? this.time + ms : this.time;
    const item = new Scheduled(this, at, fn as (arg: never) => void, arg);
    const bucket = this.buckets.get(at);
    if (bucket) bucket.items.push(item);
    else {
      this.buckets.set(at, { items: [item], next: 0 });
      this.pushTime(at);
    }
    this.live++;
    return item;
  }

  /** Called by a pending timer being cancelled. @internal */
  cancelled(): void {
    this.live--;
    // cancelled timers wait in their buckets; when they outnumber the live ones, drop them
    if (++this.dead >= 4096 && this.dead > 2 * this.live) this.compact();
  }

  /** Number of timers scheduled and not yet fired or cancelled. */
  get pending(): number {
    return this.live;
  }

  /** Time of the next pending timer, or undefined when none is pending. */
  nextAt(): number | undefined {
    return this.head()?.at;
  }

  /** Fires the earliest timer (moving time to it) if it is due by `limit`; true if one fired. */
  runNext(limit = Infinity): boolean {
    const top = this.head();
    if (!top || top.at > limit) return false;
    const bucket = this.buckets.get(top.at)!;
    // the bucket may be older than the timers in it: drop them from it as they fire (see Scheduled.release)
    bucket.items[bucket.next++] = undefined;
    this.live--;
    top.cancelled = true;
    if (top.at > this.time) this.time = top.at;
    const fn = top.fn as (arg: unknown) => void;
    const arg = top.arg;
    top.release();
    fn(arg);
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

  /** The earliest live timer (left in place), dropping spent buckets on the way. */
  private head(): Scheduled | undefined {
    while (this.times.length > 0) {
      const at = this.times[0]!;
      const bucket = this.buckets.get(at)!;
      const items = bucket.items;
      while (bucket.next < items.length) {
        const item = items[bucket.next]!;
        if (!item.cancelled) return item;
        // a timer cancelled before its turn: it no longer counts as waiting
        this.dead--;
        items[bucket.next++] = undefined;
      }
      this.buckets.delete(at);
      this.popTime();
    }
    return undefined;
  }

  /** Drops every cancelled timer from the buckets, and the buckets left empty. */
  private compact(): void {
    for (const [at, bucket] of this.buckets) {
      const kept = bucket.items.slice(bucket.next).filter((x) => !x!.cancelled);
      if (kept.length > 0) this.buckets.set(at, { items: kept, next: 0 });
      else this.buckets.delete(at);
    }
    // a sorted array is a heap
    this.times = [...this.buckets.keys()].sort((a, b) => a - b);
    this.dead = 0;
  }

  private pushTime(at: number): void {
    const h = this.times;
    h.push(at);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const up = h[p]!;
      if (up <= at) break;
      h[i] = up;
      i = p;
    }
    h[i] = at;
  }

  private popTime(): void {
    const h = this.times;
    const last = h.pop()!;
    const n = h.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]! < h[l]! ? r : l;
      if (h[c]! >= last) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
