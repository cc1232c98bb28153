/**
 * Lifeguard local health ("awareness"). A node that misses nacks from its indirect
 * probe helpers, or has to refute suspicions of itself, is more likely the slow one
 * than its peers are dead: it raises its score and stretches its probe interval and
 * timeout by (score + 1), so it accuses others less while it is unhealthy. Successful
 * probes lower the score again.
 */
export class Awareness {
  private value = 0;

  /** @param max the score stays in [0, max - 1]. @default 8 */
  constructor(private readonly max = 8) {}

  /** The current health score: 0 is healthy. */
  get score(): number {
    return this.value;
  }

  /** Adds `delta` (clamped); returns true when the score changed. */
  apply(delta: number): boolean {
    const next = Math.min(this.max - 1, Math.max(0, this.value + delta));
    if (next === this.value) return false;
    this.value = next;
    return true;
  }

  /** `ms` stretched by the current score. */
  scale(ms: number): number {
    return ms * (this.value + 1);
  }
}
