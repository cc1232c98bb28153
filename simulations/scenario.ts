/**
 * Scenario files for the simulation runner: a timeline of faults over a simulated
 * cluster, plus the workload and the invariants' parameters. JSON files or TypeScript
 * modules exporting a default scenario object; both go through {@link validateScenario},
 * which names the path of the first bad field (`timeline[3].nodes`).
 */
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROFILES, isClusterError, swimOptions } from '../lib/internal.js';
import type { ProfileName, SwimOptions } from '../lib/internal.js';
import { checkSelector } from './node-set.js';
import type { Selector } from './node-set.js';

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

interface StepBase {
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

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A timeline step with its times in ms. */
export type ResolvedStep = DistributiveOmit<Step, 'at' | 'stagger' | 'repeat' | 'duration'> & {
  atMs: number;
  staggerMs: number;
  repeat: { everyMs: number; times: number };
  /** For `stall`. */
  durationMs?: number;
};

/** A scenario file that does not validate: `path` locates the bad field. */
export class ScenarioError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
    readonly source = '',
  ) {
    super(`${source ? `${source}: ` : ''}${path || '(scenario)'}: ${problem}`);
    this.name = 'ScenarioError';
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a {@link Duration}; throws a ScenarioError at `path`. */
export function parseDuration(v: unknown, path: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new ScenarioError(path, `must be a non-negative number of ms, got ${JSON.stringify(v)}`);
    return v;
  }
  if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(v.trim());
    if (m) return Number(m[1]) * UNITS[m[2]!]!;
  }
  throw new ScenarioError(path, `must be a duration (ms as a number, or "500ms", "60s", "5m", "1h"), got ${JSON.stringify(v)}`);
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) throw new ScenarioError(path, `must be an object, got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  return Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : JSON.stringify(v);
}

function onlyKeys(o: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new ScenarioError(join(path, k), `unknown field (expected one of: ${allowed.join(', ')})`);
  }
}

function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new ScenarioError(path, `must be a non-empty string, got ${describe(v)}`);
  return v;
}

function int(v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ScenarioError(path, `must be an integer in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

function num(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new ScenarioError(path, `must be a number in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new ScenarioError(path, `must be true or false, got ${describe(v)}`);
  return v;
}

function selector(v: unknown, path: string): Selector {
  const problem = checkSelector(v);
  if (problem) throw new ScenarioError(path, problem);
  return v as Selector;
}

function link(o: Obj, path: string, into: LinkSettings): void {
  if (o.latencyMs !== undefined) into.latencyMs = num(o.latencyMs, join(path, 'latencyMs'), 0, 600_000);
  if (o.jitterMs !== undefined) into.jitterMs = num(o.jitterMs, join(path, 'jitterMs'), 0, 600_000);
  if (o.loss !== undefined) into.loss = num(o.loss, join(path, 'loss'), 0, 1);
}

/** Largest simulated cluster accepted (the network's link keys hold 16-bit indices). */
export const MAX_NODES = 65_535;

const TOP = ['$schema', 'name', 'description', 'expected', 'nodes', 'duration', 'start', 'profile', 'swim', 'network', 'regions', 'interRegion', 'roles', 'timeline', 'churn', 'workload', 'invariants', 'sampleEvery'];
const STEP_FIELDS: Record<(typeof ACTIONS)[number], string[]> = {
  crash: ['nodes'],
  restart: ['nodes', 'persisted'],
  leave: ['nodes'],
  add: ['count', 'roles', 'join'],
  partition: ['groups'],
  'partition-one-way': ['from', 'to'],
  heal: [],
  link: ['from', 'to', 'oneWay', 'latencyMs', 'jitterMs', 'loss'],
  network: ['latencyMs', 'jitterMs', 'loss'],
  stall: ['nodes', 'duration'],
  'clock-skew': ['nodes', 'offsetMs', 'driftPpm'],
};
const ROLE = /^[A-Za-z0-9_.:\-/]{1,64}$/;
const REGION = /^[A-Za-z0-9_-]{1,32}$/;

/** The region (index into `regions`) of initial node `i` of `nodes`: contiguous blocks of nearly equal size. */
export function regionIndexOf(i: number, nodes: number, regions: number): number {
  return Math.floor((i * regions) / nodes);
}

/**
 * Validates a scenario object (parsed JSON or a module's default export) and fills in
 * defaults. `nodes` overrides the node count (`--nodes`). Throws {@link ScenarioError}.
 */
export function validateScenario(raw: unknown, source = '', nodes?: number): Scenario {
  try {
    return validate(raw, source, nodes);
  } catch (err) {
    if (err instanceof ScenarioError && !err.source && source) throw new ScenarioError(err.path, err.problem, source);
    throw err;
  }
}

function validate(raw: unknown, source: string, nodesOverride: number | undefined): Scenario {
  const o = obj(raw, '');
  onlyKeys(o, TOP, '');
  const name = str(o.name, 'name');
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new ScenarioError('name', `must be kebab-case (a-z, 0-9, -), got ${JSON.stringify(name)}`);
  const description = str(o.description, 'description');
  const expected = str(o.expected, 'expected');
  const nodes = nodesOverride ?? int(o.nodes, 'nodes', 1, MAX_NODES);
  if (nodesOverride !== undefined) int(nodesOverride, '--nodes', 1, MAX_NODES);
  const durationMs = parseDuration(o.duration, 'duration');
  if (durationMs <= 0) throw new ScenarioError('duration', 'must be positive');
  const start = o.start ?? 'converged';
  if (start !== 'converged' && start !== 'join') throw new ScenarioError('start', `must be "converged" or "join", got ${describe(start)}`);
  const profile = o.profile ?? 'lan';
  if (typeof profile !== 'string' || !(profile in PROFILES)) throw new ScenarioError('profile', `must be one of ${Object.keys(PROFILES).join(', ')}, got ${describe(profile)}`);
  const swim = o.swim === undefined ? {} : (obj(o.swim, 'swim') as Partial<SwimOptions>);
  try {
    swimOptions(profile as ProfileName, swim);
  } catch (err) {
    if (!isClusterError(err)) throw err;
    // ClusterError messages name the option first, or quoted when it is unknown
    const key = /"(\w+)"/.exec(err.message) ?? /^(\w+)/.exec(err.message);
    throw new ScenarioError(`swim${key ? `.${key[1]}` : ''}`, err.message);
  }
  const network: Required<LinkSettings> = { latencyMs: 1, jitterMs: 0, loss: 0 };
  if (o.network !== undefined) {
    const n = obj(o.network, 'network');
    onlyKeys(n, ['latencyMs', 'jitterMs', 'loss'], 'network');
    link(n, 'network', network);
  }
  const regions: string[] = [];
  if (o.regions !== undefined) {
    if (!Array.isArray(o.regions) || o.regions.length < 2) throw new ScenarioError('regions', `must be an array of at least two region names, got ${describe(o.regions)}`);
    o.regions.forEach((r, i) => {
      if (typeof r !== 'string' || !REGION.test(r)) throw new ScenarioError(join('regions', i), `region names must match ${REGION}, got ${describe(r)}`);
      if (regions.includes(r)) throw new ScenarioError(join('regions', i), `duplicate region ${JSON.stringify(r)}`);
      regions.push(r);
    });
    if (regions.length > nodes) throw new ScenarioError('regions', `${regions.length} regions need at least as many nodes (there are ${nodes})`);
  }
  let interRegion: Required<LinkSettings> | undefined;
  if (o.interRegion !== undefined) {
    if (regions.length === 0) throw new ScenarioError('interRegion', 'needs regions');
    const n = obj(o.interRegion, 'interRegion');
    onlyKeys(n, ['latencyMs', 'jitterMs', 'loss'], 'interRegion');
    interRegion = { ...network };
    link(n, 'interRegion', interRegion);
  }
  const roles: Record<string, Selector> = {};
  if (o.roles !== undefined) {
    for (const [role, sel] of Object.entries(obj(o.roles, 'roles'))) {
      if (!ROLE.test(role)) throw new ScenarioError(join('roles', role), `role names must match ${ROLE}`);
      roles[role] = selector(sel, join('roles', role));
    }
  }
  const timeline: ResolvedStep[] = [];
  if (o.timeline !== undefined) {
    if (!Array.isArray(o.timeline)) throw new ScenarioError('timeline', `must be an array, got ${describe(o.timeline)}`);
    o.timeline.forEach((s, i) => timeline.push(step(s, join('timeline', i), durationMs)));
  }
  let churn: Scenario['churn'];
  if (o.churn !== undefined) {
    const c = obj(o.churn, 'churn');
    onlyKeys(c, ['fractionPerMinute', 'from', 'until', 'mode', 'downFor'], 'churn');
    const mode = c.mode ?? 'crash-restart';
    if (mode !== 'crash-restart' && mode !== 'leave-rejoin') throw new ScenarioError('churn.mode', `must be "crash-restart" or "leave-rejoin", got ${describe(mode)}`);
    const fromMs = c.from === undefined ? 0 : parseDuration(c.from, 'churn.from');
    const untilMs = c.until === undefined ? durationMs : parseDuration(c.until, 'churn.until');
    if (untilMs < fromMs) throw new ScenarioError('churn.until', 'must not be before churn.from');
    churn = {
      fractionPerMinute: num(c.fractionPerMinute, 'churn.fractionPerMinute', 0, 1),
      mode,
      fromMs,
      untilMs,
      downForMs: c.downFor === undefined ? 30_000 : parseDuration(c.downFor, 'churn.downFor'),
    };
  }
  const workload = o.workload === undefined ? undefined : validateWorkload(o.workload, durationMs);
  const inv = o.invariants === undefined ? {} : obj(o.invariants, 'invariants');
  onlyKeys(inv, ['convergedWithin', 'falseDeathGrace'], 'invariants');
  const sampleEveryMs = o.sampleEvery === undefined ? 1000 : parseDuration(o.sampleEvery, 'sampleEvery');
  if (sampleEveryMs < 10) throw new ScenarioError('sampleEvery', 'must be at least 10 ms');
  return {
    name, description, expected, nodes, durationMs, start: start as Scenario['start'], profile: profile as ProfileName, swim, network, regions, interRegion, roles, timeline, churn, workload,
    convergedWithinMs: inv.convergedWithin === undefined ? 60_000 : parseDuration(inv.convergedWithin, 'invariants.convergedWithin'),
    falseDeathGraceMs: inv.falseDeathGrace === undefined ? undefined : parseDuration(inv.falseDeathGrace, 'invariants.falseDeathGrace'),
    sampleEveryMs,
    source,
  };
}

function step(raw: unknown, path: string, durationMs: number): ResolvedStep {
  const s = obj(raw, path);
  const action = s.action;
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) {
    throw new ScenarioError(join(path, 'action'), `must be one of ${ACTIONS.join(', ')}, got ${describe(action)}`);
  }
  const a = action as (typeof ACTIONS)[number];
  onlyKeys(s, ['action', 'at', 'stagger', 'repeat', 'comment', ...STEP_FIELDS[a]], path);
  const atMs = parseDuration(s.at, join(path, 'at'));
  if (atMs > durationMs) throw new ScenarioError(join(path, 'at'), `is after the end of the run (${durationMs} ms)`);
  const staggerMs = s.stagger === undefined ? 0 : parseDuration(s.stagger, join(path, 'stagger'));
  let repeat = { everyMs: 0, times: 1 };
  if (s.repeat !== undefined) {
    const r = obj(s.repeat, join(path, 'repeat'));
    onlyKeys(r, ['every', 'times'], join(path, 'repeat'));
    repeat = { everyMs: parseDuration(r.every, join(path, 'repeat.every')), times: int(r.times, join(path, 'repeat.times'), 1, 100_000) };
    if (repeat.everyMs <= 0) throw new ScenarioError(join(path, 'repeat.every'), 'must be positive');
  }
  const out: Record<string, unknown> = { action: a, atMs, staggerMs, repeat };
  switch (a) {
    case 'crash':
    case 'leave':
      out.nodes = selector(s.nodes, join(path, 'nodes'));
      break;
    case 'restart':
      out.nodes = selector(s.nodes, join(path, 'nodes'));
      if (s.persisted !== undefined) out.persisted = bool(s.persisted, join(path, 'persisted'));
      break;
    case 'add':
      out.count = int(s.count, join(path, 'count'), 1, MAX_NODES);
      if (s.roles !== undefined) {
        if (!Array.isArray(s.roles)) throw new ScenarioError(join(path, 'roles'), `must be an array of role names, got ${describe(s.roles)}`);
        s.roles.forEach((r, i) => {
          if (typeof r !== 'string' || !ROLE.test(r)) throw new ScenarioError(join(join(path, 'roles'), i), `must be a role name matching ${ROLE}`);
        });
        out.roles = s.roles;
      }
      if (s.join !== undefined) out.join = selector(s.join, join(path, 'join'));
      break;
    case 'partition':
      if (!Array.isArray(s.groups) || s.groups.length === 0) throw new ScenarioError(join(path, 'groups'), `must be a non-empty array of selectors, got ${describe(s.groups)}`);
      out.groups = s.groups.map((g, i) => selector(g, join(join(path, 'groups'), i)));
      break;
    case 'partition-one-way':
      out.from = selector(s.from, join(path, 'from'));
      out.to = selector(s.to, join(path, 'to'));
      break;
    case 'heal':
      break;
    case 'link':
      out.from = selector(s.from, join(path, 'from'));
      out.to = selector(s.to, join(path, 'to'));
      if (s.oneWay !== undefined) out.oneWay = bool(s.oneWay, join(path, 'oneWay'));
      link(s, path, out as LinkSettings);
      if (s.latencyMs === undefined && s.jitterMs === undefined && s.loss === undefined) throw new ScenarioError(path, 'a link step needs latencyMs, jitterMs or loss');
      break;
    case 'network':
      link(s, path, out as LinkSettings);
      if (s.latencyMs === undefined && s.jitterMs === undefined && s.loss === undefined) throw new ScenarioError(path, 'a network step needs latencyMs, jitterMs or loss');
      break;
    case 'stall':
      out.nodes = selector(s.nodes, join(path, 'nodes'));
      out.durationMs = parseDuration(s.duration, join(path, 'duration'));
      break;
    case 'clock-skew':
      out.nodes = selector(s.nodes, join(path, 'nodes'));
      if (s.offsetMs !== undefined) out.offsetMs = num(s.offsetMs, join(path, 'offsetMs'), -86_400_000, 86_400_000);
      if (s.driftPpm !== undefined) out.driftPpm = num(s.driftPpm, join(path, 'driftPpm'), -1_000_000, 1_000_000);
      break;
  }
  return out as ResolvedStep;
}

function validateWorkload(raw: unknown, durationMs: number): Workload {
  const w = obj(raw, 'workload');
  onlyKeys(w, ['from', 'until', 'presence', 'publish', 'readers'], 'workload');
  const from = w.from === undefined ? 0 : parseDuration(w.from, 'workload.from');
  const out: Workload = { from };
  if (w.until !== undefined) {
    const until = parseDuration(w.until, 'workload.until');
    if (until < from) throw new ScenarioError('workload.until', 'must not be before workload.from');
    if (until > durationMs) throw new ScenarioError('workload.until', `is after the end of the run (${durationMs} ms)`);
    out.until = until;
  }
  if (w.presence !== undefined) {
    const p = obj(w.presence, 'workload.presence');
    onlyKeys(p, ['channels', 'joinsPerSecond', 'leavesPerSecond'], 'workload.presence');
    out.presence = {
      channels: p.channels === undefined ? 100 : int(p.channels, 'workload.presence.channels', 1),
      joinsPerSecond: p.joinsPerSecond === undefined ? 0 : num(p.joinsPerSecond, 'workload.presence.joinsPerSecond', 0, 1e7),
      leavesPerSecond: p.leavesPerSecond === undefined ? 0 : num(p.leavesPerSecond, 'workload.presence.leavesPerSecond', 0, 1e7),
    };
  }
  if (w.publish !== undefined) {
    const p = obj(w.publish, 'workload.publish');
    onlyKeys(p, ['channels', 'perSecond', 'payloadBytes', 'historyLength', 'ttl'], 'workload.publish');
    out.publish = {
      channels: p.channels === undefined ? 100 : int(p.channels, 'workload.publish.channels', 1),
      perSecond: p.perSecond === undefined ? 0 : num(p.perSecond, 'workload.publish.perSecond', 0, 1e7),
      payloadBytes: p.payloadBytes === undefined ? 256 : int(p.payloadBytes, 'workload.publish.payloadBytes', 0, 65_536),
      historyLength: p.historyLength === undefined ? 100 : int(p.historyLength, 'workload.publish.historyLength', 1, 100_000),
      ttl: p.ttl === undefined ? 0 : parseDuration(p.ttl, 'workload.publish.ttl'),
    };
  }
  if (w.readers !== undefined) {
    const p = obj(w.readers, 'workload.readers');
    onlyKeys(p, ['count', 'interval', 'limit'], 'workload.readers');
    if (out.publish === undefined) throw new ScenarioError('workload.readers', 'needs workload.publish (readers follow its channels)');
    const interval = p.interval === undefined ? 5000 : parseDuration(p.interval, 'workload.readers.interval');
    if (interval <= 0) throw new ScenarioError('workload.readers.interval', 'must be above 0');
    out.readers = {
      count: p.count === undefined ? 8 : int(p.count, 'workload.readers.count', 1, 10_000),
      interval,
      limit: p.limit === undefined ? 50 : int(p.limit, 'workload.readers.limit', 1, 10_000),
    };
  }
  return out;
}

/**
 * Loads a scenario file: `.json`, or a TypeScript/JavaScript module whose default export
 * is the scenario object. Throws ScenarioError (bad content) or the I/O error.
 */
export async function loadScenario(file: string, nodes?: number): Promise<Scenario> {
  const path = resolve(file);
  const ext = extname(path);
  let raw: unknown;
  if (ext === '.json') {
    const text = await readFile(path, 'utf8');
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ScenarioError('', `not valid JSON: ${(err as Error).message}`, file);
    }
  } else if (['.ts', '.mts', '.js', '.mjs'].includes(ext)) {
    const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
    if (mod.default === undefined) throw new ScenarioError('', 'the module has no default export (export default { name: ..., ... })', file);
    raw = mod.default;
    // a .ts file outside an ESM package loads as CommonJS: its default export arrives wrapped
    if (isObj(raw) && Object.keys(raw).length === 1 && 'default' in raw) raw = raw.default;
  } else {
    throw new ScenarioError('', `unsupported file type "${ext}" (expected .json or .ts)`, file);
  }
  return validateScenario(raw, file, nodes);
}
