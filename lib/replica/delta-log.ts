import type { Delta } from './delta.js';
import { deltaSize } from './delta.js';
import { payloadSize } from './limits.js';

// slots a ring starts with; it doubles up to its capacity as the origin's changes come in
const INITIAL_SLOTS = 4;

/**
 * The recent changes of one origin (one epoch), kept so that this replica can answer a
 * lagging peer with exactly the deltas it misses, whoever wrote them. A ring: the
 * oldest are overwritten; asking for something older than the ring holds gets nothing.
 *
 * The slots grow with use (4, 8, … up to `capacity`): a replica holds one ring per origin
 * it heard from, and in a big cluster most origins change rarely, so a ring allocated at
 * its capacity up front (16 KiB at 1,024) was most of the replica's memory per member
 * (docs/decisions/0057).
 */
export class DeltaRing {
  private items: (Delta | undefined)[];
  private sizes: Float64Array;
  private first = 1;
  private next = 1;

  /**
   * @param capacity changes kept. @default 1024
   * @param epoch the origin epoch whose changes this ring holds.
   */
  constructor(readonly epoch: number, readonly capacity = 1024) {
    const slots = Math.min(capacity, INITIAL_SLOTS);
    this.items = new Array<Delta | undefined>(slots);
    this.sizes = new Float64Array(slots);
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
    if (this.next - this.first === this.items.length && this.items.length < this.capacity) this.grow();
    const slot = this.next % this.items.length;
    this.items[slot] = delta;
    this.sizes[slot] = size;
    this.next++;
    if (this.next - this.first > this.items.length) this.first = this.next - this.items.length;
  }

  /** True when every seq in [from, to] is held. */
  holds(from: number, to: number): boolean {
    return from >= this.first && to < this.next;
  }

  /** The change with `seq` (undefined when not held). */
  get(seq: number): Delta | undefined {
    return seq >= this.first && seq < this.next ? this.items[seq % this.items.length] : undefined;
  }

  /** The size bound of the change with `seq` (0 when not held). */
  sizeOf(seq: number): number {
    if (seq < this.first || seq >= this.next) return 0;
    const slot = seq % this.items.length;
    let size = this.sizes[slot]!;
    if (size < 0) {
      const d = this.items[slot]!;
      size = deltaSize(d, d.kind === 'publish' ? payloadSize(d.data, 'history payload') : d.kind === 'leave' ? 0 : payloadSize(d.info, 'presence info'));
      this.sizes[slot] = size;
    }
    return size;
  }

  // doubles the slots (the ring is full and below its capacity), re-placing what it holds
  private grow(): void {
    const slots = Math.min(this.capacity, this.items.length * 2);
    const items = new Array<Delta | undefined>(slots);
    const sizes = new Float64Array(slots);
    const old = this.items.length;
    for (let seq = this.first; seq < this.next; seq++) {
      items[seq % slots] = this.items[seq % old];
      sizes[seq % slots] = this.sizes[seq % old]!;
    }
    this.items = items;
    this.sizes = sizes;
  }
}
