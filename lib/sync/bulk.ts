import type { HlcTimestamp } from '../hlc.js';
import type { ApplyResult, Replica, ReplicaEvent, SyncContext, SyncRecord } from '../replica/replica.js';

/** One piece of a bulk state transfer: plain data, at most about `budget` bytes encoded. */
export interface BulkChunk {
  /** Position of the chunk in the stream, from 0. */
  index: number;
  records: SyncRecord[];
  /**
   * Last chunk only: the sender's context (version vector) when the stream began. Every
   * change up to it is reflected in the records sent, so the receiver may adopt it.
   */
  context?: SyncContext;
}

/**
 * Streams a replica's whole state (history, low-water marks, presence) as chunks for an
 * empty or far-behind peer. The key list is taken once at the start; each record is read
 * when its chunk is built, so the stream reflects state at least as new as its start
 * vector while the replica keeps changing underneath.
 */
export class BulkSender {
  private readonly keys: string[];
  private readonly context: SyncContext;
  private cursor = 0;
  private index = 0;
  private finished = false;

  /**
   * @param replica the sending replica.
   * @param budget upper bound of one chunk's encoded size (before compression). @default 65536
   */
  constructor(private readonly replica: Replica, private readonly budget = 65_536) {
    this.context = replica.syncContext();
    this.keys = replica.recordKeys();
  }

  /** Records to send in total (some may vanish before being read). */
  get total(): number {
    return this.keys.length;
  }

  /** The next chunk, or undefined once the last one was returned. */
  next(): BulkChunk | undefined {
    if (this.finished) return undefined;
    const records: SyncRecord[] = [];
    let bytes = 16;
    while (this.cursor < this.keys.length) {
      const r = this.replica.getRecord(this.keys[this.cursor]!);
      if (r === undefined) {
        this.cursor++;
        continue;
      }
      const size = this.replica.recordSize(r);
      if (bytes + size > this.budget && records.length > 0) break;
      records.push(r);
      bytes += size;
      this.cursor++;
    }
    const chunk: BulkChunk = { index: this.index++, records };
    if (this.cursor >= this.keys.length) {
      chunk.context = this.context;
      this.finished = true;
    }
    return chunk;
  }
}

/**
 * Receives a bulk stream. Chunks and live deltas may interleave in any order: records
 * merge with the same rules as Merkle repair, and the start vector is adopted only after
 * the last chunk, so nothing is claimed before it is held.
 */
export class BulkReceiver {
  private expected = 0;
  private finished = false;
  /** Records applied so far. */
  received = 0;

  /** @param replica the receiving replica (usually empty). */
  constructor(private readonly replica: Replica) {}

  /** True once the last chunk was applied: the replica is caught up (modulo live gaps). */
  get done(): boolean {
    return this.finished;
  }

  /**
   * Applies a chunk. Chunks must come in stream order (a stream transport keeps it);
   * a chunk out of order returns undefined and changes nothing (restart the stream).
   */
  apply(chunk: BulkChunk, now: HlcTimestamp): ApplyResult | undefined {
    if (this.finished || chunk?.index !== this.expected || !Array.isArray(chunk.records)) return undefined;
    this.expected++;
    const events: ReplicaEvent[] = [];
    for (const r of chunk.records) this.replica.applyRecord(r, now, events);
    this.received += chunk.records.length;
    if (chunk.context !== undefined) {
      this.finished = true;
      return this.replica.adoptContext(chunk.context, now, events);
    }
    return { events, applied: 0, gap: false, invalid: 0 };
  }
}
