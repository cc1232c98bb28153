/**
 * The simulated backend: the scenario engine over SimNetwork (and, with a workload,
 * SimReplication) in virtual time, with one seed. Everything is synchronous, so a run is
 * one call and its result (no wall-clock figure in it) is byte-identical for the same
 * scenario and seed.
 */
import { SharedMembers, encodeMeta, seedShared } from '../../lib/internal.js';
import type { Random, ReplicationOptions, SwimOptions } from '../../lib/internal.js';
import { SimNetwork } from '../network.js';
import type { SimNode } from '../network.js';
import type { SimReplication } from '../replication.js';
import { regionIndexOf } from '../scenario.js';
import type { Scenario } from '../scenario.js';
import type { ClusterBackend, EngineHooks, LinkSettings, MaybePromise } from './backend.js';
import { ScenarioEngine } from './engine.js';
import type { Series, SimResult } from './result.js';
import { SimWorkload } from './sim-workload.js';

/** Options of {@link runScenario}. */
export interface SimRunOptions {
  /** The seed of the run. @default 1 */
  seed?: number;
  /**
   * Called after every sample with the virtual time done, the total and the datagram
   * messages the nodes have sent so far (a count the samples keep anyway). @default none
   */
  onProgress?: (doneMs: number, totalMs: number, messages: number) => void;
  /** Replication options of every node (tests shorten intervals with it). @default {} */
  replication?: Omit<ReplicationOptions, 'history'>;
  /**
   * Test-only faults, run at `atMs` on the replication runtime (e.g. corrupt one
   * replica) to show that an invariant catches what they break. @default []
   */
  faults?: { atMs: number; run: (repl: SimReplication) => void }[];
}

/** Runs `sc` in the simulator and returns its result. Throws ScenarioError when a selector cannot be resolved. */
export function runScenario(sc: Scenario, opts: SimRunOptions = {}): SimResult {
  const seed = opts.seed ?? 1;
  const backend = new SimulatedBackend(sc, seed, opts);
  const engine = new ScenarioEngine(sc, backend, seed);
  backend.engine = engine;
  return engine.run() as SimResult;
}

class SimulatedBackend implements ClusterBackend {
  readonly name = 'the simulator';
  readonly cannot = {};
  readonly wallClock = false;
  readonly random: Random;
  readonly net: SimNetwork;
  engine!: ScenarioEngine;
  private work: SimWorkload | undefined;
  private readonly metaCache = new Map<string, Uint8Array>();
  private lastTotals = { msgs: 0, bytes: 0, stream: 0 };

  constructor(
    private readonly sc: Scenario,
    private readonly seed: number,
    private readonly opts: SimRunOptions,
  ) {
    this.net = new SimNetwork({ seed, profile: sc.profile, swim: sc.swim, latencyMs: sc.network.latencyMs, jitterMs: sc.network.jitterMs, loss: sc.network.loss });
    this.random = this.net.random.fork('runner');
    if (sc.interRegion) this.net.setInterRegion(sc.interRegion);
  }

  checkRandom(): Random {
    return this.net.random.fork('check');
  }

  swimOptions(): SwimOptions {
    return this.net.options;
  }

  now(): number {
    return this.net.now;
  }

  at(ms: number, fn: () => MaybePromise<void>): void {
    this.net.clock.setTimer(ms - this.net.now, () => void fn());
  }

  size(): number {
    return this.net.nodes.length;
  }

  isRunning(i: number): boolean {
    return this.net.nodes[i]?.up === true;
  }

  isStalled(i: number, now: number): boolean {
    return this.net.nodes[i]!.stalledUntil > now;
  }

  aliveSeen(i: number): number {
    return this.net.nodes[i]!.m.counts().alive;
  }

  workload(live: (i: number) => boolean): SimWorkload {
    this.work = new SimWorkload(this.net, this.sc, this.seed, this.opts, live, (i) => this.regionOf(i));
    return this.work;
  }

  /** Region index of initial node `i` for SimNetwork, or -1. */
  private regionOf(i: number): number {
    return this.sc.regions.length === 0 || i >= this.sc.nodes ? -1 : regionIndexOf(i, this.sc.nodes, this.sc.regions.length);
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

  drive(hooks: EngineHooks, roles: readonly string[][]): void {
    const sc = this.sc;
    this.net.onMemberEvent((type, observer, info) => {
      const s = Number(info.name.slice(1));
      hooks.memberEvent(type as string, observer.index, s, info.incarnation);
      if (this.work && (type === 'member-dead' || type === 'member-leave')) this.work.memberGone(observer.index, info.name, type === 'member-dead' ? 'dead' : 'left');
    });
    this.startNodes(hooks, roles);
    hooks.schedule();
    void hooks.sample(this.net.now, false);
    for (let t = 0; t < sc.durationMs; ) {
      const step = Math.min(sc.sampleEveryMs, sc.durationMs - t);
      this.net.run(step);
      t += step;
      void hooks.sample(this.net.now, t >= sc.durationMs);
      this.opts.onProgress?.(t, sc.durationMs, this.lastTotals.msgs);
    }
  }

  private startNodes(hooks: EngineHooks, roles: readonly string[][]): void {
    const n = this.sc.nodes;
    const tracker = this.engine.tracker;
    if (this.sc.start === 'join') {
      for (let i = 0; i < n; i++) {
        this.net.add(undefined, { meta: this.metaFor(roles[i]!), join: i === 0 ? [] : ['n0'], region: this.regionOf(i) });
        hooks.booted(i);
        if (i === 0) this.work?.repl.bootstrap(0);
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
      nodes.push(this.net.add(undefined, { noStart: true, meta: this.metaFor(roles[i]!), region: this.regionOf(i) }));
      hooks.booted(i);
    }
    // one shared record per member, read in place by every table (seedShared, lib/swim/simulator-access.ts)
    const now = this.net.now;
    const empty = new Uint8Array();
    const shared = new SharedMembers(this.net.index, nodes.map((x) => ({ name: x.name, addr: x.addr, incarnation: 0, state: 'alive', meta: x.meta ?? empty, changedAt: now, rttMs: undefined })));
    for (const x of nodes) seedShared(x.m, shared);
    tracker.converge();
    for (const x of nodes) x.rt.start();
  }

  crash(i: number): void {
    this.net.crash(`n${i}`);
  }

  restart(i: number, persisted: boolean, seeds: number[], up: () => void): void {
    this.net.restart(`n${i}`, { persisted, join: seeds.map((j) => `n${j}`) });
    up();
  }

  leave(i: number, gone: (same: boolean) => void): void {
    const node = this.net.nodes[i]!;
    const gen = node.gen;
    this.net.leave(node.name, () => gone(node.gen === gen + 1));
  }

  add(i: number, roles: string[], seeds: number[], up: () => void): void {
    this.net.add(undefined, { meta: this.metaFor(roles), join: seeds.map((s) => `n${s}`) });
    up();
  }

  stall(i: number, ms: number): void {
    this.net.stall(`n${i}`, ms);
  }

  partition(groups: number[][]): void {
    this.net.partition(groups.map((g) => g.map((i) => `n${i}`)));
  }

  partitionOneWay(from: number[], to: number[]): void {
    this.net.partitionOneWay(from.map((i) => `n${i}`), to.map((i) => `n${i}`));
  }

  heal(): void {
    this.net.heal();
  }

  setLinks(from: number[], to: number[], link: LinkSettings, oneWay: boolean): void {
    for (const a of from) for (const b of to) if (a !== b) this.net.setLink(`n${a}`, `n${b}`, link, oneWay);
  }

  setNetwork(link: LinkSettings): void {
    Object.assign(this.net.link, link);
  }

  setSkew(i: number, offsetMs: number, driftPpm: number): void {
    this.net.setSkew(`n${i}`, offsetMs, driftPpm);
  }

  sampleTraffic(s: Series, _k: number, _up: number, per: (v: number) => number): void {
    let msgs = 0;
    let bytes = 0;
    let stream = 0;
    for (const n of this.net.nodes) {
      msgs += n.msgsSent;
      bytes += n.bytesSent;
      stream += n.streamBytesSent;
    }
    s.msgsPerNodePerSec.push(per(msgs - this.lastTotals.msgs));
    s.bytesPerNodePerSec.push(per(bytes - this.lastTotals.bytes));
    s.streamBytesPerNodePerSec.push(per(stream - this.lastTotals.stream));
    this.lastTotals = { msgs, bytes, stream };
  }

  brokerLists(observers: number[]): Map<number, string[]> {
    return new Map(observers.map((o) => [o, this.net.nodes[o]!.m.brokers().map((b) => b.name)]));
  }

  trafficTotals(): { msgs: number; bytes: number; stream: number; framesLost: number; totals: Record<string, number> } {
    const totals = this.net.totals();
    return { msgs: totals.msgsSent, bytes: totals.bytesSent, stream: totals.streamBytesSent, framesLost: this.net.framesLost, totals };
  }

  settle(): void {}
}
