/** One queued gossip message, linked into the list of its transmit level. */
interface Item<M> {
  key: string;
  /** The encoded message, once something needed it (see {@link BroadcastQueue.queue}). */
  bytes: Uint8Array | undefined;
  /** Encodes the message the first time it is offered for a frame. */
  encode: (() => Uint8Array) | undefined;
  /** The message itself, when queued with {@link BroadcastQueue.queueMessage}. */
  msg: M | undefined;
  /** Encoded length in bytes, or −1 until something needed it. */
  size: number;
  transmits: number;
  done: (() => void) | undefined;
  prev: Item<M> | undefined;
  next: Item<M> | undefined;
}

/**
 * A buffer of messages reused from frame to frame: `msgs[0 .. count)` are the current
 * ones, slots past `count` are stale. Emptying an array (`length = 0`) releases its
 * backing store in V8, so a scratch array emptied per frame is regrown per frame; this
 * one is only ever overwritten.
 */
export interface MessageBuffer<M> {
  msgs: M[];
  count: number;
}

/** A doubly linked list of items, oldest at the head. */
interface Level<M> {
  head: Item<M> | undefined;
  tail: Item<M> | undefined;
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
export class BroadcastQueue<M = never> {
  private readonly byKey = new Map<string, Item<M>>();
  /** levels[t]: items transmitted t times. */
  private readonly levels: Level<M>[] = [];
  /**
   * sizes[b]: queued items whose encoding is b bytes long; `minSize` the smallest such b
   * (Infinity when none), `unsized` the items not measured yet (all at level 0). A take
   * whose room left is below `minSize`, with nothing left unmeasured, can take nothing
   * more: it stops there instead of walking the rest of the queue (during a split of
   * 1,000 nodes, hundreds of items on every one of thousands of takes per second).
   */
  private readonly sizes: number[] = [];
  private minSize = Infinity;
  private unsized = 0;

  /**
   * @param retransmitMult multiplier of the transmit limit. @default 4
   * @param maxQueued most messages kept; beyond it the most-transmitted go first. @default 8192
   * @param encodeMessage encodes what {@link queueMessage} queues, lazily. @default undefined (queueMessage needs bytes)
   * @param sizeOf the exact encoded size of a message without encoding it: with it,
   *   {@link takeMessages} never encodes (an in-process network needs sizes, not bytes).
   *   @default undefined (measure by encoding)
   */
  constructor(
    private readonly retransmitMult = 4,
    private readonly maxQueued = 8192,
    private readonly encodeMessage?: (msg: M) => Uint8Array,
    private readonly sizeOf?: (msg: M) => number,
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
    if (typeof bytes === 'function') this.insert({ key, bytes: undefined, encode: bytes, msg: undefined, size: -1, transmits: 0, done, prev: undefined, next: undefined });
    else this.insert({ key, bytes, encode: undefined, msg: undefined, size: bytes.length, transmits: 0, done, prev: undefined, next: undefined });
  }

  /**
   * Queues the message `msg` under `key`, like {@link queue}: it is encoded with the
   * queue's `encodeMessage` the first time a frame has room to consider it, unless
   * `bytes` gives its encoding already. {@link takeMessages} hands out `msg` itself (an
   * in-process network needs no bytes), {@link take} its encoding; one closure fewer
   * per queued message than passing an encoder function.
   */
  queueMessage(key: string, msg: M, bytes?: Uint8Array, done?: () => void): void {
    this.insert({ key, bytes, encode: undefined, msg, size: bytes ? bytes.length : -1, transmits: 0, done, prev: undefined, next: undefined });
  }

  private insert(item: Item<M>): void {
    const old = this.byKey.get(item.key);
    if (old) this.drop(old);
    if (item.size >= 0) this.countSize(item.size);
    else this.unsized++;
    this.byKey.set(item.key, item);
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
    this.scan(budget, n, out, undefined);
    return out;
  }

  /**
   * {@link take} for messages queued with {@link queueMessage}: appends the messages
   * themselves to `out` from `out.count` on (the same ones, in the same order, with the
   * same transmit accounting as `take`) and returns the bytes they take encoded.
   */
  takeMessages(budget: number, n: number, out: MessageBuffer<M>): number {
    return this.scan(budget, n, undefined, out);
  }

  /** One take: appends the bytes to `bytesOut`, or the messages to `msgsOut`; returns the bytes used. */
  private scan(budget: number, n: number, bytesOut: Uint8Array[] | undefined, msgsOut: MessageBuffer<M> | undefined): number {
    const messages = msgsOut !== undefined;
    if (this.byKey.size === 0 || budget <= 0) return 0;
    const limit = this.limit(n);
    let left = budget;
    // taken items are promoted after the scan, so one call never sends a message twice
    let taken: Item<M> | undefined;
    levels: for (let t = 0; t < this.levels.length && left > 0; t++) {
      let item = this.levels[t]!.tail;
      while (item && left > 0) {
        // nothing queued fits any more: the rest of the walk would skip every item
        if (left < this.minSize && this.unsized === 0) break levels;
        const prev = item.prev;
        const size = item.size >= 0 ? item.size : this.measure(item, messages);
        if (size <= left) {
          if (!msgsOut) bytesOut!.push((item.bytes ??= this.encoded(item)));
          else if (item.msg !== undefined) msgsOut.msgs[msgsOut.count++] = item.msg;
          else throw new Error('takeMessages: a message was queued as bytes');
          left -= size;
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
        this.uncountSize(item.size);
        item.done?.();
      } else {
        this.append(item);
      }
    }
    return budget - left;
  }

  /** Drops everything (running the `done` callbacks). */
  reset(): void {
    const items = [...this.byKey.values()];
    this.byKey.clear();
    this.levels.length = 0;
    this.sizes.length = 0;
    this.minSize = Infinity;
    this.unsized = 0;
    for (const item of items) item.done?.();
  }

  /** Sizes an item the first time a take considers it: by `sizeOf` when only the message is wanted, else by encoding it. */
  private measure(item: Item<M>, messages: boolean): number {
    const size = messages && this.sizeOf && item.msg !== undefined ? this.sizeOf(item.msg) : (item.bytes ??= this.encoded(item)).length;
    item.size = size;
    this.unsized--;
    this.countSize(size);
    return size;
  }

  private encoded(item: Item<M>): Uint8Array {
    if (item.encode) {
      const bytes = item.encode();
      item.encode = undefined;
      return bytes;
    }
    if (!this.encodeMessage) throw new Error('BroadcastQueue: queueMessage without bytes needs encodeMessage');
    return this.encodeMessage(item.msg!);
  }

  private countSize(len: number): void {
    while (this.sizes.length <= len) this.sizes.push(0);
    this.sizes[len]!++;
    if (len < this.minSize) this.minSize = len;
  }

  private uncountSize(len: number): void {
    if (--this.sizes[len]! > 0 || len !== this.minSize) return;
    // the smallest size is gone: find the next one up (rare, and sizes are few)
    let b = len + 1;
    while (b < this.sizes.length && this.sizes[b] === 0) b++;
    this.minSize = b < this.sizes.length ? b : Infinity;
  }

  private append(item: Item<M>): void {
    while (this.levels.length <= item.transmits) this.levels.push({ head: undefined, tail: undefined });
    const level = this.levels[item.transmits]!;
    item.prev = level.tail;
    item.next = undefined;
    if (level.tail) level.tail.next = item;
    else level.head = item;
    level.tail = item;
  }

  private unlink(item: Item<M>): void {
    const level = this.levels[item.transmits]!;
    if (item.prev) item.prev.next = item.next;
    else level.head = item.next;
    if (item.next) item.next.prev = item.prev;
    else level.tail = item.prev;
    item.prev = undefined;
    item.next = undefined;
  }

  private drop(item: Item<M>): void {
    this.unlink(item);
    this.byKey.delete(item.key);
    if (item.size >= 0) this.uncountSize(item.size);
    else this.unsized--;
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
