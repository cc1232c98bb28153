/** One queued gossip message, linked into the list of its transmit level. */
interface Item {
  key: string;
  /** The encoded message, once something needed it (see {@link BroadcastQueue.queue}). */
  bytes: Uint8Array | undefined;
  /** Encodes the message the first time it is offered for a frame. */
  encode: (() => Uint8Array) | undefined;
  transmits: number;
  done: (() => void) | undefined;
  prev: Item | undefined;
  next: Item | undefined;
}

/** A doubly linked list of items, oldest at the head. */
interface Level {
  head: Item | undefined;
  tail: Item | undefined;
}

/**
 * The transmit-limited broadcast queue of SWIM dissemination. Each queued message
 * (already encoded) rides on outgoing frames until it has been sent `limit` times,
 * where `limit = retransmitMult × ceil(log10(n + 1))`: enough for an epidemic to
 * reach every member with high probability, bounded so the queue drains.
 *
 * Messages with the fewest transmissions go first, and among those the newest first,
 * so fresh news overtakes old news. A message about a node replaces any older queued
 * message about the same node (they would only contradict each other).
 *
 * Items live in one intrusive linked list per transmit count, so taking, promoting
 * and replacing a message are O(1) and allocate nothing: this runs for every frame
 * every node sends, thousands of times per virtual second in a large simulation.
 */
export class BroadcastQueue {
  private readonly byKey = new Map<string, Item>();
  /** levels[t]: items transmitted t times. */
  private readonly levels: Level[] = [];

  /**
   * @param retransmitMult multiplier of the transmit limit. @default 4
   * @param maxQueued most messages kept; beyond it the most-transmitted go first. @default 8192
   */
  constructor(
    private readonly retransmitMult = 4,
    private readonly maxQueued = 8192,
  ) {}

  /** Number of queued messages. */
  get size(): number {
    return this.byKey.size;
  }

  /** The transmit limit for a cluster of `n` members. */
  limit(n: number): number {
    return this.retransmitMult * Math.max(1, Math.ceil(Math.log10(n + 1)));
  }

  /**
   * Queues `bytes` under `key`, replacing what was queued for that key. `done` runs once
   * the message has been transmitted `limit` times or was replaced. `bytes` may be a
   * function that encodes the message: it runs the first time a frame has room to
   * consider it (then never again), so news superseded while it waits, which is most of
   * it in a busy cluster, is never encoded.
   */
  queue(key: string, bytes: Uint8Array | (() => Uint8Array), done?: () => void): void {
    const old = this.byKey.get(key);
    if (old) this.drop(old);
    const item: Item = typeof bytes === 'function'
      ? { key, bytes: undefined, encode: bytes, transmits: 0, done, prev: undefined, next: undefined }
      : { key, bytes, encode: undefined, transmits: 0, done, prev: undefined, next: undefined };
    this.byKey.set(key, item);
    this.append(item);
    if (this.byKey.size > this.maxQueued) this.dropMostTransmitted();
  }

  /** True when a message for `key` is queued. */
  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /**
   * Takes messages whose sizes sum to at most `budget` bytes, counting one transmission
   * each, for a cluster of `n` members. Messages that reach the limit leave the queue.
   */
  take(budget: number, n: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.byKey.size === 0 || budget <= 0) return out;
    const limit = this.limit(n);
    let left = budget;
    // taken items are promoted after the scan, so one call never sends a message twice
    let taken: Item | undefined;
    for (let t = 0; t < this.levels.length && left > 0; t++) {
      let item = this.levels[t]!.tail;
      while (item && left > 0) {
        const prev = item.prev;
        const bytes = (item.bytes ??= this.encoded(item));
        if (bytes.length <= left) {
          out.push(bytes);
          left -= bytes.length;
          this.unlink(item);
          item.next = taken;
          taken = item;
        }
        item = prev;
      }
    }
    while (taken) {
      const item = taken;
      taken = item.next;
      item.next = undefined;
      item.transmits++;
      if (item.transmits >= limit) {
        this.byKey.delete(item.key);
        item.done?.();
      } else {
        this.append(item);
      }
    }
    return out;
  }

  /** Drops everything (running the `done` callbacks). */
  reset(): void {
    const items = [...this.byKey.values()];
    this.byKey.clear();
    this.levels.length = 0;
    for (const item of items) item.done?.();
  }

  private encoded(item: Item): Uint8Array {
    const bytes = item.encode!();
    item.encode = undefined;
    return bytes;
  }

  private append(item: Item): void {
    while (this.levels.length <= item.transmits) this.levels.push({ head: undefined, tail: undefined });
    const level = this.levels[item.transmits]!;
    item.prev = level.tail;
    item.next = undefined;
    if (level.tail) level.tail.next = item;
    else level.head = item;
    level.tail = item;
  }

  private unlink(item: Item): void {
    const level = this.levels[item.transmits]!;
    if (item.prev) item.prev.next = item.next;
    else level.head = item.next;
    if (item.next) item.next.prev = item.prev;
    else level.tail = item.prev;
    item.prev = undefined;
    item.next = undefined;
  }

  private drop(item: Item): void {
    this.unlink(item);
    this.byKey.delete(item.key);
    item.done?.();
  }

  /** Evicts the most-transmitted, oldest message to respect maxQueued. */
  private dropMostTransmitted(): void {
    for (let t = this.levels.length - 1; t >= 0; t--) {
      const oldest = this.levels[t]!.head;
      if (oldest) return this.drop(oldest);
    }
  }
}
