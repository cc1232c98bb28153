/** The clock and timers of {@link RenderThrottle} (tests pass fakes). */
export interface ThrottleTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: ThrottleTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Caps how often the screen is drawn. Any number of requests (a burst of 1,000 member
 * events, a held-down arrow key) within one interval collapse into one draw; the first
 * request after a quiet interval draws on the next turn of the event loop, so a single
 * key press feels immediate.
 */
export class RenderThrottle {
  private last = -Infinity;
  private pending: unknown;
  private stopped = false;
  /** Draws so far (for tests and the render budget check). */
  draws = 0;

  /**
   * @param draw draws the screen
   * @param intervalMs shortest time between two draws, ms. @default 250 (at most 4 draws a second)
   * @param timers clock and timers. @default the real ones
   */
  constructor(
    private readonly draw: () => void,
    private readonly intervalMs = 250,
    private readonly timers: ThrottleTimers = realTimers,
  ) {}

  /** Asks for a draw: now if the last one is old enough, else once the interval has passed. */
  request(): void {
    if (this.stopped || this.pending !== undefined) return;
    // never draw synchronously: requests come from inside state updates, which must
    // complete (and must not see a drawing error) before the screen reads the state
    const wait = Math.max(0, this.last + this.intervalMs - this.timers.now());
    this.pending = this.timers.setTimeout(() => {
      this.pending = undefined;
      this.run();
    }, wait);
  }

  private run(): void {
    if (this.stopped) return;
    this.last = this.timers.now();
    this.draws++;
    this.draw();
  }

  stop(): void {
    this.stopped = true;
    if (this.pending !== undefined) this.timers.clearTimeout(this.pending);
    this.pending = undefined;
  }
}
