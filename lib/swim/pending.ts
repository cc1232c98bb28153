/** An entry of {@link PendingTable}: something waiting for the ack of one sequence number. */
export interface Pending {
  readonly seq: number;
  /** Time from which it no longer counts (Infinity: until deleted). */
  readonly until: number;
}

/**
 * The probes and relayed pings of one node waiting for acks, by sequence number.
 *
 * A node issues its sequence numbers in order and each entry lives a bounded time (a
 * probe period, a relay's window), so the live ones span a short run of numbers: a ring
 * indexed by `seq & mask` finds each in one step, and grows when two live entries would
 * share a slot. An entry past its `until` is gone without a timer to remove it: the
 * next one to need its slot takes it. A Map here rehashed every few dozen probes,
 * leaving its old tables (and what they pointed to) for the garbage collector.
 */
export class PendingTable<P extends Pending> {
  private ring: (P | undefined)[] = new Array<P | undefined>(16).fill(undefined);
  private mask = 15;

  /** The entry for `seq`, unless it was deleted or its time is up at `now`. */
  get(seq: number, now: number): P | undefined {
    const p = this.ring[seq & this.mask];
    return p !== undefined && p.seq === seq && now < p.until ? p : undefined;
  }

  /** Adds `p` (replacing whatever had its sequence number). */
  set(p: P, now: number): void {
    for (;;) {
      const at = p.seq & this.mask;
      const old = this.ring[at];
      if (old === undefined || old.seq === p.seq || now >= old.until) {
        this.ring[at] = p;
        return;
      }
      this.grow(now);
    }
  }

  /** Removes the entry for `seq`, if it is there. */
  delete(seq: number): void {
    const at = seq & this.mask;
    if (this.ring[at]?.seq === seq) this.ring[at] = undefined;
  }

  /** Removes everything. */
  clear(): void {
    this.ring.fill(undefined);
  }

  /** Slots in the ring (for tests: it grows only with what is live at once). */
  get capacity(): number {
    return this.ring.length;
  }

  /**
   * Doubles the ring, keeping the live entries. They cannot clash in it: numbers on
   * different slots of a ring stay on different slots of one twice its size.
   */
  private grow(now: number): void {
    const ring = new Array<P | undefined>(this.ring.length * 2).fill(undefined);
    const mask = ring.length - 1;
    for (const p of this.ring) if (p !== undefined && now < p.until) ring[p.seq & mask] = p;
    this.ring = ring;
    this.mask = mask;
  }
}
