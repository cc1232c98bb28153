/**
 * What the scenario engine (engine.ts) needs from a cluster: the simulated one
 * (simulated.ts: SimNetwork in virtual time) or real agent processes
 * (../real/process-backend.ts). The engine owns the timeline, the bookkeeping of who is
 * impaired, the invariants and the result; a backend only carries the operations out and
 * reports membership events back through {@link EngineHooks}.
 *
 * Operations return `MaybePromise`: the simulated backend is synchronous (a run is one
 * synchronous call, so its result is a pure function of the seed), the process backend
 * awaits HTTP calls and process starts. The engine chains with {@link then}, which stays
 * synchronous when nothing is a promise.
 */
import type { Random, SwimOptions } from '../../lib/internal.js';
import type { InvariantResult, ReplicationResult, Series } from './result.js';

export type MaybePromise<T> = T | Promise<T>;

/** Runs `fn` on `x` now when it is a value, after it when it is a promise. */
export function then<T, U>(x: MaybePromise<T>, fn: (v: T) => MaybePromise<U>): MaybePromise<U> {
  return x instanceof Promise ? x.then(fn) : fn(x);
}

/**
 * What a scenario may ask that a backend may not be able to do. A backend lists the ones
 * it cannot do, with the reason, in {@link ClusterBackend.cannot}; the engine reports each
 * use of one in `notModelled` (and skips it), the same way for every backend.
 */
export type Capability =
  /** Membership option overrides (`swim` in the scenario) on top of the profile. */
  | 'swim-overrides'
  /** Random extra delay per datagram (`jitterMs` of the network, a link or a step). */
  | 'jitter'
  /** Per-node clock offset and drift (`clock-skew` steps). */
  | 'clock-skew'
  /** Inter-region link settings (`regions` and `interRegion`). */
  | 'inter-region'
  /** Driving the scenario's workload (presence, history, readers) and checking replicas. */
  | 'workload';

/** Link settings of a `link` or `network` step. */
export interface LinkSettings {
  latencyMs?: number;
  jitterMs?: number;
  loss?: number;
}

/** What the engine offers its backend. */
export interface EngineHooks {
  /**
   * A membership event seen by `observer` about `subject` (node indices). A backend
   * reports only events about other nodes of the run.
   */
  memberEvent(type: string, observer: number, subject: number, incarnation: unknown): void;
  /** Schedules the timeline (steps, churn, workload) from the current time on. */
  schedule(): void;
  /** One sample at time `tMs`; `last` for the final one (the process backend waits for its scrape then). */
  sample(tMs: number, last: boolean): MaybePromise<void>;
  /** Adds a line to the result's event list. */
  note(what: string): void;
  /** A node (index) is up: the tracker counts it from now on. */
  booted(i: number): void;
}

/** A workload the backend drives and checks (the simulated backend's replication). */
export interface WorkloadProbe {
  /** Starts the workload and any test fault (at schedule time). */
  start(): void;
  nodeDown(i: number): void;
  ended(i: number): void;
  heal(): void;
  sample(now: number, per: (v: number) => number): void;
  verdicts(): InvariantResult[];
  antiEntropyLine(): string;
  result(nodeSeconds: number): ReplicationResult;
}

/** A cluster the engine can run a scenario on. */
export interface ClusterBackend {
  /** How the backend is named in "not applied in …" lines (e.g. `--real`). */
  readonly name: string;
  /** The capabilities it lacks, each with the reason. */
  readonly cannot: Partial<Record<Capability, string>>;
  /**
   * True for wall-clock runs: times in the result are rounded to the ms, and the moment a
   * heal converged is read from the tracker (events reach the engine after the fact);
   * virtual time keeps the exact instant of the engine's own observation.
   */
  readonly wallClock: boolean;
  /** The runner's own random choices (`random:` selectors, churn). */
  readonly random: Random;
  /** A random source for checking selectors before the run. */
  checkRandom(): Random;
  /** Membership options the nodes run with (for the false-death grace). */
  swimOptions(): SwimOptions;
  /** Time on the timeline, in ms. */
  now(): number;
  /** Runs `fn` at timeline time `ms`. */
  at(ms: number, fn: () => MaybePromise<void>): void;
  /** Nodes created so far (indices below it exist). */
  size(): number;
  /** The node's process is running (it may be leaving). */
  isRunning(i: number): boolean;
  /** The node is stalled at `now`. */
  isStalled(i: number, now: number): boolean;
  /** The node's own count of alive members, when cheap; else the engine counts its tracked view. */
  aliveSeen(i: number): number | undefined;
  /** Starts the run: nodes, `hooks.schedule()` and every `hooks.sample` up to the end. */
  drive(hooks: EngineHooks, roles: readonly string[][]): MaybePromise<void>;
  /** The workload driver, when the backend can drive one and the scenario has one. */
  workload(live: (i: number) => boolean): WorkloadProbe | undefined;

  crash(i: number): MaybePromise<void>;
  /** Starts node `i` again; `up` is called once it is up (before it joins `seeds`). */
  restart(i: number, persisted: boolean, seeds: number[], up: () => void): MaybePromise<void>;
  /** Node `i` leaves; `gone(same)` when it is gone (`same`: no new process since). */
  leave(i: number, gone: (same: boolean) => void): MaybePromise<void>;
  /** Adds node `i` with `roles`, joining through `seeds`; `up` once it is up. */
  add(i: number, roles: string[], seeds: number[], up: () => void): MaybePromise<void>;
  stall(i: number, ms: number): MaybePromise<void>;
  partition(groups: number[][]): MaybePromise<void>;
  partitionOneWay(from: number[], to: number[]): MaybePromise<void>;
  heal(): MaybePromise<void>;
  setLinks(from: number[], to: number[], link: LinkSettings, oneWay: boolean): MaybePromise<void>;
  setNetwork(link: LinkSettings): MaybePromise<void>;
  setSkew(i: number, offsetMs: number, driftPpm: number): void;

  /** Adds one sample's traffic (one value to each of the three per-node series at index `k`). */
  sampleTraffic(series: Series, k: number, up: number, per: (v: number) => number, last: boolean): MaybePromise<void>;
  /** Each observer's broker list at the end (absent: not asked; a string: the error). */
  brokerLists(observers: number[]): MaybePromise<Map<number, string[] | string>>;
  /** Traffic totals of the whole run. */
  trafficTotals(): { msgs: number; bytes: number; stream: number; framesLost: number; totals: Record<string, number> };
  /** Called once the timeline is over, before the verdicts (the process backend waits for its scrapes and self-check). */
  settle(): MaybePromise<void>;
}
