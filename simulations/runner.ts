/**
 * The simulation runner: plays a scenario's timeline over the production Membership on
 * the simulated network (simulations/network.ts), in virtual time, with one seed. It
 * checks the invariants continuously (every membership event updates the view tracker
 * and the false-death check) and at the end, and collects the measurements. The result
 * is plain data with no wall-clock figure in it, so the same scenario and seed give a
 * byte-identical JSON file.
 */
import { swimOptions } from '../lib/config.js';
import type { MembershipEvents, MemberInfo } from '../lib/swim/membership.js';
import { SharedMembers } from '../lib/swim/members.js';
import { seedShared } from '../lib/swim/simulator-access.js';
import { encodeMeta } from '../lib/swim/meta.js';
import { suspicionMinTimeout } from '../lib/swim/suspicion.js';
import { SimNetwork } from './network.js';
import type { SimNode } from './network.js';
import { select } from './node-set.js';
import type { SelectContext, Selector } from './node-set.js';
import { regionIndexOf, ScenarioError } from './scenario.js';
import type { ResolvedStep, Scenario, Workload } from './scenario.js';
import type { ReplicationOptions } from '../lib/replication/replicator.js';
import { Random, hashString } from '../lib/random.js';
import { ReplicationChecks } from './replication-checks.js';
import type { CatchUp } from './replication-checks.js';
import { SimReplication } from './replication.js';
import type { ReplicatorCounters } from './replication.js';
import { ViewTracker } from './view-tracker.js';
import { WorkloadDriver } from './workload.js';
import { READERS_INVARIANT, ReaderWorkload } from './readers.js';
import type { WorkloadCounts } from './workload.js';

/** What replication-dependent parts report for a scenario without a workload. */
export const NO_WORKLOAD = 'not measured: the scenario has no workload (membership only)';

/** Options of {@link runScenario}. */
export interface RunOptions {
  /** The seed of the run. @default 1 */
  seed?: number;
  /** Called after every sample with the virtual time done and the total. @default none */
  onProgress?: (doneMs: number, totalMs: number) => void;
  /** Replication options of every node (tests shorten intervals with it). @default {} */
  replication?: Omit<ReplicationOptions, 'history'>;
  /**
   * Test-only faults, run at `atMs` on the replication runtime (e.g. corrupt one
   * replica) to show that an invariant catches what they break. @default []
   */
  faults?: { atMs: number; run: (repl: SimReplication) => void }[];
}

/** One invariant's verdict. */
export interface InvariantResult {
  name: string;
  status: 'pass' | 'fail' | 'not-measured';
  /** What was observed, in words, with the numbers behind the verdict. */
  evidence: string;
}

/** Quantiles of a distribution, in ms. */
export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** How one fault (a crash, a leave, a join) spread to the other nodes. */
export interface Spread {
  kind: 'crash' | 'leave' | 'join';
  node: string;
  atMs: number;
  /** Nodes up at the fault that had to learn of it. */
  observers: number;
  /** ms from the fault to the first suspicion of a crashed node anywhere, or -1. */
  firstSuspectMs: number;
  /** ms until every observer knew, or -1 when some never did. */
  allAwareMs: number;
  /** [ms after the fault, fraction of observers aware] at each change. */
  curve: [number, number][];
}

/** The time series sampled every `sampleEveryMs`. */
export interface Series {
  tMs: number[];
  up: number[];
  /** Fraction of (observer, subject) pairs seen right (1 = converged). */
  agreement: number[];
  /** Alive members seen per node up: min, median, max. */
  aliveMin: number[];
  aliveMedian: number[];
  aliveMax: number[];
  /** Datagram messages and bytes sent per node up per second over the sample. */
  msgsPerNodePerSec: number[];
  bytesPerNodePerSec: number[];
  /** Stream (push-pull, fallback ping) bytes per node up per second. */
  streamBytesPerNodePerSec: number[];
}

/** Per-node membership view over time, in row groups of nodes (at most 100 rows). */
export interface Views {
  /** Row labels: `n0` or `n0–n9`. */
  rows: string[];
  tMs: number[];
  /** [row][sample]: mean fraction of subjects seen right by the row's nodes up; null when all are down. */
  agreement: (number | null)[][];
  /** [row][sample]: mean alive members seen by the row's nodes up; null when all are down. */
  aliveSeen: (number | null)[][];
}

/** What the replication runtime did under the workload; every field but status and workload is null without one. */
export interface ReplicationResult {
  status: string;
  workload: Workload | null;
  operations: WorkloadCounts | null;
  /** Replicator counters summed over every process of the run (sessions, catch-ups, bytes the replicator counted). */
  antiEntropy: ReplicatorCounters | null;
  traffic: {
    /** All replication bytes (delta and catch-up datagrams, digests on acks, stream frames) per node up per second. */
    bytesPerNodePerSec: number;
    deltaDatagramBytes: number;
    catchUpDatagramBytes: number;
    digestBytes: number;
    digests: number;
    /** Stream frame bytes (both directions) by what the connection carried. */
    streamBytes: Record<string, number>;
    streams: Record<string, number>;
    datagramsLost: number;
  } | null;
  convergence: {
    /** Per heal: how long until every live replica held (or had evicted) every history entry any live replica held at the heal. */
    heals: CatchUp[];
    /** First sample from which all live replicas had equal Merkle roots (to the end), or -1. */
    equalSinceMs: number;
  } | null;
  /**
   * History order against real (virtual) publish time, over every pair of consecutive
   * entries on the reference replica: under clock skew the HLC orders some pairs against
   * real time, and what must hold is that every replica has the same order.
   */
  order: { pairs: number; againstRealTime: number; maxInversionMs: number } | null;
  /** Replication bytes per node up per second, per sample. */
  series: { tMs: number[]; bytesPerNodePerSec: number[] } | null;
  /**
   * With regions: publish → stored latency per (origin region → receiving region), e.g.
   * `A→C`, over every history entry a replica stored whose process was already running
   * when it was published (a restarted one catching up is not a delivery). Entries
   * published during a partition count with the partition's delay.
   */
  delivery: Record<string, Distribution> | null;
}

/** Everything a run produces; serialised as the JSON result. */
export interface SimResult {
  scenario: { name: string; description: string; expected: string; source: string };
  seed: number;
  nodes: number;
  durationMs: number;
  profile: string;
  /** Membership options after the scenario's overrides. */
  swim: Record<string, number | boolean>;
  passed: boolean;
  invariants: InvariantResult[];
  measurements: {
    detection: { crashes: number; firstSuspectMs: Distribution; perObserverDeadMs: Distribution; deadEverywhereMs: Distribution; neverDeadEverywhere: number };
    dissemination: Spread[];
    /**
     * deadDeclarations/episodes: of healthy, reachable nodes (the invariant); ofLiveNodes:
     * of nodes that were up for whatever reason (partitions included); ofStalledNodes: of
     * nodes stalled at that moment (what Lifeguard is about).
     */
    falsePositives: {
      deadDeclarations: number; episodes: number; suspicionsOfHealthy: number; ofLiveNodes: number; ofStalledNodes: number; graceMs: number;
      /**
       * Dead declarations of members the declaring node could reach: the member up, not
       * crashed, restarted, stalled or left within the grace window, and no partition
       * (two-way or one-way, either direction) between the two within it. Unlike
       * `deadDeclarations`, a partition elsewhere exempts nobody: a region cut off does
       * not excuse two nodes outside it declaring each other dead.
       */
      ofReachable: number;  // -1: not measured (the real-process runner)
      /** Up to 5 examples of those. */
      ofReachableExamples: string[];
    };
    traffic: { msgsPerNodePerSec: number; bytesPerNodePerSec: number; streamBytesPerNodePerSec: number; framesLost: number; totals: Record<string, number> };
    convergence: { lastFaultMs: number; convergedAfterLastFaultMs: number; heals: { atMs: number; convergedAfterMs: number }[] };
    /** One line on anti-entropy (details in `replication`). */
    antiEntropy: string;
  };
  replication: ReplicationResult;
  notModelled: string[];
  events: { atMs: number; what: string }[];
  series: Series;
  views: Views;
}

/** At most this many spread curves are kept in the result (the distributions use all). */
const MAX_CURVES = 20;
/** At most this many timeline events are listed in the result. */
const MAX_EVENTS = 200;
const ALIVE_EVENTS = new Set<keyof MembershipEvents>(['member-join', 'member-alive', 'member-update']);

interface Fault {
  spread: Spread;
  seen: Uint8Array;
  aware: number;
  /** For crashes: per-observer time to the dead declaration. */
  deadTimes: number[];
}

/** Runs `sc` and returns its result. Throws ScenarioError when a selector cannot be resolved. */
export function runScenario(sc: Scenario, opts: RunOptions = {}): SimResult {
  return new Run(sc, opts.seed ?? 1, opts.onProgress, opts).result();
}

class Run {
  private readonly net: SimNetwork;
  private readonly rand: Random;
  private readonly tracker: ViewTracker;
  private readonly roles: string[][] = [];
  private readonly metaCache = new Map<string, Uint8Array>();
  /** Per node: healthy-and-reachable from this time on (Infinity while impaired). */
  private readonly impairedUntil: Float64Array;
  /** Per node: leaving gracefully (out of the truth, still running). */
  private readonly leaving: Uint8Array;
  private readonly partitioned = new Set<number>();
  private readonly graceMs: number;
  private readonly cap: number;
  private readonly faults = new Map<number, Fault>();
  private readonly spreads: Fault[] = [];
  private readonly heals: { atMs: number; convergedAfterMs: number }[] = [];
  private pendingHeal: { atMs: number } | undefined;
  private readonly events: { atMs: number; what: string }[] = [];
  private readonly notModelled: string[] = [];
  private lastFault = 0;
  private falseDeaths = 0;
  private readonly falseEpisodes = new Set<string>();
  private readonly falseExamples: string[] = [];
  private suspicionsOfHealthy = 0;
  private deadOfLive = 0;
  private deadOfReachable = 0;
  private readonly reachableExamples: string[] = [];
  /** Per node: crashed, restarted, stalled or leaving until this time plus the grace (partitions aside). */
  private readonly troubledUntil: Float64Array;
  /** Every partition of the run: per-node group (two-way) or side (one-way: 1 from, 2 to), and when it ended. */
  private readonly cutEpisodes: { group: Int32Array; oneWay: boolean; endMs: number }[] = [];
  private deadOfStalled = 0;
  private readonly series: Series = { tMs: [], up: [], agreement: [], aliveMin: [], aliveMedian: [], aliveMax: [], msgsPerNodePerSec: [], bytesPerNodePerSec: [], streamBytesPerNodePerSec: [] };
  private readonly rowsOf: number[][] = [];
  private readonly viewAgreement: (number | null)[][] = [];
  private readonly viewAlive: (number | null)[][] = [];
  private lastTotals = { msgs: 0, bytes: 0, stream: 0 };
  private rediverged = -1;
  // replication, only for scenarios with a workload
  private readonly repl: SimReplication | undefined;
  private readonly checks: ReplicationChecks | undefined;
  private readonly driver: WorkloadDriver | undefined;
  private readonly readers: ReaderWorkload | undefined;
  private readonly replSeries = { tMs: [] as number[], bytesPerNodePerSec: [] as number[] };
  private lastReplBytes = 0;
  private readonly faultsToRun: NonNullable<RunOptions['faults']>;
  /** Per `A→C` pair: publish → stored latencies (regions with a workload only). */
  private readonly deliveries = new Map<string, number[]>();
  private readonly attachedAt: number[] = [];
  private readonly workloadUntil: number = -1;

  constructor(
    private readonly sc: Scenario,
    private readonly seed: number,
    private readonly onProgress: ((doneMs: number, totalMs: number) => void) | undefined,
    opts: RunOptions = {},
  ) {
    this.faultsToRun = opts.faults ?? [];
    this.net = new SimNetwork({ seed, profile: sc.profile, swim: sc.swim, latencyMs: sc.network.latencyMs, jitterMs: sc.network.jitterMs, loss: sc.network.loss });
    this.rand = this.net.random.fork('runner');
    if (sc.interRegion) this.net.setInterRegion(sc.interRegion);
    let adds = 0;
    for (const s of sc.timeline) if (s.action === 'add') adds += (s as { count: number }).count * s.repeat.times;
    this.cap = sc.nodes + adds;
    this.tracker = new ViewTracker(this.cap, () => this.net.now);
    this.impairedUntil = new Float64Array(this.cap);
    this.troubledUntil = new Float64Array(this.cap);
    this.leaving = new Uint8Array(this.cap);
    const o = this.net.options;
    this.graceMs = sc.falseDeathGraceMs ?? suspicionMinTimeout(o.suspicionMult, Math.max(sc.nodes, 2), o.probeIntervalMs) * o.suspicionMaxTimeoutMult + 10_000;
    this.checkSelectors();
    const w = sc.workload;
    if (w) {
      const history = { defaultMaxEntries: w.publish?.historyLength ?? 100, defaultTtlMs: Number(w.publish?.ttl ?? 0) };
      this.repl = new SimReplication(this.net, seed, { history, ...opts.replication });
      this.checks = new ReplicationChecks(this.repl, history.defaultMaxEntries);
      // its own stream: the network's and the runner's draws stay those of the membership-only run
      this.workloadUntil = w.until === undefined ? sc.durationMs - Math.min(30_000, sc.durationMs / 4) : Number(w.until);
      this.driver = new WorkloadDriver(this.repl, Number(w.from ?? 0), this.workloadUntil, w, new Random((seed ^ hashString('workload')) >>> 0), (i) => this.net.nodes[i]?.up === true && this.leaving[i] === 0);
      if (w.readers && w.publish) {
        const rs = w.readers;
        this.readers = new ReaderWorkload(this.repl, { count: rs.count ?? 8, intervalMs: Number(rs.interval ?? 5000), limit: rs.limit ?? 50 }, w.publish.channels ?? 100, new Random((seed ^ hashString('readers')) >>> 0), (i) => this.net.nodes[i]?.up === true && this.leaving[i] === 0);
        this.driver.onPublish = (r, ch, id) => this.readers!.onPublish(r, ch, id);
      }
      if (sc.regions.length > 0) this.measureDelivery(this.repl);
    }
  }

  result(): SimResult {
    const sc = this.sc;
    this.net.onMemberEvent((type, observer, info) => this.onEvent(type, observer, info));
    for (let i = 0; i < sc.nodes; i++) this.roles.push([]);
    const ctx = this.ctx();
    for (const [role, sel] of Object.entries(sc.roles)) for (const i of this.resolve(sel, `roles.${role}`, ctx)) this.roles[i]!.push(role);
    this.startNodes();
    for (let i = 0; i < this.cap; i++) this.rowsOf.push([]);
    this.schedule();
    const rows = Math.min(100, this.cap);
    for (let r = 0; r < rows; r++) {
      this.viewAgreement.push([]);
      this.viewAlive.push([]);
    }
    this.sample();
    for (let t = 0; t < sc.durationMs; ) {
      const step = Math.min(sc.sampleEveryMs, sc.durationMs - t);
      this.net.run(step);
      t += step;
      this.sample();
      this.onProgress?.(t, sc.durationMs);
    }
    return this.finish();
  }

  // ---------------------------------------------------------------- setup

  /** Times publish → stored per region pair, alongside the checks' own hooks. */
  private measureDelivery(repl: SimReplication): void {
    const stored = repl.onMessage;
    const attached = repl.onAttach;
    repl.onAttach = (r, restored) => {
      attached?.(r, restored);
      this.attachedAt[r.node.index] = this.net.now;
    };
    repl.onMessage = (r, e) => {
      stored?.(r, e);
      const to = this.regionOf(r.node.index);
      const from = this.regionOf(Number(e.node.slice(1)));
      if (to < 0 || from < 0 || e.node === r.node.name) return;
      const at = this.driver?.publishedAt.get(`${e.node}:${e.epoch}:${e.seq}`);
      if (at === undefined || at < (this.attachedAt[r.node.index] ?? 0)) return;
      const key = `${this.sc.regions[from]}→${this.sc.regions[to]}`;
      let xs = this.deliveries.get(key);
      if (!xs) this.deliveries.set(key, (xs = []));
      xs.push(this.net.now - at);
    };
  }

  private ctx(): SelectContext {
    return {
      initial: this.sc.nodes,
      total: this.net.nodes.length || this.sc.nodes,
      rolesOf: (i) => this.roles[i] ?? [],
      isUp: (i) => this.net.nodes[i]?.up === true && this.leaving[i] === 0,
      regionNodes: (name) => this.regionNodes(name),
      random: this.rand,
    };
  }

  /** The initial nodes of region `name`, or undefined when the scenario has none of that name. */
  private regionNodes(name: string): number[] | undefined {
    const r = this.sc.regions.indexOf(name);
    if (r < 0) return undefined;
    const out: number[] = [];
    for (let i = 0; i < this.sc.nodes; i++) if (regionIndexOf(i, this.sc.nodes, this.sc.regions.length) === r) out.push(i);
    return out;
  }

  /** Region index of initial node `i` for SimNetwork, or -1. */
  private regionOf(i: number): number {
    return this.sc.regions.length === 0 || i >= this.sc.nodes ? -1 : regionIndexOf(i, this.sc.nodes, this.sc.regions.length);
  }

  private resolve(sel: Selector, path: string, ctx = this.ctx()): number[] {
    try {
      return select(sel, ctx);
    } catch (err) {
      throw new ScenarioError(path, (err as Error).message, this.sc.source);
    }
  }

  /** Resolves every selector once against the largest cluster the run can have, to fail before running. */
  private checkSelectors(): void {
    const ctx: SelectContext = { initial: this.sc.nodes, total: this.cap, rolesOf: () => [], isUp: () => true, regionNodes: (name) => this.regionNodes(name), random: this.net.random.fork('check') };
    for (const [role, sel] of Object.entries(this.sc.roles)) {
      ctx.total = this.sc.nodes;
      this.resolve(sel, `roles.${role}`, ctx);
    }
    ctx.total = this.cap;
    this.sc.timeline.forEach((s, i) => {
      for (const key of ['nodes', 'from', 'to', 'join'] as const) {
        const sel = (s as Record<string, unknown>)[key] as Selector | undefined;
        if (sel !== undefined) this.resolve(sel, `timeline[${i}].${key}`, ctx);
      }
      if (s.action === 'partition') (s as { groups: Selector[] }).groups.forEach((g, j) => this.resolve(g, `timeline[${i}].groups[${j}]`, ctx));
    });
  }

  /** Metadata shared by every node with the same roles: one buffer, one decoded view per observer. */
  private metaFor(roles: readonly string[]): Uint8Array {
    const key = roles.join(',');
    let meta = this.metaCache.get(key);
    if (!meta) {
      meta = roles.length === 0 ? new Uint8Array() : encodeMeta({ roles: [...roles], tags: {}, endpoints: {}, load: {} });
      this.metaCache.set(key, meta);
    }
    return meta;
  }

  private startNodes(): void {
    const n = this.sc.nodes;
    if (this.sc.start === 'join') {
      for (let i = 0; i < n; i++) {
        this.net.add(undefined, { meta: this.metaFor(this.roles[i]!), join: i === 0 ? [] : ['n0'], region: this.regionOf(i) });
        this.tracker.boot(i);
        if (i === 0) this.repl?.bootstrap(0);
      }
      return;
    }
    // The converged start of SimNetwork.addMany, with per-role metadata shared across
    // nodes: every node bulk-loads the others (Membership.seedMembers: the table, probe
    // order and broker list that handling their alive messages would build, without the
    // gossip that would then have to be drained), quietly, so the view tracker is filled
    // here in one pass instead of by n² member-join events.
    const nodes: SimNode[] = [];
    for (let i = 0; i < n; i++) {
      nodes.push(this.net.add(undefined, { noStart: true, meta: this.metaFor(this.roles[i]!), region: this.regionOf(i) }));
      this.tracker.boot(i);
    }
    // one shared record per member, read in place by every table (Membership.seedShared)
    const now = this.net.now;
    const empty = new Uint8Array();
    const shared = new SharedMembers(this.net.index, nodes.map((x) => ({ name: x.name, addr: x.addr, incarnation: 0, state: 'alive', meta: x.meta ?? empty, changedAt: now, rttMs: undefined })));
    for (const x of nodes) seedShared(x.m, shared);
    this.tracker.converge();
    for (const x of nodes) x.rt.start();
  }

  // ---------------------------------------------------------------- timeline

  private at(ms: number, fn: () => void): void {
    this.net.clock.setTimer(ms - this.net.now, fn);
  }

  private schedule(): void {
    this.driver?.start();
    this.readers?.start(Number(this.sc.workload?.from ?? 0), this.sc.durationMs);
    if (this.repl) for (const f of this.faultsToRun) this.at(f.atMs, () => f.run(this.repl!));
    this.sc.timeline.forEach((s, i) => {
      for (let r = 0; r < s.repeat.times; r++) {
        const t = s.atMs + r * s.repeat.everyMs;
        if (t <= this.sc.durationMs) this.at(t, () => this.apply(s, `timeline[${i}]`));
      }
    });
    const churn = this.sc.churn;
    if (churn && churn.fractionPerMinute > 0) {
      const every = 60_000 / (churn.fractionPerMinute * this.sc.nodes);
      for (let t = churn.fromMs; t < churn.untilMs && t <= this.sc.durationMs; t += every) this.at(t, () => this.churnOne());
    }
  }

  private note(what: string): void {
    if (this.events.length < MAX_EVENTS) this.events.push({ atMs: this.net.now, what });
  }

  private fault(until = this.net.now): void {
    if (until > this.lastFault) this.lastFault = until;
  }

  /** Runs `fn` on each node, `staggerMs` apart. */
  private each(nodes: number[], staggerMs: number, fn: (i: number) => void): void {
    nodes.forEach((i, k) => (k === 0 || staggerMs === 0 ? fn(i) : this.at(this.net.now + k * staggerMs, () => fn(i))));
    this.fault(this.net.now + Math.max(0, nodes.length - 1) * staggerMs);
  }

  private apply(s: ResolvedStep, path: string): void {
    const step = s as ResolvedStep & Record<string, unknown>;
    const names = (xs: number[]): string => (xs.length <= 6 ? xs.map((i) => `n${i}`).join(', ') : `${xs.length} nodes (n${xs[0]}…n${xs[xs.length - 1]})`);
    const sel = (key: string): number[] => this.resolve(step[key] as Selector, `${path}.${key}`);
    switch (s.action) {
      case 'crash': {
        const xs = sel('nodes');
        this.note(`crash ${names(xs)}`);
        this.each(xs, s.staggerMs, (i) => this.crash(i));
        break;
      }
      case 'restart': {
        const xs = sel('nodes');
        this.note(`restart ${names(xs)}`);
        this.each(xs, s.staggerMs, (i) => this.restart(i, step.persisted !== false));
        break;
      }
      case 'leave': {
        const xs = sel('nodes');
        this.note(`leave ${names(xs)}`);
        this.each(xs, s.staggerMs, (i) => this.leave(i));
        break;
      }
      case 'add': {
        const count = step.count as number;
        const seeds = step.join === undefined ? undefined : sel('join');
        this.note(`add ${count} node${count === 1 ? '' : 's'}${step.roles ? ` (${(step.roles as string[]).join(', ')})` : ''}`);
        const ks = Array.from({ length: count }, (_, k) => k);
        this.each(ks, s.staggerMs, () => this.addNode((step.roles as string[] | undefined) ?? [], seeds));
        break;
      }
      case 'partition': {
        const groups = (step.groups as Selector[]).map((g, j) => this.resolve(g, `${path}.groups[${j}]`));
        this.note(`partition into ${groups.length + 1} groups (${groups.map((g) => g.length).join(' / ')} / rest)`);
        this.endPartition();
        this.net.partition(groups.map((g) => g.map((i) => `n${i}`)));
        this.openCut(groups, false);
        for (let i = 0; i < this.net.nodes.length; i++) this.impair(i);
        this.fault();
        break;
      }
      case 'partition-one-way': {
        const from = sel('from');
        const to = sel('to');
        this.note(`one-way partition: ${names(from)} → ${names(to)} dropped`);
        this.endPartition();
        this.net.partitionOneWay(from.map((i) => `n${i}`), to.map((i) => `n${i}`));
        this.openCut([from, to], true);
        for (const i of [...from, ...to]) this.impair(i);
        this.fault();
        break;
      }
      case 'heal':
        this.note('heal');
        this.endPartition();
        this.net.heal();
        this.pendingHeal = { atMs: this.net.now };
        this.checks?.heal();
        this.fault();
        break;
      case 'link': {
        const from = sel('from');
        const to = sel('to');
        const profile = this.linkSettings(step);
        this.note(`link ${names(from)} ${step.oneWay === true ? '→' : '↔'} ${names(to)}: ${JSON.stringify(profile)}`);
        for (const a of from) for (const b of to) if (a !== b) this.net.setLink(`n${a}`, `n${b}`, profile, step.oneWay === true);
        this.fault();
        break;
      }
      case 'network': {
        const profile = this.linkSettings(step);
        this.note(`network: ${JSON.stringify(profile)}`);
        Object.assign(this.net.link, profile);
        this.fault();
        break;
      }
      case 'stall': {
        const xs = sel('nodes');
        const ms = step.durationMs ?? 0;
        this.note(`stall ${names(xs)} for ${ms} ms`);
        this.each(xs, s.staggerMs, (i) => {
          this.net.stall(`n${i}`, ms);
          this.impairedUntil[i] = Math.max(this.impairedUntil[i]!, this.net.now + ms + this.graceMs);
          this.trouble(i, this.net.now + ms + this.graceMs);
          this.fault(this.net.now + ms);
        });
        break;
      }
      case 'clock-skew': {
        const xs = sel('nodes');
        const offset = (step.offsetMs as number | undefined) ?? 0;
        const drift = (step.driftPpm as number | undefined) ?? 0;
        this.note(`clock skew of ${names(xs)}: offset ${offset} ms, drift ${drift} ppm`);
        for (const i of xs) this.net.setSkew(`n${i}`, offset, drift);
        break;
      }
    }
  }

  private linkSettings(step: Record<string, unknown>): { latencyMs?: number; jitterMs?: number; loss?: number } {
    const out: { latencyMs?: number; jitterMs?: number; loss?: number } = {};
    if (typeof step.latencyMs === 'number') out.latencyMs = step.latencyMs;
    if (typeof step.jitterMs === 'number') out.jitterMs = step.jitterMs;
    if (typeof step.loss === 'number') out.loss = step.loss;
    return out;
  }

  private impair(i: number): void {
    this.partitioned.add(i);
    this.impairedUntil[i] = Infinity;
  }

  private endPartition(): void {
    for (const i of this.partitioned) if (this.net.nodes[i]?.up) this.impairedUntil[i] = this.net.now + this.graceMs;
    this.partitioned.clear();
    const open = this.cutEpisodes[this.cutEpisodes.length - 1];
    if (open && open.endMs === Infinity) open.endMs = this.net.now;
  }

  private openCut(groups: number[][], oneWay: boolean): void {
    const group = new Int32Array(this.cap);
    groups.forEach((g, k) => g.forEach((i) => (group[i] = k + 1)));
    this.cutEpisodes.push({ group, oneWay, endMs: Infinity });
  }

  /** True when `o` and `s` were separated by a partition (either way) at some time in the last grace window. */
  private wasCut(o: number, s: number, now: number): boolean {
    for (let k = this.cutEpisodes.length - 1; k >= 0; k--) {
      const e = this.cutEpisodes[k]!;
      if (e.endMs < now - this.graceMs) continue;
      const a = e.group[o] ?? 0;
      const b = e.group[s] ?? 0;
      if (e.oneWay ? (a === 1 && b === 2) || (a === 2 && b === 1) : a !== b) return true;
    }
    return false;
  }

  private trouble(i: number, until: number): void {
    this.troubledUntil[i] = Math.max(this.troubledUntil[i]!, until);
  }

  /** `follow`: time how the crash spreads (not for the crash half of a restart). */
  private crash(i: number, follow = true): void {
    const node = this.net.nodes[i]!;
    if (!node.up) return;
    const wasLeaving = this.leaving[i] === 1;
    if (!wasLeaving) this.readers?.nodeDown(i);
    this.net.crash(node.name);
    this.trouble(i, Infinity);
    this.repl?.ended(i);
    this.leaving[i] = 0;
    this.impairedUntil[i] = Infinity;
    if (!wasLeaving) {
      this.tracker.down(i);
      if (follow) this.track(i, 'crash');
    }
    this.fault();
  }

  private restart(i: number, persisted: boolean): void {
    const node = this.net.nodes[i]!;
    if (node.up) this.crash(i, false);
    this.net.restart(node.name, { persisted, join: this.seedsFor(i).map((j) => `n${j}`) });
    this.tracker.boot(i);
    this.impairedUntil[i] = this.net.now + this.graceMs;
    this.troubledUntil[i] = this.net.now + this.graceMs;
    this.track(i, 'join');
    this.fault();
  }

  private leave(i: number): void {
    const node = this.net.nodes[i]!;
    if (!node.up || this.leaving[i] === 1) return;
    this.readers?.nodeDown(i);
    this.leaving[i] = 1;
    this.impairedUntil[i] = Infinity;
    this.trouble(i, Infinity);
    this.tracker.down(i);
    this.track(i, 'leave');
    const gen = node.gen;
    this.net.leave(node.name, () => {
      if (node.gen === gen + 1) this.leaving[i] = 0;
      this.repl?.ended(i);
    });
    this.fault();
  }

  private addNode(roles: string[], seeds: number[] | undefined): void {
    const i = this.net.nodes.length;
    this.roles[i] = roles;
    const join = (seeds ?? this.seedsFor(i)).filter((s) => s !== i).map((s) => `n${s}`);
    this.net.add(undefined, { meta: this.metaFor(roles), join });
    this.tracker.boot(i);
    this.track(i, 'join');
    this.fault();
  }

  /** The first node up other than `i`: where a restarted or added node joins. */
  private seedsFor(i: number): number[] {
    for (let j = 0; j < this.net.nodes.length; j++) if (j !== i && this.net.nodes[j]!.up && this.leaving[j] === 0) return [j];
    return [];
  }

  private churnOne(): void {
    const churn = this.sc.churn!;
    const up: number[] = [];
    for (let i = 0; i < this.net.nodes.length; i++) if (this.net.nodes[i]!.up && this.leaving[i] === 0) up.push(i);
    if (up.length <= 1) return;
    const i = up[this.rand.int(up.length)]!;
    if (churn.mode === 'leave-rejoin') this.leave(i);
    else this.crash(i);
    this.note(`churn: ${churn.mode === 'leave-rejoin' ? 'leave' : 'crash'} n${i}, back in ${churn.downForMs} ms`);
    this.at(this.net.now + churn.downForMs, () => this.restart(i, true));
  }

  // ---------------------------------------------------------------- events

  /** Starts following how the news about node `i` spreads. */
  private track(i: number, kind: Spread['kind']): void {
    // Only observers that still have something to learn: a join is news to those that do
    // not hold the node alive (a quick restart refreshes the others without an event), a
    // crash or a leave to those that do.
    const seen = new Uint8Array(this.cap);
    let observers = 0;
    for (let o = 0; o < this.net.nodes.length; o++) {
      if (o === i || !this.tracker.isUp(o)) continue;
      if (this.tracker.sees(o, i) === (kind === 'join')) seen[o] = 1;
      else observers++;
    }
    const spread: Spread = { kind, node: `n${i}`, atMs: this.net.now, observers, firstSuspectMs: -1, allAwareMs: observers === 0 ? 0 : -1, curve: [] };
    const fault: Fault = { spread, seen, aware: 0, deadTimes: [] };
    this.faults.set(i, fault);
    this.spreads.push(fault);
  }

  private onEvent(type: keyof MembershipEvents, observer: SimNode, info: MemberInfo): void {
    const s = Number(info.name.slice(1));
    const o = observer.index;
    const alive = ALIVE_EVENTS.has(type);
    this.tracker.see(o, s, alive);
    const now = this.net.now;
    if (this.tracker.converged && this.pendingHeal) this.closeHeal();
    const healthy = this.tracker.isUp(s) && now >= this.impairedUntil[s]!;
    if (type === 'member-suspect' && healthy) this.suspicionsOfHealthy++;
    if (type === 'member-dead' && this.tracker.isUp(s)) {
      this.deadOfLive++;
      if (this.net.nodes[s]!.stalledUntil > now) this.deadOfStalled++;
      if (now >= this.troubledUntil[s]! && !this.wasCut(o, s, now)) {
        this.deadOfReachable++;
        if (this.reachableExamples.length < 5) this.reachableExamples.push(`${observer.name} declared ${info.name} (incarnation ${info.incarnation}) dead at ${fmtMs(now)}`);
      }
    }
    if (this.checks && (type === 'member-dead' || type === 'member-leave')) this.checks.memberGone(observer, info.name, type === 'member-dead' ? 'dead' : 'left');
    if (type === 'member-dead' && healthy) {
      this.falseDeaths++;
      this.falseEpisodes.add(`${info.name}@${info.incarnation}`);
      if (this.falseExamples.length < 5) this.falseExamples.push(`${observer.name} declared ${info.name} (incarnation ${info.incarnation}) dead at ${fmtMs(now)}`);
    }
    const f = this.faults.get(s);
    if (!f || !this.tracker.isUp(o) || o === s || f.seen[o] === 1) return;
    const sp = f.spread;
    if (sp.kind === 'crash' && type === 'member-suspect' && sp.firstSuspectMs < 0) sp.firstSuspectMs = now - sp.atMs;
    const learned = sp.kind === 'crash' ? type === 'member-dead' : sp.kind === 'leave' ? type === 'member-leave' : alive;
    if (!learned) return;
    f.seen[o] = 1;
    if (sp.kind === 'crash') f.deadTimes.push(now - sp.atMs);
    const aware = ++f.aware;
    sp.curve.push([now - sp.atMs, sp.observers === 0 ? 1 : aware / sp.observers]);
    if (aware >= sp.observers && sp.allAwareMs < 0) sp.allAwareMs = now - sp.atMs;
  }

  private closeHeal(): void {
    const h = this.pendingHeal!;
    this.heals.push({ atMs: h.atMs, convergedAfterMs: this.net.now - h.atMs });
    this.pendingHeal = undefined;
  }

  // ---------------------------------------------------------------- sampling

  private sample(): void {
    const nodes = this.net.nodes;
    const now = this.net.now;
    if (this.tracker.converged && this.pendingHeal) this.closeHeal();
    if (!this.tracker.converged && now > this.lastFault && this.tracker.convergedSince > this.lastFault && this.rediverged < 0) this.rediverged = this.tracker.divergedAt;
    const up = this.tracker.upCount;
    const alive: number[] = [];
    let msgs = 0;
    let bytes = 0;
    let stream = 0;
    for (const n of nodes) {
      msgs += n.msgsSent;
      bytes += n.bytesSent;
      stream += n.streamBytesSent;
    }
    const rows = this.viewAgreement.length;
    const sumA = new Float64Array(rows);
    const sumV = new Float64Array(rows);
    const cnt = new Int32Array(rows);
    for (let i = 0; i < nodes.length; i++) {
      if (!this.tracker.isUp(i)) continue;
      const seen = nodes[i]!.m.counts().alive;
      alive.push(seen);
      const r = Math.floor((i * rows) / this.cap);
      sumA[r]! += 1 - this.tracker.wrongOf(i) / Math.max(1, up);
      sumV[r]! += seen;
      cnt[r]!++;
    }
    for (let r = 0; r < rows; r++) {
      this.viewAgreement[r]!.push(cnt[r]! === 0 ? null : round(sumA[r]! / cnt[r]!, 4));
      this.viewAlive[r]!.push(cnt[r]! === 0 ? null : round(sumV[r]! / cnt[r]!, 1));
    }
    alive.sort((a, b) => a - b);
    const s = this.series;
    const dt = s.tMs.length === 0 ? 0 : (now - s.tMs[s.tMs.length - 1]!) / 1000;
    const per = (v: number): number => (dt === 0 || up === 0 ? 0 : round(v / up / dt, 1));
    s.tMs.push(now);
    s.up.push(up);
    s.agreement.push(up === 0 ? 1 : round(1 - this.tracker.total / (up * up), 5));
    s.aliveMin.push(alive[0] ?? 0);
    s.aliveMedian.push(alive[Math.floor(alive.length / 2)] ?? 0);
    s.aliveMax.push(alive[alive.length - 1] ?? 0);
    s.msgsPerNodePerSec.push(per(msgs - this.lastTotals.msgs));
    s.bytesPerNodePerSec.push(per(bytes - this.lastTotals.bytes));
    s.streamBytesPerNodePerSec.push(per(stream - this.lastTotals.stream));
    this.lastTotals = { msgs, bytes, stream };
    if (this.repl && this.checks) {
      this.checks.sample();
      const total = this.repl.totalBytes();
      this.replSeries.tMs.push(now);
      this.replSeries.bytesPerNodePerSec.push(per(total - this.lastReplBytes));
      this.lastReplBytes = total;
    }
  }

  // ---------------------------------------------------------------- verdicts

  private finish(): SimResult {
    const sc = this.sc;
    if (this.pendingHeal) this.heals.push({ atMs: this.pendingHeal.atMs, convergedAfterMs: -1 });
    const invariants: InvariantResult[] = [this.convergedVerdict(), this.falseDeathVerdict()];
    const brokers = this.brokerVerdict();
    if (brokers) invariants.push(brokers);
    if (this.checks) {
      invariants.push(this.checks.purgeVerdict(), this.checks.equalityVerdict(this.workloadUntil, this.sc.durationMs), this.checks.resurrectionVerdict());
      invariants.push(this.readers ? this.readers.verdict() : { name: READERS_INVARIANT, status: 'not-measured', evidence: 'not measured: the workload has no readers' });
    } else {
      invariants.push(
        { name: 'presence of dead and departed nodes purged everywhere: within 1 s of each confirmation and at the end', status: 'not-measured', evidence: NO_WORKLOAD },
        { name: 'presence and history replicas equal at the end: same entries, same order', status: 'not-measured', evidence: NO_WORKLOAD },
        { name: 'no resurrected or duplicated history entries', status: 'not-measured', evidence: NO_WORKLOAD },
        { name: READERS_INVARIANT, status: 'not-measured', evidence: NO_WORKLOAD },
      );
    }
    const crashes = this.spreads.filter((f) => f.spread.kind === 'crash');
    const totals = this.net.totals();
    const nodeSeconds = this.series.up.reduce((a, u, k) => a + (k === 0 ? 0 : (u * (this.series.tMs[k]! - this.series.tMs[k - 1]!)) / 1000), 0);
    const perNode = (v: number): number => (nodeSeconds === 0 ? 0 : round(v / nodeSeconds, 1));
    const options = swimOptions(sc.profile, sc.swim);
    const conv = this.tracker.converged ? Math.max(0, this.tracker.convergedSince - this.lastFault) : -1;
    return {
      scenario: { name: sc.name, description: sc.description, expected: sc.expected, source: sc.source },
      seed: this.seed,
      nodes: sc.nodes,
      durationMs: sc.durationMs,
      profile: sc.profile,
      swim: { ...options },
      passed: invariants.every((x) => x.status !== 'fail'),
      invariants,
      measurements: {
        detection: {
          crashes: crashes.length,
          firstSuspectMs: dist(crashes.map((f) => f.spread.firstSuspectMs).filter((x) => x >= 0)),
          perObserverDeadMs: dist(crashes.flatMap((f) => f.deadTimes)),
          deadEverywhereMs: dist(crashes.map((f) => f.spread.allAwareMs).filter((x) => x >= 0)),
          neverDeadEverywhere: crashes.filter((f) => f.spread.allAwareMs < 0).length,
        },
        dissemination: this.spreads.slice(0, MAX_CURVES).map((f) => ({ ...f.spread, curve: thin(f.spread.curve) })),
        falsePositives: { deadDeclarations: this.falseDeaths, episodes: this.falseEpisodes.size, suspicionsOfHealthy: this.suspicionsOfHealthy, ofLiveNodes: this.deadOfLive, ofStalledNodes: this.deadOfStalled, graceMs: this.graceMs, ofReachable: this.deadOfReachable, ofReachableExamples: this.reachableExamples },
        traffic: {
          msgsPerNodePerSec: perNode(totals.msgsSent),
          bytesPerNodePerSec: perNode(totals.bytesSent),
          streamBytesPerNodePerSec: perNode(totals.streamBytesSent),
          framesLost: this.net.framesLost,
          totals,
        },
        convergence: { lastFaultMs: this.lastFault, convergedAfterLastFaultMs: conv, heals: this.heals },
        antiEntropy: this.antiEntropyLine(),
      },
      replication: this.replicationResult(nodeSeconds),
      notModelled: this.notModelled,
      events: this.events,
      series: this.series,
      views: {
        rows: this.rowLabels(),
        tMs: this.series.tMs,
        agreement: this.viewAgreement,
        aliveSeen: this.viewAlive,
      },
    };
  }

  private antiEntropyLine(): string {
    if (!this.repl) return NO_WORKLOAD;
    const c = this.repl.counters();
    const t = this.repl.streamTraffic();
    const kb = (n: number | undefined): string => `${round((n ?? 0) / 1024, 1)} KiB`;
    return `${c.merkleSessions} Merkle sessions (${c.merkleCompleted} completed, ${kb(t.streamBytes.merkle)}), ${c.bulkSessions} bulk catch-ups (${kb(t.streamBytes.bulk)}), ${c.deltaCatchUps} digest catch-ups (${kb(t.catchUpDatagramBytes + (t.streamBytes['catch-up'] ?? 0))}), ${t.digests} digests on acks (${kb(t.digestBytes)})`;
  }

  private replicationResult(nodeSeconds: number): ReplicationResult {
    const sc = this.sc;
    if (!this.repl || !this.checks || !this.driver) {
      return { status: NO_WORKLOAD, workload: null, operations: null, antiEntropy: null, traffic: null, convergence: null, order: null, series: null, delivery: null };
    }
    const t = this.repl.streamTraffic();
    const total = this.repl.totalBytes();
    return {
      status: 'measured',
      workload: sc.workload ? { ...sc.workload, until: this.workloadUntil } : null,
      operations: { ...this.driver.counts },
      antiEntropy: this.repl.counters(),
      traffic: {
        bytesPerNodePerSec: nodeSeconds === 0 ? 0 : round(total / nodeSeconds, 1),
        deltaDatagramBytes: t.deltaDatagramBytes,
        catchUpDatagramBytes: t.catchUpDatagramBytes,
        digestBytes: t.digestBytes,
        digests: t.digests,
        streamBytes: t.streamBytes,
        streams: t.streams,
        datagramsLost: t.datagramsLost,
      },
      convergence: { heals: this.checks.catchUps, equalSinceMs: this.checks.equalSinceMs },
      order: this.orderAgainstRealTime(),
      series: this.replSeries,
      delivery: this.sc.regions.length === 0 ? null : Object.fromEntries([...this.deliveries.keys()].sort().map((k) => [k, dist(this.deliveries.get(k)!)])),
    };
  }

  /** Consecutive history entries (on the first live replica) whose HLC order contradicts their publish times. */
  private orderAgainstRealTime(): ReplicationResult['order'] {
    const ref = this.net.nodes.map((n) => this.repl!.current(n)).find((r) => r !== undefined && !r.node.m.hasLeft);
    if (!ref) return null;
    const at = this.driver!.publishedAt;
    let pairs = 0;
    let against = 0;
    let max = 0;
    const h = ref.rep.replica.history;
    for (const ch of h.channelNames()) {
      let prev: number | undefined;
      for (const e of h.entries(ch)) {
        const t = at.get(`${e.node}:${e.epoch}:${e.seq}`);
        if (t === undefined) continue;
        if (prev !== undefined) {
          pairs++;
          if (t < prev) {
            against++;
            max = Math.max(max, prev - t);
          }
        }
        prev = t;
      }
    }
    return { pairs, againstRealTime: against, maxInversionMs: round(max, 1) };
  }

  private rowLabels(): string[] {
    const rows = this.viewAgreement.length;
    const out: string[] = [];
    for (let r = 0; r < rows; r++) {
      const a = Math.ceil((r * this.cap) / rows);
      const b = Math.ceil(((r + 1) * this.cap) / rows) - 1;
      out.push(a === b ? `n${a}` : `n${a}–n${b}`);
    }
    return out;
  }

  private convergedVerdict(): InvariantResult {
    const name = 'membership converged: every live node sees the same alive set';
    const within = this.sc.convergedWithinMs;
    const last = this.lastFault;
    const now = this.net.now;
    if (this.tracker.converged) {
      const took = Math.max(0, this.tracker.convergedSince - last);
      const ok = took <= within;
      if (this.tracker.convergedSince <= last) {
        return { name, status: 'pass', evidence: `all ${this.tracker.upCount} live nodes agree on ${this.tracker.upCount} alive members, without interruption since ${fmtMs(this.tracker.convergedSince)}: the faults (the last at ${fmtMs(last)}) never broke convergence` };
      }
      const again = this.rediverged > last ? `; it diverged again at ${fmtMs(this.rediverged)} (no fault then) and re-converged` : '';
      return {
        name,
        status: ok ? 'pass' : 'fail',
        evidence: `all ${this.tracker.upCount} live nodes agree on ${this.tracker.upCount} alive members since ${fmtMs(this.tracker.convergedSince)}, ${fmtMs(took)} after the last fault at ${fmtMs(last)} (limit ${fmtMs(within)})${again}`,
      };
    }
    const bad = this.tracker.disagreements(3);
    let count = 0;
    for (let o = 0; o < this.net.nodes.length; o++) if (this.tracker.isUp(o) && this.tracker.wrongOf(o) > 0) count++;
    const list = (xs: number[]): string => (xs.length <= 5 ? xs.map((i) => `n${i}`).join(', ') : `${xs.slice(0, 5).map((i) => `n${i}`).join(', ')} and ${xs.length - 5} more`);
    const examples = bad.map((b) => `n${b.observer} misses ${b.missing.length} (${list(b.missing)}) and wrongly holds ${b.extra.length} alive${b.extra.length ? ` (${list(b.extra)})` : ''}`).join('; ');
    const early = now - last < within ? ` (the run ended ${fmtMs(now - last)} after the last fault, before the ${fmtMs(within)} limit: lengthen the run)` : '';
    return { name, status: 'fail', evidence: `not converged at the end (${fmtMs(now)}): ${count} of ${this.tracker.upCount} live nodes disagree; ${examples}${early}` };
  }

  private falseDeathVerdict(): InvariantResult {
    const name = 'no healthy, reachable node declared dead';
    const rule = `healthy = up, and not crashed, restarted, stalled or partitioned within ${fmtMs(this.graceMs)}; lossy or cut single links do not count`;
    if (this.falseDeaths === 0) return { name, status: 'pass', evidence: `0 declarations (${this.suspicionsOfHealthy} suspicions of healthy nodes, all refuted; ${rule})` };
    return {
      name,
      status: 'fail',
      evidence: `${this.falseDeaths} declarations about ${this.falseEpisodes.size} (node, incarnation) episodes, e.g. ${this.falseExamples.join('; ')} (${rule})`,
    };
  }

  /** When the scenario has brokers: every live node lists exactly the live brokers. */
  private brokerVerdict(): InvariantResult | undefined {
    const isBroker = (i: number): boolean => (this.roles[i] ?? []).includes('broker');
    if (!this.roles.some((r) => r.includes('broker'))) return undefined;
    const want: string[] = [];
    for (let i = 0; i < this.net.nodes.length; i++) if (this.tracker.isUp(i) && isBroker(i)) want.push(`n${i}`);
    const key = [...want].sort().join(',');
    const wrong: string[] = [];
    let observers = 0;
    for (let o = 0; o < this.net.nodes.length; o++) {
      if (!this.tracker.isUp(o)) continue;
      observers++;
      const got = this.net.nodes[o]!.m.brokers().map((b) => b.name).sort();
      if (got.join(',') !== key && wrong.length < 3) wrong.push(`n${o} lists ${got.length} (${got.slice(0, 5).join(', ')}${got.length > 5 ? ', …' : ''})`);
    }
    const name = 'broker lists agree: every live node lists exactly the live brokers';
    const listed = want.length <= 6 ? want.join(', ') : `${want.length} brokers`;
    if (wrong.length === 0) return { name, status: 'pass', evidence: `all ${observers} live nodes list ${listed} at the end` };
    return { name, status: 'fail', evidence: `expected ${listed}; ${wrong.join('; ')}` };
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Quantiles (nearest rank) of `values` in ms; zeros when empty. */
export function dist(values: number[]): Distribution {
  if (values.length === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number): number => round(s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!, 1);
  return { count: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: round(s[s.length - 1]!, 1) };
}

/** Keeps at most ~100 points of a step curve (its shape, the first and the last point). */
function thin(curve: [number, number][]): [number, number][] {
  if (curve.length <= 100) return curve.map(([t, f]) => [round(t, 1), round(f, 4)]);
  const out: [number, number][] = [];
  const every = curve.length / 100;
  for (let k = 0; k < 100; k++) {
    const [t, f] = curve[Math.floor(k * every)]!;
    out.push([round(t, 1), round(f, 4)]);
  }
  const [t, f] = curve[curve.length - 1]!;
  out.push([round(t, 1), round(f, 4)]);
  return out;
}

/** `12.3 s`, `450 ms`, `2 min 5 s`. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Math.abs(ms) < 120_000) return `${round(ms / 1000, 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms - m * 60_000) / 1000);
  return s === 0 ? `${m} min` : `${m} min ${s} s`;
}
