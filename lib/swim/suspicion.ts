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
   * The originator, then each distinct confirmer. At most k + 1 names (confirmations past
   * k are ignored), k being SuspicionMult − 2 (2 by default): a short array is cheaper
   * than a Set, and a split of n nodes holds n²/2 suspicions at once.
   */
  private readonly confirmers: string[];

  /**
   * @param start time the suspicion began (monotonic ms).
   * @param from the member whose suspicion started it (never counted as a confirmation).
   * @param k confirmations expected before the timeout reaches `min`.
   * @param minMs the shortest timeout.
   * @param maxMs the initial timeout.
   */
  constructor(
    readonly start: number,
    from: string,
    private readonly k: number,
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {
    this.confirmers = [from];
  }

  /** Distinct confirmations received so far (excluding the originator). */
  get confirmations(): number {
    return this.confirmers.length - 1;
  }

  /** True once it has every confirmation it can count (later ones change nothing). */
  get complete(): boolean {
    return this.confirmers.length > this.k;
  }

  /** Records a confirmation; true when it came from a member not heard before. */
  confirm(from: string): boolean {
    if (this.confirmers.length > this.k || this.confirmers.includes(from)) return false;
    this.confirmers.push(from);
    return true;
  }

  /** The current timeout in ms, given the confirmations so far. */
  timeout(): number {
    return suspicionTimeout(this.confirmations, this.k, this.minMs, this.maxMs);
  }

  /** Absolute time at which the member is to be declared dead. */
  deadline(): number {
    return this.start + this.timeout();
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
