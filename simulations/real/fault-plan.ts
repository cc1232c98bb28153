/**
 * The network a scenario asks for, as the fault rules each real agent must hold
 * (`PUT /v1/faults`, lib/daemon/faults.ts). The simulator cuts or degrades links inside
 * its network; real agents share the loopback interface, so each agent drops or delays
 * its own traffic to and from the peers the scenario separates it from. Pure: the driver
 * pushes {@link FaultPlan.rulesFor} to every agent whose rules changed.
 */

/** One rule of `PUT /v1/faults` (the shape lib/daemon/faults.ts validates). */
export interface AgentFaultRule {
  /** The peer's bare host: each agent has its own loopback address. */
  peer: string;
  direction: 'in' | 'out' | 'both';
  drop: number;
  delayMs: number;
}

/** Link settings as scenarios write them (latency, jitter, loss). */
export interface LinkState {
  latencyMs: number;
  jitterMs: number;
  loss: number;
}

/**
 * Partitions and link settings over node indices, mirroring simulations/network.ts:
 * a partition puts the listed groups apart from each other and from the rest; a one-way
 * partition drops from → to only; `heal` removes partitions but keeps link settings.
 */
export class FaultPlan {
  /** Node index → partition group (1-based); absent: the rest (group 0). */
  private groups = new Map<number, number>();
  private partitioned = false;
  private oneWay: { from: Set<number>; to: Set<number> } | undefined;
  private readonly links = new Map<string, LinkState>();

  /** @param global the initial global link settings (the scenario's `network`) */
  constructor(private readonly global: LinkState) {}

  /** Symmetric partition: each array is a group, the nodes not listed form one more. */
  partition(groups: number[][]): void {
    this.heal();
    groups.forEach((g, k) => g.forEach((i) => this.groups.set(i, k + 1)));
    this.partitioned = true;
  }

  /** Traffic from `from` to `to` is dropped; the reverse flows. */
  partitionOneWay(from: number[], to: number[]): void {
    this.heal();
    this.oneWay = { from: new Set(from), to: new Set(to) };
  }

  heal(): void {
    this.groups.clear();
    this.partitioned = false;
    this.oneWay = undefined;
  }

  /** Per-link settings; unset fields keep their value (the global one at first). */
  setLink(a: number, b: number, profile: Partial<LinkState>, oneWay = false): void {
    this.links.set(`${a}>${b}`, { ...(this.links.get(`${a}>${b}`) ?? this.global), ...profile });
    if (!oneWay) this.links.set(`${b}>${a}`, { ...(this.links.get(`${b}>${a}`) ?? this.global), ...profile });
  }

  /** Global settings (links with their own settings keep them, as in the simulator). */
  setGlobal(profile: Partial<LinkState>): void {
    Object.assign(this.global, profile);
  }

  /** True when traffic from `a` to `b` is cut by a partition. */
  cut(a: number, b: number): boolean {
    if (this.partitioned && (this.groups.get(a) ?? 0) !== (this.groups.get(b) ?? 0)) return true;
    return this.oneWay !== undefined && this.oneWay.from.has(a) && this.oneWay.to.has(b);
  }

  /** The link settings from `a` to `b`. */
  link(a: number, b: number): LinkState {
    return this.links.get(`${a}>${b}`) ?? this.global;
  }

  /**
   * The rules agent `i` must hold, with `hostOf(j)` the loopback host of node `j` and
   * `count` the nodes that exist. A cut is dropped on both sides (the sender's `out`
   * and the receiver's `in`), so neither a datagram nor a stream opened across it gets
   * through; one leak remains in a one-way cut: a stream the far side opens towards the
   * cut-off side carries its replies back (the fault layer matches streams when they
   * open, not each message). Loss and latency apply to what
   * `i` sends (each side of a symmetric link holds its own half). The simulator's 1 ms
   * base latency is loopback's own, so only latency above 1 ms is added.
   */
  rulesFor(i: number, count: number, hostOf: (j: number) => string): AgentFaultRule[] {
    const out: AgentFaultRule[] = [];
    for (let j = 0; j < count; j++) {
      if (j === i) continue;
      const outCut = this.cut(i, j);
      const inCut = this.cut(j, i);
      if (outCut || inCut) {
        out.push({ peer: hostOf(j), direction: outCut && inCut ? 'both' : outCut ? 'out' : 'in', drop: 1, delayMs: 0 });
        continue;
      }
      const l = this.link(i, j);
      const delayMs = l.latencyMs > 1 ? Math.min(60_000, Math.round(l.latencyMs)) : 0;
      if (l.loss > 0 || delayMs > 0) out.push({ peer: hostOf(j), direction: 'out', drop: l.loss, delayMs });
    }
    return out;
  }

  /** True when some link has jitter (which the agents' fault layer cannot apply). */
  get hasJitter(): boolean {
    if (this.global.jitterMs > 0) return true;
    for (const l of this.links.values()) if (l.jitterMs > 0) return true;
    return false;
  }
}

/**
 * The loopback address of node `i`: 127.0.0.101 for n0, then up, carrying into the
 * third octet (n155 is 127.0.1.0); every agent gets its own host so that fault
 * rules can name a peer by host and inbound streams (from ephemeral ports) match.
 * @param base the first address @default "127.0.0.101"
 */
export function loopbackHost(i: number, base = '127.0.0.101'): string {
  const parts = base.split('.').map(Number);
  if (parts.length !== 4 || parts[0] !== 127 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`base address must be an IPv4 address in 127.0.0.0/8, got "${base}"`);
  const v = ((parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) + i;
  if (v > 0xfffffe) throw new Error(`node ${i} does not fit in 127.0.0.0/8 from ${base}`);
  return `127.${(v >> 16) & 255}.${(v >> 8) & 255}.${v & 255}`;
}
