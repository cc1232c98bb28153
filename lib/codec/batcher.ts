import { ClusterError } from '../errors.js';
import type { Address } from '../transport/transport.js';
import { arrayHeaderBytes, type FrameEncoder } from './frame.js';

/** Traffic classes, highest priority first. */
export const TRAFFIC_CLASSES = ['membership', 'replication', 'sync'] as const;
/** What kind of traffic a message is: decides its priority, budget and eviction order. */
export type TrafficClass = (typeof TRAFFIC_CLASSES)[number];

/**
 * Lets the membership layer ride gossip on any frame: called once per frame with the
 * bytes still free, it returns encoded messages totalling at most that many bytes.
 */
export type PiggybackHook = (peer: Address, remainingBytes: number) => Uint8Array[];

/** Options of {@link Batcher}. */
export interface BatcherOptions {
  /** Builds the frames (label, compression, encryption, nonce counter). */
  encoder: FrameEncoder;
  /** Datagram budget: no frame is larger, overhead included. @default 1400 */
  maxFrameBytes?: number;
  /** Replication bytes per peer between two flushes. @default 16384 */
  replicationBytesPerFlush?: number;
  /** Sync (anti-entropy) bytes per peer between two flushes. @default 16384 */
  syncBytesPerFlush?: number;
  /** Replication and sync together, per peer between two flushes; membership is never limited. @default 24576 */
  bulkBytesPerFlush?: number;
  /** Queued bytes per peer; past it the oldest lowest-priority messages are dropped. @default 262144 */
  maxOutboxBytes?: number;
  /** See {@link PiggybackHook}. @default undefined */
  piggyback?: PiggybackHook;
}

/** A datagram to send. */
export interface OutgoingFrame {
  peer: Address;
  frame: Uint8Array;
}

/** A message too large for a datagram: the runtime sends it over a stream. */
export interface StreamMessage {
  peer: Address;
  message: Uint8Array;
}

/** What {@link Batcher.flush} and {@link Batcher.sendNow} hand the runtime. */
export interface BatchOutput {
  frames: OutgoingFrame[];
  stream: StreamMessage[];
}

/** Outcome of {@link Batcher.enqueue}. */
export type EnqueueResult = 'queued' | 'needs-stream' | 'dropped';

type PerClass = Record<TrafficClass, number>;

/** Counters of a {@link Batcher}. */
export interface BatcherStats {
  frames: number;
  frameBytes: number;
  /** Frames that carried at least one message of the class. */
  framesByClass: PerClass;
  messagesOut: PerClass;
  /** Encoded message bytes sent, by class (frame overhead is in `frameBytes`). */
  bytesOut: PerClass;
  /** Messages evicted from a full outbox (or refused by it), by class. */
  dropped: PerClass;
  /** Gossip messages added by the piggyback hook. */
  piggybacked: number;
  /** Piggyback messages refused because they did not fit what the hook was offered. */
  piggybackRefused: number;
  /** Messages handed back for a stream because they cannot fit a datagram. */
  needsStream: number;
}

const zero = (): PerClass => ({ membership: 0, replication: 0, sync: 0 });

/** FIFO of encoded messages with an O(1) shift. */
class Queue {
  private items: Uint8Array[] = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): Uint8Array | undefined {
    return this.items[this.head];
  }

  push(m: Uint8Array): void {
    this.items.push(m);
    this.bytes += m.length;
  }

  shift(): Uint8Array {
    const m = this.items[this.head]!;
    this.items[this.head++] = EMPTY;
    this.bytes -= m.length;
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return m;
  }
}

const EMPTY = new Uint8Array(0);

interface Outbox {
  queues: [Queue, Queue, Queue];
  /** Bytes of replication and sync sent since the last flush began. */
  spentReplication: number;
  spentSync: number;
}

/**
 * Per-peer outboxes turned into datagram frames. Pure: the runtime calls `flush(now)`
 * every batch interval (100 ms by default) and `sendNow` for pings and acks, and sends
 * what comes back. Frames are sized exactly before they are built (header, label and
 * nonce+tag counted; compression only shrinks), so none exceeds `maxFrameBytes`.
 *
 * Priority inside a frame: the critical message, queued membership, piggybacked gossip,
 * then replication, then sync, each within its per-flush byte allowance. Every frame
 * built by `flush` carries at least one queued message, so a greedy piggyback hook cannot
 * starve the queues or loop forever.
 */
export class Batcher {
  readonly stats: BatcherStats = {
    frames: 0,
    frameBytes: 0,
    framesByClass: zero(),
    messagesOut: zero(),
    bytesOut: zero(),
    dropped: zero(),
    piggybacked: 0,
    piggybackRefused: 0,
    needsStream: 0,
  };
  /** `now` of the last flush (for the runtime's own bookkeeping). */
  lastFlushAt: number | undefined;
  private readonly encoder: FrameEncoder;
  private readonly maxFrameBytes: number;
  private readonly replicationBudget: number;
  private readonly syncBudget: number;
  private readonly bulkBudget: number;
  private readonly maxOutboxBytes: number;
  private readonly piggyback: PiggybackHook | undefined;
  private readonly outboxes = new Map<Address, Outbox>();

  constructor(options: BatcherOptions) {
    this.encoder = options.encoder;
    this.maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes ?? 1400);
    this.replicationBudget = positive('replicationBytesPerFlush', options.replicationBytesPerFlush ?? 16384);
    this.syncBudget = positive('syncBytesPerFlush', options.syncBytesPerFlush ?? 16384);
    this.bulkBudget = positive('bulkBytesPerFlush', options.bulkBytesPerFlush ?? 24576);
    this.maxOutboxBytes = positive('maxOutboxBytes', options.maxOutboxBytes ?? 262144);
    this.piggyback = options.piggyback;
    if (this.maxBody() < 2) {
      throw new ClusterError('E_CONFIG', `maxFrameBytes ${this.maxFrameBytes} leaves no room for a body`);
    }
  }

  /** Largest message that fits a datagram frame alone, given the encoder's current overhead. */
  maxMessageBytes(): number {
    return this.maxBody() - arrayHeaderBytes(1);
  }

  /** Bytes queued for `peer` (all classes). */
  queuedBytes(peer: Address): number {
    const box = this.outboxes.get(peer);
    return box ? box.queues[0].bytes + box.queues[1].bytes + box.queues[2].bytes : 0;
  }

  /** Messages queued for `peer` in `cls`. */
  queuedMessages(peer: Address, cls: TrafficClass): number {
    return this.outboxes.get(peer)?.queues[TRAFFIC_CLASSES.indexOf(cls)]!.length ?? 0;
  }

  /**
   * Queues an encoded message for the next flush. A message that cannot fit a datagram
   * is not queued: 'needs-stream' tells the runtime to send it over a stream. On a full
   * outbox the oldest messages of the lowest class at or below `cls` are dropped
   * (sync first, membership last); 'dropped' when room could not be made.
   */
  enqueue(peer: Address, message: Uint8Array, cls: TrafficClass): EnqueueResult {
    if (message.length > this.maxMessageBytes()) {
      this.stats.needsStream++;
      return 'needs-stream';
    }
    const rank = TRAFFIC_CLASSES.indexOf(cls);
    const box = this.outbox(peer);
    let queued = box.queues[0].bytes + box.queues[1].bytes + box.queues[2].bytes;
    for (let victim = 2; victim >= rank && queued + message.length > this.maxOutboxBytes; ) {
      const q = box.queues[victim]!;
      if (q.length === 0) {
        victim--;
        continue;
      }
      queued -= q.shift().length;
      this.stats.dropped[TRAFFIC_CLASSES[victim]!]++;
    }
    if (queued + message.length > this.maxOutboxBytes) {
      this.stats.dropped[cls]++;
      return 'dropped';
    }
    box.queues[rank]!.push(message);
    return 'queued';
  }

  /**
   * Builds one frame right away carrying `message` (a ping, an ack) plus whatever is
   * queued for `peer` that fits, in priority order, plus piggybacked gossip.
   */
  sendNow(peer: Address, message: Uint8Array): BatchOutput {
    if (message.length > this.maxMessageBytes()) {
      this.stats.needsStream++;
      return { frames: [], stream: [{ peer, message }] };
    }
    const out: BatchOutput = { frames: [], stream: [] };
    const box = this.outboxes.get(peer) ?? newOutbox();
    const parts = this.build(peer, box, message, out);
    if (parts) out.frames.push({ peer, frame: this.seal(parts) });
    return out;
  }

  /** Turns every outbox into frames (as many as the allowances permit). */
  flush(now: number): BatchOutput {
    this.lastFlushAt = now;
    const out: BatchOutput = { frames: [], stream: [] };
    for (const [peer, box] of this.outboxes) {
      if (box.queues[0].length + box.queues[1].length + box.queues[2].length === 0) {
        // idle for a whole interval: forget it (its allowance window has passed)
        this.outboxes.delete(peer);
        continue;
      }
      box.spentReplication = 0;
      box.spentSync = 0;
      for (;;) {
        const parts = this.build(peer, box, undefined, out);
        if (!parts) break;
        out.frames.push({ peer, frame: this.seal(parts) });
      }
    }
    return out;
  }

  private maxBody(): number {
    return this.maxFrameBytes - this.encoder.overhead();
  }

  private outbox(peer: Address): Outbox {
    let box = this.outboxes.get(peer);
    if (!box) {
      box = newOutbox();
      this.outboxes.set(peer, box);
    }
    return box;
  }

  private allowed(box: Outbox, rank: number, len: number): boolean {
    const spent = rank === 1 ? box.spentReplication : box.spentSync;
    // the first message of each class per interval always goes, so sync cannot be
    // starved by replication and a message larger than an allowance still moves
    if (spent === 0) return true;
    const budget = rank === 1 ? this.replicationBudget : this.syncBudget;
    return spent + len <= budget && box.spentReplication + box.spentSync + len <= this.bulkBudget;
  }

  /** Chooses one frame's messages, or undefined when there is nothing to send. */
  private build(peer: Address, box: Outbox, critical: Uint8Array | undefined, out: BatchOutput): Uint8Array[] | undefined {
    const maxBody = this.maxBody();
    const parts: Uint8Array[] = [];
    const used = [false, false, false];
    let size = 0;
    let queuedTaken = 0;
    const fits = (len: number): boolean => arrayHeaderBytes(parts.length + 1) + size + len <= maxBody;
    const add = (m: Uint8Array, rank: number): void => {
      parts.push(m);
      size += m.length;
      used[rank] = true;
      const cls = TRAFFIC_CLASSES[rank]!;
      this.stats.messagesOut[cls]++;
      this.stats.bytesOut[cls] += m.length;
    };
    // a queued message that no longer fits any frame (the overhead grew, e.g. encryption
    // was switched on) would block its queue forever: hand it to the stream path
    const evictOversized = (q: Queue): void => {
      for (let m = q.peek(); m && m.length > this.maxMessageBytes(); m = q.peek()) {
        q.shift();
        this.stats.needsStream++;
        out.stream.push({ peer, message: m });
      }
    };

    if (critical) add(critical, 0);
    const membership = box.queues[0];
    evictOversized(membership);
    for (let m = membership.peek(); m && fits(m.length); m = membership.peek()) {
      add(membership.shift(), 0);
      queuedTaken++;
      evictOversized(membership);
    }

    let reserve = 0;
    if (parts.length === 0) {
      // nothing urgent: only build a frame if some bulk message may go, and keep room
      // for it so piggybacked gossip cannot crowd it out
      for (let rank = 1; rank <= 2 && reserve === 0; rank++) {
        const q = box.queues[rank]!;
        evictOversized(q);
        const head = q.peek();
        if (head && this.allowed(box, rank, head.length)) reserve = head.length;
      }
      if (reserve === 0) return undefined;
    }

    if (this.piggyback) {
      // assume the 3-byte array header so the offer stays valid however many come back
      const remaining = maxBody - size - reserve - 3;
      if (remaining > 0) {
        for (const m of this.piggyback(peer, remaining)) {
          const after = parts.length + 1 + (reserve > 0 ? 1 : 0);
          if (m.length > 0 && arrayHeaderBytes(after) + size + m.length + reserve <= maxBody) {
            add(m, 0);
            this.stats.piggybacked++;
          } else this.stats.piggybackRefused++;
        }
      }
    }

    for (let rank = 1; rank <= 2; rank++) {
      const q = box.queues[rank]!;
      evictOversized(q);
      for (let m = q.peek(); m && fits(m.length) && this.allowed(box, rank, m.length); m = q.peek()) {
        add(q.shift(), rank);
        queuedTaken++;
        if (rank === 1) box.spentReplication += m.length;
        else box.spentSync += m.length;
        evictOversized(q);
      }
    }
    // by construction a flush frame holds a queued message; the guard keeps a broken
    // invariant from turning into an endless stream of gossip-only frames
    if (parts.length === 0 || (queuedTaken === 0 && !critical)) return undefined;
    for (let rank = 0; rank < 3; rank++) if (used[rank]) this.stats.framesByClass[TRAFFIC_CLASSES[rank]!]++;
    return parts;
  }

  private seal(parts: Uint8Array[]): Uint8Array {
    const frame = this.encoder.encode(parts);
    this.stats.frames++;
    this.stats.frameBytes += frame.length;
    return frame;
  }
}

function newOutbox(): Outbox {
  return { queues: [new Queue(), new Queue(), new Queue()], spentReplication: 0, spentSync: 0 };
}

function positive(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new ClusterError('E_CONFIG', `${name} must be a positive integer, got ${v}`);
  return v;
}
