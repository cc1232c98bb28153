/**
 * Who was healthy and reachable when a node was declared dead: the engine's record of
 * impairments (crashes, restarts, stalls, leaves, partitions) and the false-death counts
 * and verdict built on it.
 */
import type { ViewTracker } from '../view-tracker.js';
import { fmtMs } from './result.js';
import type { InvariantResult, SimResult } from './result.js';

export class FalsePositives {
  /** Per node: healthy-and-reachable from this time on (Infinity while impaired). */
  readonly impairedUntil: Float64Array;
  /** Per node: crashed, restarted, stalled or leaving until this time plus the grace (partitions aside). */
  private readonly troubledUntil: Float64Array;
  private readonly partitioned = new Set<number>();
  /** Every partition of the run: per-node group (two-way) or side (one-way: 1 from, 2 to), and when it ended. */
  private readonly cutEpisodes: { group: Int32Array; oneWay: boolean; endMs: number }[] = [];
  private falseDeaths = 0;
  private readonly falseEpisodes = new Set<string>();
  private readonly falseExamples: string[] = [];
  private suspicionsOfHealthy = 0;
  private deadOfLive = 0;
  private deadOfStalled = 0;
  private deadOfReachable = 0;
  private readonly reachableExamples: string[] = [];

  constructor(
    private readonly cap: number,
    readonly graceMs: number,
    private readonly tracker: ViewTracker,
  ) {
    this.impairedUntil = new Float64Array(cap);
    this.troubledUntil = new Float64Array(cap);
  }

  impair(i: number): void {
    this.partitioned.add(i);
    this.impairedUntil[i] = Infinity;
  }

  endPartition(now: number, isUp: (i: number) => boolean): void {
    for (const i of this.partitioned) if (isUp(i)) this.impairedUntil[i] = now + this.graceMs;
    this.partitioned.clear();
    const open = this.cutEpisodes[this.cutEpisodes.length - 1];
    if (open && open.endMs === Infinity) open.endMs = now;
  }

  openCut(groups: number[][], oneWay: boolean): void {
    const group = new Int32Array(this.cap);
    groups.forEach((g, k) => g.forEach((i) => (group[i] = k + 1)));
    this.cutEpisodes.push({ group, oneWay, endMs: Infinity });
  }

  trouble(i: number, until: number): void {
    this.troubledUntil[i] = Math.max(this.troubledUntil[i]!, until);
  }

  stalled(i: number, now: number, ms: number): void {
    this.impairedUntil[i] = Math.max(this.impairedUntil[i]!, now + ms + this.graceMs);
    this.trouble(i, now + ms + this.graceMs);
  }

  restarted(i: number, now: number): void {
    this.impairedUntil[i] = now + this.graceMs;
    this.troubledUntil[i] = now + this.graceMs;
  }

  /** True when `o` and `s` were separated by a partition (either way) at some time in the last grace window. */
  private wasCut(o: number, s: number, now: number): boolean {
    for (let k = this.cutEpisodes.length - 1; k >= 0; k--) {
      const e = this.cutEpisodes[k]!;
      if (e.endMs < now - this.graceMs) continue;
      const a = e.group[o] ?? 0;
      const b = e.group[s] ?? 0;
      if (e.oneWay ? (a === 1 && b === 2) || (a === 2 && b === 1) : a !== b) return true;
    }
    return false;
  }

  /** Observer `o`'s event `type` about `s` at `now` (`stalled`: `s` is stalled then). */
  event(type: string, o: number, s: number, incarnation: unknown, now: number, stalled: boolean): void {
    const healthy = this.tracker.isUp(s) && now >= this.impairedUntil[s]!;
    if (type === 'member-suspect' && healthy) this.suspicionsOfHealthy++;
    if (type !== 'member-dead') return;
    const what = `n${o} declared n${s} (incarnation ${String(incarnation)}) dead at ${fmtMs(now)}`;
    if (this.tracker.isUp(s)) {
      this.deadOfLive++;
      if (stalled) this.deadOfStalled++;
      if (now >= this.troubledUntil[s]! && !this.wasCut(o, s, now)) {
        this.deadOfReachable++;
        if (this.reachableExamples.length < 5) this.reachableExamples.push(what);
      }
    }
    if (healthy) {
      this.falseDeaths++;
      this.falseEpisodes.add(`n${s}@${String(incarnation)}`);
      if (this.falseExamples.length < 5) this.falseExamples.push(what);
    }
  }

  measurements(): SimResult['measurements']['falsePositives'] {
    return { deadDeclarations: this.falseDeaths, episodes: this.falseEpisodes.size, suspicionsOfHealthy: this.suspicionsOfHealthy, ofLiveNodes: this.deadOfLive, ofStalledNodes: this.deadOfStalled, graceMs: this.graceMs, ofReachable: this.deadOfReachable, ofReachableExamples: this.reachableExamples };
  }

  verdict(): InvariantResult {
    const name = 'no healthy, reachable node declared dead';
    const rule = `healthy = up, and not crashed, restarted, stalled or partitioned within ${fmtMs(this.graceMs)}; lossy or cut single links do not count`;
    if (this.falseDeaths === 0) return { name, status: 'pass', evidence: `0 declarations (${this.suspicionsOfHealthy} suspicions of healthy nodes, all refuted; ${rule})` };
    return {
      name,
      status: 'fail',
      evidence: `${this.falseDeaths} declarations about ${this.falseEpisodes.size} (node, incarnation) episodes, e.g. ${this.falseExamples.join('; ')} (${rule})`,
    };
  }
}
