/**
 * Readers of a simulated run (issue #13, decision 0047): each follows one channel with
 * a history cursor and, at random (seeded) times, resumes against a random live node
 * with `channels.history(ch, { after: cursor })`. At the end, once the replicas have
 * settled, each reads to the end on one live node and the invariant "readers lose
 * nothing silently" checks what it was given: no entry twice, every entry that node
 * holds received, and every published entry it did not receive reported in a gap. The
 * logic mirrors the runtime property test (test/node-replication-convergence.test.ts,
 * `read`, `covers`, `checkReaders`), including its one excuse: an entry that no other
 * live replica held when a node went down may be lost with it, without a trace.
 */
import { START_CURSOR, comparePositions, positionOf } from '../lib/internal.js';
import type { HistoryGap, Position, Random } from '../lib/internal.js';
import type { RepNode, SimReplication } from './replication.js';
import type { Verdict } from './replication-checks.js';

/** The validated `workload.readers` of a scenario. */
export interface ReaderSettings {
  /** Readers; reader k follows `ch<k mod publish.channels>`. */
  count: number;
  /** Mean virtual ms between two resumes of one reader (each waits 0.5–1.5 × this). */
  intervalMs: number;
  /** Entries per page; a resume reads pages until nothing more is held. */
  limit: number;
}

/** A reader's state: its channel, cursor, what it was given and the gaps it was told of. */
export interface Reader {
  channel: string;
  cursor: string;
  /** Times each entry id (`node:epoch:seq`) was received. */
  got: Map<string, number>;
  gaps: HistoryGap[];
}

/** A published entry of a followed channel: what a reader is owed. */
export interface Owed {
  id: string;
  channel: string;
  node: string;
  epoch: number;
  /** Its number among its origin epoch's entries of the channel (what gaps count). */
  n: number;
  /** Its position in the merged order (a holder check by position is a binary search). */
  pos: Position;
  /** No other live replica held it when a node went down: it may be lost without a trace. */
  optional: boolean;
}

export const READERS_INVARIANT = 'readers lose nothing silently: every entry exactly once or reported in a gap';

const MAX_EXAMPLES = 5;
// pages one resume reads at most (a reader that far behind keeps reading at its next resume)
const MAX_PAGES = 50;

/** Reads pages after the reader's cursor on `r` while more are held; true when the last page was `pending`. */
export function readToEnd(reader: Reader, r: RepNode, limit: number, maxPages = MAX_PAGES): { pages: number; pending: boolean } {
  let pages = 0;
  for (;;) {
    const page = r.channels.history(reader.channel, { after: reader.cursor, limit });
    pages++;
    for (const m of page.messages) reader.got.set(m.id, (reader.got.get(m.id) ?? 0) + 1);
    reader.gaps.push(...page.gaps);
    reader.cursor = page.cursor;
    if (!page.more || pages >= maxPages) return { pages, pending: page.pending };
  }
}

/** True when gap `g` reports entry `e` lost (a gap without origins covers anything). */
export function covers(g: HistoryGap, e: Owed): boolean {
  if (g.node === undefined) return true;
  return g.node === e.node && g.epoch === e.epoch && (g.from ?? 1) <= e.n && g.to !== undefined && e.n <= g.to;
}

/**
 * What the readers lack once they have read to the end: entries received more than
 * once, entries `held` (by the node they read last) never received, and published
 * entries neither received nor covered by a gap (unless optional). Empty when none.
 */
export function readerProblems(readers: readonly Reader[], held: (channel: string) => readonly string[], published: Iterable<Owed>): { problems: string[]; count: number } {
  const problems: string[] = [];
  let count = 0;
  const report = (s: string): void => {
    count++;
    if (problems.length < MAX_EXAMPLES) problems.push(s);
  };
  const all = [...published];
  readers.forEach((r, i) => {
    for (const [id, times] of r.got) if (times > 1) report(`reader ${i} (${r.channel}) got ${id} ${times} times`);
    for (const id of held(r.channel)) if (!r.got.has(id)) report(`reader ${i} (${r.channel}) never got held ${id} (${r.gaps.length} gaps)`);
    for (const e of all) {
      if (e.channel !== r.channel || e.optional || r.got.has(e.id)) continue;
      if (!r.gaps.some((g) => covers(g, e))) report(`reader ${i} (${r.channel}) silently lost ${e.id} #${e.n} (gaps ${JSON.stringify(r.gaps.slice(0, 3))}${r.gaps.length > 3 ? '…' : ''})`);
    }
  });
  return { problems, count };
}

/**
 * The reader workload of a run: schedules the resumes in virtual time, records what the
 * workload publishes on the followed channels, and gives the invariant's verdict.
 */
export class ReaderWorkload {
  readonly readers: Reader[] = [];
  /** Published entries of the followed channels, by id. */
  readonly published = new Map<string, Owed>();
  reads = 0;
  pages = 0;
  /** Resumes answered with `pending` (the node had not caught up yet). */
  pendingReads = 0;
  private readonly nodesRead = new Set<string>();

  /**
   * @param sim the replication runtime of the run.
   * @param settings the validated reader settings.
   * @param channels the workload's publish channels (`ch0`…).
   * @param random the readers' own random stream.
   * @param eligible true for a node a reader may resume against now (up, not leaving).
   */
  constructor(
    private readonly sim: SimReplication,
    private readonly settings: ReaderSettings,
    channels: number,
    private readonly random: Random,
    private readonly eligible: (i: number) => boolean,
  ) {
    for (let k = 0; k < settings.count; k++) this.readers.push({ channel: `ch${k % channels}`, cursor: START_CURSOR, got: new Map(), gaps: [] });
  }

  /** Schedules each reader's resumes from `fromMs` until `untilMs`. */
  start(fromMs: number, untilMs: number): void {
    const clock = this.sim.net.clock;
    for (const reader of this.readers) {
      const resume = (): void => {
        if (clock.now() > untilMs) return;
        this.resume(reader);
        clock.setTimer(this.settings.intervalMs * (0.5 + this.random.next()), resume);
      };
      clock.setTimer(fromMs + this.settings.intervalMs * this.random.next(), resume);
    }
  }

  private resume(reader: Reader): void {
    const live: RepNode[] = [];
    for (let i = 0; i < this.sim.net.nodes.length; i++) {
      const r = this.eligible(i) ? this.sim.current(this.sim.net.nodes[i]!) : undefined;
      if (r) live.push(r);
    }
    if (live.length === 0) return;
    const r = live[this.random.int(live.length)]!;
    const res = readToEnd(reader, r, this.settings.limit);
    this.reads++;
    this.pages += res.pages;
    if (res.pending) this.pendingReads++;
    this.nodesRead.add(r.node.name);
  }

  /** The workload published `id` on `channel` through `r`. */
  onPublish(r: RepNode, channel: string, id: string): void {
    if (!this.readers.some((x) => x.channel === channel)) return;
    const [node, epoch, seq] = splitId(id);
    const e = r.rep.replica.history.get(channel, { node, epoch, seq });
    if (!e) return; // refused or evicted at once: nothing was published
    this.published.set(id, { id, channel, node, epoch, n: e.c, pos: positionOf(e), optional: false });
  }

  /**
   * Node `i`'s process is about to end (crash or leave): what no other live replica
   * holds may be lost with it (or still be in flight), so it is optional from now on.
   * Stricter than the runtime property test's rule: an entry another live replica has
   * already dropped (at or below its low-water mark) stays owed, as a delivery or a gap.
   */
  nodeDown(i: number): void {
    const others: RepNode[] = [];
    for (const n of this.sim.net.nodes) {
      const r = n.index === i ? undefined : this.sim.current(n);
      if (r && !r.node.m.hasLeft) others.push(r);
    }
    for (const e of this.published.values()) {
      if (e.optional) continue;
      const known = others.some((r) => {
        const h = r.rep.replica.history;
        if (h.has(e.channel, e.pos)) return true;
        // dropped by the cap or TTL there: its loss is on record (drop summaries), so a
        // reader that did not get it must be told
        const lw = h.lowWater(e.channel);
        return lw !== undefined && comparePositions(e.pos, lw) <= 0;
      });
      if (!known) e.optional = true;
    }
  }

  /** Every reader reads to the end on the first live replica, then the checks. */
  verdict(): Verdict {
    let ref: RepNode | undefined;
    for (const n of this.sim.net.nodes) {
      const r = this.sim.current(n);
      if (r && !r.node.m.hasLeft) {
        ref = r;
        break;
      }
    }
    if (!ref) return { name: READERS_INVARIANT, status: 'not-measured', evidence: 'no live replica at the end' };
    let pendingAtEnd = 0;
    for (const reader of this.readers) if (readToEnd(reader, ref, this.settings.limit, 10_000).pending) pendingAtEnd++;
    const h = ref.rep.replica.history;
    const held = (ch: string): string[] => h.entries(ch).map((e) => `${e.node}:${e.epoch}:${e.seq}`);
    const { problems, count } = readerProblems(this.readers, held, this.published.values());
    let received = 0;
    let gaps = 0;
    let anonymous = 0;
    let covered = 0;
    let optional = 0;
    for (const e of this.published.values()) {
      if (e.optional) optional++;
      const followers = this.readers.filter((x) => x.channel === e.channel);
      for (const x of followers) if (!x.got.has(e.id) && x.gaps.some((g) => covers(g, e))) covered++;
    }
    for (const x of this.readers) {
      received += x.got.size;
      gaps += x.gaps.length;
      for (const g of x.gaps) if (g.node === undefined) anonymous++;
    }
    const channels = new Set(this.readers.map((x) => x.channel)).size;
    const what = `${this.readers.length} readers on ${channels} channels resumed ${this.reads} times (${this.pages} pages) against ${this.nodesRead.size} different nodes, ${this.pendingReads} reads answered pending; at the end each read to the end on ${ref.node.name}${pendingAtEnd > 0 ? ` (${pendingAtEnd} still pending)` : ''}`;
    if (count === 0) {
      return { name: READERS_INVARIANT, status: 'pass', evidence: `${what}: ${received} entries received, none twice, every entry ${ref.node.name} holds received; of the ${this.published.size} entries published on those channels, every one not received was reported in one of the ${gaps} gaps (${covered} reader-entries covered; ${anonymous} gaps without origins), ${optional} optional (no other live replica held them when a node went down, so they may be lost without a trace)` };
    }
    return { name: READERS_INVARIANT, status: 'fail', evidence: `${what}: ${count} problems: ${problems.join('; ')}` };
  }
}

function splitId(id: string): [string, number, number] {
  // node names may contain ':' (addresses); epoch and seq are the last two fields
  const b = id.lastIndexOf(':');
  const a = id.lastIndexOf(':', b - 1);
  return [id.slice(0, a), Number(id.slice(a + 1, b)), Number(id.slice(b + 1))];
}
