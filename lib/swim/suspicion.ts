/**
 * Lifeguard's dynamic suspicion timeout. A suspicion starts with a long timeout
 * (`max`) that shrinks towards `min` as independent members confirm it, so a truly
 * dead member is declared quickly while a member suspected by one unhealthy prober
 * gets time to refute:
 *
 *   timeout(c) = max(min, max − (max − min) · log(c + 1) / log(k + 1))
 *
 * where c is the number of distinct confirmations and k the number expected.
 */
export class Suspicion {
  /**
   * The originator and the first two confirmers, in fields: a split of n nodes holds
   * n²/2 suspicions at once and checks one against nearly every suspect message it
   * receives, so the usual case (k = SuspicionMult − 2 = 2) reads this object and no
   * array. Confirmers past the second (a larger SuspicionMult) go to `more`.
   */
  private origin: string;
  private first: string | undefined;
  private second: string | undefined;
  private more: string[] | undefined;
  private count = 0;
  private began: number;

  /**
   * @param start time the suspicion began (monotonic ms).
   * @param from the member whose suspicion started it (never counted as a confirmation).
   * @param k confirmations expected before the timeout reaches `min`.
   * @param minMs the shortest timeout.
   * @param maxMs the initial timeout.
   */
  constructor(
    start: number,
    from: string,
    readonly k: number,
    readonly minMs: number,
    readonly maxMs: number,
  ) {
    this.began = start;
    this.origin = from;
  }

  /** Time the suspicion began (monotonic ms). */
  get start(): number {
    return this.began;
  }

  /** Starts over at `start`, originated by `from`, with no confirmations (same k and timeouts). */
  restart(start: number, from: string): void {
    this.began = start;
    this.origin = from;
    this.first = undefined;
    this.second = undefined;
    this.more = undefined;
    this.count = 0;
  }

  /** Distinct confirmations received so far (excluding the originator). */
  get confirmations(): number {
    return this.count;
  }

  /** True once it has every confirmation it can count (later ones change nothing). */
  get complete(): boolean {
    return this.count >= this.k;
  }

  /** Records a confirmation; true when it came from a member not heard before. */
  confirm(from: string): boolean {
    if (this.count >= this.k || from === this.origin || from === this.first || from === this.second || this.more?.includes(from)) return false;
    if (this.count === 0) this.first = from;
    else if (this.count === 1) this.second = from;
    else (this.more ??= []).push(from);
    this.count++;
    return true;
  }

  /** The current timeout in ms, given the confirmations so far. */
  timeout(): number {
    return suspicionTimeout(this.confirmations, this.k, this.minMs, this.maxMs);
  }

  /** Absolute time at which the member is to be declared dead. */
  deadline(): number {
    return this.began + this.timeout();
  }
}

/** The Lifeguard timeout formula; exposed for tests and docs. */
export function suspicionTimeout(c: number, k: number, minMs: number, maxMs: number): number {
  if (k < 1) return minMs;
  const frac = Math.log(c + 1) / Math.log(k + 1);
  return Math.max(minMs, Math.floor(maxMs - (maxMs - minMs) * frac));
}

/** `SuspicionMult × max(1, log10 n) × probeInterval`: the floor of the suspicion timeout. */
export function suspicionMinTimeout(mult: number, n: number, probeIntervalMs: number): number {
  const scale = Math.max(1, Math.log10(Math.max(1, n)));
  return Math.floor(mult * scale * probeIntervalMs);
}
