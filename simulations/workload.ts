import type { Random } from '../lib/internal.js';
import type { RepNode, SimReplication } from './replication.js';
import type { Workload } from './scenario.js';

/** What the driver did, for the result. */
export interface WorkloadCounts {
  publishes: number;
  presenceJoins: number;
  presenceLeaves: number;
  /** Operations the API refused (with the first error message). */
  refused: number;
  firstRefusal: string | null;
}

/**
 * Drives a scenario's workload through the Channels API of random nodes, every `tickMs`
 * of virtual time: publishes (a payload of the configured size, on a random channel),
 * presence joins (a fresh client id on a random channel) and leaves (of a client joined
 * earlier through a node whose process is still the one that joined it). Rates are
 * cluster-wide; fractions carry over from tick to tick, so 2.5/s is 5 every 2 s.
 */
export class WorkloadDriver {
  readonly counts: WorkloadCounts = { publishes: 0, presenceJoins: 0, presenceLeaves: 0, refused: 0, firstRefusal: null };
  /** Virtual time of each publish by id (`node:epoch:seq`), to compare history order with real time. */
  readonly publishedAt = new Map<string, number>();
  /** Called after each accepted publish with the node's replication runtime, the channel and the entry id. */
  onPublish: ((r: RepNode, channel: string, id: string) => void) | undefined;
  private readonly payload: Uint8Array;
  private carry = { publish: 0, join: 0, leave: 0 };
  // clients joined through each node's current process: [channel, clientId]
  private readonly clients = new Map<number, { gen: number; list: [string, string][] }>();
  private nextClient = 0;

  /**
   * @param sim the replication runtime of the run.
   * @param fromMs when the load starts.
   * @param untilMs when it stops.
   * @param w the validated workload.
   * @param random the driver's own random stream.
   * @param eligible true for a node that may take operations now (up, not leaving).
   */
  constructor(
    private readonly sim: SimReplication,
    private readonly fromMs: number,
    private readonly untilMs: number,
    private readonly w: Workload,
    private readonly random: Random,
    private readonly eligible: (i: number) => boolean,
    private readonly tickMs = 100,
  ) {
    this.payload = new Uint8Array(w.publish?.payloadBytes ?? 256).fill(0x61);
  }

  /** Schedules the ticks from `fromMs` to `untilMs`. */
  start(): void {
    const clock = this.sim.net.clock;
    const tick = (): void => {
      if (clock.now() > this.untilMs) return;
      this.tick();
      clock.setTimer(this.tickMs, tick);
    };
    clock.setTimer(this.fromMs, tick);
  }

  private tick(): void {
    const nodes: number[] = [];
    for (let i = 0; i < this.sim.net.nodes.length; i++) if (this.eligible(i) && this.sim.current(this.sim.net.nodes[i]!)) nodes.push(i);
    if (nodes.length === 0) return;
    const dt = this.tickMs / 1000;
    const due = (key: 'publish' | 'join' | 'leave', rate: number): number => {
      this.carry[key] += rate * dt;
      const n = Math.floor(this.carry[key]);
      this.carry[key] -= n;
      return n;
    };
    const pub = this.w.publish;
    const pres = this.w.presence;
    const joins = pres ? due('join', pres.joinsPerSecond ?? 0) : 0;
    const leaves = pres ? due('leave', pres.leavesPerSecond ?? 0) : 0;
    const publishes = pub ? due('publish', pub.perSecond ?? 0) : 0;
    for (let k = 0; k < joins; k++) this.join(nodes[this.random.int(nodes.length)]!, pres!.channels ?? 100);
    for (let k = 0; k < leaves; k++) this.leave();
    // Publishes spread over the tick: an application publishes at any instant, not in step
    // with the replication runtime's 100 ms flush (which these ticks would otherwise share),
    // so publish → stored latencies include the wait for the flush as users see it.
    const clock = this.sim.net.clock;
    for (let k = 0; k < publishes; k++) {
      const i = nodes[this.random.int(nodes.length)]!;
      const gen = this.sim.net.nodes[i]!.gen;
      clock.setTimer(this.random.next() * this.tickMs, () => {
        if (this.sim.net.nodes[i]!.gen === gen && this.eligible(i) && this.sim.current(this.sim.net.nodes[i]!)) this.publish(i, pub!.channels ?? 100);
      });
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.counts.refused++;
      this.counts.firstRefusal ??= (err as Error).message;
    }
  }

  private publish(i: number, channels: number): void {
    const r = this.sim.current(this.sim.net.nodes[i]!)!;
    const channel = `ch${this.random.int(channels)}`;
    this.guard(() => {
      const receipt = r.channels.publish(channel, this.payload);
      this.counts.publishes++;
      this.publishedAt.set(receipt.id, this.sim.net.clock.now());
      if (!receipt.duplicate) this.onPublish?.(r, channel, receipt.id);
    });
  }

  private join(i: number, channels: number): void {
    const node = this.sim.net.nodes[i]!;
    const r = this.sim.current(node)!;
    const channel = `ch${this.random.int(channels)}`;
    const clientId = `c${this.nextClient++}`;
    this.guard(() => {
      r.channels.join(channel, clientId, `u${this.random.int(1000)}`, null);
      this.counts.presenceJoins++;
      let mine = this.clients.get(i);
      if (!mine || mine.gen !== node.gen) this.clients.set(i, (mine = { gen: node.gen, list: [] }));
      mine.list.push([channel, clientId]);
    });
  }

  private leave(): void {
    const holders: number[] = [];
    for (const [i, c] of this.clients) {
      const node = this.sim.net.nodes[i]!;
      if (c.gen === node.gen && c.list.length > 0 && this.eligible(i) && this.sim.current(node)) holders.push(i);
    }
    if (holders.length === 0) return;
    holders.sort((a, b) => a - b);
    const i = holders[this.random.int(holders.length)]!;
    const list = this.clients.get(i)!.list;
    const k = this.random.int(list.length);
    const [channel, clientId] = list[k]!;
    list[k] = list[list.length - 1]!;
    list.pop();
    const r = this.sim.current(this.sim.net.nodes[i]!)!;
    this.guard(() => {
      if (r.channels.leave(channel, clientId)) this.counts.presenceLeaves++;
    });
  }
}
