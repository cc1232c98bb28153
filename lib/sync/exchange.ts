import type { MerkleTree } from '../summary/merkle.js';
import { hashKey, readHi, readLo, writeHash } from '../summary/hash64.js';
import type { ExchangeMessage } from '../codec/replication-types.js';
export type { ExchangeMessage } from '../codec/replication-types.js';

/** What the Merkle exchange needs from a replica. */
export interface SyncStore<R, E> {
  /** The tree over every record (same shape on both sides). */
  readonly tree: MerkleTree;
  /** The record stored under a tree key. */
  getRecord(key: string): R | undefined;
  /** Merges a peer's record; 'stale' when local state proves the peer's copy obsolete. */
  applyRecord(record: R, now: number, events: E[]): 'applied' | 'unchanged' | 'stale';
  /** The peer proved our copy of `record` obsolete: drop it if unchanged since. */
  dropStale(record: R, events: E[]): void;
  /** An upper bound of the record's encoded size. */
  recordSize(record: R): number;
  /**
   * What the store knows beyond its records (the replica's version vector), taken when
   * the session starts and sent to the peer when their digests differ.
   */
  syncContext?(): unknown;
  /** A short digest of the context: equal digests mean the contexts need not travel. */
  digest?(): Uint8Array;
  /**
   * Called when a session ended with every difference exchanged (nothing deferred by
   * either side): the local records now include everything the peer had when it took
   * `context`, so the store may adopt it (join of version vectors).
   */
  adoptContext?(context: unknown, now: number, events: E[]): void;
}

/** Tuning of an exchange. Both sides may differ; the defaults suit 1k to 10M records. */
export interface ExchangeOptions {
  /** Bytes of subtree hashes one message may carry; decides how many levels to expand at once. @default 16384 */
  expandBudget?: number;
  /** A differing subtree with at most this many records is listed record by record instead of expanded. @default 32 */
  listThreshold?: number;
  /** Bytes of records one message may carry; the rest waits for the next session. @default 49152 */
  recordBudget?: number;
}

/** What one step of a session produced. */
export interface ExchangeStep<R, E> {
  /** The message to send back, if any. */
  reply: ExchangeMessage<R> | undefined;
  /** Events of the records applied. */
  events: E[];
  /** True when this side has nothing more to do. */
  done: boolean;
}

/** Counters of a session, for metrics and benchmarks. */
export interface ExchangeStats {
  messagesIn: number;
  messagesOut: number;
  recordsIn: number;
  recordsOut: number;
  /** Records left out because of `recordBudget` (another session will carry them). */
  deferred: number;
}

/**
 * One side of a Merkle anti-entropy session: a pure state machine. Compare roots, then
 * descend only into differing subtrees (several levels per message while the hashes fit
 * `expandBudget`), list the records of small differing subtrees, and exchange exactly the
 * records one side lacks. Both sides run the same code; the initiator just sends first.
 *
 * The trees may change while a session runs (live deltas keep arriving): a comparison
 * then sees a difference that no longer exists or misses one; either way the worst case
 * is a useless record or a difference left for the next session, never corruption,
 * because records are merged with the replica's own rules.
 */
export class ExchangeSession<R, E> {
  readonly stats: ExchangeStats = { messagesIn: 0, messagesOut: 0, recordsIn: 0, recordsOut: 0, deferred: 0 };
  private finished = false;
  private opened = false;
  private peerContext: unknown;
  private ownContext: unknown;
  private contextSent = false;
  private adopted = false;
  private peerPartial = false;
  private localPartial = false;
  private listed = new Map<string, string>();
  private readonly expandBudget: number;
  private readonly listThreshold: number;
  private readonly recordBudget: number;
  private readonly tree: MerkleTree;

  /** True once the session ended with no difference left out by either side's budgets. */
  get complete(): boolean {
    return this.finished && !this.localPartial && !this.peerPartial;
  }

  /**
   * @param store the local replica.
   * @param sid session id (unique per initiator and peer; the runtime routes by it).
   * @param options tuning.
   */
  constructor(private readonly store: SyncStore<R, E>, readonly sid: number, options: ExchangeOptions = {}) {
    this.tree = store.tree;
    this.expandBudget = options.expandBudget ?? 16_384;
    this.listThreshold = options.listThreshold ?? 32;
    this.recordBudget = options.recordBudget ?? 49_152;
  }

  /** True when this side has nothing more to do. */
  get done(): boolean {
    return this.finished;
  }

  /** The opening message: the root hash (a few bytes; converged peers stop right there). */
  open(): ExchangeMessage<R> {
    this.stats.messagesOut++;
    this.opened = true;
    const msg: ExchangeMessage<R> = { sid: this.sid, root: this.tree.rootHash() };
    if (this.store.syncContext && this.store.digest) {
      // taken now, sent only if asked: what we adopt must predate the records we send
      this.ownContext = this.store.syncContext();
      msg.digest = this.store.digest();
    }
    return msg;
  }

  /**
   * Processes a peer's message. `now` (an HLC timestamp) is passed to the store for
   * history expiry.
   */
  receive(msg: ExchangeMessage<R>, now: number): ExchangeStep<R, E> {
    this.stats.messagesIn++;
    const events: E[] = [];
    const out: ExchangeMessage<R> = { sid: this.sid };
    if (msg.context !== undefined && this.peerContext === undefined) this.peerContext = msg.context;
    if (msg.partial === true) this.peerPartial = true;
    if (!this.opened) {
      this.opened = true;
      if (this.store.syncContext && this.store.digest && msg.digest instanceof Uint8Array && !sameBytes(msg.digest, this.store.digest())) {
        out.context = this.store.syncContext();
        out.wantContext = true;
        this.contextSent = true;
      }
    } else if (msg.wantContext === true && !this.contextSent && this.ownContext !== undefined) {
      out.context = this.ownContext;
      this.contextSent = true;
    }
    const records: R[] = [];
    let recordBytes = 0;
    const send = (r: R): void => {
      const size = this.store.recordSize(r);
      if (recordBytes + size > this.recordBudget && records.length > 0) {
        this.stats.deferred++;
        this.localPartial = true;
        return;
      }
      recordBytes += size;
      records.push(r);
    };

    if (Array.isArray(msg.stale)) for (const r of msg.stale) this.store.dropStale(r, events);
    const stale: R[] = [];
    if (Array.isArray(msg.records)) {
      for (const r of msg.records) {
        this.stats.recordsIn++;
        if (this.store.applyRecord(r, now, events) === 'stale') stale.push(r);
      }
    }
    if (msg.want instanceof Uint8Array) {
      for (let off = 0; off + 8 <= msg.want.length; off += 8) {
        const key = this.listed.get(hashKey(readHi(msg.want, off), readLo(msg.want, off)));
        const r = key === undefined ? undefined : this.store.getRecord(key);
        if (r !== undefined) send(r);
      }
    }

    const frontier: number[] = [];
    if (msg.root instanceof Uint8Array && msg.root.length === 8) {
      if (!this.tree.hashEquals(0, readHi(msg.root, 0), readLo(msg.root, 0))) frontier.push(0);
    }
    if (msg.expand && Array.isArray(msg.expand.nodes) && msg.expand.hashes instanceof Uint8Array) {
      this.compareExpanded(msg.expand.nodes, msg.expand.levels, msg.expand.hashes, frontier);
    }
    const wants: number[] = [];
    if (msg.list && Array.isArray(msg.list.nodes) && Array.isArray(msg.list.counts) && msg.list.hashes instanceof Uint8Array) {
      this.compareListed(msg.list.nodes, msg.list.counts, msg.list.hashes, send, wants);
    }

    this.listed = new Map();
    this.report(frontier, out);
    if (wants.length > 0) {
      // wants holds hi, lo pairs: pack them as 8-byte hashes
      const packed = new Uint8Array(wants.length * 4);
      for (let i = 0; i + 1 < wants.length; i += 2) writeHash(packed, i * 4, wants[i]!, wants[i + 1]!);
      out.want = packed;
    }
    if (records.length > 0) out.records = records;
    if (stale.length > 0) out.stale = stale;
    this.stats.recordsOut += records.length;

    if (this.localPartial) out.partial = true;
    const expectsAnswer = out.expand !== undefined || out.list !== undefined || out.want !== undefined;
    if (!expectsAnswer) {
      out.done = true;
      this.finished = true;
    }
    // once no list or want is outstanding the peer owes us no more records: all of its
    // differences are in, and its context (which may arrive last) can be adopted
    if (this.finished && !this.adopted && !this.localPartial && !this.peerPartial && this.peerContext !== undefined && this.store.adoptContext) {
      this.adopted = true;
      this.store.adoptContext(this.peerContext, now, events);
    }
    const hasPayload = expectsAnswer || out.records !== undefined || out.stale !== undefined || out.context !== undefined;
    if (!hasPayload && msg.done === true) return { reply: undefined, events, done: true };
    this.stats.messagesOut++;
    return { reply: out, events, done: this.finished };
  }

  // finds the descendants whose hash differs from the peer's
  private compareExpanded(nodes: number[], levels: number, hashes: Uint8Array, frontier: number[]): void {
    if (!Number.isInteger(levels) || levels < 1 || levels > this.tree.depth) return;
    const per = 1 << (this.tree.fanoutBits * levels);
    if (hashes.length !== nodes.length * per * 8) return;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      if (!Number.isInteger(node) || node < 0 || node >= this.tree.nodeCount) continue;
      if (this.tree.levelOf(node) + levels > this.tree.depth) continue;
      const first = this.tree.firstDescendant(node, levels);
      for (let j = 0; j < per; j++) {
        const off = (i * per + j) * 8;
        if (!this.tree.hashEquals(first + j, readHi(hashes, off), readLo(hashes, off))) frontier.push(first + j);
      }
    }
  }

  // set difference between the peer's listed records and ours under the same nodes
  private compareListed(nodes: number[], counts: number[], hashes: Uint8Array, send: (r: R) => void, wants: number[]): void {
    let off = 0;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      const count = counts[i] ?? 0;
      if (!Number.isInteger(node) || node < 0 || node >= this.tree.nodeCount || !Number.isInteger(count) || count < 0) return;
      if (off + count * 8 > hashes.length) return;
      const theirs = new Set<string>();
      for (let k = 0; k < count; k++, off += 8) theirs.add(hashKey(readHi(hashes, off), readLo(hashes, off)));
      const ours = new Set<string>();
      this.tree.forEachRecord(node, (key, hi, lo) => {
        const h = hashKey(hi, lo);
        ours.add(h);
        if (!theirs.has(h)) {
          const r = this.store.getRecord(key);
          if (r !== undefined) send(r);
        }
      });
      for (let k = off - count * 8; k < off; k += 8) {
        const hi = readHi(hashes, k);
        const lo = readLo(hashes, k);
        if (!ours.has(hashKey(hi, lo))) wants.push(hi, lo);
      }
    }
  }

  // reports differing nodes: small ones as record lists, the rest expanded
  private report(frontier: number[], out: ExchangeMessage<R>): void {
    if (frontier.length === 0) return;
    const toList: number[] = [];
    const toExpand: number[] = [];
    let minDown = this.tree.depth;
    for (const node of frontier) {
      const down = this.tree.depth - this.tree.levelOf(node);
      if (down === 0 || this.tree.countOf(node) <= this.listThreshold) {
        toList.push(node);
      } else {
        toExpand.push(node);
        minDown = Math.min(minDown, down);
      }
    }
    // a frontier too wide for one message (huge divergence: bulk catch-up's job) is cut
    const maxExpand = Math.max(1, Math.floor((this.expandBudget * 4) / (this.tree.fanout * 8)));
    if (toExpand.length > maxExpand) {
      toExpand.length = maxExpand;
      this.localPartial = true;
      out.partial = true;
    }
    if (toExpand.length > 0) {
      let levels = 1;
      while (levels < minDown && toExpand.length * (1 << (this.tree.fanoutBits * (levels + 1))) * 8 <= this.expandBudget) levels++;
      const per = 1 << (this.tree.fanoutBits * levels);
      const hashes = new Uint8Array(toExpand.length * per * 8);
      for (let i = 0; i < toExpand.length; i++) {
        const first = this.tree.firstDescendant(toExpand[i]!, levels);
        for (let j = 0; j < per; j++) writeHash(hashes, (i * per + j) * 8, this.tree.hiOf(first + j), this.tree.loOf(first + j));
      }
      out.expand = { nodes: toExpand, levels, hashes };
    }
    if (toList.length > 0) {
      let total = 0;
      const maxListed = Math.max(this.listThreshold, Math.floor((this.expandBudget * 4) / 8));
      for (let i = 0; i < toList.length; i++) {
        total += this.tree.countOf(toList[i]!);
        if (total > maxListed && i > 0) {
          total -= this.tree.countOf(toList[i]!);
          toList.length = i;
          this.localPartial = true;
          out.partial = true;
          break;
        }
      }
      const hashes = new Uint8Array(total * 8);
      const counts: number[] = [];
      let off = 0;
      for (const node of toList) {
        let n = 0;
        this.tree.forEachRecord(node, (key, hi, lo) => {
          if (off + 8 > hashes.length) return;
          writeHash(hashes, off, hi, lo);
          this.listed.set(hashKey(hi, lo), key);
          off += 8;
          n++;
        });
        counts.push(n);
      }
      out.list = { nodes: toList, counts, hashes: hashes.subarray(0, off) };
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
