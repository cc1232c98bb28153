import { ManualClock, MemberIndex, NodeRuntime, Random, piggybackMessages, seedMembers, swimOptions } from '../lib/internal.js';
import type { Clock, MemberSnapshot, Message, MessageBuffer, PingMessage, PushPullMessage, SwimOptions, SwimOutbound } from '../lib/internal.js';
import type { AddOptions, LinkProfile, MemberEventListener, SimNetworkOptions, SimReplicationPlan } from './network-options.js';
import { NodeClocks } from './node-clocks.js';
import { SimNode } from './sim-node.js';
import type { Frame } from './sim-node.js';
import { streamExchange } from './sim-exchange.js';
import { SimTopology } from './topology.js';
import { wireSize } from './wire-size.js';

export { SimNode } from './sim-node.js';
// the facade: importers keep importing the network's option types from here
export type { AddOptions, LinkProfile, MemberEventListener, SimNetworkOptions, SimReplicationPlan } from './network-options.js';

const MEMBER_EVENTS = ['member-join', 'member-update', 'member-suspect', 'member-alive', 'member-dead', 'member-leave', 'member-reaped'] as const;

/**
 * A discrete-event network for thousands of Membership instances in virtual time: one
 * ManualClock, one seeded Random, the production state machine of lib/swim unchanged.
 *
 * Datagrams: what a node sends to one peer at one instant is one frame (its urgent
 * message, whatever was batched for that peer, and piggybacked gossip), subject to the
 * link's latency, jitter and loss, and to partitions. Streams (push-pull, the fallback
 * ping) are reliable but blocked by partitions and time out like TCP.
 *
 * Messages travel as objects: gossip is the broadcast queue's own message objects
 * (`piggybackMessages` of lib/swim/simulator-access.ts, sized with {@link wireSize}, never encoded), shared by every receiver, since Membership never mutates what it
 * handles; these are messages a node relays, all of which came out of the strict decoder
 * or its own table (decision 0041), so decoding them again would only cost time. Direct
 * messages are never encoded, their size comes from {@link wireSize}.
 */
export class SimNetwork {
  readonly clock = new ManualClock();
  readonly random: Random;
  readonly options: SwimOptions;
  readonly nodes: SimNode[] = [];
  /** Membership events, one line each, when `trace` is on. */
  readonly log: string[] = [];
  /** Global link profile; see {@link setLink} for per-link overrides. */
  readonly link: LinkProfile;
  /** Frames dropped by loss, partitions or a down receiver. */
  framesLost = 0;
  /** Extra cut: return true to drop traffic from → to (checked after the partition groups). */
  blocked: ((from: SimNode, to: SimNode) => boolean) | undefined;
  /** Sees every datagram a node sends (after piggybacking, before loss), e.g. to time the first probe of a crashed member. */
  onFrame: ((from: SimNode, to: SimNode, msgs: readonly Message[]) => void) | undefined;
  /**
   * Replication for every process booted from now on (`restored`: the process restarts
   * from its persisted state): its options and the simulated data wire it runs over.
   * Undefined for membership-only runs, whose runtimes carry membership alone.
   */
  replication: ((node: SimNode, restored: boolean) => SimReplicationPlan | undefined) | undefined;

  /** Where sendFrame gathers a frame's messages: overwritten by every frame, never emptied (see MessageBuffer). */
  private readonly frameScratch: MessageBuffer<Message> = { msgs: [], count: 0 };
  /** The member-name index every simulated node's table shares (decision 0043). */
  readonly index = new MemberIndex(true);
  private readonly byName = new Map<string, SimNode>();
  private readonly byAddr = new Map<string, SimNode>();
  private readonly topology: SimTopology;
  private readonly clocks: NodeClocks;
  private readonly listeners: MemberEventListener[] = [];
  private readonly batchWindowMs: number;
  private readonly budget: number;
  private readonly trace: boolean;
  private readonly nodeRandom: Random;

  constructor(opts: SimNetworkOptions = {}) {
    this.random = new Random(opts.seed ?? 1);
    // a separate stream for node seeds, so adding a node never shifts the network's draws
    this.nodeRandom = this.random.fork('nodes');
    this.options = swimOptions(opts.profile ?? 'lan', opts.swim ?? {});
    this.link = { latencyMs: opts.latencyMs ?? 1, jitterMs: opts.jitterMs ?? 0, loss: opts.loss ?? 0 };
    this.topology = new SimTopology(this.link);
    this.batchWindowMs = opts.batchWindowMs ?? 100;
    this.budget = opts.piggybackBudget ?? 1200;
    this.clocks = new NodeClocks(this.clock, (opts.stallOrder ?? 'timers-first') === 'timers-first');
    this.trace = opts.trace ?? false;
  }

  /** Current virtual time in ms. */
  get now(): number {
    return this.clock.now();
  }

  /** The address of the node with index `i`. */
  static addrOf(i: number): string {
    return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:7946`;
  }

  /** A node by name (throws when unknown: a scenario typo should fail loudly). */
  node(name: string): SimNode {
    const n = this.byName.get(name);
    if (!n) throw new Error(`no simulated node "${name}"`);
    return n;
  }

  /** Subscribes to every membership event of every node (present and future). */
  onMemberEvent(listener: MemberEventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Creates (and by default starts) a node; its name defaults to `n<index>`. */
  add(name?: string, opts: AddOptions = {}): SimNode {
    const index = this.nodes.length;
    const node = new SimNode(index, name ?? `n${index}`, SimNetwork.addrOf(index), this.nodeRandom.fork(index));
    if (this.byName.has(node.name)) throw new Error(`duplicate simulated node "${node.name}"`);
    this.nodes.push(node);
    this.byName.set(node.name, node);
    this.byAddr.set(node.addr, node);
    this.topology.addNode(opts.region ?? -1);
    this.boot(node, opts.incarnation ?? 0, opts.meta);
    if (!opts.noStart) node.rt.start();
    if (opts.join && opts.join.length > 0) node.m.join(opts.join.map((n) => this.node(n).addr));
    return node;
  }

  /**
   * Starts `n` nodes. `mode: 'join'` has each join through the first (the real join
   * path, with its gossip storm); `mode: 'converged'` starts them already knowing each
   * other at incarnation 0 with nothing left to gossip, the state of a cluster that has
   * run quietly for a while: big benchmarks start there in O(n²) cheap steps instead of
   * simulating the join storm.
   * @param mode @default 'join'
   */
  addMany(n: number, mode: 'join' | 'converged' = 'join', meta?: Uint8Array): SimNode[] {
    const first = this.nodes.length;
    const out: SimNode[] = [];
    for (let i = 0; i < n; i++) {
      const join = mode === 'join' && (i > 0 || first > 0) ? [this.nodes[0]?.name ?? `n${first}`] : [];
      out.push(this.add(undefined, { noStart: mode === 'converged', join, ...(meta ? { meta } : {}) }));
    }
    if (mode === 'converged') {
      // bulk-load instead of handling n alive messages per node and draining their gossip
      const snapshot: MemberSnapshot[] = out.map((x) => ({ node: x.name, addr: x.addr, incarnation: 0, state: 'alive', meta: meta ?? new Uint8Array() }));
      for (const x of out) seedMembers(x.m, snapshot);
      for (const x of out) x.rt.start();
    }
    return out;
  }

  /** Kills a node: it falls silent at once; frames in flight to it are lost. */
  crash(name: string): void {
    const node = this.node(name);
    if (!node.up) return;
    node.up = false;
    node.gen++;
    node.rt.stop();
    node.deferred.length = 0;
    node.stalledUntil = 0;
  }

  /**
   * Restarts a crashed node under the same name and address with a new Membership.
   * `persisted` (default) starts it above its last incarnation, as the daemon does with
   * its state file; false starts at 0 and it must learn and refute its old self.
   */
  restart(name: string, opts: { persisted?: boolean; join?: string[]; meta?: Uint8Array } = {}): SimNode {
    const node = this.node(name);
    if (node.up) this.crash(name);
    const inc = (opts.persisted ?? true) ? node.m.incarnation + 1 : 0;
    node.up = true;
    node.gen++;
    this.boot(node, inc, opts.meta ?? node.meta, opts.persisted ?? true);
    node.rt.start();
    const seeds = opts.join ?? this.nodes.filter((x) => x !== node && x.up).slice(0, 1).map((x) => x.name);
    if (seeds.length > 0) node.m.join(seeds.map((n) => this.node(n).addr));
    return node;
  }

  /** Graceful leave; the node shuts down once its intent has spread (or timed out). */
  leave(name: string, then?: () => void): void {
    const node = this.node(name);
    const gen = node.gen;
    node.rt.leave(() => {
      if (node.gen === gen) this.crash(name);
      then?.();
    });
  }

  /**
   * Pauses a node (a GC pause, a descheduled VM) for `ms`: its timers and everything
   * arriving for it wait until the stall ends; it sends nothing meanwhile.
   */
  stall(name: string, ms: number): void {
    const node = this.node(name);
    if (!node.up) return;
    const until = this.clock.now() + ms;
    if (until <= node.stalledUntil) return;
    node.stalledUntil = until;
    const gen = node.gen;
    this.clock.setTimer(ms, () => {
      if (node.gen !== gen || this.clock.now() < node.stalledUntil) return;
      this.clocks.wake(node);
    });
  }

  /**
   * Skews a node's clocks from now on: its wall clock runs `offsetMs` ahead of the shared
   * one, and its clocks (monotonic and wall, hence its timers) gain `driftPpm` parts per
   * million. Replaces an earlier skew (the drift gained so far is kept).
   */
  setSkew(name: string, offsetMs: number, driftPpm: number): void {
    const node = this.node(name);
    const now = this.clock.now();
    node.skew = { offsetMs, driftPpm, sinceMs: now, driftMs: node.driftAt(now) };
  }

  /** The link from `from` to `to`, or undefined when a partition or `blocked` cuts it. */
  route(from: SimNode, to: SimNode): LinkProfile | undefined {
    return this.cut(from, to) ? undefined : this.linkOf(from, to);
  }

  /** True while `name` is stalled. */
  isStalled(name: string): boolean {
    return this.clock.now() < this.node(name).stalledUntil;
  }

  /**
   * Overrides latency/jitter/loss from `a` to `b` (and back, unless `oneWay`); unset
   * fields keep the link's current value (its own override, the inter-region link, or
   * the global one).
   */
  setLink(a: string, b: string, profile: Partial<LinkProfile>, oneWay = false): void {
    this.topology.setLink(this.node(a), this.node(b), profile, oneWay);
  }

  /**
   * Puts node `name` in region `region` (a small integer, ≥ 0). Traffic between nodes
   * of two different regions uses the inter-region link ({@link setInterRegion}) unless
   * a per-link override ({@link setLink}) says otherwise; nodes without a region, and
   * nodes of one region, use the global link.
   */
  setRegion(name: string, region: number): void {
    this.topology.setRegion(this.node(name).index, region);
  }

  /** The region of node `name`, or -1. */
  regionOfNode(name: string): number {
    return this.topology.regionOfIndex(this.node(name).index);
  }

  /** Sets the link profile between nodes of different regions (see {@link setRegion}). */
  setInterRegion(profile: LinkProfile): void {
    this.topology.setInterRegion(profile);
  }

  /**
   * Splits the network into `groups` (names); nodes not listed form one more group.
   * Traffic between groups is dropped both ways, datagrams and streams alike.
   */
  partition(groups: string[][]): void {
    this.topology.partition(groups, this.indexOf);
  }

  /** Drops traffic from `from` to `to` only (a one-way partition); the reverse flows. */
  partitionOneWay(from: string[], to: string[]): void {
    this.topology.partitionOneWay(from, to, this.indexOf);
  }

  /** Removes every partition (the `blocked` hook stays). */
  heal(): void {
    this.topology.heal();
  }

  /** Runs the simulation for `ms` of virtual time. */
  run(ms: number): void {
    this.clock.advance(ms);
  }

  /** Runs in `stepMs` steps until `done()` holds or `maxMs` passed; returns the time taken, or -1. */
  runUntil(done: () => boolean, maxMs: number, stepMs = 100): number {
    const start = this.clock.now();
    while (this.clock.now() - start < maxMs) {
      if (done()) return this.clock.now() - start;
      this.clock.advance(stepMs);
    }
    return done() ? this.clock.now() - start : -1;
  }

  /** Nodes that are up. */
  up(): SimNode[] {
    return this.nodes.filter((n) => n.up);
  }

  /** True when every up node sees exactly the up nodes as alive (and nothing else alive). */
  converged(): boolean {
    const up = this.up();
    const names = new Set(up.map((n) => n.name));
    for (const n of up) {
      const counts = n.m.counts();
      if (counts.alive !== names.size || counts.suspect !== 0) return false;
      for (const other of up) if (n.m.member(other.name)?.state !== 'alive') return false;
    }
    return true;
  }

  /** Sum of the per-node counters. */
  totals(): Record<'msgsSent' | 'bytesSent' | 'framesSent' | 'msgsRecv' | 'bytesRecv' | 'framesRecv' | 'streamsSent' | 'streamBytesSent', number> {
    const t = { msgsSent: 0, bytesSent: 0, framesSent: 0, msgsRecv: 0, bytesRecv: 0, framesRecv: 0, streamsSent: 0, streamBytesSent: 0 };
    for (const n of this.nodes) {
      t.msgsSent += n.msgsSent;
      t.bytesSent += n.bytesSent;
      t.framesSent += n.framesSent;
      t.msgsRecv += n.msgsRecv;
      t.bytesRecv += n.bytesRecv;
      t.framesRecv += n.framesRecv;
      t.streamsSent += n.streamsSent;
      t.streamBytesSent += n.streamBytesSent;
    }
    return t;
  }

  // ---------------------------------------------------------------- internals

  private boot(node: SimNode, incarnation: number, meta: Uint8Array | undefined, restored = false): void {
    node.meta = meta;
    node.pending.clear();
    const plan = this.replication?.(node, restored);
    // the runtime the daemon runs, over this network: membership messages travel as
    // objects (see the class comment), replication through the plan's data wire
    node.rt = new NodeRuntime({
      name: node.name,
      address: node.addr,
      incarnation,
      ...(meta ? { meta } : {}),
      options: this.options,
      clock: this.nodeClock(node, node.gen),
      random: node.random.fork(node.gen),
      wire: plan ? { swim: this.outbound(node, node.gen), data: plan.data } : { swim: this.outbound(node, node.gen) },
      ...(plan ? plan.init : { replica: false as const }),
      messages: false,
      simulator: { messageSize: wireSize, index: this.index },
    });
    node.m = node.rt.membership;
    plan?.created(node.rt);
    // one subscription per member event, not onAny: a catch-all listener would make the
    // node build the payloads of events nobody here reads (a broker list per broker change)
    for (const type of MEMBER_EVENTS) {
      node.m.on(type, (info) => {
        if (this.trace) this.log.push(`${this.clock.now()} ${node.name} ${type} ${info.name} ${info.incarnation}`);
        for (const l of this.listeners) l(type, node, info);
      });
    }
  }

  /**
   * The node's view of the shared clock: its timers die with it and wait out its stalls;
   * a skewed node (setSkew) reads and times by its own, skewed clock.
   */
  nodeClock(node: SimNode, gen: number): Clock {
    return this.clocks.clockOf(node, gen);
  }

  /** @internal the node at `addr`, if any */
  peerAt(addr: string): SimNode | undefined {
    return this.byAddr.get(addr);
  }

  /** @internal the link from `from` to `to` */
  linkOf(from: SimNode, to: SimNode): LinkProfile {
    return this.topology.linkOf(from, to);
  }

  /** @internal true when a partition or `blocked` cuts traffic from `from` to `to` */
  cut(from: SimNode, to: SimNode): boolean {
    if (this.topology.cut(from, to)) return true;
    return this.blocked !== undefined && this.blocked(from, to);
  }

  private readonly indexOf = (name: string): number => this.node(name).index;

  private delay(link: LinkProfile): number {
    return link.jitterMs > 0 ? link.latencyMs + this.random.next() * link.jitterMs : link.latencyMs;
  }

  /** Sends one frame: `msgs` (sizes in `bytes`) plus gossip up to the budget. */
  private sendFrame(node: SimNode, toAddr: string, msgs: Message[], bytes: number): void {
    if (this.clock.now() < node.stalledUntil) return;
    const left = this.budget - bytes;
    // the queued messages themselves, shared by every receiver (Membership never mutates
    // what it handles), gathered after the frame's own in a buffer reused by every frame and
    // copied out once at the exact size (pushing ~50 onto msgs would regrow it three times)
    if (left > 0) {
      const frame = this.frameScratch;
      for (let i = 0; i < msgs.length; i++) frame.msgs[i] = msgs[i]!;
      frame.count = msgs.length;
      bytes += piggybackMessages(node.m, left, frame);
      if (frame.count > msgs.length) msgs = frame.msgs.slice(0, frame.count);
    }
    if (msgs.length === 0) return;
    node.framesSent++;
    node.msgsSent += msgs.length;
    node.bytesSent += bytes;
    const to = this.byAddr.get(toAddr);
    if (!to) {
      this.framesLost++;
      return;
    }
    this.onFrame?.(node, to, msgs);
    const link = this.linkOf(node, to);
    if (this.cut(node, to) || (link.loss > 0 && this.random.next() < link.loss)) {
      this.framesLost++;
      return;
    }
    const frame: Frame = { fromAddr: node.addr, to, msgs, bytes };
    this.clock.schedule(this.delay(link), this.arriveFn, frame);
  }

  /** `arrive` bound once, so a frame in flight costs no closure. */
  private readonly arriveFn = (frame: Frame): void => this.arrive(frame);

  private arrive(frame: Frame): void {
    const to = frame.to;
    if (!to.up) {
      this.framesLost++;
      return;
    }
    to.framesRecv++;
    to.msgsRecv += frame.msgs.length;
    to.bytesRecv += frame.bytes;
    if (this.clock.now() < to.stalledUntil) to.deferred.push(frame);
    else for (const msg of frame.msgs) to.m.handle(msg, frame.fromAddr);
  }

  private outbound(node: SimNode, gen: number): SwimOutbound {
    const flush = (to: string, extra: Message | undefined, extraBytes: number): void => {
      const queued = node.pending.get(to);
      let msgs: Message[];
      let bytes = extraBytes;
      if (queued) {
        node.pending.delete(to);
        msgs = queued;
        for (const m of queued) bytes += wireSize(m);
        if (extra) msgs.push(extra);
      } else {
        msgs = extra ? [extra] : [];
      }
      this.sendFrame(node, to, msgs, bytes);
    };
    const clock = this.nodeClock(node, gen);
    return {
      send: (to, msg, urgent) => {
        if (node.gen !== gen) return;
        if (urgent) return flush(to, msg, wireSize(msg));
        const list = node.pending.get(to);
        if (list) list.push(msg);
        else {
          node.pending.set(to, [msg]);
          clock.setTimer(this.batchWindowMs, () => node.pending.has(to) && flush(to, undefined, 0));
        }
      },
      gossip: (to) => {
        if (node.gen === gen) this.sendFrame(node, to, [], 0);
      },
      pushPull: (to, msg: PushPullMessage, done) => {
        streamExchange<PushPullMessage>(this, node, gen, to, wireSize(msg), (target) => {
          const reply = target.m.handlePushPull(msg);
          return { reply, bytes: wireSize(reply) };
        }, (reply) => (reply ? done(reply) : done(undefined, new Error('unreachable'))));
      },
      streamPing: (to, ping: PingMessage, done) => {
        streamExchange<boolean>(this, node, gen, to, wireSize(ping), (target) => ({ reply: target.m.handleStreamPing(ping), bytes: 4 }), (ok) => done(ok === true));
      },
    };
  }
}

