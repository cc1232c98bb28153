import { decode } from '@msgpack/msgpack';
import { ManualClock } from '../../lib/clock.js';
import type { Clock, Timer } from '../../lib/clock.js';
import { swimOptions } from '../../lib/config.js';
import type { SwimOptions } from '../../lib/config.js';
import { decodeMessage } from '../../lib/codec/messages.js';
import type { Message, PingMessage, PushPullMessage } from '../../lib/codec/messages.js';
import { Random } from '../../lib/random.js';
import { Membership } from '../../lib/swim/membership.js';
import type { SwimOutbound } from '../../lib/swim/membership.js';

/**
 * A minimal network for membership tests: Membership instances exchange message
 * objects through the virtual clock, with latency, loss, partitions, crashes and
 * stalls. (The codec and transports have their own tests; this isolates the protocol.)
 */
export interface TestNode {
  name: string;
  addr: string;
  m: Membership;
  up: boolean;
  stalledUntil: number;
  backlog: (() => void)[];
}

export class SwimCluster {
  readonly clock = new ManualClock();
  readonly random: Random;
  readonly nodes = new Map<string, TestNode>();
  private readonly byAddr = new Map<string, TestNode>();
  loss = 0;
  latencyMs = 1;
  /** Returns false to cut the directed link from → to. */
  blocked: (from: string, to: string) => boolean = () => false;
  readonly options: SwimOptions;
  delivered = 0;

  constructor(seed = 1, overrides: Partial<SwimOptions> = {}) {
    this.random = new Random(seed);
    this.options = swimOptions('lan', overrides);
  }

  addrOf(i: number): string {
    return `127.0.${(i >> 8) & 255}.${(i & 255) + 1}:7946`;
  }

  /** Starts a node named `name` at index `i` (its address). */
  start(name: string, i: number, opts: { incarnation?: number; meta?: Uint8Array } = {}): TestNode {
    const addr = this.addrOf(i);
    const node: TestNode = { name, addr, m: undefined as unknown as Membership, up: true, stalledUntil: 0, backlog: [] };
    const clock = this.nodeClock(node);
    const init = {
      name, address: addr, options: this.options, clock, random: this.random.fork(name), out: this.outbound(node),
      ...(opts.incarnation !== undefined ? { incarnation: opts.incarnation } : {}),
      ...(opts.meta !== undefined ? { meta: opts.meta } : {}),
    };
    node.m = new Membership(init);
    this.nodes.set(name, node);
    this.byAddr.set(addr, node);
    node.m.start();
    return node;
  }

  /** Starts n nodes n0..n{n-1}, all joining n0. */
  startMany(n: number): TestNode[] {
    const out: TestNode[] = [];
    for (let i = 0; i < n; i++) {
      const node = this.start(`n${i}`, i);
      if (i > 0) node.m.join([this.addrOf(0)]);
      out.push(node);
    }
    return out;
  }

  crash(name: string): void {
    const node = this.nodes.get(name)!;
    node.up = false;
    node.m.stop();
  }

  stall(name: string, ms: number): void {
    const node = this.nodes.get(name)!;
    node.stalledUntil = this.clock.now() + ms;
    this.clock.setTimer(ms, () => {
      const backlog = node.backlog.splice(0);
      for (const fn of backlog) if (node.up) fn();
    });
  }

  run(ms: number): void {
    this.clock.advance(ms);
  }

  /** Alive names as seen by `name`. */
  view(name: string): string[] {
    return this.nodes.get(name)!.m.members().filter((x) => x.state === 'alive').map((x) => x.name).sort();
  }

  stateOf(observer: string, subject: string): string | undefined {
    return this.nodes.get(observer)!.m.member(subject)?.state;
  }

  /** True when every up node sees exactly the up nodes as alive. */
  converged(): boolean {
    const up = [...this.nodes.values()].filter((n) => n.up).map((n) => n.name).sort().join();
    return [...this.nodes.values()].filter((n) => n.up).every((n) => this.view(n.name).join() === up);
  }

  private nodeClock(node: TestNode): Clock {
    const shared = this.clock;
    return {
      now: () => shared.now(),
      wall: () => shared.wall(),
      setTimer: (ms: number, fn: () => void): Timer =>
        shared.setTimer(ms, () => {
          if (!node.up) return;
          if (shared.now() < node.stalledUntil) node.backlog.push(fn);
          else fn();
        }),
    };
  }

  private reachable(from: TestNode, to: string, bothWays = false): TestNode | undefined {
    const target = this.byAddr.get(to);
    if (!target || !target.up || !from.up) return undefined;
    if (this.blocked(from.name, target.name)) return undefined;
    // a stream (TCP) needs packets to flow both ways
    if (bothWays && this.blocked(target.name, from.name)) return undefined;
    return target;
  }

  private deliver(from: TestNode, to: string, msgs: Message[]): void {
    if (msgs.length === 0) return;
    if (this.clock.now() < from.stalledUntil) return;
    const target = this.reachable(from, to);
    if (!target || this.random.chance(this.loss)) return;
    this.clock.setTimer(this.latencyMs, () => {
      if (!target.up) return;
      const run = (): void => {
        for (const msg of msgs) {
          this.delivered++;
          target.m.handle(msg, from.addr);
        }
      };
      if (this.clock.now() < target.stalledUntil) target.backlog.push(run);
      else run();
    });
  }

  private outbound(node: TestNode): SwimOutbound {
    const pending = new Map<string, Message[]>();
    const piggy = (): Message[] => node.m.piggyback(1200).map((b) => decodeMessage(decode(b)) as Message);
    const flush = (to: string, extra: Message[]): void => {
      const queued = pending.get(to) ?? [];
      pending.delete(to);
      this.deliver(node, to, [...queued, ...extra, ...piggy()]);
    };
    return {
      send: (to, msg, urgent) => {
        if (urgent) return flush(to, [msg]);
        const list = pending.get(to);
        if (list) list.push(msg);
        else {
          pending.set(to, [msg]);
          this.clock.setTimer(100, () => pending.has(to) && flush(to, []));
        }
      },
      gossip: (to) => {
        const msgs = piggy();
        if (msgs.length > 0) this.deliver(node, to, msgs);
      },
      pushPull: (to, msg, done) => {
        const target = this.reachable(node, to, true);
        if (!target || this.clock.now() < node.stalledUntil) {
          this.clock.setTimer(1000, () => done(undefined, new Error('unreachable')));
          return;
        }
        this.clock.setTimer(this.latencyMs, () => {
          if (!target.up || this.clock.now() < target.stalledUntil) return done(undefined, new Error('unreachable'));
          const reply: PushPullMessage = target.m.handlePushPull(msg);
          this.clock.setTimer(this.latencyMs, () => node.up && done(reply));
        });
      },
      streamPing: (to, ping: PingMessage, done) => {
        const target = this.reachable(node, to, true);
        if (!target) return void this.clock.setTimer(500, () => done(false));
        this.clock.setTimer(2 * this.latencyMs, () => done(target.up && this.clock.now() >= target.stalledUntil && target.m.handleStreamPing(ping)));
      },
    };
  }
}
