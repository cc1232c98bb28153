import { encodeMessage } from '../codec/messages.js';
import type { DeadMessage, Message, PingMessage, PushPullMessage } from '../codec/messages.js';
import { TypedEmitter } from '../events.js';
import type { Address } from '../transport/transport.js';
import { BrokerView } from './brokers.js';
import { CertificateCheck } from './certificates.js';
import { INTERNALS, LIVE, SIMULATOR_INIT, SwimCore } from './core.js';
import type { InternalInit, Internals } from './core.js';
import { EvidenceLog } from './evidence.js';
import type { MemberExplanation } from './evidence.js';
import { LocalNode } from './local-node.js';
import { Loops } from './loops.js';
import type { MemberState } from './members.js';
import type { BrokerInfo, MemberInfo, MembershipEvents, MembershipInit, SwimCounters } from './membership-types.js';
import { sameBytes } from './meta.js';
import { Prober } from './prober.js';
import { PushPull } from './push-pull.js';
import { SuspicionTimers } from './suspicion-timers.js';
import { Transitions } from './transitions.js';

export type { BrokerInfo, MemberInfo, MembershipEvents, MembershipInit, SwimCounters, SwimOutbound } from './membership-types.js';

/**
 * The SWIM membership protocol with Lifeguard, as a deterministic state machine: time
 * comes from the injected Clock, randomness from the seeded Random, and every packet
 * leaves through SwimOutbound. The runtime feeds received messages to `handle`.
 *
 * Rules follow HashiCorp memberlist (itself SWIM + Lifeguard) unless noted:
 * - an alive message wins over state with a lower incarnation; suspect and dead need at
 *   least the current incarnation; a node refutes anything but its current self by
 *   bumping its incarnation above the claim;
 * - the receiver of a push-pull merges before it replies, so a node that was declared
 *   dead across a healed partition refutes in the same exchange and the initiator
 *   learns the new incarnation at once (memberlist replies first, costing a round);
 * - a member that left is never probed or suspected again until it rejoins.
 */
export class Membership extends TypedEmitter<MembershipEvents> {
  readonly name: string;
  readonly counters: SwimCounters = {
    probes: 0, acks: 0, probeFailures: 0, indirectProbes: 0, indirectProbesServed: 0, nacksSent: 0,
    nacksReceived: 0, streamPings: 0, suspicions: 0, confirmations: 0, deaths: 0, refutations: 0,
    pushPulls: 0, pushPullFailures: 0, gossipRounds: 0, misdirectedPings: 0, rejectedMembers: 0,
    nameConflicts: 0, certificatesVerified: 0, certificatesRefused: 0,
  };
  /** For simulator-access.ts only (non-enumerable, set in the constructor). */
  declare readonly [INTERNALS]: Internals;

  // The collaborators (see each one's file); the shared state is in `core`.
  private readonly core: SwimCore;
  private readonly local: LocalNode;
  private readonly brokerView: BrokerView;
  private readonly suspicions: SuspicionTimers;
  private readonly prober: Prober;
  private readonly transitions: Transitions;
  private readonly pushPull: PushPull;
  private readonly loops: Loops;

  constructor(init: MembershipInit) {
    super();
    this.name = init.name;
    const core = new SwimCore(init, (init as InternalInit)[SIMULATOR_INIT], this.counters, this);
    this.core = core;
    this.local = new LocalNode(core, init.onDefunct);
    this.brokerView = new BrokerView(core);
    this.suspicions = new SuspicionTimers(core);
    this.prober = new Prober(core, this.local, init.ackPayload, init.onAckPayload);
    const certificates = new CertificateCheck(core, this.prober);
    this.transitions = new Transitions(core, this.local, this.suspicions, certificates, this.brokerView);
    // the back edges: a probe's verdict suspects, a suspicion's verification probes and declares
    this.suspicions.prober = this.prober;
    this.suspicions.transitions = this.transitions;
    this.prober.suspicions = this.suspicions;
    this.prober.transitions = this.transitions;
    certificates.transitions = this.transitions;
    this.pushPull = new PushPull(core, this.local, this.transitions);
    this.loops = new Loops(core, this.pushPull, this.brokerView);
    const internals: Internals = { core, brokers: this.brokerView };
    Object.defineProperty(this, INTERNALS, { value: internals, enumerable: false });
    this.brokerView.track(core.self);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts probing, gossiping, periodic push-pull and reconnects. */
  start(): void {
    const { core } = this;
    if (core.running) return;
    core.running = true;
    // stagger the first ticks so nodes started together do not beat in phase
    this.loops.start();
    this.prober.schedule(core.random.int(core.opts.probeIntervalMs));
    this.local.broadcastSelf();
  }

  /** Stops every timer (the node falls silent). Idempotent. */
  stop(): void {
    this.core.running = false;
    this.prober.stop();
    this.loops.stop();
    this.suspicions.stopAll();
  }

  /**
   * Contacts seeds with a full-state push-pull, all at once. `done` gets the number of
   * seeds that answered (0: none did). The seeds are remembered and retried by the
   * reconnect timer while they are not members, so a node started before its seeds
   * joins them when they come up.
   */
  join(seeds: Address[], done?: (contacted: number, errors: Error[]) => void): void {
    const targets = [...new Set(seeds)].filter((a) => a !== this.core.self.addr);
    this.loops.seeds = [...new Set([...this.loops.seeds, ...targets])];
    if (targets.length === 0) {
      done?.(0, []);
      return;
    }
    let waiting = targets.length;
    let contacted = 0;
    const errors: Error[] = [];
    for (const addr of targets) {
      this.pushPull.with(addr, true, (ok, err) => {
        if (ok) contacted++;
        else if (err) errors.push(err);
        if (--waiting === 0) done?.(contacted, errors);
      });
    }
  }

  /**
   * Leaves gracefully: broadcasts the intent and calls `done` once it has been
   * transmitted enough times to spread, or after `leaveTimeoutMs`.
   */
  leave(done: () => void): void {
    const { core } = this;
    if (core.leaving) {
      done();
      return;
    }
    core.leaving = true;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      timer.cancel();
      done();
    };
    const timer = core.clock.setTimer(core.opts.leaveTimeoutMs, finish);
    const msg: DeadMessage = { type: 'dead', node: this.name, incarnation: core.self.incarnation, from: this.name };
    core.table.setState(core.self, 'left', core.clock.now());
    this.brokerView.track(core.self);
    const live = core.table.live;
    // alone: nobody to tell
    if (live === 0) return finish();
    core.queue.queueMessage(this.name, msg, encodeMessage(msg), finish);
    for (const m of core.table.sample(core.opts.gossipNodes, LIVE)) {
      core.out.gossip(m.addr);
    }
  }

  /** Replaces this node's metadata and spreads it (bumping the incarnation). */
  updateMeta(meta: Uint8Array): void {
    const { self, table } = this.core;
    if (sameBytes(meta, self.meta)) return;
    self.meta = meta;
    table.setIncarnation(self, self.incarnation + 1);
    this.brokerView.track(self);
    this.local.broadcastSelf();
    this.emit('member-update', this.core.info(self));
  }

  // ---------------------------------------------------------------- queries

  /** This node's current incarnation (persist it: a restart must start above it). */
  get incarnation(): number {
    return this.core.self.incarnation;
  }

  /** Lifeguard health score: 0 is healthy; higher means this node is probably the slow one. */
  get health(): number {
    return this.core.awareness.score;
  }

  /** True once `leave` was called. */
  get hasLeft(): boolean {
    return this.core.leaving;
  }

  /** Number of members by state, including this node. */
  counts(): Record<MemberState, number> {
    const { table } = this.core;
    return {
      alive: table.count('alive'),
      suspect: table.count('suspect'),
      dead: table.count('dead'),
      left: table.count('left'),
    };
  }

  /** Every known member, this node included. */
  members(): MemberInfo[] {
    const out: MemberInfo[] = [];
    this.core.table.forEach((m) => out.push(this.core.info(m)));
    return out;
  }

  /** One member by name. */
  member(name: string): MemberInfo | undefined {
    const m = this.core.table.get(name);
    return m ? this.core.info(m) : undefined;
  }

  /**
   * Why `name` is in its state, as this node sees it: its table entry, the evidence kept
   * (probe outcomes, RTT, suspicion and confirmations, death certificate; all empty
   * unless built with `evidence`), the live Lifeguard timer of a suspicion held now, and
   * this node's own health. Undefined for an unknown member. O(ring sizes).
   */
  explain(name: string): MemberExplanation | undefined {
    const { core } = this;
    const m = core.table.get(name);
    if (!m) return undefined;
    const now = core.clock.now();
    const live = m.state === 'suspect' ? this.suspicions.live(name, now) : null;
    const recorded = core.evidence !== undefined;
    const evidence = core.evidence ?? new EvidenceLog(0);
    return {
      name: m.name, address: m.addr, state: m.state, incarnation: m.incarnation, sinceMs: Math.round(now - m.changedAt), observer: this.name,
      ...evidence.member(name, now),
      live,
      health: evidence.observer(core.awareness.score, core.opts.awarenessMaxMultiplier, now),
      recorded,
    };
  }

  /** Number of members gossip messages are waiting to reach. */
  get queuedBroadcasts(): number {
    return this.core.queue.size;
  }

  /**
   * The live broker list: alive members with role `broker`, least loaded first (by the
   * sum of the `sortBy` load figure, default `clients`), then by name.
   */
  brokers(filter: { tag?: [string, string]; sortBy?: string } = {}): BrokerInfo[] {
    return this.brokerView.list(filter);
  }

  // ---------------------------------------------------------------- inbound

  /**
   * Broadcast messages to piggyback on a frame for any peer, at most `budget` bytes.
   * The runtime calls this whenever it builds a frame.
   */
  piggyback(budget: number): Uint8Array[] {
    return this.core.queue.take(budget, this.core.table.live);
  }

  /** Handles one received membership message. `from` is the socket address it came from. */
  handle(msg: Message, from: Address): void {
    this.dispatch(msg, from);
    this.local.notifyDefunct();
  }

  private dispatch(msg: Message, from: Address): void {
    switch (msg.type) {
      case 'ping':
        return this.prober.onPing(msg);
      case 'ping-req':
        return this.prober.onPingReq(msg);
      case 'ack':
        return this.prober.onAck(msg, from);
      case 'nack':
        return this.prober.onNack(msg.seq);
      case 'alive':
        return this.transitions.onAlive(msg);
      case 'suspect':
        return this.transitions.onSuspect(msg);
      case 'dead':
        return this.transitions.onDead(msg);
      case 'push-pull':
        // push-pull belongs on streams; a datagram one is merged but not answered
        this.pushPull.merge(msg);
        return;
      default: {
        const never: never = msg;
        void never;
      }
    }
  }

  /** Answers a push-pull received over a stream: merges first, then replies with our state. */
  handlePushPull(msg: PushPullMessage): PushPullMessage {
    this.pushPull.merge(msg);
    const reply = this.pushPull.localState(false);
    this.local.notifyDefunct();
    return reply;
  }

  /** Answers a ping received over a stream (the fallback path): true when it is for us. */
  handleStreamPing(ping: PingMessage): boolean {
    return ping.target === this.name || ping.target === '';
  }
}
