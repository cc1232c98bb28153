import type { Delta } from './delta.js';

/**
 * The recent changes of one origin (one epoch), kept so that this replica can answer a
 * lagging peer with exactly the deltas it misses, whoever wrote them. A ring: the
 * oldest are overwritten; asking for something older than the ring holds gets nothing.
 */
export class DeltaRing {
  private readonly items: (Delta | undefined)[];
  private readonly sizes: Float64Array;
  private first = 1;
  private next = 1;

  /**
   * @param capacity changes kept. @default 1024
   * @param epoch the origin epoch whose changes this ring holds.
   */
  constructor(readonly epoch: number, readonly capacity = 1024) {
    this.items = new Array<Delta | undefined>(capacity);
    this.sizes = new Float64Array(capacity);
  }

  /** Lowest seq still held (when `firstSeq === endSeq` nothing is held). */
  get firstSeq(): number {
    return this.first;
  }

  /** One past the highest seq held. */
  get endSeq(): number {
    return this.next;
  }

  /** Appends the change with seq `endSeq` (callers append in order, without gaps). */
  push(delta: Delta, size: number): void {
    if (delta.seq !== this.next) {
      // a gap (e.g. the replica jumped ahead after a bulk catch-up): restart the ring there
      this.items.fill(undefined);
      this.first = delta.seq;
      this.next = delta.seq;
    }
    const slot = this.next % this.capacity;
    this.items[slot] = delta;
    this.sizes[slot] = size;
    this.next++;
    if (this.next - this.first > this.capacity) this.first = this.next - this.capacity;
  }

  /** True when every seq in [from, to] is held. */
  holds(from: number, to: number): boolean {
    return from >= this.first && to < this.next;
  }

  /** The change with `seq` (undefined when not held). */
  get(seq: number): Delta | undefined {
    return seq >= this.first && seq < this.next ? this.items[seq % this.capacity] : undefined;
  }

  /** The size bound of the change with `seq` (0 when not held). */
  sizeOf(seq: number): number {
    return seq >= this.first && seq < this.next ? this.sizes[seq % this.capacity]! : 0;
  }
}
