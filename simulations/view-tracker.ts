/**
 * Who sees whom as alive, kept incrementally from membership events, so the runner can
 * tell at every event whether the cluster has converged without scanning n² members
 * (1,000 nodes: a million lookups per check; 10,000 nodes: a hundred million).
 *
 * `view[o * cap + s]` is 1 when observer `o` holds `s` as alive (suspect, dead, left and
 * reaped are 0). The truth is the set of nodes up. `wrong[o]` counts the subjects `o`
 * gets wrong, and `total` sums it over the observers that are up: converged ⇔ total = 0.
 */
export class ViewTracker {
  /** When the cluster last became converged (total reached 0), or -1. */
  convergedSince = -1;
  /** When the cluster last stopped being converged, or -1. */
  divergedAt = -1;
  /** Nodes up (the truth). */
  upCount = 0;
  /** Sum of `wrong` over observers that are up. */
  total = 0;

  private readonly view: Uint8Array;
  private readonly up: Uint8Array;
  private readonly wrong: Int32Array;
  /** Nodes created so far (indices below it exist). */
  private size = 0;

  /**
   * @param cap most nodes the run will ever have (initial plus every add)
   * @param now the virtual clock, to date convergence changes
   */
  constructor(
    readonly cap: number,
    private readonly now: () => number,
  ) {
    this.view = new Uint8Array(cap * cap);
    this.up = new Uint8Array(cap);
    this.wrong = new Int32Array(cap);
  }

  /** True when every node up sees exactly the nodes up as alive. */
  get converged(): boolean {
    return this.total === 0;
  }

  /** How many subjects observer `o` gets wrong. */
  wrongOf(o: number): number {
    return this.wrong[o]!;
  }

  /** True when `o` sees `s` as alive. */
  sees(o: number, s: number): boolean {
    return this.view[o * this.cap + s] === 1;
  }

  isUp(i: number): boolean {
    return this.up[i] === 1;
  }

  /** A new process on node `i` (first boot or restart): it knows only itself. */
  boot(i: number): void {
    if (i >= this.size) this.size = i + 1;
    const before = this.total;
    if (this.up[i] === 1) this.total -= this.wrong[i]!;
    this.view.fill(0, i * this.cap, (i + 1) * this.cap);
    this.view[i * this.cap + i] = 1;
    if (this.up[i] !== 1) this.setTruth(i, 1);
    // its own row: every other node up is missing from its view
    this.wrong[i] = this.upCount - 1;
    this.total += this.wrong[i]!;
    this.changed(before);
  }

  /** Node `i` stops (crash, or the start of a graceful leave). */
  down(i: number): void {
    if (this.up[i] !== 1) return;
    const before = this.total;
    this.total -= this.wrong[i]!;
    this.setTruth(i, 0);
    this.changed(before);
  }

  /** Observer `o` now holds `s` as alive (or not). */
  see(o: number, s: number, alive: boolean): void {
    const k = o * this.cap + s;
    const v = alive ? 1 : 0;
    if (this.view[k] === v) return;
    this.view[k] = v;
    const d = v === this.up[s] ? -1 : 1;
    this.wrong[o]! += d;
    if (this.up[o] === 1) {
      const before = this.total;
      this.total += d;
      this.changed(before);
    }
  }

  /** Every node up now sees exactly the nodes up as alive (a converged start), in O(n²) array writes. */
  converge(): void {
    const before = this.total;
    for (let o = 0; o < this.size; o++) {
      if (this.up[o] !== 1) continue;
      const row = o * this.cap;
      for (let s = 0; s < this.size; s++) this.view[row + s] = this.up[s]!;
      this.wrong[o] = 0;
    }
    this.total = 0;
    this.changed(before);
  }

  /** Observers that are up and get something wrong, with what they miss and what they wrongly hold alive. */
  disagreements(limit: number): { observer: number; missing: number[]; extra: number[] }[] {
    const out: { observer: number; missing: number[]; extra: number[] }[] = [];
    for (let o = 0; o < this.size && out.length < limit; o++) {
      if (this.up[o] !== 1 || this.wrong[o] === 0) continue;
      const missing: number[] = [];
      const extra: number[] = [];
      for (let s = 0; s < this.size; s++) {
        const v = this.view[o * this.cap + s]!;
        if (v === this.up[s]) continue;
        (v === 1 ? extra : missing).push(s);
      }
      out.push({ observer: o, missing, extra });
    }
    return out;
  }

  /** Changes the truth about `s`, adjusting every observer's error count. */
  private setTruth(s: number, v: 0 | 1): void {
    this.up[s] = v;
    this.upCount += v === 1 ? 1 : -1;
    for (let o = 0; o < this.size; o++) {
      if (o === s) continue;
      const d = this.view[o * this.cap + s] === v ? -1 : 1;
      this.wrong[o]! += d;
      if (this.up[o] === 1) this.total += d;
    }
  }

  private changed(before: number): void {
    if (before !== 0 && this.total === 0) this.convergedSince = this.now();
    else if (before === 0 && this.total !== 0) this.divergedAt = this.now();
  }
}
