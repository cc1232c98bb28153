/**
 * The engine's samples: the cluster-wide series (nodes up, agreement, alive members seen,
 * traffic per node) and the per-node views in row groups of at most 100 rows.
 */
import type { ViewTracker } from '../view-tracker.js';
import type { ClusterBackend, MaybePromise } from './backend.js';
import { round } from './result.js';
import type { Series, Views } from './result.js';

export class Sampler {
  readonly series: Series = { tMs: [], up: [], agreement: [], aliveMin: [], aliveMedian: [], aliveMax: [], msgsPerNodePerSec: [], bytesPerNodePerSec: [], streamBytesPerNodePerSec: [] };
  /** When the cluster diverged again after converging past the last fault with no fault then, or -1. */
  rediverged = -1;
  /** Per node up per second over the last sample's interval. */
  per: (v: number) => number = () => 0;
  private readonly viewAgreement: (number | null)[][] = [];
  private readonly viewAlive: (number | null)[][] = [];

  constructor(
    private readonly tracker: ViewTracker,
    private readonly cap: number,
    private readonly b: ClusterBackend,
  ) {
    const rows = Math.min(100, cap);
    for (let r = 0; r < rows; r++) {
      this.viewAgreement.push([]);
      this.viewAlive.push([]);
    }
  }

  /** One sample labelled `tMs`, at backend time `now`. */
  sample(tMs: number, now: number, lastFault: number, last: boolean): MaybePromise<void> {
    const t = this.tracker;
    if (!t.converged && now > lastFault && t.convergedSince > lastFault && this.rediverged < 0) this.rediverged = t.divergedAt;
    const up = t.upCount;
    const n = this.b.size();
    const alive: number[] = [];
    const rows = this.viewAgreement.length;
    const sumA = new Float64Array(rows);
    const sumV = new Float64Array(rows);
    const cnt = new Int32Array(rows);
    for (let i = 0; i < n; i++) {
      if (!t.isUp(i)) continue;
      const seen = this.b.aliveSeen(i) ?? this.countSeen(i, n);
      alive.push(seen);
      const r = Math.floor((i * rows) / this.cap);
      sumA[r]! += 1 - t.wrongOf(i) / Math.max(1, up);
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
    const dt = k === 0 ? 0 : (tMs - s.tMs[k - 1]!) / 1000;
    this.per = (v: number): number => (dt === 0 || up === 0 ? 0 : round(v / up / dt, 1));
    s.tMs.push(tMs);
    s.up.push(up);
    s.agreement.push(up === 0 ? 1 : round(1 - t.total / (up * up), 5));
    s.aliveMin.push(alive[0] ?? 0);
    s.aliveMedian.push(alive[Math.floor(alive.length / 2)] ?? 0);
    s.aliveMax.push(alive[alive.length - 1] ?? 0);
    return this.b.sampleTraffic(s, k, up, this.per, last);
  }

  private countSeen(i: number, n: number): number {
    let seen = 0;
    for (let s = 0; s < n; s++) if (this.tracker.sees(i, s)) seen++;
    return seen;
  }

  views(): Views {
    const rows = this.viewAgreement.length;
    const labels: string[] = [];
    for (let r = 0; r < rows; r++) {
      const a = Math.ceil((r * this.cap) / rows);
      const b = Math.ceil(((r + 1) * this.cap) / rows) - 1;
      labels.push(a === b ? `n${a}` : `n${a}–n${b}`);
    }
    return { rows: labels, tMs: this.series.tMs, agreement: this.viewAgreement, aliveSeen: this.viewAlive };
  }
}
