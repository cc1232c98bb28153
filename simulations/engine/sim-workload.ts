/**
 * The simulated backend's workload: the replication runtime of every node
 * (SimReplication), the publish/presence driver, the readers, the replica checks, and
 * the publish → stored latency per region pair. Only the simulated backend drives a
 * workload (the process backend declares `workload` among what it cannot do).
 */
import { Random, hashString } from '../../lib/internal.js';
import type { SimNetwork } from '../network.js';
import { READERS_INVARIANT, ReaderWorkload } from '../readers.js';
import { ReplicationChecks } from '../replication-checks.js';
import { SimReplication } from '../replication.js';
import type { Scenario } from '../scenario.js';
import { WorkloadDriver } from '../workload.js';
import type { WorkloadProbe } from './backend.js';
import { dist, round } from './result.js';
import type { InvariantResult, ReplicationResult } from './result.js';
import type { SimRunOptions } from './simulated.js';

export class SimWorkload implements WorkloadProbe {
  readonly repl: SimReplication;
  private readonly checks: ReplicationChecks;
  private readonly driver: WorkloadDriver;
  private readonly readers: ReaderWorkload | undefined;
  private readonly workloadUntil: number;
  private readonly replSeries = { tMs: [] as number[], bytesPerNodePerSec: [] as number[] };
  private lastReplBytes = 0;
  /** Per `A→C` pair: publish → stored latencies (regions only). */
  private readonly deliveries = new Map<string, number[]>();
  private readonly attachedAt: number[] = [];

  constructor(
    private readonly net: SimNetwork,
    private readonly sc: Scenario,
    seed: number,
    private readonly opts: SimRunOptions,
    live: (i: number) => boolean,
    private readonly regionOf: (i: number) => number,
  ) {
    const w = sc.workload!;
    const history = { defaultMaxEntries: w.publish?.historyLength ?? 100, defaultTtlMs: Number(w.publish?.ttl ?? 0) };
    this.repl = new SimReplication(net, seed, { history, ...opts.replication });
    this.checks = new ReplicationChecks(this.repl, history.defaultMaxEntries);
    // its own stream: the network's and the runner's draws stay those of the membership-only run
    this.workloadUntil = w.until === undefined ? sc.durationMs - Math.min(30_000, sc.durationMs / 4) : Number(w.until);
    this.driver = new WorkloadDriver(this.repl, Number(w.from ?? 0), this.workloadUntil, w, new Random((seed ^ hashString('workload')) >>> 0), live);
    if (w.readers && w.publish) {
      const rs = w.readers;
      const readers = new ReaderWorkload(this.repl, { count: rs.count ?? 8, intervalMs: Number(rs.interval ?? 5000), limit: rs.limit ?? 50 }, w.publish.channels ?? 100, new Random((seed ^ hashString('readers')) >>> 0), live);
      this.readers = readers;
      this.driver.onPublish = (r, ch, id) => readers.onPublish(r, ch, id);
    }
    if (sc.regions.length > 0) this.measureDelivery();
  }

  /** Times publish → stored per region pair, alongside the checks' own hooks. */
  private measureDelivery(): void {
    const repl = this.repl;
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
      const at = this.driver.publishedAt.get(`${e.node}:${e.epoch}:${e.seq}`);
      if (at === undefined || at < (this.attachedAt[r.node.index] ?? 0)) return;
      const key = `${this.sc.regions[from]}→${this.sc.regions[to]}`;
      let xs = this.deliveries.get(key);
      if (!xs) this.deliveries.set(key, (xs = []));
      xs.push(this.net.now - at);
    };
  }

  start(): void {
    this.driver.start();
    this.readers?.start(Number(this.sc.workload?.from ?? 0), this.sc.durationMs);
    for (const f of this.opts.faults ?? []) this.net.clock.setTimer(f.atMs - this.net.now, () => f.run(this.repl));
  }

  nodeDown(i: number): void {
    this.readers?.nodeDown(i);
  }

  ended(i: number): void {
    this.repl.ended(i);
  }

  heal(): void {
    this.checks.heal();
  }

  memberGone(observer: number, subject: string, how: 'dead' | 'left'): void {
    this.checks.memberGone(this.net.nodes[observer]!, subject, how);
  }

  sample(now: number, per: (v: number) => number): void {
    this.checks.sample();
    const total = this.repl.totalBytes();
    this.replSeries.tMs.push(now);
    this.replSeries.bytesPerNodePerSec.push(per(total - this.lastReplBytes));
    this.lastReplBytes = total;
  }

  verdicts(): InvariantResult[] {
    return [
      this.checks.purgeVerdict(),
      this.checks.equalityVerdict(this.workloadUntil, this.sc.durationMs),
      this.checks.resurrectionVerdict(),
      this.readers ? this.readers.verdict() : { name: READERS_INVARIANT, status: 'not-measured', evidence: 'not measured: the workload has no readers' },
    ];
  }

  antiEntropyLine(): string {
    const c = this.repl.counters();
    const t = this.repl.streamTraffic();
    const kb = (n: number | undefined): string => `${round((n ?? 0) / 1024, 1)} KiB`;
    return `${c.merkleSessions} Merkle sessions (${c.merkleCompleted} completed, ${kb(t.streamBytes.merkle)}), ${c.bulkSessions} bulk catch-ups (${kb(t.streamBytes.bulk)}), ${c.deltaCatchUps} digest catch-ups (${kb(t.catchUpDatagramBytes + (t.streamBytes['catch-up'] ?? 0))}), ${t.digests} digests on acks (${kb(t.digestBytes)})`;
  }

  result(nodeSeconds: number): ReplicationResult {
    const sc = this.sc;
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
      delivery: sc.regions.length === 0 ? null : Object.fromEntries([...this.deliveries.keys()].sort().map((k) => [k, dist(this.deliveries.get(k)!)])),
    };
  }

  /** Consecutive history entries (on the first live replica) whose HLC order contradicts their publish times. */
  private orderAgainstRealTime(): ReplicationResult['order'] {
    const ref = this.net.nodes.map((n) => this.repl.current(n)).find((r) => r !== undefined && !r.node.m.hasLeft);
    if (!ref) return null;
    const at = this.driver.publishedAt;
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
}
