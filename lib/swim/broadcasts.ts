/** One queued gossip message. */
interface Item {
  key: string;
  bytes: Uint8Array;
  transmits: number;
  done: (() => void) | undefined;
  removed: boolean;
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
 */
export class BroadcastQueue {
  private readonly byKey = new Map<string, Item>();
  /** levels[t] holds items transmitted t times, oldest first (lazy deletion). */
  private readonly levels: Item[][] = [];
  private removedCount = 0;

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
   * the message has been transmitted `limit` times or was replaced.
   */
  queue(key: string, bytes: Uint8Array, done?: () => void): void {
    const old = this.byKey.get(key);
    if (old) this.remove(old);
    const item: Item = { key, bytes, transmits: 0, done, removed: false };
    this.byKey.set(key, item);
    (this.levels[0] ??= []).push(item);
    if (this.byKey.size > this.maxQueued) this.dropOne();
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
    const moved: Item[] = [];
    for (let t = 0; t < this.levels.length && left > 0; t++) {
      const level = this.levels[t];
      if (!level || level.length === 0) continue;
      for (let i = level.length - 1; i >= 0 && left > 0; i--) {
        const item = level[i]!;
        if (item.removed || item.bytes.length > left) continue;
        out.push(item.bytes);
        left -= item.bytes.length;
        item.removed = true; // leaves this level; re-added one level up below
        this.removedCount++;
        moved.push(item);
      }
    }
    for (const item of moved) {
      item.transmits++;
      if (item.transmits >= limit) {
        this.byKey.delete(item.key);
        item.done?.();
      } else {
        const next: Item = { ...item, removed: false };
        this.byKey.set(item.key, next);
        (this.levels[item.transmits] ??= []).push(next);
      }
    }
    this.compact();
    return out;
  }

  /** Drops everything (running the `done` callbacks). */
  reset(): void {
    for (const item of this.byKey.values()) item.done?.();
    this.byKey.clear();
    this.levels.length = 0;
    this.removedCount = 0;
  }

  private remove(item: Item): void {
    if (item.removed) return;
    item.removed = true;
    this.removedCount++;
    this.byKey.delete(item.key);
    item.done?.();
  }

  /** Evicts the most-transmitted, oldest message to respect maxQueued. */
  private dropOne(): void {
    for (let t = this.levels.length - 1; t >= 0; t--) {
      for (const item of this.levels[t] ?? []) {
        if (!item.removed) {
          this.remove(item);
          return;
        }
      }
    }
  }

  private compact(): void {
    if (this.removedCount < 64 || this.removedCount < this.byKey.size) return;
    for (let t = 0; t < this.levels.length; t++) {
      this.levels[t] = (this.levels[t] ?? []).filter((i) => !i.removed);
    }
    while (this.levels.length > 0 && this.levels[this.levels.length - 1]!.length === 0) this.levels.pop();
    this.removedCount = 0;
  }
}
