/**
 * A min-heap of scheduled deliveries ordered by (time, sequence), with a free list so
 * that a simulation pushing tens of millions of packets does not allocate an object
 * per packet. Entries are plain mutable records owned by the queue: take one with
 * {@link DeliveryQueue.alloc}, fill it, {@link DeliveryQueue.push} it, and hand it back
 * with {@link DeliveryQueue.release} once processed.
 */
export class DeliveryQueue<E extends { at: number; seq: number }> {
  private readonly heap: E[] = [];
  private readonly free: E[] = [];
  private seq = 0;

  /**
   * @param create makes a blank entry when the free list is empty
   * @param reset clears an entry's references so released payloads can be collected
   * @param maxFree most released entries kept for reuse. @default 65536
   */
  constructor(
    private readonly create: () => E,
    private readonly reset: (entry: E) => void,
    private readonly maxFree = 65_536,
  ) {}

  /** Number of entries waiting. */
  get size(): number {
    return this.heap.length;
  }

  /** A blank entry, reused when possible. */
  alloc(): E {
    return this.free.pop() ?? this.create();
  }

  /** Returns a processed entry to the free list. */
  release(entry: E): void {
    this.reset(entry);
    if (this.free.length < this.maxFree) this.free.push(entry);
  }

  /** Schedules `entry` at `entry.at`; ties keep insertion order. */
  push(entry: E): void {
    entry.seq = this.seq++;
    const h = this.heap;
    let i = h.length;
    h.push(entry);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (parent.at < entry.at || (parent.at === entry.at && parent.seq < entry.seq)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = entry;
  }

  /** Time of the earliest entry, or Infinity when empty. */
  peekAt(): number {
    return this.heap[0]?.at ?? Infinity;
  }

  /** Removes and returns the earliest entry if it is due by `limit`. */
  popDue(limit: number): E | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined || top.at > limit) return undefined;
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        let child = h[l]!;
        if (r < n) {
          const right = h[r]!;
          if (right.at < child.at || (right.at === child.at && right.seq < child.seq)) {
            c = r;
            child = right;
          }
        }
        if (last.at < child.at || (last.at === child.at && last.seq < child.seq)) break;
        h[i] = child;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  /** Removes every entry (without recycling them). */
  clear(): void {
    this.heap.length = 0;
  }
}
