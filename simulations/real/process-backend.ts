/**
 * The process backend of the scenario engine (`clusterd sim <scenario> --real`): one real
 * `clusterd agent` process per node, each on its own loopback host (127.0.0.101 and up),
 * in wall time. Partitions, link loss and latency go through each agent's fault-injection
 * hook (`PUT /v1/faults`); crashes are SIGKILL, stalls SIGSTOP/SIGCONT, leaves
 * `POST /v1/leave`, restarts a new process on the same data dir. Each agent's membership
 * events (`/v1/events?types=member`, replayed from its boot) are reported to the engine,
 * which computes the invariants and measurements as it does for the simulator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random, swimOptions } from '../../lib/internal.js';
import type { SwimOptions } from '../../lib/internal.js';
import type { ClusterBackend, EngineHooks, LinkSettings, MaybePromise } from '../engine/backend.js';
import type { ScenarioEngine } from '../engine/engine.js';
import { fmtMs, round } from '../engine/result.js';
import type { Series } from '../engine/result.js';
import { ScenarioError } from '../scenario.js';
import type { Scenario } from '../scenario.js';
import { AgentProcess, killAllAgents } from './agent-process.js';
import { FaultPlan, loopbackHost } from './fault-plan.js';
import { parseTraffic } from './prom-text.js';
import type { AgentTraffic } from './prom-text.js';
import type { RealOptions } from './real-runner.js';

const MEMBER_EVENTS = new Set(['member-join', 'member-update', 'member-suspect', 'member-alive', 'member-dead', 'member-leave', 'member-reaped']);
/** Period of the /metrics scrapes. */
const SCRAPE_EVERY_MS = 5000;

interface Slot {
  index: number;
  name: string;
  host: string;
  roles: string[];
  dataDir: string;
  proc: AgentProcess | undefined;
  /** Process generation: events of an older process are ignored. */
  gen: number;
  stalled: boolean;
  rulesJson: string;
  /** Counters of the current process at the last scrape. */
  last: AgentTraffic | undefined;
}

export class ProcessBackend implements ClusterBackend {
  readonly name = '--real';
  readonly cannot = {
    'swim-overrides': 'the agent takes a profile only, so the real run uses the plain profile',
    jitter: 'the fault hook delays by a fixed amount',
    'clock-skew': "the agents read the host's clock; skewing it needs a time namespace or a clock hook in the agent",
    'inter-region': "every link gets the scenario's network settings, not the inter-region ones",
    workload: 'the workload is not driven against the agents (the simulated run measures it)',
  };
  readonly wallClock = true;
  readonly random: Random;
  engine!: ScenarioEngine;
  readonly slots: Slot[] = [];
  readonly errors: string[] = [];
  readonly pids: number[] = [];
  readonly totals: AgentTraffic = zeroTraffic();
  readonly started = performance.now();
  formMs = 0;
  processes = 0;
  selfCheck = '';
  tmp = '';
  private hooks!: EngineHooks;
  private readonly plan: FaultPlan;
  /** Sample index of the last /metrics scrape. */
  private lastScrape = 0;
  /** performance.now() of the timeline's time 0. */
  private t0 = performance.now();
  private readonly all: AgentProcess[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly sc: Scenario,
    private readonly opts: RealOptions,
  ) {
    this.plan = new FaultPlan({ ...sc.network });
    this.random = new Random(opts.seed ?? 1).fork('real');
  }

  /** Checks that the run fits (`cap` nodes at most) and makes its temp dir: last, nothing may throw after it. */
  prepare(cap: number): void {
    const max = this.opts.maxAgents ?? 200;
    if (cap > max) throw new ScenarioError('nodes', `--real starts one agent process per node: ${cap} is more than ${max} (use --nodes, e.g. --nodes 10)`, this.sc.source);
    for (let i = 0; i < cap; i++) loopbackHost(i, this.opts.baseHost); // fails early on a base that cannot hold them all
    this.tmp = mkdtempSync(join(tmpdir(), 'clusterd-real-'));
  }

  checkRandom(): Random {
    return new Random(1);
  }

  swimOptions(): SwimOptions {
    return swimOptions(this.sc.profile);
  }

  now(): number {
    return performance.now() - this.t0;
  }

  size(): number {
    return this.slots.length;
  }

  isRunning(i: number): boolean {
    return this.slots[i]?.proc?.running === true;
  }

  isStalled(i: number): boolean {
    return this.slots[i]?.stalled === true;
  }

  aliveSeen(): undefined {
    return undefined;
  }

  workload(): undefined {
    return undefined;
  }

  // ---------------------------------------------------------------- run

  async drive(hooks: EngineHooks, roles: readonly string[][]): Promise<void> {
    const sc = this.sc;
    this.hooks = hooks;
    for (let i = 0; i < sc.nodes; i++) this.newSlot(i, roles[i]!);
    const formStart = performance.now();
    this.t0 = formStart;
    this.engine.forming = sc.start === 'converged';
    // n0 founds the cluster; the others join through it
    const spawnAll = async (): Promise<void> => {
      await this.spawn(0, []);
      await Promise.all(this.slots.slice(1).map((s) => this.spawn(s.index, [0])));
    };
    if (sc.start === 'converged') {
      await spawnAll();
      const limit = this.opts.formTimeoutMs ?? 30_000 + 1000 * sc.nodes;
      while (!this.engine.tracker.converged) {
        if (performance.now() - formStart > limit) throw new Error(`the ${sc.nodes} agents did not converge within ${fmtMs(limit)} of their start (logs in ${this.tmp})`);
        await sleep(50);
      }
      this.formMs = performance.now() - formStart;
      this.t0 = performance.now();
      this.engine.tracker.convergedSince = 0;
      this.engine.forming = false;
      hooks.schedule();
      await this.sampleLoop();
    } else {
      // start: join: the timeline and the samples run from the first spawn on
      hooks.schedule();
      const sampling = this.sampleLoop();
      await spawnAll();
      this.formMs = performance.now() - formStart;
      await sampling;
    }
    await this.queue;
  }

  private newSlot(index: number, roles: string[]): Slot {
    const slot: Slot = { index, name: `n${index}`, host: loopbackHost(index, this.opts.baseHost), roles, dataDir: join(this.tmp, `n${index}`), proc: undefined, gen: 0, stalled: false, rulesJson: '[]', last: undefined };
    this.slots[index] = slot;
    return slot;
  }

  /**
   * Starts the agent of slot `i`: its rules are set before it joins (a restart during a
   * partition must not slip through it), then its event stream is followed from its boot.
   */
  private async spawn(i: number, seeds: number[], wipe = false, onBoot: () => void = () => this.hooks.booted(i)): Promise<void> {
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
      if (slot.proc === proc) slot.proc = undefined;
    });
    onBoot();
    slot.rulesJson = '[]';
    await this.pushRulesTo(slot);
    const self = await proc.api<{ cursor: string }>('GET', '/v1/self');
    const boot = self.cursor.slice(0, self.cursor.indexOf('-'));
    proc.follow(`${boot}-0`, (type, data) => this.onEvent(slot, gen, type, data), () => void this.resync(slot, gen));
    const addrs = seeds.filter((j) => j !== i).map((j) => this.slots[j]?.proc?.gossip).filter((a): a is string => a !== undefined);
    if (addrs.length > 0) await proc.api('POST', '/v1/join', { seeds: addrs }, 15_000).catch((err: Error) => this.error(`join of ${slot.name}: ${err.message}`));
  }

  private onEvent(slot: Slot, gen: number, type: string, data: Record<string, unknown>): void {
    if (slot.gen !== gen || !MEMBER_EVENTS.has(type)) return;
    const s = nodeIndex(data.name);
    if (s === undefined || s === slot.index || s >= this.engine.cap) return;
    this.hooks.memberEvent(type, slot.index, s, data.incarnation);
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
        if (s !== undefined && s !== slot.index && s < this.engine.cap) this.engine.tracker.see(slot.index, s, m.state === 'alive');
      }
      this.error(`${slot.name}: event stream could not resume; views re-read from /v1/members`);
    } catch (err) {
      this.error(`${slot.name}: resync failed: ${(err as Error).message}`);
    }
  }

  private error(what: string): void {
    if (this.errors.length < 20) this.errors.push(`${fmtMs(this.now())}: ${what}`);
  }

  // ---------------------------------------------------------------- operations

  /** Runs `fn` at `ms` of the timeline, in order with the other steps (spawns are awaited). */
  at(ms: number, fn: () => MaybePromise<void>): void {
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

  crash(i: number): Promise<void> | undefined {
    const slot = this.slots[i]!;
    const proc = slot.proc;
    if (!proc?.running) return undefined;
    proc.unfollow();
    proc.signal('SIGKILL');
    if (slot.stalled) proc.signal('SIGCONT');
    slot.proc = undefined;
    slot.gen++;
    return proc.exited.then(() => undefined);
  }

  async restart(i: number, persisted: boolean, seeds: number[], up: () => void): Promise<void> {
    const asked = this.now();
    // the news of its return is followed from the moment the new process is up, before it joins
    await this.spawn(i, seeds, !persisted, () => {
      up();
      this.hooks.note(`n${i} back up ${Math.round(this.now() - asked)} ms after the restart was asked (process start)`);
    });
  }

  async leave(i: number, gone: (same: boolean) => void): Promise<void> {
    const slot = this.slots[i]!;
    const proc = slot.proc!;
    const gen = slot.gen;
    void proc.exited.then(() => gone(slot.gen === gen));
    await proc.api('POST', '/v1/leave', {}).catch(() => proc.signal('SIGTERM'));
  }

  async add(i: number, roles: string[], seeds: number[], up: () => void): Promise<void> {
    this.newSlot(i, roles);
    await this.spawn(i, seeds, false, () => {
      this.hooks.booted(i);
      up();
    });
    // the newcomer's peers must drop it too when a partition is in force
    await this.pushRules();
  }

  stall(i: number, ms: number): void {
    const slot = this.slots[i]!;
    const proc = slot.proc;
    if (!proc?.running) return;
    proc.signal('SIGSTOP');
    slot.stalled = true;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (slot.proc === proc) {
        proc.signal('SIGCONT');
        slot.stalled = false;
      }
    }, ms);
    this.timers.add(timer);
  }

  partition(groups: number[][]): Promise<void> {
    this.plan.partition(groups);
    return this.pushRules();
  }

  partitionOneWay(from: number[], to: number[]): Promise<void> {
    this.plan.partitionOneWay(from, to);
    return this.pushRules();
  }

  heal(): Promise<void> {
    this.plan.heal();
    return this.pushRules();
  }

  setLinks(from: number[], to: number[], link: LinkSettings, oneWay: boolean): Promise<void> {
    for (const a of from) for (const b of to) if (a !== b) this.plan.setLink(a, b, link, oneWay);
    return this.pushRules();
  }

  setNetwork(link: LinkSettings): Promise<void> {
    this.plan.setGlobal(link);
    return this.pushRules();
  }

  setSkew(): void {
    throw new Error('clock-skew is not applied in --real'); // the engine checks `cannot` first
  }

  // ---------------------------------------------------------------- sampling

  private async sampleLoop(): Promise<void> {
    const every = this.sc.sampleEveryMs;
    const total = this.sc.durationMs;
    await this.hooks.sample(0, true);
    for (let t = every; ; t += every) {
      const at = Math.min(t, total);
      const wait = at - this.now();
      if (wait > 0) await sleep(wait);
      await this.hooks.sample(at, at >= total);
      this.opts.onProgress?.(at, total);
      if (at >= total) break;
    }
  }

  /** Traffic from /metrics, scraped every SCRAPE_EVERY_MS (awaited on the last sample), each rate spread over the samples it covers. */
  sampleTraffic(s: Series, k: number, up: number, _per: (v: number) => number, last: boolean): Promise<void> | undefined {
    s.msgsPerNodePerSec.push(0);
    s.bytesPerNodePerSec.push(0);
    s.streamBytesPerNodePerSec.push(0);
    // /metrics costs the agents and the runner CPU the cluster needs
    const from = this.lastScrape;
    const tMs = s.tMs[k]!;
    if (k > 0 && !last && tMs - s.tMs[from]! < SCRAPE_EVERY_MS) return undefined;
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
    if (last) return scrape;
    this.pending.add(scrape);
    void scrape.finally(() => this.pending.delete(scrape));
    return undefined;
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

  async settle(): Promise<void> {
    await Promise.all([...this.pending]);
    this.selfCheck = await this.checkViews();
    this.engine.addNotModelled(this.errors.map((e) => `driver: ${e}`));
  }

  /** Reads each agent's member list and compares it with the event-fed view. */
  private async checkViews(): Promise<string> {
    let checked = 0;
    const off: string[] = [];
    const t = this.engine.tracker;
    await Promise.all(this.slots.map(async (slot) => {
      const proc = slot.proc;
      if (!proc?.running || slot.stalled || this.engine.leaving[slot.index] === 1 || !t.isUp(slot.index)) return;
      try {
        const { members } = await proc.api<{ members: { name: string; state: string }[] }>('GET', '/v1/members');
        checked++;
        const listed = new Set(members.filter((m) => m.state === 'alive').map((m) => m.name));
        for (let s = 0; s < this.slots.length; s++) {
          if (s === slot.index) continue;
          if (listed.has(`n${s}`) !== t.sees(slot.index, s)) off.push(`${slot.name} lists n${s} ${listed.has(`n${s}`) ? 'alive' : 'not alive'}, its events said the opposite`);
        }
      } catch (err) {
        off.push(`${slot.name}: ${(err as Error).message}`);
      }
    }));
    return off.length === 0 ? `the views built from the event streams match GET /v1/members on all ${checked} live agents` : `${off.length} mismatches: ${off.slice(0, 3).join('; ')}`;
  }

  async brokerLists(observers: number[]): Promise<Map<number, string[] | string>> {
    const out = new Map<number, string[] | string>();
    const got = await Promise.all(observers.map(async (o): Promise<string[] | string | undefined> => {
      const proc = this.slots[o]?.proc;
      if (!proc?.running) return undefined;
      try {
        return (await proc.api<{ brokers: { name: string }[] }>('GET', '/v1/brokers')).brokers.map((b) => b.name);
      } catch (err) {
        return (err as Error).message;
      }
    }));
    observers.forEach((o, k) => {
      const g = got[k];
      if (g !== undefined) out.set(o, g);
    });
    return out;
  }

  trafficTotals(): { msgs: number; bytes: number; stream: number; framesLost: number; totals: Record<string, number> } {
    const t = this.totals;
    return { msgs: t.packetsOut, bytes: t.datagramBytesOut, stream: t.streamBytesOut, framesLost: t.faultDropped, totals: { ...t } };
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
    this.cleanupSync();
  }

  /** On SIGINT: what can be done synchronously. */
  cleanupSync(): void {
    if (this.opts.keepData !== true && this.tmp !== '') rmSync(this.tmp, { recursive: true, force: true });
  }
}

const TRAFFIC_KEYS = ['packetsOut', 'datagramBytesOut', 'streamBytesOut', 'streamsOpened', 'faultDropped'] as const;

function zeroTraffic(): AgentTraffic {
  return { packetsOut: 0, datagramBytesOut: 0, streamBytesOut: 0, streamsOpened: 0, faultDropped: 0 };
}

function nodeIndex(name: unknown): number | undefined {
  if (typeof name !== 'string') return undefined;
  const m = /^n(\d{1,6})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
