import type { ProfileName, SwimOptions } from '../lib/internal.js';
import type { Selector } from './node-set.js';

// The scenario file format (simulations/scenario.ts validates and loads it).

/** A duration: milliseconds as a number, or a string with a unit (`500ms`, `60s`, `5m`, `1h`). */
export type Duration = number | string;

/** Link settings; every field optional (unset fields keep their value). */
export interface LinkSettings {
  /** One-way delay in ms. @default unchanged (1 at start) */
  latencyMs?: number;
  /** Extra uniform delay in [0, jitterMs). @default unchanged (0 at start) */
  jitterMs?: number;
  /** Datagram loss probability in [0, 1]. @default unchanged (0 at start) */
  loss?: number;
}

/** What every timeline step has. */
export interface StepBase {
  /** When the step happens, from the start of the run. */
  at: Duration;
  /** Apply to the selected nodes one after another, this far apart. @default 0 (all at once) */
  stagger?: Duration;
  /** Repeat the step: `every` apart, `times` times in all (the first included). @default once */
  repeat?: { every: Duration; times: number };
}

/** One timeline step. */
export type Step = StepBase &
  (
    | { action: 'crash'; nodes: Selector }
    | { action: 'restart'; nodes: Selector; /** Start above the last incarnation (the daemon persists it). @default true */ persisted?: boolean }
    | { action: 'leave'; nodes: Selector }
    | { action: 'add'; count: number; /** Roles of the new nodes. @default [] */ roles?: string[]; /** Seeds to join through. @default the first up node */ join?: Selector }
    | { action: 'partition'; groups: Selector[] }
    | { action: 'partition-one-way'; from: Selector; to: Selector }
    | { action: 'heal' }
    | ({ action: 'link'; from: Selector; to: Selector; /** Only from → to. @default false */ oneWay?: boolean } & LinkSettings)
    | ({ action: 'network' } & LinkSettings)
    | { action: 'stall'; nodes: Selector; duration: Duration }
    | { action: 'clock-skew'; nodes: Selector; /** Offset of the nodes' clocks. @default 0 */ offsetMs?: number; /** Rate error in parts per million. @default 0 */ driftPpm?: number }
  );

/** The names of the timeline actions. */
export const ACTIONS = ['crash', 'restart', 'leave', 'add', 'partition', 'partition-one-way', 'heal', 'link', 'network', 'stall', 'clock-skew'] as const;

/** Continuous churn: nodes go down and come back at a steady rate. */
export interface Churn {
  /** Fraction of the nodes replaced per minute (0.1 = 10 %). */
  fractionPerMinute: number;
  /** Start of the churn. @default 0 */
  from?: Duration;
  /** End of the churn (no new departures after it). @default the end of the run */
  until?: Duration;
  /** `crash-restart`: crash, restart later (persisted); `leave-rejoin`: graceful leave, restart later. @default 'crash-restart' */
  mode?: 'crash-restart' | 'leave-rejoin';
  /** How long a departed node stays down. @default 30s */
  downFor?: Duration;
}

/**
 * The application workload, run through the production replication runtime
 * (lib/replication/replicator.ts, lib/replication/channels-api.ts) on every node (see
 * simulations/replication.ts).
 * Operations go to random nodes that are up and not leaving.
 */
export interface Workload {
  /** When the load starts. Validated into ms. @default 0 */
  from?: Duration;
  /**
   * When the load stops, so that the replicas can settle before the final equality
   * check. Validated into ms. @default 30 s before the end of the run (a quarter of the
   * run before its end for runs under 2 minutes), computed when the run starts (so a
   * shortened run keeps it)
   */
  until?: Duration;
  presence?: {
    /** Distinct channels (`ch0`, `ch1`, ...). @default 100 */
    channels?: number;
    /** Presence joins per second, cluster-wide. @default 0 */
    joinsPerSecond?: number;
    /** Presence leaves per second, cluster-wide (of clients joined earlier through a node still up). @default 0 */
    leavesPerSecond?: number;
  };
  publish?: {
    /** Distinct channels (`ch0`, `ch1`, ...). @default 100 */
    channels?: number;
    /** Publishes per second, cluster-wide. @default 0 */
    perSecond?: number;
    /** Payload size in bytes. @default 256 */
    payloadBytes?: number;
    /** History entries kept per channel. @default 100 */
    historyLength?: number;
    /** History time to live; 0 keeps entries until the cap evicts them. Validated into ms. @default 0 */
    ttl?: Duration;
  };
  /**
   * History readers with cursors (simulations/readers.ts): reader k follows
   * `ch<k mod publish.channels>` and resumes against a random live node every
   * 0.5–1.5 × `interval`; checked by the "readers lose nothing silently" invariant.
   * Needs `publish`. @default none
   */
  readers?: {
    /** Readers. @default 8 */
    count?: number;
    /** Mean time between two resumes of one reader. Validated into ms. @default 5s */
    interval?: Duration;
    /** Entries per page read. @default 50 */
    limit?: number;
  };
}

/** Parameters of the invariants. */
export interface InvariantSettings {
  /** Every live node must see the same alive set within this long after the last fault. @default 60s */
  convergedWithin?: Duration;
  /**
   * A member counts as healthy and reachable (so must not be declared dead) unless it
   * was down, stalled, restarted or inside a partition (two-way or one-way) within this
   * window. Lossy or cut single links do not exempt it: indirect probes exist for them.
   * @default the suspicion timeout at its maximum for the cluster size, plus 10 s
   */
  falseDeathGrace?: Duration;
}

/** A scenario as written in a file. */
export interface ScenarioInput {
  /** Short kebab-case name. */
  name: string;
  /** One line shown by `clusterd sim --list`. */
  description: string;
  /** The expected outcome, in words (what the invariants should say, and why). */
  expected: string;
  /** Nodes started at time 0 (named n0, n1, ...). `--nodes` overrides it. */
  nodes: number;
  /** How long the run lasts in virtual time. */
  duration: Duration;
  /** `converged`: the nodes start knowing each other; `join`: all join through n0. @default 'converged' */
  start?: 'converged' | 'join';
  /** Membership timing profile. @default 'lan' */
  profile?: ProfileName;
  /** Overrides of the profile (e.g. Lifeguard off). @default {} */
  swim?: Partial<SwimOptions>;
  /** Initial global link settings. @default { latencyMs: 1, jitterMs: 0, loss: 0 } */
  network?: LinkSettings;
  /**
   * Regions: the initial nodes split into as many contiguous blocks of (nearly) equal size,
   * in order (`["A", "B", "C"]` with 30 nodes: n0–n9 in A, n10–n19 in B, n20–n29 in C).
   * Selectors name them `region:A`. Nodes added later belong to no region. @default none
   */
  regions?: string[];
  /**
   * The link between two nodes of different regions (inside a region, and for nodes of
   * no region, `network` applies). `link` steps between region selectors override it
   * per pair. Unset fields take `network`'s value. @default the `network` link
   */
  interRegion?: LinkSettings;
  /** Roles of the initial nodes: role → selector (e.g. `{ "broker": "0%..10%" }`). @default {} */
  roles?: Record<string, Selector>;
  /** The timeline. @default [] */
  timeline?: Step[];
  /** Continuous churn. @default none */
  churn?: Churn;
  /** Application workload, replicated by the production runtime. @default none */
  workload?: Workload;
  /** Invariant parameters. @default {} */
  invariants?: InvariantSettings;
  /** Sampling period of the time series and of the per-node views. @default 1s */
  sampleEvery?: Duration;
}

/** A validated scenario: durations in ms, defaults filled in. */
export interface Scenario {
  name: string;
  description: string;
  expected: string;
  nodes: number;
  durationMs: number;
  start: 'converged' | 'join';
  profile: ProfileName;
  swim: Partial<SwimOptions>;
  network: Required<LinkSettings>;
  /** Region names; empty without regions. */
  regions: string[];
  interRegion: Required<LinkSettings> | undefined;
  roles: Record<string, Selector>;
  timeline: ResolvedStep[];
  churn: Required<Omit<Churn, 'from' | 'until' | 'downFor'>> & { fromMs: number; untilMs: number; downForMs: number } | undefined;
  workload: Workload | undefined;
  convergedWithinMs: number;
  /** undefined: computed from the cluster size. */
  falseDeathGraceMs: number | undefined;
  sampleEveryMs: number;
  /** Where it was loaded from (for messages). */
  source: string;
}

/** Omit over each member of a union. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A timeline step with its times in ms. */
export type ResolvedStep = DistributiveOmit<Step, 'at' | 'stagger' | 'repeat' | 'duration'> & {
  atMs: number;
  staggerMs: number;
  repeat: { everyMs: number; times: number };
  /** For `stall`. */
  durationMs?: number;
};
