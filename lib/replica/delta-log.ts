import type { Delta } from './delta.js';
import { deltaSize } from './delta.js';
import { payloadSize } from './limits.js';

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

  /**
   * Appends the change with seq `endSeq` (callers append in order, without gaps). `size`
   * is its {@link deltaSize}, or -1 to measure it only if a catch-up ever asks: most
   * changes received from peers leave the ring unread, and measuring an object payload
   * means encoding it.
   */
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
    if (seq < this.first || seq >= this.next) return 0;
    const slot = seq % this.capacity;
    let size = this.sizes[slot]!;
    if (size < 0) {
      const d = this.items[slot]!;
      size = deltaSize(d, d.kind === 'publish' ? payloadSize(d.data, 'history payload') : d.kind === 'leave' ? 0 : payloadSize(d.info, 'presence info'));
      this.sizes[slot] = size;
    }
    return size;
  }
}
