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

/** No item: the end of a list, an empty level, an empty free list. */
const NONE = -1;

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
 * Items live in one linked list per transmit count, so taking, promoting and replacing
 * a message are O(1). This runs for every frame every node sends, thousands of times per
 * virtual second in a large simulation, so the items are not objects: an item is a
 * slot number, its links, size and transmit count sit in typed arrays (a take walks
 * them without touching anything else), and its key, message and callback in plain
 * arrays. Taking, promoting, replacing and dropping allocate nothing, and no item is an
 * object for the garbage collector to copy and promote.
 */
export class BroadcastQueue<M = never> {
  /** key → slot of its queued item. */
  private readonly byKey = new Map<string, number>();

  // ---- per slot
  private keyOf: (string | undefined)[] = [];
  /** The message, when queued with {@link queueMessage}. */
  private msgOf: (M | undefined)[] = [];
  /** The encoding, or the function that makes it on first need, or undefined (encode `msgOf` with `encodeMessage`). */
  private bytesOf: (Uint8Array | (() => Uint8Array) | undefined)[] = [];
  private doneOf: ((() => void) | undefined)[] = [];
  private prev = new Int32Array(16);
  /** The next slot in the item's level; in the free list, the next free slot. */
  private next = new Int32Array(16);
  /** Encoded length in bytes, or −1 until something needed it. */
  private sizeAt = new Int32Array(16);
  private transmits = new Int32Array(16);
  /** Slots ever used; the free ones among them are listed from `free`. */
  private used = 0;
  private free = NONE;

  /** heads[t], tails[t]: oldest and newest slot transmitted t times. */
  private readonly heads: number[] = [];
  private readonly tails: number[] = [];

  /**
   * bySize[b]: queued items whose encoding is b bytes long; `minSize` the smallest such b
   * (Infinity when none), `unsized` the items not measured yet (all at level 0). A take
   * whose room left is below `minSize`, with nothing left unmeasured, can take nothing
   * more: it stops there instead of walking the rest of the queue (during a split of
   * 1,000 nodes, hundreds of items on every one of thousands of takes per second).
   */
  private readonly bySize: number[] = [];
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
    this.insert(key, undefined, bytes, typeof bytes === 'function' ? -1 : bytes.length, done);
  }

  /**
   * Queues the message `msg` under `key`, like {@link queue}: it is encoded with the
   * queue's `encodeMessage` the first time a frame has room to consider it, unless
   * `bytes` gives its encoding already. {@link takeMessages} hands out `msg` itself (an
   * in-process network needs no bytes), {@link take} its encoding; one closure fewer
   * per queued message than passing an encoder function.
   */
  queueMessage(key: string, msg: M, bytes?: Uint8Array, done?: () => void): void {
    this.insert(key, msg, bytes, bytes ? bytes.length : -1, done);
  }

  private insert(key: string, msg: M | undefined, bytes: Uint8Array | (() => Uint8Array) | undefined, size: number, done: (() => void) | undefined): void {
    const old = this.byKey.get(key);
    if (old !== undefined) this.drop(old);
    const i = this.alloc();
    this.keyOf[i] = key;
    this.msgOf[i] = msg;
    this.bytesOf[i] = bytes;
    this.doneOf[i] = done;
    this.sizeAt[i] = size;
    this.transmits[i] = 0;
    if (size >= 0) this.countSize(size);
    else this.unsized++;
    this.byKey.set(key, i);
    this.append(i);
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
    if (this.byKey.size === 0 || budget <= 0) return 0;
    const limit = this.limit(n);
    let left = budget;
    // taken items are promoted after the walk (chained through `next`), so one take never
    // sends a message twice
    let taken = NONE;
    levels: for (let t = 0; t < this.tails.length && left > 0; t++) {
      let i = this.tails[t]!;
      while (i !== NONE && left > 0) {
        // nothing queued fits any more: the rest of the walk would skip every item
        if (left < this.minSize && this.unsized === 0) break levels;
        const prev = this.prev[i]!;
        const size = this.sizeAt[i]! >= 0 ? this.sizeAt[i]! : this.measure(i, msgsOut !== undefined);
        if (size <= left) {
          if (!msgsOut) bytesOut!.push(this.encoded(i));
          else {
            const msg = this.msgOf[i];
            if (msg === undefined) throw new Error('takeMessages: a message was queued as bytes');
            msgsOut.msgs[msgsOut.count++] = msg;
          }
          left -= size;
          this.unlink(i);
          this.next[i] = taken;
          taken = i;
        }
        i = prev;
      }
    }
    while (taken !== NONE) {
      const i = taken;
      taken = this.next[i]!;
      if (++this.transmits[i]! < limit) {
        this.append(i);
        continue;
      }
      const done = this.doneOf[i];
      this.byKey.delete(this.keyOf[i]!);
      this.uncountSize(this.sizeAt[i]!);
      this.release(i);
      done?.();
    }
    return budget - left;
  }

  /** Drops everything (running the `done` callbacks). */
  reset(): void {
    const dones: (() => void)[] = [];
    for (const i of this.byKey.values()) {
      const done = this.doneOf[i];
      if (done) dones.push(done);
    }
    this.byKey.clear();
    this.keyOf = [];
    this.msgOf = [];
    this.bytesOf = [];
    this.doneOf = [];
    this.used = 0;
    this.free = NONE;
    this.heads.length = 0;
    this.tails.length = 0;
    this.bySize.length = 0;
    this.minSize = Infinity;
    this.unsized = 0;
    for (const done of dones) done();
  }

  /** Sizes an item the first time a take considers it: by `sizeOf` when only the message is wanted, else by encoding it. */
  private measure(i: number, messages: boolean): number {
    const msg = this.msgOf[i];
    const size = messages && this.sizeOf && msg !== undefined ? this.sizeOf(msg) : this.encoded(i).length;
    this.sizeAt[i] = size;
    this.unsized--;
    this.countSize(size);
    return size;
  }

  /** The item's encoding, made (and kept) on first need. */
  private encoded(i: number): Uint8Array {
    const b = this.bytesOf[i];
    if (b instanceof Uint8Array) return b;
    let bytes: Uint8Array;
    if (b) bytes = b();
    else if (this.encodeMessage) bytes = this.encodeMessage(this.msgOf[i]!);
    else throw new Error('BroadcastQueue: queueMessage without bytes needs encodeMessage');
    this.bytesOf[i] = bytes;
    return bytes;
  }

  private countSize(len: number): void {
    while (this.bySize.length <= len) this.bySize.push(0);
    this.bySize[len]!++;
    if (len < this.minSize) this.minSize = len;
  }

  private uncountSize(len: number): void {
    if (--this.bySize[len]! > 0 || len !== this.minSize) return;
    // the smallest size is gone: find the next one up (rare, and sizes are few)
    let b = len + 1;
    while (b < this.bySize.length && this.bySize[b] === 0) b++;
    this.minSize = b < this.bySize.length ? b : Infinity;
  }

  /** A free slot, growing the arrays when none is left. */
  private alloc(): number {
    if (this.free !== NONE) {
      const i = this.free;
      this.free = this.next[i]!;
      return i;
    }
    if (this.used === this.next.length) {
      const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.prev = grow(this.prev);
      this.next = grow(this.next);
      this.sizeAt = grow(this.sizeAt);
      this.transmits = grow(this.transmits);
    }
    return this.used++;
  }

  /** Returns a slot to the free list, letting go of what it held. */
  private release(i: number): void {
    this.keyOf[i] = undefined;
    this.msgOf[i] = undefined;
    this.bytesOf[i] = undefined;
    this.doneOf[i] = undefined;
    this.next[i] = this.free;
    this.free = i;
  }

  /** Appends slot `i` at the newest end of the level of its transmit count. */
  private append(i: number): void {
    const t = this.transmits[i]!;
    while (this.tails.length <= t) {
      this.heads.push(NONE);
      this.tails.push(NONE);
    }
    const tail = this.tails[t]!;
    this.prev[i] = tail;
    this.next[i] = NONE;
    if (tail !== NONE) this.next[tail] = i;
    else this.heads[t] = i;
    this.tails[t] = i;
  }

  private unlink(i: number): void {
    const t = this.transmits[i]!;
    const prev = this.prev[i]!;
    const next = this.next[i]!;
    if (prev !== NONE) this.next[prev] = next;
    else this.heads[t] = next;
    if (next !== NONE) this.prev[next] = prev;
    else this.tails[t] = prev;
  }

  private drop(i: number): void {
    this.unlink(i);
    this.byKey.delete(this.keyOf[i]!);
    if (this.sizeAt[i]! >= 0) this.uncountSize(this.sizeAt[i]!);
    else this.unsized--;
    const done = this.doneOf[i];
    this.release(i);
    done?.();
  }

  /** Evicts the most-transmitted, oldest message to respect maxQueued. */
  private dropMostTransmitted(): void {
    for (let t = this.tails.length - 1; t >= 0; t--) {
      const oldest = this.heads[t]!;
      if (oldest !== NONE) return this.drop(oldest);
    }
  }
}
