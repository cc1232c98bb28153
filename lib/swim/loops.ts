import type { Timer } from '../clock.js';
import type { Address } from '../transport/transport.js';
import type { BrokerView } from './brokers.js';
import { ALIVE, ANY, GONE } from './core.js';
import type { SwimCore } from './core.js';
import type { PushPull } from './push-pull.js';

/**
 * The periodic loops besides probing: gossip rounds, push-pull with a random peer,
 * reconnects (partition healing: a dead member or an absent seed now and then) and the
 * reaping of members dead or gone long enough. Each loop is one closure and one timer
 * slot for its whole life (this runs for every gossip round of every node).
 */
export class Loops {
  /** Seeds to retry while they are not members (see Membership.join). */
  seeds: Address[] = [];
  /** Each loop's pending timer. */
  private slots: { timer: Timer | undefined }[] = [];

  constructor(
    private readonly core: SwimCore,
    private readonly pushPull: PushPull,
    private readonly brokers: BrokerView,
  ) {}

  /** Starts the three loops, staggered so nodes started together do not beat in phase. */
  start(): void {
    const { opts, random } = this.core;
    this.every(() => opts.gossipIntervalMs, () => this.gossipTick(), random.int(opts.gossipIntervalMs));
    this.every(() => this.pushPullInterval(), () => this.pushPullTick(), random.int(opts.pushPullIntervalMs) + opts.pushPullIntervalMs / 2);
    this.every(() => opts.reconnectIntervalMs, () => this.reconnectTick(), random.int(opts.reconnectIntervalMs) + 1);
  }

  /** Cancels every loop's timer. */
  stop(): void {
    for (const slot of this.slots) slot.timer?.cancel();
    this.slots = [];
  }

  /** Runs `fn` every `interval()` ms from `firstDelay` until the node stops. */
  private every(interval: () => number, fn: () => void, firstDelay: number): void {
    const slot: { timer: Timer | undefined } = { timer: undefined };
    const { core } = this;
    const tick = (): void => {
      slot.timer = undefined;
      if (!core.running) return;
      fn();
      if (core.running) slot.timer = core.clock.setTimer(interval(), tick);
    };
    slot.timer = core.clock.setTimer(firstDelay, tick);
    this.slots.push(slot);
  }

  private gossipTick(): void {
    const { core } = this;
    if (core.queue.size === 0) return;
    const now = core.clock.now();
    // dead (and left) members still hear gossip for a while, so they learn and can refute
    const targets = core.table.sample(core.opts.gossipNodes, ANY, (m) => now - m.changedAt < core.opts.gossipToTheDeadMs, GONE);
    if (targets.length > 0) core.counters.gossipRounds++;
    for (const m of targets) core.out.gossip(m.addr);
  }

  /** memberlist's scaling: the push-pull interval grows with log2(n / 32) past 32 members. */
  private pushPullInterval(): number {
    const n = this.core.table.live;
    const base = this.core.opts.pushPullIntervalMs;
    if (n <= 32) return base;
    return base * (Math.ceil(Math.log2(n) - Math.log2(32)) + 1);
  }

  private pushPullTick(): void {
    if (this.core.leaving) return;
    const [peer] = this.core.table.sample(1, ALIVE);
    if (peer) this.pushPull.with(peer.addr, false);
  }

  /** Partition healing: try a dead member or an absent seed now and then. */
  private reconnectTick(): void {
    this.reap();
    const { core } = this;
    if (core.leaving) return;
    // the same candidates in the same order as a full scan, without one when nothing
    // can be a candidate: no dead member and no seed (a converged cluster's usual state)
    const candidates: Address[] = [];
    if (this.seeds.length > 0) {
      const live = new Set<Address>();
      core.table.forEach((m) => {
        if (m.state === 'alive' || m.state === 'suspect') live.add(m.addr);
        else if (m.state === 'dead') candidates.push(m.addr);
      });
      for (const s of this.seeds) if (!live.has(s)) candidates.push(s);
    } else if (core.table.count('dead') > 0) {
      core.table.forEachGone((m) => {
        if (m.state === 'dead') candidates.push(m.addr);
      });
    }
    const target = core.random.pick(candidates);
    if (target !== undefined) this.pushPull.with(target, false);
  }

  private reap(): void {
    const { core } = this;
    const { table, self } = core;
    // only dead and left members are ever reaped: most ticks have none to look at
    if (table.count('dead') + table.count('left') - (self.state === 'left' ? 1 : 0) === 0) return;
    const now = core.clock.now();
    // removing the member being visited is safe, and no copy of the table is made
    table.forEachGone((m) => {
      if (m === self) return;
      const ttl = m.state === 'dead' ? core.opts.deadReapMs : core.opts.leftReapMs;
      if (now - m.changedAt >= ttl) {
        table.remove(m.name);
        core.evidence?.forget(m.name);
        this.brokers.forget(m.name);
        core.events.emit('member-reaped', core.info(m));
      }
    });
  }
}
