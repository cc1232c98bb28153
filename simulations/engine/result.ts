/**
 * The shape of a scenario run's result (the JSON file, the HTML report and the CLI text
 * read it) and the small formatting helpers every backend's result uses.
 */
import type { ReplicationTraffic, ReplicatorCounters } from '../replication.js';
import type { CatchUp } from '../replication-checks.js';
import type { Workload } from '../scenario.js';
import type { WorkloadCounts } from '../workload.js';

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
  /** Replication traffic by what it was for (see {@link ReplicationTraffic}), and its rate. */
  traffic: (ReplicationTraffic & {
    /** All replication bytes (delta and catch-up datagrams, digests on acks, stream frames) per node up per second. */
    bytesPerNodePerSec: number;
  }) | null;
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
      ofReachable: number;
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

export function round(v: number, digits: number): number {
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
export function thin(curve: [number, number][]): [number, number][] {
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
