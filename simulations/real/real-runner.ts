/**
 * The real-process runner (`clusterd sim <scenario> --real`): plays a scenario's
 * timeline in wall time against real `clusterd agent` processes, one per node, each on
 * its own loopback host (127.0.0.101 and up). Partitions, link loss and latency go
 * through each agent's fault-injection hook (`PUT /v1/faults`); crashes are SIGKILL,
 * stalls SIGSTOP/SIGCONT, leaves `POST /v1/leave`, restarts a new process on the same
 * data dir. Each agent's membership events (`/v1/events?types=member`, replayed from
 * its boot) feed the simulator's own ViewTracker, so the invariants and measurements are
 * computed the way simulations/runner.ts computes them, into the same SimResult shape.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { swimOptions } from '../../lib/config.js';
import { Random } from '../../lib/random.js';
import { suspicionMinTimeout } from '../../lib/swim/suspicion.js';
import { select } from '../node-set.js';
import type { SelectContext, Selector } from '../node-set.js';
import { dist, fmtMs } from '../runner.js';

/** What the replication parts of a real run report: the workload is not driven against the agents. */
export const REAL_NOT_MEASURED = 'not measured in --real: the workload is not driven against the agents (the simulated run measures it)';
import type { InvariantResult, Series, SimResult, Spread } from '../runner.js';
import { ScenarioError } from '../scenario.js';
import type { ResolvedStep, Scenario } from '../scenario.js';
import { ViewTracker } from '../view-tracker.js';
import { READERS_INVARIANT } from '../readers.js';
import { AgentProcess, agentsGone, killAllAgents, pidAlive } from './agent-process.js';
import { FaultPlan, loopbackHost } from './fault-plan.js';
import { parseTraffic } from './prom-text.js';
import type { AgentTraffic } from './prom-text.js';

/** Options of {@link runReal}. */
export interface RealOptions {
  /** Seed of the runner's own choices (`random:` selectors, churn). @default 1 */
  seed?: number;
  /** Called after every sample with the wall time done and the total. @default none */
  onProgress?: (doneMs: number, totalMs: number) => void;
  /** First loopback address (n0); the others follow. @default "127.0.0.101" */
  baseHost?: string;
  /** Most agents a run may start. @default 200 */
  maxAgents?: number;
  /** Time the cluster has to form before the timeline starts. @default 30 s + 1 s per node */
  formTimeoutMs?: number;
  /** Keep the agents' data dirs and logs (their path is in the result). @default false */
  keepData?: boolean;
  /** The built CLI the agents run. @default <repo>/dist/bin/clusterd.js */
  cli?: string;
}

/** What only a real run has. */
export interface RealInfo {
  /** Wall time of the whole run, start and cleanup included. */
  wallMs: number;
  /** Time from the first spawn to a converged cluster (the timeline's time 0 in `converged` start). */
  formMs: number;
  /** Agent processes started (restarts and adds included). */
  processes: number;
  /** Loopback host of each node. */
  hosts: string[];
  /** Timeline steps and scenario settings that could not be reproduced with real processes. */
  notApplied: string[];
  /** The event-fed views checked against each agent's `GET /v1/members` at the end. */
  selfCheck: string;
  /** Agent processes found alive after the cleanup (must be 0). */
  leftBehind: number;
  /** Pids of every agent process the run started. */
  pids: number[];
  /** Where the data dirs and logs were (removed unless keepData). */
  dataDir: string;
  /** Traffic totals from the agents' /metrics. */
  traffic: AgentTraffic;
}

/** A real run: the simulator's result shape plus what only a real run has. */
export type RealResult = SimResult & { real: RealInfo };

const ALIVE_EVENTS = new Set(['member-join', 'member-alive', 'member-update']);
const MEMBER_EVENTS = new Set(['member-join', 'member-update', 'member-suspect', 'member-alive', 'member-dead', 'member-leave', 'member-reaped']);
const MAX_CURVES = 20;
/** Period of the /metrics scrapes. */
const SCRAPE_EVERY_MS = 5000;
const MAX_EVENTS = 200;

interface Slot {
  index: number;
  name: string;
  host: string;
  roles: string[];
  dataDir: string;
  proc: AgentProcess | undefined;
  /** Process generation: events of an older process are ignored. */
  gen: number;
  leaving: boolean;
  stalled: boolean;
  rulesJson: string;
  /** Counters of the current process at the last scrape. */
  last: AgentTraffic | undefined;
}

interface Fault {
  spread: Spread;
  seen: Uint8Array;
  aware: number;
  deadTimes: number[];
}

/** Runs `sc` against real agents and returns its result. Every agent is gone when it settles. */
export async function runReal(sc: Scenario, opts: RealOptions = {}): Promise<RealResult> {
  const run = new RealRun(sc, opts);
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupted = true;
    killAllAgents();
    // wait (briefly) for their exit so that they are reaped by us, not left as zombies
    void agentsGone(3000).then(() => {
      run.cleanupSync();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  };
  const onExit = (): void => {
    killAllAgents();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  try {
    return await run.run();
  } catch (err) {
    // the agents were killed under a start or a request: the signal handler exits, not this error
    if (interrupted) await new Promise(() => {});
    throw err;
  } finally {
    await run.stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }
}

class RealRun {
  private readonly slots: Slot[] = [];
  private readonly tracker: ViewTracker;
  private readonly plan: FaultPlan;
  private readonly rand: Random;
  private readonly cap: number;
  private readonly graceMs: number;
  private readonly impairedUntil: Float64Array;
  private readonly partitioned = new Set<number>();
  private readonly roles: string[][] = [];
  private readonly tmp: string;
  private readonly faults = new Map<number, Fault>();
  private readonly spreads: Fault[] = [];
  private readonly heals: { atMs: number; convergedAfterMs: number }[] = [];
  private pendingHeal: { atMs: number } | undefined;
  private readonly events: { atMs: number; what: string }[] = [];
  private readonly notApplied: string[] = [];
  private lastFault = 0;
  private falseDeaths = 0;
  private readonly falseEpisodes = new Set<string>();
  private readonly falseExamples: string[] = [];
  private suspicionsOfHealthy = 0;
  private deadOfLive = 0;
  private deadOfStalled = 0;
  private readonly series: Series = { tMs: [], up: [], agreement: [], aliveMin: [], aliveMedian: [], aliveMax: [], msgsPerNodePerSec: [], bytesPerNodePerSec: [], streamBytesPerNodePerSec: [] };
  private readonly viewAgreement: (number | null)[][] = [];
  private readonly viewAlive: (number | null)[][] = [];
  private rediverged = -1;
  /** Sample index of the last /metrics scrape. */
  private lastScrape = 0;
  /** performance.now() of the timeline's time 0. */
  private t0 = performance.now();
  private readonly started = performance.now();
  private formMs = 0;
  private processes = 0;
  private readonly pids: number[] = [];
  private readonly all: AgentProcess[] = [];
  private readonly totals: AgentTraffic = zeroTraffic();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  /** The agents are forming the cluster before the timeline's time 0 (converged start). */
  private forming = false;
  private readonly errors: string[] = [];

  constructor(
    private readonly sc: Scenario,
    private readonly opts: RealOptions,
  ) {
    let adds = 0;
    for (const s of sc.timeline) if (s.action === 'add') adds += (s as { count: number }).count * s.repeat.times;
    this.cap = sc.nodes + adds;
    const max = opts.maxAgents ?? 200;
    if (this.cap > max) throw new ScenarioError('nodes', `--real starts one agent process per node: ${this.cap} is more than ${max} (use --nodes, e.g. --nodes 10)`, sc.source);
    this.tracker = new ViewTracker(this.cap, () => this.now());
    this.impairedUntil = new Float64Array(this.cap);
    this.plan = new FaultPlan({ ...sc.network });
    this.rand = new Random(opts.seed ?? 1).fork('real');
    const o = swimOptions(sc.profile);
    this.graceMs = sc.falseDeathGraceMs ?? suspicionMinTimeout(o.suspicionMult, Math.max(sc.nodes, 2), o.probeIntervalMs) * o.suspicionMaxTimeoutMult + 10_000;
    for (let i = 0; i < this.cap; i++) loopbackHost(i, opts.baseHost); // fails early on a base that cannot hold them all
    this.checkSelectors();
    // last: nothing above may throw after the temp dir exists
    this.tmp = mkdtempSync(join(tmpdir(), 'clusterd-real-'));
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  // ---------------------------------------------------------------- run

  async run(): Promise<RealResult> {
    const sc = this.sc;
    if (Object.keys(sc.swim).length > 0) this.notApplied.push(`swim overrides ${JSON.stringify(sc.swim)}: the agent takes a profile only (--profile ${sc.profile}), so the real run uses the plain profile`);
    if (sc.network.jitterMs > 0) this.notApplied.push(`network jitter ${sc.network.jitterMs} ms: the fault hook delays by a fixed amount`);
    for (let i = 0; i < sc.nodes; i++) this.roles.push([]);
    for (const [role, sel] of Object.entries(sc.roles)) for (const i of this.resolve(sel, `roles.${role}`, this.ctx(sc.nodes))) this.roles[i]!.push(role);
    const rows = Math.min(100, this.cap);
    for (let r = 0; r < rows; r++) {
      this.viewAgreement.push([]);
      this.viewAlive.push([]);
    }
    for (let i = 0; i < sc.nodes; i++) this.newSlot(this.roles[i]!);
    const formStart = performance.now();
    this.t0 = formStart;
    this.forming = sc.start === 'converged';
    // n0 founds the cluster; the others join through it
    const spawnAll = async (): Promise<void> => {
      await this.spawn(0, []);
      await Promise.all(this.slots.slice(1).map((s) => this.spawn(s.index, [0])));
    };
    if (sc.start === 'converged') {
      await spawnAll();
      const limit = this.opts.formTimeoutMs ?? 30_000 + 1000 * sc.nodes;
      while (!this.tracker.converged) {
        if (performance.now() - formStart > limit) throw new Error(`the ${sc.nodes} agents did not converge within ${fmtMs(limit)} of their start (logs in ${this.tmp})`);
        await sleep(50);
      }
      this.formMs = performance.now() - formStart;
      this.t0 = performance.now();
      this.tracker.convergedSince = 0;
      this.forming = false;
      this.schedule();
      await this.sampleLoop();
    } else {
      // start: join: the timeline and the samples run from the first spawn on
      this.schedule();
      const sampling = this.sampleLoop();
      await spawnAll();
      this.formMs = performance.now() - formStart;
      await sampling;
    }
    await this.queue;
    return this.finish();
  }

  private newSlot(roles: string[]): Slot {
    const index = this.slots.length;
    this.roles[index] = roles;
    const slot: Slot = { index, name: `n${index}`, host: loopbackHost(index, this.opts.baseHost), roles, dataDir: join(this.tmp, `n${index}`), proc: undefined, gen: 0, leaving: false, stalled: false, rulesJson: '[]', last: undefined };
    this.slots.push(slot);
    return slot;
  }

  /**
   * Starts the agent of slot `i`: its rules are set before it joins (a restart during a
   * partition must not slip through it), then its event stream is followed from its boot.
   */
  private async spawn(i: number, seeds: number[], wipe = false, onBoot?: () => void): Promise<void> {
    const slot = this.slots[i]!;
    if (wipe) rmSync(slot.dataDir, { recursive: true, force: true });
    const gen = ++slot.gen;
    this.processes++;
    const proc = await AgentProcess.start({
      name: slot.name, host: slot.host, dataDir: slot.dataDir, logFile: join(this.tmp, `${slot.name}.log`), profile: this.sc.profile, roles: slot.roles,
      ...(this.opts.cli !== undefined ? { cli: this.opts.cli } : {}),
    });
    this.pids.push(proc.pid);
    this.all.push(proc);
    if (this.stopped || slot.gen !== gen) {
      proc.signal('SIGKILL');
      return;
    }
    slot.proc = proc;
    slot.last = undefined;
    slot.stalled = false;
    void proc.exited.then(() => {
      if (slot.proc === proc) {
        slot.proc = undefined;
        slot.leaving = false;
      }
    });
    this.tracker.boot(i);
    onBoot?.();
    slot.rulesJson = '[]';
    await this.pushRulesTo(slot);
    const self = await proc.api<{ cursor: string }>('GET', '/v1/self');
    const boot = self.cursor.slice(0, self.cursor.indexOf('-'));
    proc.follow(`${boot}-0`, (type, data) => this.onEvent(slot, gen, type, data), () => void this.resync(slot, gen));
    const addrs = seeds.filter((j) => j !== i).map((j) => this.slots[j]?.proc?.gossip).filter((a): a is string => a !== undefined);
    if (addrs.length > 0) await proc.api('POST', '/v1/join', { seeds: addrs }, 15_000).catch((err: Error) => this.error(`join of ${slot.name}: ${err.message}`));
  }

  /** The stream could not replay from the boot: take the agent's member list as it is now. */
  private async resync(slot: Slot, gen: number): Promise<void> {
    const proc = slot.proc;
    if (!proc) return;
    try {
      const { members } = await proc.api<{ members: { name: string; state: string }[] }>('GET', '/v1/members');
      if (slot.gen !== gen) return;
      for (const m of members) {
        const s = nodeIndex(m.name);
        if (s !== undefined && s !== slot.index && s < this.cap) this.tracker.see(slot.index, s, m.state === 'alive');
      }
      this.error(`${slot.name}: event stream could not resume; views re-read from /v1/members`);
    } catch (err) {
      this.error(`${slot.name}: resync failed: ${(err as Error).message}`);
    }
  }

  private error(what: string): void {
    if (this.errors.length < 20) this.errors.push(`${fmtMs(this.now())}: ${what}`);
  }

  // ---------------------------------------------------------------- selectors

  private ctx(total = this.slots.length): SelectContext {
    return {
      initial: this.sc.nodes,
      total,
      rolesOf: (i) => this.roles[i] ?? [],
      isUp: (i) => this.tracker.isUp(i) && this.slots[i]?.leaving !== true,
      random: this.rand,
    };
  }

  private resolve(sel: Selector, path: string, ctx = this.ctx()): number[] {
    try {
      return select(sel, ctx);
    } catch (err) {
      throw new ScenarioError(path, (err as Error).message, this.sc.source);
    }
  }

  private checkSelectors(): void {
    const ctx: SelectContext = { initial: this.sc.nodes, total: this.cap, rolesOf: () => [], isUp: () => true, random: new Random(1) };
    this.sc.timeline.forEach((s, i) => {
      for (const key of ['nodes', 'from', 'to', 'join'] as const) {
        const sel = (s as Record<string, unknown>)[key] as Selector | undefined;
        if (sel !== undefined) this.resolve(sel, `timeline[${i}].${key}`, ctx);
      }
      if (s.action === 'partition') (s as { groups: Selector[] }).groups.forEach((g, j) => this.resolve(g, `timeline[${i}].groups[${j}]`, ctx));
    });
  }

  // ---------------------------------------------------------------- timeline

  /** Runs `fn` at `ms` of the timeline, in order with the other steps (spawns are awaited). */
  private at(ms: number, fn: () => Promise<void> | void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.queue = this.queue.then(async () => {
        if (this.stopped) return;
        try {
          await fn();
        } catch (err) {
          this.error((err as Error).message);
        }
      });
    }, Math.max(0, ms - this.now()));
    this.timers.add(timer);
  }

  private schedule(): void {
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
    if (this.events.length < MAX_EVENTS) this.events.push({ atMs: Math.round(this.now()), what });
  }

  private fault(until = this.now()): void {
    if (until > this.lastFault) this.lastFault = until;
  }

  private async each(nodes: number[], staggerMs: number, fn: (i: number) => Promise<void> | void): Promise<void> {
    const base = this.now();
    const first = nodes[0];
    nodes.slice(1).forEach((i, k) => (staggerMs === 0 ? undefined : this.at(base + (k + 1) * staggerMs, () => fn(i))));
    this.fault(base + Math.max(0, nodes.length - 1) * staggerMs);
    if (staggerMs === 0) await Promise.all(nodes.map((i) => fn(i)));
    else if (first !== undefined) await fn(first);
  }

  private async apply(s: ResolvedStep, path: string): Promise<void> {
    const step = s as ResolvedStep & Record<string, unknown>;
    const names = (xs: number[]): string => (xs.length <= 6 ? xs.map((i) => `n${i}`).join(', ') : `${xs.length} nodes (n${xs[0]}…n${xs[xs.length - 1]})`);
    const sel = (key: string): number[] => this.resolve(step[key] as Selector, `${path}.${key}`);
    switch (s.action) {
      case 'crash': {
        const xs = sel('nodes');
        this.note(`crash ${names(xs)}`);
        await this.each(xs, s.staggerMs, (i) => this.crash(i));
        break;
      }
      case 'restart': {
        const xs = sel('nodes');
        this.note(`restart ${names(xs)}`);
        await this.each(xs, s.staggerMs, (i) => this.restart(i, step.persisted !== false));
        break;
      }
      case 'leave': {
        const xs = sel('nodes');
        this.note(`leave ${names(xs)}`);
        await this.each(xs, s.staggerMs, (i) => this.leave(i));
        break;
      }
      case 'add': {
        const count = step.count as number;
        const seeds = step.join === undefined ? undefined : sel('join');
        this.note(`add ${count} node${count === 1 ? '' : 's'}`);
        await this.each(Array.from({ length: count }, (_, k) => k), s.staggerMs, () => this.addNode((step.roles as string[] | undefined) ?? [], seeds));
        break;
      }
      case 'partition': {
        const groups = (step.groups as Selector[]).map((g, j) => this.resolve(g, `${path}.groups[${j}]`));
        this.note(`partition into ${groups.length + 1} groups (${groups.map((g) => g.length).join(' / ')} / rest)`);
        this.endPartition();
        this.plan.partition(groups);
        for (let i = 0; i < this.slots.length; i++) this.impair(i);
        this.fault();
        await this.pushRules();
        break;
      }
      case 'partition-one-way': {
        const from = sel('from');
        const to = sel('to');
        this.note(`one-way partition: ${names(from)} → ${names(to)} dropped`);
        this.endPartition();
        this.plan.partitionOneWay(from, to);
        for (const i of [...from, ...to]) this.impair(i);
        this.fault();
        await this.pushRules();
        break;
      }
      case 'heal':
        this.note('heal');
        this.endPartition();
        this.plan.heal();
        this.pendingHeal = { atMs: this.now() };
        this.fault();
        await this.pushRules();
        break;
      case 'link': {
        const from = sel('from');
        const to = sel('to');
        const profile = linkSettings(step);
        this.note(`link ${names(from)} ${step.oneWay === true ? '→' : '↔'} ${names(to)}: ${JSON.stringify(profile)}`);
        for (const a of from) for (const b of to) if (a !== b) this.plan.setLink(a, b, profile, step.oneWay === true);
        if (profile.jitterMs !== undefined && profile.jitterMs > 0) this.notApplied.push(`${path} jitter ${profile.jitterMs} ms: the fault hook delays by a fixed amount`);
        this.fault();
        await this.pushRules();
        break;
      }
      case 'network': {
        const profile = linkSettings(step);
        this.note(`network: ${JSON.stringify(profile)}`);
        this.plan.setGlobal(profile);
        if (profile.jitterMs !== undefined && profile.jitterMs > 0) this.notApplied.push(`${path} jitter ${profile.jitterMs} ms: the fault hook delays by a fixed amount`);
        this.fault();
        await this.pushRules();
        break;
      }
      case 'stall': {
        const xs = sel('nodes');
        const ms = step.durationMs ?? 0;
        this.note(`stall ${names(xs)} for ${ms} ms (SIGSTOP)`);
        await this.each(xs, s.staggerMs, (i) => this.stall(i, ms));
        break;
      }
      case 'clock-skew': {
        const xs = sel('nodes');
        const what = `${path} clock-skew of ${names(xs)} (offset ${step.offsetMs ?? 0} ms, drift ${step.driftPpm ?? 0} ppm)`;
        this.note(`${what}: not applied in --real`);
        this.notApplied.push(`${what}: not applied in --real (the agents read the host's clock; skewing it needs a time namespace or a clock hook in the agent)`);
        break;
      }
    }
  }

  private impair(i: number): void {
    this.partitioned.add(i);
    this.impairedUntil[i] = Infinity;
  }

  private endPartition(): void {
    for (const i of this.partitioned) if (this.tracker.isUp(i)) this.impairedUntil[i] = this.now() + this.graceMs;
    this.partitioned.clear();
  }

  /** Pushes to every running agent the rules the plan now gives it (only where they changed). */
  private async pushRules(): Promise<void> {
    await Promise.all(this.slots.map((s) => this.pushRulesTo(s)));
  }

  private async pushRulesTo(slot: Slot): Promise<void> {
    const proc = slot.proc;
    if (!proc?.running) return;
    const rules = this.plan.rulesFor(slot.index, this.slots.length, (j) => this.slots[j]?.host ?? loopbackHost(j, this.opts.baseHost));
    const json = JSON.stringify(rules);
    if (json === slot.rulesJson) return;
    try {
      await proc.api('PUT', '/v1/faults', { rules }, slot.stalled ? 60_000 : 5000);
      slot.rulesJson = json;
    } catch (err) {
      this.error(`fault rules of ${slot.name} not set: ${(err as Error).message}`);
    }
  }

  private crash(i: number, follow = true): void {
    const slot = this.slots[i]!;
    const proc = slot.proc;
    if (!proc?.running) return;
    const wasLeaving = slot.leaving;
    proc.unfollow();
    proc.signal('SIGKILL');
    if (slot.stalled) proc.signal('SIGCONT');
    slot.proc = undefined;
    slot.gen++;
    slot.leaving = false;
    this.impairedUntil[i] = Infinity;
    if (!wasLeaving) {
      this.tracker.down(i);
      if (follow) this.track(i, 'crash');
    }
    this.fault();
  }

  private async restart(i: number, persisted: boolean): Promise<void> {
    const slot = this.slots[i]!;
    if (slot.proc?.running) {
      const old = slot.proc;
      this.crash(i, false);
      await old.exited;
    }
    const asked = this.now();
    // the news of its return is followed from the moment the new process is up, before it joins
    await this.spawn(i, this.seedsFor(i), !persisted, () => {
      this.impairedUntil[i] = this.now() + this.graceMs;
      this.track(i, 'join');
      this.note(`n${i} back up ${Math.round(this.now() - asked)} ms after the restart was asked (process start)`);
    });
    this.fault();
  }

  private async leave(i: number): Promise<void> {
    const slot = this.slots[i]!;
    const proc = slot.proc;
    if (!proc?.running || slot.leaving) return;
    slot.leaving = true;
    this.impairedUntil[i] = Infinity;
    this.tracker.down(i);
    this.track(i, 'leave');
    this.fault();
    await proc.api('POST', '/v1/leave', {}).catch(() => proc.signal('SIGTERM'));
  }

  private stall(i: number, ms: number): void {
    const slot = this.slots[i]!;
    const proc = slot.proc;
    if (!proc?.running) return;
    proc.signal('SIGSTOP');
    slot.stalled = true;
    this.impairedUntil[i] = Math.max(this.impairedUntil[i]!, this.now() + ms + this.graceMs);
    this.fault(this.now() + ms);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (slot.proc === proc) {
        proc.signal('SIGCONT');
        slot.stalled = false;
      }
    }, ms);
    this.timers.add(timer);
  }

  private async addNode(roles: string[], seeds: number[] | undefined): Promise<void> {
    const slot = this.newSlot(roles);
    await this.spawn(slot.index, (seeds ?? this.seedsFor(slot.index)).filter((s) => s !== slot.index), false, () => this.track(slot.index, 'join'));
    this.fault();
    // the newcomer's peers must drop it too when a partition is in force
    await this.pushRules();
  }

  private seedsFor(i: number): number[] {
    for (const s of this.slots) if (s.index !== i && s.proc?.running && !s.leaving && this.tracker.isUp(s.index)) return [s.index];
    return [];
  }

  private async churnOne(): Promise<void> {
    const churn = this.sc.churn!;
    const up = this.slots.filter((s) => s.proc?.running && !s.leaving).map((s) => s.index);
    if (up.length <= 1) return;
    const i = up[this.rand.int(up.length)]!;
    if (churn.mode === 'leave-rejoin') await this.leave(i);
    else this.crash(i);
    this.note(`churn: ${churn.mode === 'leave-rejoin' ? 'leave' : 'crash'} n${i}, back in ${churn.downForMs} ms`);
    this.at(this.now() + churn.downForMs, () => this.restart(i, true));
  }

  // ---------------------------------------------------------------- events

  private track(i: number, kind: Spread['kind']): void {
    const seen = new Uint8Array(this.cap);
    let observers = 0;
    for (let o = 0; o < this.slots.length; o++) {
      if (o === i || !this.tracker.isUp(o)) continue;
      if (this.tracker.sees(o, i) === (kind === 'join')) seen[o] = 1;
      else observers++;
    }
    const spread: Spread = { kind, node: `n${i}`, atMs: Math.round(this.now()), observers, firstSuspectMs: -1, allAwareMs: observers === 0 ? 0 : -1, curve: [] };
    const fault: Fault = { spread, seen, aware: 0, deadTimes: [] };
    this.faults.set(i, fault);
    this.spreads.push(fault);
  }

  private onEvent(slot: Slot, gen: number, type: string, data: Record<string, unknown>): void {
    if (slot.gen !== gen || !MEMBER_EVENTS.has(type)) return;
    const s = nodeIndex(data.name);
    const o = slot.index;
    if (s === undefined || s === o || s >= this.cap) return;
    const alive = ALIVE_EVENTS.has(type);
    this.tracker.see(o, s, alive);
    const now = this.now();
    if (this.tracker.converged && this.pendingHeal) this.closeHeal();
    if (this.forming) return; // the cluster forming before time 0: not part of the timeline
    const healthy = this.tracker.isUp(s) && now >= this.impairedUntil[s]!;
    if (type === 'member-suspect' && healthy) this.suspicionsOfHealthy++;
    if (type === 'member-dead' && this.tracker.isUp(s)) {
      this.deadOfLive++;
      if (this.slots[s]?.stalled) this.deadOfStalled++;
    }
    if (type === 'member-dead' && healthy) {
      this.falseDeaths++;
      this.falseEpisodes.add(`n${s}@${String(data.incarnation)}`);
      if (this.falseExamples.length < 5) this.falseExamples.push(`${slot.name} declared n${s} (incarnation ${String(data.incarnation)}) dead at ${fmtMs(now)}`);
    }
    const f = this.faults.get(s);
    if (!f || !this.tracker.isUp(o) || f.seen[o] === 1) return;
    const sp = f.spread;
    const since = now - sp.atMs;
    if (sp.kind === 'crash' && type === 'member-suspect' && sp.firstSuspectMs < 0) sp.firstSuspectMs = round(since, 1);
    const learned = sp.kind === 'crash' ? type === 'member-dead' : sp.kind === 'leave' ? type === 'member-leave' : alive;
    if (!learned) return;
    f.seen[o] = 1;
    if (sp.kind === 'crash') f.deadTimes.push(since);
    const aware = ++f.aware;
    sp.curve.push([since, sp.observers === 0 ? 1 : aware / sp.observers]);
    if (aware >= sp.observers && sp.allAwareMs < 0) sp.allAwareMs = round(since, 1);
  }

  private closeHeal(): void {
    const h = this.pendingHeal!;
    this.heals.push({ atMs: Math.round(h.atMs), convergedAfterMs: Math.round(Math.max(0, this.tracker.convergedSince - h.atMs)) });
    this.pendingHeal = undefined;
  }

  // ---------------------------------------------------------------- sampling

  private async sampleLoop(): Promise<void> {
    const every = this.sc.sampleEveryMs;
    const total = this.sc.durationMs;
    await this.sample(0, true);
    for (let t = every; ; t += every) {
      const at = Math.min(t, total);
      const wait = at - this.now();
      if (wait > 0) await sleep(wait);
      await this.sample(at, at >= total);
      this.opts.onProgress?.(at, total);
      if (at >= total) break;
    }
  }

  /** One sample at timeline time `tMs`: views from the tracker, traffic from /metrics (awaited on the last). */
  private async sample(tMs: number, wait: boolean): Promise<void> {
    const now = this.now();
    if (this.tracker.converged && this.pendingHeal) this.closeHeal();
    if (!this.tracker.converged && now > this.lastFault && this.tracker.convergedSince > this.lastFault && this.rediverged < 0) this.rediverged = this.tracker.divergedAt;
    const up = this.tracker.upCount;
    const rows = this.viewAgreement.length;
    const sumA = new Float64Array(rows);
    const sumV = new Float64Array(rows);
    const cnt = new Int32Array(rows);
    const alive: number[] = [];
    for (let i = 0; i < this.slots.length; i++) {
      if (!this.tracker.isUp(i)) continue;
      let seen = 0;
      for (let s = 0; s < this.slots.length; s++) if (this.tracker.sees(i, s)) seen++;
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
    const k = s.tMs.length;
    s.tMs.push(tMs);
    s.up.push(up);
    s.agreement.push(up === 0 ? 1 : round(1 - this.tracker.total / (up * up), 5));
    s.aliveMin.push(alive[0] ?? 0);
    s.aliveMedian.push(alive[Math.floor(alive.length / 2)] ?? 0);
    s.aliveMax.push(alive[alive.length - 1] ?? 0);
    s.msgsPerNodePerSec.push(0);
    s.bytesPerNodePerSec.push(0);
    s.streamBytesPerNodePerSec.push(0);
    // /metrics costs the agents and the runner CPU the cluster needs: scraped every
    // SCRAPE_EVERY_MS (and at the end), each rate spread over the samples it covers
    const from = this.lastScrape;
    if (k > 0 && !wait && tMs - s.tMs[from]! < SCRAPE_EVERY_MS) return;
    this.lastScrape = k;
    const span = (tMs - s.tMs[from]!) / 1000;
    // time 0: the counters so far (the cluster forming) are the baseline, not traffic of the run
    const scrape = this.scrape(k === 0).then((d) => {
      const per = (v: number): number => (span === 0 || up === 0 ? 0 : round(v / up / span, 1));
      for (let j = from + 1; j <= k; j++) {
        s.msgsPerNodePerSec[j] = per(d.packetsOut);
        s.bytesPerNodePerSec[j] = per(d.datagramBytesOut);
        s.streamBytesPerNodePerSec[j] = per(d.streamBytesOut);
      }
    });
    if (wait) await scrape;
    else this.hold(scrape);
  }

  private hold(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Scrapes every running agent's /metrics; returns the counters' growth since the last scrape (none for a baseline). */
  private async scrape(baseline = false): Promise<AgentTraffic> {
    const d = zeroTraffic();
    await Promise.all(this.slots.map(async (slot) => {
      const proc = slot.proc;
      if (!proc?.running || slot.stalled) return;
      try {
        const cur = parseTraffic(await proc.api<string>('GET', '/metrics', undefined, 2000));
        if (slot.proc !== proc) return;
        const last = baseline ? cur : (slot.last ?? zeroTraffic());
        for (const key of TRAFFIC_KEYS) {
          const inc = Math.max(0, cur[key] - last[key]);
          d[key] += inc;
          this.totals[key] += inc;
        }
        slot.last = cur;
      } catch {
        // a busy or dying agent: its growth is counted at the next scrape
      }
    }));
    return d;
  }

  // ---------------------------------------------------------------- end

  /** Reads each agent's member list and compares it with the event-fed view. */
  private async selfCheck(): Promise<string> {
    let checked = 0;
    const off: string[] = [];
    await Promise.all(this.slots.map(async (slot) => {
      const proc = slot.proc;
      if (!proc?.running || slot.stalled || slot.leaving || !this.tracker.isUp(slot.index)) return;
      try {
        const { members } = await proc.api<{ members: { name: string; state: string }[] }>('GET', '/v1/members');
        checked++;
        const listed = new Set(members.filter((m) => m.state === 'alive').map((m) => m.name));
        for (let s = 0; s < this.slots.length; s++) {
          if (s === slot.index) continue;
          if (listed.has(`n${s}`) !== this.tracker.sees(slot.index, s)) off.push(`${slot.name} lists n${s} ${listed.has(`n${s}`) ? 'alive' : 'not alive'}, its events said the opposite`);
        }
      } catch (err) {
        off.push(`${slot.name}: ${(err as Error).message}`);
      }
    }));
    return off.length === 0 ? `the views built from the event streams match GET /v1/members on all ${checked} live agents` : `${off.length} mismatches: ${off.slice(0, 3).join('; ')}`;
  }

  private async brokers(): Promise<InvariantResult | undefined> {
    if (!this.roles.some((r) => r.includes('broker'))) return undefined;
    const want = this.slots.filter((s) => this.tracker.isUp(s.index) && s.roles.includes('broker')).map((s) => s.name).sort();
    const key = want.join(',');
    const wrong: string[] = [];
    let observers = 0;
    await Promise.all(this.slots.map(async (slot) => {
      if (!this.tracker.isUp(slot.index) || !slot.proc?.running) return;
      observers++;
      try {
        const { brokers } = await slot.proc.api<{ brokers: { name: string }[] }>('GET', '/v1/brokers');
        const got = brokers.map((b) => b.name).sort();
        if (got.join(',') !== key && wrong.length < 3) wrong.push(`${slot.name} lists ${got.length} (${got.slice(0, 5).join(', ')}${got.length > 5 ? ', …' : ''})`);
      } catch (err) {
        if (wrong.length < 3) wrong.push(`${slot.name}: ${(err as Error).message}`);
      }
    }));
    const name = 'broker lists agree: every live node lists exactly the live brokers';
    const listed = want.length <= 6 ? want.join(', ') : `${want.length} brokers`;
    if (wrong.length === 0) return { name, status: 'pass', evidence: `all ${observers} live nodes list ${listed} at the end` };
    return { name, status: 'fail', evidence: `expected ${listed}; ${wrong.join('; ')}` };
  }

  private async finish(): Promise<RealResult> {
    const sc = this.sc;
    await Promise.all([...this.pending]);
    if (this.pendingHeal) this.heals.push({ atMs: Math.round(this.pendingHeal.atMs), convergedAfterMs: -1 });
    const selfCheck = await this.selfCheck();
    const invariants: InvariantResult[] = [this.convergedVerdict(), this.falseDeathVerdict()];
    const brokers = await this.brokers();
    if (brokers) invariants.push(brokers);
    invariants.push(
      { name: 'presence of dead and departed nodes purged everywhere: within 1 s of each confirmation and at the end', status: 'not-measured', evidence: REAL_NOT_MEASURED },
      { name: 'presence and history replicas equal at the end: same entries, same order', status: 'not-measured', evidence: REAL_NOT_MEASURED },
      { name: 'no resurrected or duplicated history entries', status: 'not-measured', evidence: REAL_NOT_MEASURED },
      { name: READERS_INVARIANT, status: 'not-measured', evidence: REAL_NOT_MEASURED },
    );
    await this.stopAll();
    const crashes = this.spreads.filter((f) => f.spread.kind === 'crash');
    const nodeSeconds = this.series.up.reduce((a, u, k) => a + (k === 0 ? 0 : (u * (this.series.tMs[k]! - this.series.tMs[k - 1]!)) / 1000), 0);
    const perNode = (v: number): number => (nodeSeconds === 0 ? 0 : round(v / nodeSeconds, 1));
    const conv = this.tracker.converged ? Math.round(Math.max(0, this.tracker.convergedSince - this.lastFault)) : -1;
    const leftBehind = this.pids.filter((pid) => pidAlive(pid)).length;
    const notModelled = [...this.notApplied, ...this.errors.map((e) => `driver: ${e}`)];
    if (sc.regions.length > 0) notModelled.push(`regions (${sc.regions.join(', ')}): the real-process runner gives every link the scenario's network settings, not the inter-region ones, and does not count dead declarations of reachable members`);
    return {
      scenario: { name: sc.name, description: sc.description, expected: sc.expected, source: sc.source },
      seed: this.opts.seed ?? 1,
      nodes: sc.nodes,
      durationMs: sc.durationMs,
      profile: sc.profile,
      swim: { ...swimOptions(sc.profile) },
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
        falsePositives: { deadDeclarations: this.falseDeaths, episodes: this.falseEpisodes.size, suspicionsOfHealthy: this.suspicionsOfHealthy, ofLiveNodes: this.deadOfLive, ofStalledNodes: this.deadOfStalled, graceMs: this.graceMs, ofReachable: -1, ofReachableExamples: [] },
        traffic: {
          msgsPerNodePerSec: perNode(this.totals.packetsOut),
          bytesPerNodePerSec: perNode(this.totals.datagramBytesOut),
          streamBytesPerNodePerSec: perNode(this.totals.streamBytesOut),
          framesLost: this.totals.faultDropped,
          totals: { ...this.totals },
        },
        convergence: { lastFaultMs: Math.round(this.lastFault), convergedAfterLastFaultMs: conv, heals: this.heals },
        antiEntropy: REAL_NOT_MEASURED,
      },
      replication: { status: REAL_NOT_MEASURED, workload: sc.workload ?? null, operations: null, antiEntropy: null, traffic: null, convergence: null, order: null, series: null, delivery: null },
      notModelled,
      events: this.events,
      series: this.series,
      views: { rows: this.rowLabels(), tMs: this.series.tMs, agreement: this.viewAgreement, aliveSeen: this.viewAlive },
      real: {
        wallMs: Math.round(performance.now() - this.started),
        formMs: Math.round(this.formMs),
        processes: this.processes,
        hosts: this.slots.map((s) => s.host),
        notApplied: this.notApplied,
        selfCheck,
        leftBehind,
        pids: this.pids,
        dataDir: this.opts.keepData === true ? this.tmp : `${this.tmp} (removed)`,
        traffic: { ...this.totals },
      },
    };
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
    const t = this.tracker;
    if (t.converged) {
      const took = Math.max(0, t.convergedSince - last);
      if (t.convergedSince <= last) return { name, status: 'pass', evidence: `all ${t.upCount} live nodes agree on ${t.upCount} alive members, without interruption since ${fmtMs(Math.max(0, t.convergedSince))}: the faults (the last at ${fmtMs(last)}) never broke convergence` };
      const again = this.rediverged > last ? `; it diverged again at ${fmtMs(this.rediverged)} (no fault then) and re-converged` : '';
      return { name, status: took <= within ? 'pass' : 'fail', evidence: `all ${t.upCount} live nodes agree on ${t.upCount} alive members since ${fmtMs(t.convergedSince)}, ${fmtMs(took)} after the last fault at ${fmtMs(last)} (limit ${fmtMs(within)})${again}` };
    }
    const bad = t.disagreements(3);
    let count = 0;
    for (let o = 0; o < this.slots.length; o++) if (t.isUp(o) && t.wrongOf(o) > 0) count++;
    const list = (xs: number[]): string => (xs.length <= 5 ? xs.map((i) => `n${i}`).join(', ') : `${xs.slice(0, 5).map((i) => `n${i}`).join(', ')} and ${xs.length - 5} more`);
    const examples = bad.map((b) => `n${b.observer} misses ${b.missing.length} (${list(b.missing)}) and wrongly holds ${b.extra.length} alive${b.extra.length ? ` (${list(b.extra)})` : ''}`).join('; ');
    return { name, status: 'fail', evidence: `not converged at the end (${fmtMs(this.now())}): ${count} of ${t.upCount} live nodes disagree; ${examples}` };
  }

  private falseDeathVerdict(): InvariantResult {
    const name = 'no healthy, reachable node declared dead';
    const rule = `healthy = up, and not crashed, restarted, stalled or partitioned within ${fmtMs(this.graceMs)}; lossy or cut single links do not count`;
    if (this.falseDeaths === 0) return { name, status: 'pass', evidence: `0 declarations (${this.suspicionsOfHealthy} suspicions of healthy nodes, all refuted; ${rule})` };
    return { name, status: 'fail', evidence: `${this.falseDeaths} declarations about ${this.falseEpisodes.size} (node, incarnation) episodes, e.g. ${this.falseExamples.join('; ')} (${rule})` };
  }

  /** Stops the timeline and every agent (SIGKILL), waits for their exit, removes the data unless kept. */
  async stopAll(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const p of this.all) {
      p.unfollow();
      p.signal('SIGKILL');
      p.signal('SIGCONT');
    }
    killAllAgents();
    await Promise.race([Promise.all(this.all.map((p) => p.exited)), sleep(10_000)]);
    // a spawn still in flight resolves into a kill (stopped is set)
    await Promise.race([this.queue, sleep(5000)]);
    if (this.opts.keepData !== true) rmSync(this.tmp, { recursive: true, force: true });
  }

  /** On SIGINT: what can be done synchronously. */
  cleanupSync(): void {
    if (this.opts.keepData !== true) rmSync(this.tmp, { recursive: true, force: true });
  }
}

const TRAFFIC_KEYS = ['packetsOut', 'datagramBytesOut', 'streamBytesOut', 'streamsOpened', 'faultDropped'] as const;

function zeroTraffic(): AgentTraffic {
  return { packetsOut: 0, datagramBytesOut: 0, streamBytesOut: 0, streamsOpened: 0, faultDropped: 0 };
}

function linkSettings(step: Record<string, unknown>): { latencyMs?: number; jitterMs?: number; loss?: number } {
  const out: { latencyMs?: number; jitterMs?: number; loss?: number } = {};
  if (typeof step.latencyMs === 'number') out.latencyMs = step.latencyMs;
  if (typeof step.jitterMs === 'number') out.jitterMs = step.jitterMs;
  if (typeof step.loss === 'number') out.loss = step.loss;
  return out;
}

function nodeIndex(name: unknown): number | undefined {
  if (typeof name !== 'string') return undefined;
  const m = /^n(\d{1,6})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** At most ~100 points of a step curve, its last point kept. */
function thin(curve: [number, number][]): [number, number][] {
  const every = Math.max(1, curve.length / 100);
  const out: [number, number][] = [];
  for (let k = 0; k < curve.length; k += every) out.push(curve[Math.floor(k)]!);
  if (curve.length > 0 && out[out.length - 1] !== curve[curve.length - 1]) out.push(curve[curve.length - 1]!);
  return out.map(([t, v]) => [round(t, 1), round(v, 4)]);
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
