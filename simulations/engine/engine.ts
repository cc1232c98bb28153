/**
 * The scenario engine: plays a scenario's timeline on a {@link ClusterBackend} (the
 * simulated network in virtual time, or real agent processes in wall time), follows the
 * membership events into the view tracker and the false-death and dissemination
 * bookkeeping, samples, and produces the verdicts and the result. One engine for both
 * backends, so what `clusterd sim` and `clusterd sim --real` measure is measured the same
 * way; what a backend cannot do is declared once on it (`cannot`) and reported here.
 */
import { suspicionMinTimeout, swimOptions } from '../../lib/internal.js';
import { select } from '../node-set.js';
import type { SelectContext, Selector } from '../node-set.js';
import { regionIndexOf, ScenarioError } from '../scenario.js';
import type { ResolvedStep, Scenario } from '../scenario.js';
import { ViewTracker } from '../view-tracker.js';
import { then } from './backend.js';
import type { Capability, ClusterBackend, EngineHooks, LinkSettings, MaybePromise, WorkloadProbe } from './backend.js';
import { FalsePositives } from './false-positives.js';
import { Sampler } from './sampler.js';
import { dist, round, thin } from './result.js';
import type { InvariantResult, SimResult, Spread } from './result.js';
import { brokerVerdict, convergedVerdict, notMeasuredWorkload, NO_WORKLOAD } from './verdicts.js';

/** At most this many spread curves are kept in the result (the distributions use all). */
const MAX_CURVES = 20;
/** At most this many timeline events are listed in the result. */
const MAX_EVENTS = 200;
const ALIVE_EVENTS = new Set(['member-join', 'member-alive', 'member-update']);

interface Fault {
  spread: Spread;
  seen: Uint8Array;
  aware: number;
  /** For crashes: per-observer time to the dead declaration. */
  deadTimes: number[];
}

/** Runs scenario `sc` on backend `b`. */
export class ScenarioEngine implements EngineHooks {
  readonly tracker: ViewTracker;
  /** Most nodes the run can have (initial plus every add). */
  readonly cap: number;
  readonly roles: string[][] = [];
  /** Per node: leaving gracefully (out of the truth, still running). */
  readonly leaving: Uint8Array;
  /** The cluster is forming before the timeline's time 0: events update the views only. */
  forming = false;
  private readonly fp: FalsePositives;
  private readonly sampler: Sampler;
  private readonly workload: WorkloadProbe | undefined;
  private readonly faults = new Map<number, Fault>();
  private readonly spreads: Fault[] = [];
  private readonly heals: { atMs: number; convergedAfterMs: number }[] = [];
  private pendingHeal: { atMs: number } | undefined;
  private readonly events: { atMs: number; what: string }[] = [];
  private readonly notModelled: string[] = [];
  private lastFault = 0;

  constructor(
    private readonly sc: Scenario,
    private readonly b: ClusterBackend,
    private readonly seed: number,
  ) {
    let adds = 0;
    for (const s of sc.timeline) if (s.action === 'add') adds += (s as { count: number }).count * s.repeat.times;
    this.cap = sc.nodes + adds;
    this.tracker = new ViewTracker(this.cap, () => b.now());
    this.leaving = new Uint8Array(this.cap);
    const o = b.swimOptions();
    const graceMs = sc.falseDeathGraceMs ?? suspicionMinTimeout(o.suspicionMult, Math.max(sc.nodes, 2), o.probeIntervalMs) * o.suspicionMaxTimeoutMult + 10_000;
    this.fp = new FalsePositives(this.cap, graceMs, this.tracker);
    this.sampler = new Sampler(this.tracker, this.cap, b);
    this.checkSelectors();
    this.workload = b.cannot.workload === undefined && sc.workload ? b.workload((i) => this.live(i)) : undefined;
  }

  /** Runs the scenario to its end and returns the result. */
  run(): MaybePromise<SimResult> {
    const sc = this.sc;
    this.declareLimits();
    for (let i = 0; i < sc.nodes; i++) this.roles.push([]);
    const ctx = this.ctx();
    for (const [role, sel] of Object.entries(sc.roles)) for (const i of this.resolve(sel, `roles.${role}`, ctx)) this.roles[i]!.push(role);
    return then(this.b.drive(this, this.roles), () => this.finish());
  }

  /** What the scenario asks that the backend cannot do, beyond single steps (those are reported as they run). */
  private declareLimits(): void {
    const sc = this.sc;
    if (Object.keys(sc.swim).length > 0) this.notApplied('swim-overrides', `swim overrides ${JSON.stringify(sc.swim)}`);
    if (sc.network.jitterMs > 0) this.notApplied('jitter', `network jitter ${sc.network.jitterMs} ms`);
    if (sc.regions.length > 0) this.notApplied('inter-region', `regions (${sc.regions.join(', ')})`);
    if (sc.workload) this.notApplied('workload', 'the workload');
  }

  /** Reports `what` as not applied when the backend lacks `cap`; true then. */
  private notApplied(cap: Capability, what: string): boolean {
    const why = this.b.cannot[cap];
    if (why === undefined) return false;
    this.notModelled.push(`${what}: not applied in ${this.b.name} (${why})`);
    return true;
  }

  /** Up and not leaving: may be chosen by selectors, churn and the workload. */
  live(i: number): boolean {
    return i < this.b.size() && this.b.isRunning(i) && this.leaving[i] === 0;
  }

  private stamp(ms: number): number {
    return this.b.wallClock ? Math.round(ms) : ms;
  }

  // ---------------------------------------------------------------- selectors

  private ctx(): SelectContext {
    return {
      initial: this.sc.nodes,
      total: this.b.size() || this.sc.nodes,
      rolesOf: (i) => this.roles[i] ?? [],
      isUp: (i) => this.live(i),
      regionNodes: (name) => this.regionNodes(name),
      random: this.b.random,
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

  private resolve(sel: Selector, path: string, ctx = this.ctx()): number[] {
    try {
      return select(sel, ctx);
    } catch (err) {
      throw new ScenarioError(path, (err as Error).message, this.sc.source);
    }
  }

  /** Resolves every selector once against the largest cluster the run can have, to fail before running. */
  private checkSelectors(): void {
    const ctx: SelectContext = { initial: this.sc.nodes, total: this.cap, rolesOf: () => [], isUp: () => true, regionNodes: (name) => this.regionNodes(name), random: this.b.checkRandom() };
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

  // ---------------------------------------------------------------- timeline

  schedule(): void {
    this.workload?.start();
    this.sc.timeline.forEach((s, i) => {
      for (let r = 0; r < s.repeat.times; r++) {
        const t = s.atMs + r * s.repeat.everyMs;
        if (t <= this.sc.durationMs) this.b.at(t, () => this.apply(s, `timeline[${i}]`));
      }
    });
    const churn = this.sc.churn;
    if (churn && churn.fractionPerMinute > 0) {
      const every = 60_000 / (churn.fractionPerMinute * this.sc.nodes);
      for (let t = churn.fromMs; t < churn.untilMs && t <= this.sc.durationMs; t += every) this.b.at(t, () => this.churnOne());
    }
  }

  note(what: string): void {
    if (this.events.length < MAX_EVENTS) this.events.push({ atMs: this.stamp(this.b.now()), what });
  }

  private fault(until = this.b.now()): void {
    if (until > this.lastFault) this.lastFault = until;
  }

  /** Runs `fn` on each node, `staggerMs` apart; settles when the ones run now have. */
  private each(nodes: number[], staggerMs: number, fn: (i: number) => MaybePromise<void>): MaybePromise<void> {
    const base = this.b.now();
    const now: Promise<void>[] = [];
    nodes.forEach((i, k) => {
      if (k === 0 || staggerMs === 0) {
        const r = fn(i);
        if (r instanceof Promise) now.push(r);
      } else this.b.at(base + k * staggerMs, () => fn(i));
    });
    this.fault(base + Math.max(0, nodes.length - 1) * staggerMs);
    return now.length === 0 ? undefined : Promise.all(now).then(() => undefined);
  }

  private apply(s: ResolvedStep, path: string): MaybePromise<void> {
    const step = s as ResolvedStep & Record<string, unknown>;
    const names = (xs: number[]): string => (xs.length <= 6 ? xs.map((i) => `n${i}`).join(', ') : `${xs.length} nodes (n${xs[0]}…n${xs[xs.length - 1]})`);
    const sel = (key: string): number[] => this.resolve(step[key] as Selector, `${path}.${key}`);
    switch (s.action) {
      case 'crash': {
        const xs = sel('nodes');
        this.note(`crash ${names(xs)}`);
        return this.each(xs, s.staggerMs, (i) => void this.crash(i));
      }
      case 'restart': {
        const xs = sel('nodes');
        this.note(`restart ${names(xs)}`);
        return this.each(xs, s.staggerMs, (i) => this.restart(i, step.persisted !== false));
      }
      case 'leave': {
        const xs = sel('nodes');
        this.note(`leave ${names(xs)}`);
        return this.each(xs, s.staggerMs, (i) => this.leave(i));
      }
      case 'add': {
        const count = step.count as number;
        const seeds = step.join === undefined ? undefined : sel('join');
        this.note(`add ${count} node${count === 1 ? '' : 's'}${step.roles ? ` (${(step.roles as string[]).join(', ')})` : ''}`);
        const ks = Array.from({ length: count }, (_, k) => k);
        return this.each(ks, s.staggerMs, () => this.addNode((step.roles as string[] | undefined) ?? [], seeds));
      }
      case 'partition': {
        const groups = (step.groups as Selector[]).map((g, j) => this.resolve(g, `${path}.groups[${j}]`));
        this.note(`partition into ${groups.length + 1} groups (${groups.map((g) => g.length).join(' / ')} / rest)`);
        this.fp.endPartition(this.b.now(), (i) => this.b.isRunning(i));
        const r = this.b.partition(groups);
        this.fp.openCut(groups, false);
        for (let i = 0; i < this.b.size(); i++) this.fp.impair(i);
        this.fault();
        return r;
      }
      case 'partition-one-way': {
        const from = sel('from');
        const to = sel('to');
        this.note(`one-way partition: ${names(from)} → ${names(to)} dropped`);
        this.fp.endPartition(this.b.now(), (i) => this.b.isRunning(i));
        const r = this.b.partitionOneWay(from, to);
        this.fp.openCut([from, to], true);
        for (const i of [...from, ...to]) this.fp.impair(i);
        this.fault();
        return r;
      }
      case 'heal': {
        this.note('heal');
        this.fp.endPartition(this.b.now(), (i) => this.b.isRunning(i));
        const r = this.b.heal();
        this.pendingHeal = { atMs: this.b.now() };
        this.workload?.heal();
        this.fault();
        return r;
      }
      case 'link': {
        const from = sel('from');
        const to = sel('to');
        const link = linkSettings(step);
        this.note(`link ${names(from)} ${step.oneWay === true ? '→' : '↔'} ${names(to)}: ${JSON.stringify(link)}`);
        const r = this.b.setLinks(from, to, link, step.oneWay === true);
        if (link.jitterMs !== undefined && link.jitterMs > 0) this.notApplied('jitter', `${path} jitter ${link.jitterMs} ms`);
        this.fault();
        return r;
      }
      case 'network': {
        const link = linkSettings(step);
        this.note(`network: ${JSON.stringify(link)}`);
        const r = this.b.setNetwork(link);
        if (link.jitterMs !== undefined && link.jitterMs > 0) this.notApplied('jitter', `${path} jitter ${link.jitterMs} ms`);
        this.fault();
        return r;
      }
      case 'stall': {
        const xs = sel('nodes');
        const ms = step.durationMs ?? 0;
        this.note(`stall ${names(xs)} for ${ms} ms`);
        return this.each(xs, s.staggerMs, (i) => {
          const r = this.b.stall(i, ms);
          this.fp.stalled(i, this.b.now(), ms);
          this.fault(this.b.now() + ms);
          return r;
        });
      }
      case 'clock-skew': {
        const xs = sel('nodes');
        const offset = (step.offsetMs as number | undefined) ?? 0;
        const drift = (step.driftPpm as number | undefined) ?? 0;
        if (this.b.cannot['clock-skew'] !== undefined) {
          const what = `${path} clock-skew of ${names(xs)} (offset ${offset} ms, drift ${drift} ppm)`;
          this.note(`${what}: not applied in ${this.b.name}`);
          this.notApplied('clock-skew', what);
          return;
        }
        this.note(`clock skew of ${names(xs)}: offset ${offset} ms, drift ${drift} ppm`);
        for (const i of xs) this.b.setSkew(i, offset, drift);
        return;
      }
    }
  }

  /** `follow`: time how the crash spreads (not for the crash half of a restart). Settles when the node is gone. */
  private crash(i: number, follow = true): MaybePromise<void> {
    if (!this.b.isRunning(i)) return;
    const wasLeaving = this.leaving[i] === 1;
    if (!wasLeaving) this.workload?.nodeDown(i);
    const gone = this.b.crash(i);
    this.fp.trouble(i, Infinity);
    this.workload?.ended(i);
    this.leaving[i] = 0;
    this.fp.impairedUntil[i] = Infinity;
    if (!wasLeaving) {
      this.tracker.down(i);
      if (follow) this.track(i, 'crash');
    }
    this.fault();
    return gone;
  }

  private restart(i: number, persisted: boolean): MaybePromise<void> {
    const gone = this.b.isRunning(i) ? this.crash(i, false) : undefined;
    return then(gone, () => then(this.b.restart(i, persisted, this.seedsFor(i), () => {
      this.tracker.boot(i);
      this.fp.restarted(i, this.b.now());
      this.track(i, 'join');
    }), () => this.fault()));
  }

  private leave(i: number): MaybePromise<void> {
    if (!this.b.isRunning(i) || this.leaving[i] === 1) return;
    this.workload?.nodeDown(i);
    this.leaving[i] = 1;
    this.fp.impairedUntil[i] = Infinity;
    this.fp.trouble(i, Infinity);
    this.tracker.down(i);
    this.track(i, 'leave');
    const r = this.b.leave(i, (same) => {
      if (same) this.leaving[i] = 0;
      this.workload?.ended(i);
    });
    this.fault();
    return r;
  }

  private addNode(roles: string[], seeds: number[] | undefined): MaybePromise<void> {
    const i = this.b.size();
    this.roles[i] = roles;
    const join = (seeds ?? this.seedsFor(i)).filter((s) => s !== i);
    return then(this.b.add(i, roles, join, () => {
      this.tracker.boot(i);
      this.track(i, 'join');
    }), () => this.fault());
  }

  /** The first node up other than `i`: where a restarted or added node joins. */
  private seedsFor(i: number): number[] {
    for (let j = 0; j < this.b.size(); j++) if (j !== i && this.live(j)) return [j];
    return [];
  }

  private churnOne(): MaybePromise<void> {
    const churn = this.sc.churn!;
    const up: number[] = [];
    for (let i = 0; i < this.b.size(); i++) if (this.live(i)) up.push(i);
    if (up.length <= 1) return;
    const i = up[this.b.random.int(up.length)]!;
    const r = churn.mode === 'leave-rejoin' ? this.leave(i) : void this.crash(i);
    this.note(`churn: ${churn.mode === 'leave-rejoin' ? 'leave' : 'crash'} n${i}, back in ${churn.downForMs} ms`);
    this.b.at(this.b.now() + churn.downForMs, () => this.restart(i, true));
    return r;
  }

  // ---------------------------------------------------------------- events

  booted(i: number): void {
    this.tracker.boot(i);
  }

  /** Starts following how the news about node `i` spreads. */
  private track(i: number, kind: Spread['kind']): void {
    // Only observers that still have something to learn: a join is news to those that do
    // not hold the node alive (a quick restart refreshes the others without an event), a
    // crash or a leave to those that do.
    const seen = new Uint8Array(this.cap);
    let observers = 0;
    for (let o = 0; o < this.b.size(); o++) {
      if (o === i || !this.tracker.isUp(o)) continue;
      if (this.tracker.sees(o, i) === (kind === 'join')) seen[o] = 1;
      else observers++;
    }
    const spread: Spread = { kind, node: `n${i}`, atMs: this.stamp(this.b.now()), observers, firstSuspectMs: -1, allAwareMs: observers === 0 ? 0 : -1, curve: [] };
    const fault: Fault = { spread, seen, aware: 0, deadTimes: [] };
    this.faults.set(i, fault);
    this.spreads.push(fault);
  }

  memberEvent(type: string, o: number, s: number, incarnation: unknown): void {
    const alive = ALIVE_EVENTS.has(type);
    this.tracker.see(o, s, alive);
    const now = this.b.now();
    if (this.tracker.converged && this.pendingHeal) this.closeHeal();
    if (this.forming) return; // the cluster forming before time 0: not part of the timeline
    this.fp.event(type, o, s, incarnation, now, this.b.isStalled(s, now));
    const f = this.faults.get(s);
    if (!f || !this.tracker.isUp(o) || o === s || f.seen[o] === 1) return;
    const sp = f.spread;
    const since = this.stamp(now - sp.atMs);
    if (sp.kind === 'crash' && type === 'member-suspect' && sp.firstSuspectMs < 0) sp.firstSuspectMs = since;
    const learned = sp.kind === 'crash' ? type === 'member-dead' : sp.kind === 'leave' ? type === 'member-leave' : alive;
    if (!learned) return;
    f.seen[o] = 1;
    if (sp.kind === 'crash') f.deadTimes.push(now - sp.atMs);
    const aware = ++f.aware;
    sp.curve.push([now - sp.atMs, sp.observers === 0 ? 1 : aware / sp.observers]);
    if (aware >= sp.observers && sp.allAwareMs < 0) sp.allAwareMs = since;
  }

  private closeHeal(): void {
    const h = this.pendingHeal!;
    const after = this.b.wallClock ? Math.round(Math.max(0, this.tracker.convergedSince - h.atMs)) : this.b.now() - h.atMs;
    this.heals.push({ atMs: this.stamp(h.atMs), convergedAfterMs: after });
    this.pendingHeal = undefined;
  }

  // ---------------------------------------------------------------- sampling

  sample(tMs: number, last: boolean): MaybePromise<void> {
    if (this.tracker.converged && this.pendingHeal) this.closeHeal();
    const r = this.sampler.sample(tMs, this.b.now(), this.lastFault, last);
    this.workload?.sample(this.b.now(), this.sampler.per);
    return r;
  }

  // ---------------------------------------------------------------- end

  private finish(): MaybePromise<SimResult> {
    return then(this.b.settle(), () => {
      if (this.pendingHeal) this.heals.push({ atMs: this.stamp(this.pendingHeal.atMs), convergedAfterMs: -1 });
      const observers: number[] = [];
      for (let o = 0; o < this.b.size(); o++) if (this.tracker.isUp(o)) observers.push(o);
      const hasBrokers = this.roles.some((r) => r.includes('broker'));
      return then(hasBrokers ? this.b.brokerLists(observers) : undefined, (lists) => this.result(lists));
    });
  }

  private result(brokerLists: Map<number, string[] | string> | undefined): SimResult {
    const sc = this.sc;
    const now = this.b.now();
    const invariants: InvariantResult[] = [convergedVerdict(this.tracker, this.b.size(), sc.convergedWithinMs, this.lastFault, this.sampler.rediverged, now), this.fp.verdict()];
    if (brokerLists) invariants.push(brokerVerdict(this.roles, this.b.size(), this.tracker, brokerLists));
    const why = this.b.cannot.workload;
    const missing = why !== undefined ? `not measured in ${this.b.name}: ${why}` : NO_WORKLOAD;
    invariants.push(...(this.workload ? this.workload.verdicts() : notMeasuredWorkload(missing)));
    const crashes = this.spreads.filter((f) => f.spread.kind === 'crash');
    const totals = this.b.trafficTotals();
    const series = this.sampler.series;
    const nodeSeconds = series.up.reduce((a, u, k) => a + (k === 0 ? 0 : (u * (series.tMs[k]! - series.tMs[k - 1]!)) / 1000), 0);
    const perNode = (v: number): number => (nodeSeconds === 0 ? 0 : round(v / nodeSeconds, 1));
    const conv = this.tracker.converged ? this.stamp(Math.max(0, this.tracker.convergedSince - this.lastFault)) : -1;
    return {
      scenario: { name: sc.name, description: sc.description, expected: sc.expected, source: sc.source },
      seed: this.seed,
      nodes: sc.nodes,
      durationMs: sc.durationMs,
      profile: sc.profile,
      swim: { ...swimOptions(sc.profile, this.b.cannot['swim-overrides'] === undefined ? sc.swim : {}) },
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
        falsePositives: this.fp.measurements(),
        traffic: {
          msgsPerNodePerSec: perNode(totals.msgs),
          bytesPerNodePerSec: perNode(totals.bytes),
          streamBytesPerNodePerSec: perNode(totals.stream),
          framesLost: totals.framesLost,
          totals: totals.totals,
        },
        convergence: { lastFaultMs: this.stamp(this.lastFault), convergedAfterLastFaultMs: conv, heals: this.heals },
        antiEntropy: this.workload ? this.workload.antiEntropyLine() : missing,
      },
      replication: this.workload
        ? this.workload.result(nodeSeconds)
        : { status: missing, workload: sc.workload ?? null, operations: null, antiEntropy: null, traffic: null, convergence: null, order: null, series: null, delivery: null },
      notModelled: this.notModelled,
      events: this.events,
      series,
      views: this.sampler.views(),
    };
  }

  /** Lines for a `notModelled` list added by the backend (e.g. driver errors). */
  addNotModelled(lines: string[]): void {
    this.notModelled.push(...lines);
  }
}

function linkSettings(step: Record<string, unknown>): LinkSettings {
  const out: LinkSettings = {};
  if (typeof step.latencyMs === 'number') out.latencyMs = step.latencyMs;
  if (typeof step.jitterMs === 'number') out.jitterMs = step.jitterMs;
  if (typeof step.loss === 'number') out.loss = step.loss;
  return out;
}
