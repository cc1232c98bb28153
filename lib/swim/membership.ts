import type { Clock, Timer } from '../clock.js';
import type { SwimOptions } from '../config.js';
import { encodeMessage, encodeTrustedMessage } from '../codec/messages.js';
import type {
  AckMessage,
  AliveMessage,
  DeadMessage,
  MemberSnapshot,
  Message,
  PingMessage,
  PingReqMessage,
  PushPullMessage,
  SuspectMessage,
} from '../codec/messages.js';
import { TypedEmitter } from '../events.js';
import type { Random } from '../random.js';
import type { Address } from '../transport/transport.js';
import { Awareness } from './awareness.js';
import { EvidenceLog } from './evidence.js';
import type { HealthRecord, LiveSuspicion, MemberExplanation, ProbeKind } from './evidence.js';
import { BroadcastQueue } from './broadcasts.js';
import type { MessageBuffer } from './broadcasts.js';
import { MemberTable } from './members.js';
import { stateSet } from './members.js';
import type { Member, MemberIndex, MemberState, SharedMembers } from './members.js';
import { decodeMeta, emptyMeta, sameBytes } from './meta.js';
import type { NodeMeta } from './meta.js';
import { PendingTable } from './pending.js';
import type { Pending } from './pending.js';
import { Suspicion, suspicionMinTimeout } from './suspicion.js';

/**
 * Everything the membership state machine needs from the outside world. The runtime
 * implements it with the batcher and a real or in-memory transport; unit tests with
 * a recorder. All callbacks may be invoked synchronously or later.
 */
export interface SwimOutbound {
  /** Sends `msg`; `urgent` (pings, acks) goes out at once carrying queued gossip. */
  send(to: Address, msg: Message, urgent: boolean): void;
  /** Sends a frame carrying only piggybacked broadcasts to `to`. */
  gossip(to: Address): void;
  /** Full-state exchange over a stream; `done` gets the reply or an error. */
  pushPull(to: Address, msg: PushPullMessage, done: (reply: PushPullMessage | undefined, err?: Error) => void): void;
  /** A ping over a stream (fallback when datagrams are lost); `done(true)` when acked. */
  streamPing(to: Address, ping: PingMessage, done: (ok: boolean) => void): void;
}

/** A member as reported to applications. */
export interface MemberInfo {
  name: string;
  address: Address;
  state: MemberState;
  incarnation: number;
  meta: NodeMeta;
  /** Round-trip time of the last direct probe, in ms (undefined when never probed). */
  rttMs: number | undefined;
  /** Milliseconds since the member entered its current state. */
  sinceMs: number;
}

/** A broker as listed by {@link Membership.brokers}. */
export interface BrokerInfo {
  name: string;
  address: Address;
  endpoints: Record<string, string>;
  load: Record<string, number>;
  tags: Record<string, string>;
}

/** The typed events of the membership layer. */
export interface MembershipEvents extends Record<string, unknown> {
  'member-join': MemberInfo;
  'member-update': MemberInfo;
  'member-suspect': MemberInfo;
  /** A suspected member refuted the suspicion. */
  'member-alive': MemberInfo;
  'member-dead': MemberInfo;
  'member-leave': MemberInfo;
  'member-reaped': MemberInfo;
  'brokers-changed': BrokerInfo[];
  'health-changed': { score: number };
  /** Two live nodes claim one name: `address` is the other claimant. */
  'name-conflict': { name: string; address: Address; local: boolean };
}

/** Protocol counters, for metrics and tests. */
export interface SwimCounters {
  probes: number;
  acks: number;
  probeFailures: number;
  indirectProbes: number;
  indirectProbesServed: number;
  nacksSent: number;
  nacksReceived: number;
  streamPings: number;
  suspicions: number;
  confirmations: number;
  deaths: number;
  refutations: number;
  pushPulls: number;
  pushPullFailures: number;
  gossipRounds: number;
  misdirectedPings: number;
  rejectedMembers: number;
  nameConflicts: number;
  /** Death certificates gossiped about a member we had no doubt of, verified by a probe before accepting them (decision 0050). */
  certificatesVerified: number;
  /** Of those, certificates the member's answer disproved (not accepted, not relayed). */
  certificatesRefused: number;
}

/** Construction parameters of {@link Membership}. */
export interface MembershipInit {
  /** This node's unique name. */
  name: string;
  /** The address peers reach us at (the advertised one). */
  address: Address;
  /** Encoded metadata (see encodeMeta). @default empty metadata */
  meta?: Uint8Array;
  /** Starting incarnation: persisted value + 1 after a restart. @default 0 */
  incarnation?: number;
  options: SwimOptions;
  clock: Clock;
  random: Random;
  out: SwimOutbound;
  /**
   * Bytes to attach to every ack this node sends (the replica's vector digest), or
   * undefined for none. Called once per ack: keep it O(1). @default undefined
   */
  ackPayload?: () => Uint8Array | undefined;
  /** Called with the probed member's name when an ack of one of our probes carries a payload. @default undefined */
  onAckPayload?: (member: string, payload: Uint8Array) => void;
  /**
   * The exact encoded size of a message, computed without encoding it. Given it,
   * {@link Membership.piggybackMessages} never encodes gossip (the simulator passes its
   * `wireSize`); {@link Membership.piggyback} still encodes what it hands out.
   * @default undefined (gossip is measured by encoding it)
   */
  messageSize?: (msg: Message) => number;
  /**
   * The member-name index, shared by the tables of every node a process simulates
   * (see {@link MemberIndex}; {@link Membership.seedShared} needs one).
   * @default a private index
   */
  index?: MemberIndex;
  /**
   * Keep per-member failure-detection evidence (probe outcomes, suspicions, deaths,
   * health changes) for {@link Membership.explain}: a fixed ring per member (see
   * evidence.ts). The daemon keeps it; a simulator of thousands of nodes need not. An
   * EvidenceLog given here is used as is (benchmarks fill one directly).
   * @default false
   */
  evidence?: boolean | EvidenceLog;
  /**
   * Called once a message handled here (a `dead` about this node from another, or a
   * push-pull listing it dead) declared this node dead at its incarnation or above, after
   * the refutation raised it: `incarnation` is the new one. The others dropped what this
   * node had announced (presence, broker lists), so the runtime re-announces it under a
   * new epoch (foca's `Notification::Defunct`). Never called once the node is leaving.
   * @default undefined
   */
  onDefunct?: (incarnation: number) => void;
}

const ALIVE = stateSet('alive');
const LIVE = stateSet('alive', 'suspect');
const GONE = stateSet('dead', 'left');
const ANY = stateSet('alive', 'suspect', 'dead', 'left');
/** A placeholder for a timer about to be set. */
const NO_TIMER: Timer = { cancel: () => undefined };

/** Fraction of the probe timeout after which an indirect-probe helper nacks at the latest (Lifeguard). */
const NACK_TIMEOUT_FRACTION = 0.8;
/**
 * Fraction of the requester's indirect window (probe interval − probe timeout) after which a
 * helper nacks, when that is sooner: the nacks then complete a failed probe's evidence around
 * three quarters into the period, and the requester can judge it there (decision 0040 §11).
 */
const NACK_WINDOW_FRACTION = 0.5;

/**
 * A local suspicion: its Lifeguard timeout (the Suspicion itself, whose `minMs` is also
 * the postponement after an answer), the timer, and whether it is being verified. One
 * object rather than a record pointing at a Suspicion: a split reads one per suspect
 * message received, and each pointer followed is a cache miss.
 */
class SuspicionState extends Suspicion {
  timer: Timer = NO_TIMER;
  /** When `timer` fires, if it is the deadline timer (armSuspicion); undefined while another one runs. */
  dueAt: number | undefined = undefined;
  verifying = false;
  /** Last time the suspect itself reached us (a ping, a ping-req, an ack) during the suspicion. */
  heardAt: number | undefined = undefined;
}

/** How a probe ended: answered, unanswered, or not judgeable because our own timers ran late. */
type ProbeResult = 'acked' | 'failed' | 'inconclusive';

interface PendingProbe extends Pending {
  target: string;
  /** The target's incarnation when the probe was sent: a failed probe accuses that one only. */
  incarnation: number;
  sentAt: number;
  acked: boolean;
  nacks: number;
  expectedNacks: number;
  /** When the indirect probes went out (the probe timeout timer ran). */
  indirectAt?: number;
  /** May be judged as soon as its evidence is complete (a probe of the probe loop). */
  early?: boolean;
  /** The stream fallback ping ran and failed. */
  streamFailed?: boolean;
  /** Its verdict is taken (early) or scheduled; later evidence changes nothing. */
  judged?: boolean;
  /** For a relayed (ping-req) probe: what to do with the answer. */
  relay?: { seq: number; to: Address };
  /** The helpers asked to ping the target (kept only with evidence, to name who relayed an ack). */
  helpers?: readonly Readonly<Member>[];
  /** This probe verifies a suspicion (kept only with evidence). */
  verification?: boolean;
}

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

  private readonly opts: SwimOptions;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly out: SwimOutbound;
  private readonly ackPayload: (() => Uint8Array | undefined) | undefined;
  private readonly onAckPayload: ((member: string, payload: Uint8Array) => void) | undefined;
  private readonly table: MemberTable;
  private readonly self: Member;
  private readonly awareness: Awareness;
  /** Failure-detection evidence for {@link explain}, when kept. */
  private readonly evidence: EvidenceLog | undefined;
  private readonly queue: BroadcastQueue<Message>;
  private readonly pending = new PendingTable<PendingProbe>();
  private readonly suspicions = new Map<string, SuspicionState>();
  /** Death certificates held back while we verify them (decision 0050): member → the certificate. At most one per member. */
  private readonly certificates = new Map<string, DeadMessage>();
  private readonly brokerSet = new Map<string, string>();
  private readonly metaCache = new WeakMap<Uint8Array, NodeMeta>();
  private seeds: Address[] = [];
  /** The probe loop's pending timer. */
  private probeTimer: Timer | undefined;
  /** The periodic loops of {@link every}: each one's pending timer. */
  private loops: { timer: Timer | undefined }[] = [];
  private seq = 0;
  private running = false;
  private leaving = false;
  /** A message being handled declared us dead: {@link MembershipInit.onDefunct} is due when it is done. */
  private defunct = false;
  private readonly onDefunct: ((incarnation: number) => void) | undefined;

  constructor(init: MembershipInit) {
    super();
    this.name = init.name;
    this.opts = init.options;
    this.clock = init.clock;
    this.random = init.random;
    this.out = init.out;
    this.ackPayload = init.ackPayload;
    this.onAckPayload = init.onAckPayload;
    this.onDefunct = init.onDefunct;
    this.table = new MemberTable(init.random, init.index);
    this.awareness = new Awareness(init.options.awarenessMaxMultiplier);
    this.evidence = init.evidence instanceof EvidenceLog ? init.evidence : init.evidence ? new EvidenceLog(init.options.maxMembers) : undefined;
    this.queue = new BroadcastQueue<Message>(init.options.retransmitMult, undefined, encodeTrustedMessage, init.messageSize);
    this.self = {
      name: init.name,
      addr: init.address,
      incarnation: init.incarnation ?? 0,
      state: 'alive',
      meta: init.meta ?? new Uint8Array(),
      changedAt: init.clock.now(),
      rttMs: undefined,
    };
    this.table.add(this.self, false);
    this.trackBroker(this.self);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts probing, gossiping, periodic push-pull and reconnects. */
  start(): void {
    if (this.running) return;
    this.running = true;
    // stagger the first ticks so nodes started together do not beat in phase
    this.every(() => this.opts.gossipIntervalMs, () => this.gossipTick(), this.random.int(this.opts.gossipIntervalMs));
    this.every(() => this.pushPullInterval(), () => this.pushPullTick(), this.random.int(this.opts.pushPullIntervalMs) + this.opts.pushPullIntervalMs / 2);
    this.every(() => this.opts.reconnectIntervalMs, () => this.reconnectTick(), this.random.int(this.opts.reconnectIntervalMs) + 1);
    this.scheduleProbe(this.random.int(this.opts.probeIntervalMs));
    this.broadcastSelf();
  }

  /** Stops every timer (the node falls silent). Idempotent. */
  stop(): void {
    this.running = false;
    this.probeTimer?.cancel();
    this.probeTimer = undefined;
    for (const slot of this.loops) slot.timer?.cancel();
    this.loops = [];
    for (const { timer } of this.suspicions.values()) timer.cancel();
    this.suspicions.clear();
  }

  /**
   * Contacts seeds with a full-state push-pull, all at once. `done` gets the number of
   * seeds that answered (0: none did). The seeds are remembered and retried by the
   * reconnect timer while they are not members, so a node started before its seeds
   * joins them when they come up.
   */
  join(seeds: Address[], done?: (contacted: number, errors: Error[]) => void): void {
    const targets = [...new Set(seeds)].filter((a) => a !== this.self.addr);
    this.seeds = [...new Set([...this.seeds, ...targets])];
    if (targets.length === 0) {
      done?.(0, []);
      return;
    }
    let waiting = targets.length;
    let contacted = 0;
    const errors: Error[] = [];
    for (const addr of targets) {
      this.pushPullWith(addr, true, (ok, err) => {
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
    if (this.leaving) {
      done();
      return;
    }
    this.leaving = true;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      timer.cancel();
      done();
    };
    const timer = this.clock.setTimer(this.opts.leaveTimeoutMs, finish);
    const msg: DeadMessage = { type: 'dead', node: this.name, incarnation: this.self.incarnation, from: this.name };
    this.table.setState(this.self, 'left', this.clock.now());
    this.trackBroker(this.self);
    const live = this.table.live;
    // alone: nobody to tell
    if (live === 0) return finish();
    this.queue.queueMessage(this.name, msg, encodeMessage(msg), finish);
    for (const m of this.table.sample(this.opts.gossipNodes, LIVE)) {
      this.out.gossip(m.addr);
    }
  }

  /**
   * Bulk-loads members this node does not know yet, from a snapshot of a cluster's state
   * (a converged simulation's start, a restored state file, a big cluster's push-pull),
   * without the per-member work of {@link handle}: nothing is queued for gossip (whoever
   * holds the snapshot already knows it) and, with `quiet`, no events are emitted. Only
   * unknown members in state alive, dead or left are added, as `handle` would add an alive
   * one (probe order, broker list, metadata limit and member cap included); this node,
   * known members and suspects are skipped: updates and suspicions go through `handle`.
   * @param opts.quiet emit no `member-join` events. @default false
   * @returns the number of members added
   */
  seedMembers(members: Iterable<MemberSnapshot>, opts: { quiet?: boolean } = {}): number {
    const now = this.clock.now();
    const emit = !opts.quiet && this.hasListeners('member-join');
    let added = 0;
    let brokersChanged = false;
    for (const s of members) {
      if (s.state === 'suspect' || s.node === this.name || this.table.get(s.node)) continue;
      if (s.meta.length > this.opts.maxMetaSize || this.table.size >= this.opts.maxMembers) {
        this.counters.rejectedMembers++;
        continue;
      }
      const member: Member = { name: s.node, addr: s.addr, incarnation: s.incarnation, state: s.state, meta: s.meta, changedAt: now, rttMs: undefined };
      this.table.add(member);
      added++;
      if (s.state === 'alive' && this.decodeMetaOf(member).roles.includes('broker')) {
        this.brokerSet.set(member.name, `${member.addr} ${JSON.stringify(this.decodeMetaOf(member).endpoints)}`);
        brokersChanged = true;
      }
      if (emit && s.state === 'alive') this.emit('member-join', this.info(member));
    }
    if (brokersChanged && this.hasListeners('brokers-changed')) this.emit('brokers-changed', this.brokers());
    return added;
  }

  /**
   * {@link seedMembers} from records shared with the other nodes of this process (a
   * simulator's converged start, decision 0043): the table reads them in place and copies
   * one only when it changes, so n nodes knowing n members hold n² slots rather than n²
   * records. Quiet (no `member-join` events). This node must have been built with
   * `shared.index`; `shared` must hold no suspect, no metadata over the limit, and no
   * more members than the cap (a programming error, thrown as a RangeError).
   * @returns the number of members added
   */
  seedShared(shared: SharedMembers): number {
    if (shared.counts.suspect > 0) throw new RangeError('seedShared: suspects go through handle()');
    if (shared.size > this.opts.maxMembers) throw new RangeError(`seedShared: ${shared.size} members over the cap of ${this.opts.maxMembers}`);
    if (shared.maxMetaSize > this.opts.maxMetaSize) throw new RangeError(`seedShared: metadata of ${shared.maxMetaSize} bytes over the limit`);
    let brokersChanged = false;
    for (const m of shared.aliveWithMeta) {
      if (m.name === this.name || this.table.get(m.name)) continue;
      if (this.decodeMetaOf(m).roles.includes('broker')) {
        this.brokerSet.set(m.name, `${m.addr} ${JSON.stringify(this.decodeMetaOf(m).endpoints)}`);
        brokersChanged = true;
      }
    }
    const added = this.table.addShared(shared);
    if (brokersChanged && this.hasListeners('brokers-changed')) this.emit('brokers-changed', this.brokers());
    return added;
  }

  /** Replaces this node's metadata and spreads it (bumping the incarnation). */
  updateMeta(meta: Uint8Array): void {
    if (sameBytes(meta, this.self.meta)) return;
    this.self.meta = meta;
    this.table.setIncarnation(this.self, this.self.incarnation + 1);
    this.trackBroker(this.self);
    this.broadcastSelf();
    this.emit('member-update', this.info(this.self));
  }

  // ---------------------------------------------------------------- queries

  /** This node's current incarnation (persist it: a restart must start above it). */
  get incarnation(): number {
    return this.self.incarnation;
  }

  /** Lifeguard health score: 0 is healthy; higher means this node is probably the slow one. */
  get health(): number {
    return this.awareness.score;
  }

  /** True once `leave` was called. */
  get hasLeft(): boolean {
    return this.leaving;
  }

  /** Number of members by state, including this node. */
  counts(): Record<MemberState, number> {
    return {
      alive: this.table.count('alive'),
      suspect: this.table.count('suspect'),
      dead: this.table.count('dead'),
      left: this.table.count('left'),
    };
  }

  /** Every known member, this node included. */
  members(): MemberInfo[] {
    const out: MemberInfo[] = [];
    this.table.forEach((m) => out.push(this.info(m)));
    return out;
  }

  /** One member by name. */
  member(name: string): MemberInfo | undefined {
    const m = this.table.get(name);
    return m ? this.info(m) : undefined;
  }

  /**
   * Why `name` is in its state, as this node sees it: its table entry, the evidence kept
   * (probe outcomes, RTT, suspicion and confirmations, death certificate; all empty
   * unless built with `evidence`), the live Lifeguard timer of a suspicion held now, and
   * this node's own health. Undefined for an unknown member. O(ring sizes).
   */
  explain(name: string): MemberExplanation | undefined {
    const m = this.table.get(name);
    if (!m) return undefined;
    const now = this.clock.now();
    const s = m.state === 'suspect' ? this.suspicions.get(name) : undefined;
    const live: LiveSuspicion | null = s === undefined ? null : {
      confirmations: s.confirmations, expected: s.k, timeoutMs: s.timeout(), minMs: s.minMs, maxMs: s.maxMs,
      leftMs: Math.round(s.deadline() - now), verifying: s.verifying,
    };
    const recorded = this.evidence !== undefined;
    const evidence = this.evidence ?? new EvidenceLog(0);
    return {
      name: m.name, address: m.addr, state: m.state, incarnation: m.incarnation, sinceMs: Math.round(now - m.changedAt), observer: this.name,
      ...evidence.member(name, now),
      live,
      health: evidence.observer(this.awareness.score, this.opts.awarenessMaxMultiplier, now),
      recorded,
    };
  }

  /** Number of members gossip messages are waiting to reach. */
  get queuedBroadcasts(): number {
    return this.queue.size;
  }

  /**
   * The live broker list: alive members with role `broker`, least loaded first (by the
   * sum of the `sortBy` load figure, default `clients`), then by name.
   */
  brokers(filter: { tag?: [string, string]; sortBy?: string } = {}): BrokerInfo[] {
    const sortBy = filter.sortBy ?? 'clients';
    const out: BrokerInfo[] = [];
    for (const name of this.brokerSet.keys()) {
      const m = this.table.get(name);
      if (!m) continue;
      const meta = this.decodeMetaOf(m);
      if (filter.tag && meta.tags[filter.tag[0]] !== filter.tag[1]) continue;
      out.push({ name, address: m.addr, endpoints: meta.endpoints, load: meta.load, tags: meta.tags });
    }
    return out.sort((a, b) => (a.load[sortBy] ?? 0) - (b.load[sortBy] ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // ---------------------------------------------------------------- inbound

  /**
   * Broadcast messages to piggyback on a frame for any peer, at most `budget` bytes.
   * The runtime calls this whenever it builds a frame.
   */
  piggyback(budget: number): Uint8Array[] {
    return this.queue.take(budget, this.table.live);
  }

  /**
   * {@link piggyback} for an in-process network (the simulator): appends the broadcast
   * messages themselves to `out` (from `out.count` on) instead of their encodings, and
   * returns the bytes they take encoded. The same messages, order and transmit counts as
   * `piggyback`. The receivers must treat them as read-only (as {@link handle} does).
   */
  piggybackMessages(budget: number, out: MessageBuffer<Message>): number {
    return this.queue.takeMessages(budget, this.table.live, out);
  }

  /** Handles one received membership message. `from` is the socket address it came from. */
  handle(msg: Message, from: Address): void {
    this.dispatch(msg, from);
    this.notifyDefunct();
  }

  private dispatch(msg: Message, from: Address): void {
    switch (msg.type) {
      case 'ping':
        return this.onPing(msg);
      case 'ping-req':
        return this.onPingReq(msg);
      case 'ack':
        return this.onAck(msg, from);
      case 'nack':
        return this.onNack(msg.seq);
      case 'alive':
        return this.onAlive(msg);
      case 'suspect':
        return this.onSuspect(msg);
      case 'dead':
        return this.onDead(msg);
      case 'push-pull':
        // push-pull belongs on streams; a datagram one is merged but not answered
        this.merge(msg);
        return;
      default: {
        const never: never = msg;
        void never;
      }
    }
  }

  /** Answers a push-pull received over a stream: merges first, then replies with our state. */
  handlePushPull(msg: PushPullMessage): PushPullMessage {
    this.merge(msg);
    const reply = this.localState(false);
    this.notifyDefunct();
    return reply;
  }

  /** Tells the runtime, once per handled message, that it declared us dead (see {@link MembershipInit.onDefunct}). */
  private notifyDefunct(): void {
    if (!this.defunct) return;
    this.defunct = false;
    if (!this.leaving) this.onDefunct?.(this.self.incarnation);
  }

  /** Answers a ping received over a stream (the fallback path): true when it is for us. */
  handleStreamPing(ping: PingMessage): boolean {
    return ping.target === this.name || ping.target === '';
  }

  // ---------------------------------------------------------------- probing

  private scheduleProbe(delay: number): void {
    this.probeTimer = this.clock.setTimer(delay, () => {
      this.probeTimer = undefined;
      if (!this.running) return;
      const interval = this.awareness.scale(this.opts.probeIntervalMs);
      if (!this.leaving) {
        const target = this.table.nextProbeTarget();
        if (target) this.probe(target, interval);
      }
      this.scheduleProbe(interval);
    });
  }

  /**
   * Probes `target` for one period of `interval`. Without `done`, a failed probe suspects
   * the target; with it, `done` gets the result instead (the verification of a suspicion,
   * which runs as long as the suspicion does rather than as long as the probe loop).
   */
  private probe(target: Readonly<Member>, interval: number, done?: (result: ProbeResult) => void): void {
    const seq = this.nextSeq();
    // A verification is not judged early: its verdict belongs on the suspicion's deadline.
    const now = this.clock.now();
    const probe: PendingProbe = { seq, until: Infinity, target: target.name, incarnation: target.incarnation, sentAt: now, acked: false, nacks: 0, expectedNacks: 0, early: done === undefined };
    this.pending.set(probe, now);
    this.counters.probes++;
    if (this.evidence && done) probe.verification = true;
    const ping: PingMessage = { type: 'ping', seq, target: target.name, source: this.name, sourceAddr: this.self.addr };
    if (target.state === 'suspect') {
      // Lifeguard buddy system: tell the suspect directly so it can refute at once
      this.out.send(target.addr, { type: 'suspect', node: target.name, incarnation: target.incarnation, from: this.name }, false);
    }
    this.out.send(target.addr, ping, true);

    const timeout = this.awareness.scale(this.opts.probeTimeoutMs);
    this.clock.setTimer(timeout, () => {
      probe.indirectAt = this.clock.now();
      if (probe.acked || (!this.running && !done)) return;
      const helpers = this.table.sample(this.opts.indirectChecks, ALIVE, (m) => m.name !== target.name);
      probe.expectedNacks = helpers.length;
      if (this.evidence) probe.helpers = helpers;
      for (const h of helpers) {
        this.counters.indirectProbes++;
        const req: PingReqMessage = {
          type: 'ping-req', seq, target: target.name, targetAddr: target.addr, source: this.name, sourceAddr: this.self.addr, nack: true,
        };
        this.out.send(h.addr, req, true);
      }
      if (this.opts.streamFallbackPing) {
        this.counters.streamPings++;
        this.out.streamPing(target.addr, ping, (ok) => {
          if (this.pending.get(seq, this.clock.now()) !== probe || probe.acked) return;
          if (ok) return this.probeAcked(probe, 'tcp-ack');
          probe.streamFailed = true;
          this.judgeIfComplete(seq, probe);
        });
      }
    });

    // Decide one loop turn after the period ends, once what already arrived has been read:
    // an event loop runs due timers before it polls the socket, so after a pause the ack or
    // the nacks may be waiting there behind this timer.
    this.clock.setTimer(interval, () => this.clock.setTimer(0, () => this.probeVerdict(seq, probe, interval - timeout, done)));
  }

  /**
   * Judges a failed probe before its period ends once the evidence is complete (decision
   * 0040 §11): the direct ping timed out, every helper nacked and the stream ping (if
   * enabled) failed, so nothing is left that could still bring an ack in the rest of the
   * period. The verdict waits one loop turn, like the end-of-period one, so an ack read
   * in the same turn as the last nack still counts. Without complete evidence (a helper
   * silent, the stream ping pending) the probe is judged at the period's end as before.
   */
  private judgeIfComplete(seq: number, probe: PendingProbe): void {
    if (!probe.early || probe.judged || probe.acked || probe.indirectAt === undefined) return;
    const stream = this.opts.streamFallbackPing;
    // nothing indirect was tried (no helper, no stream ping): the direct ping keeps its period
    if (probe.expectedNacks === 0 && !stream) return;
    if (probe.nacks < probe.expectedNacks || (stream && !probe.streamFailed)) return;
    probe.judged = true;
    this.clock.setTimer(0, () => this.probeVerdict(seq, probe, 0));
  }

  /** Ends a probe: suspects the target when neither it nor the helpers answered in time. */
  private probeVerdict(seq: number, probe: PendingProbe, indirectWindow: number, done?: (result: ProbeResult) => void): void {
    // the end-of-period verdict of a probe judged early (or the other way round) is void
    if (this.pending.get(seq, this.clock.now()) !== probe) return;
    this.pending.delete(seq);
    if (probe.acked) return done?.('acked');
    if ((!this.running && !done) || this.leaving) return;
    if (this.clock.now() - (probe.indirectAt ?? -Infinity) < indirectWindow) {
      // Our own timers ran late (a GC pause, a descheduled VM): the helpers, maybe the
      // target too, did not get their time to answer, so the silence says nothing about the
      // target. Lifeguard's premise: count it against our own health, accuse nobody.
      this.recordProbe(probe, 'inconclusive');
      this.adjustHealth(1, 'late-timers', probe.target, probe.indirectAt === undefined ? indirectWindow : indirectWindow - (this.clock.now() - probe.indirectAt));
      return done?.('inconclusive');
    }
    this.counters.probeFailures++;
    // Lifeguard: missing nacks mean *we* may be the one with the problem
    const delta = probe.expectedNacks > 0 ? Math.max(0, probe.expectedNacks - probe.nacks) : 1;
    this.recordProbe(probe, 'timeout');
    this.adjustHealth(delta, probe.expectedNacks > 0 ? 'missed-nacks' : 'probe-failed-alone', probe.target, probe.nacks, probe.expectedNacks);
    if (done) return done('failed');
    // The incarnation probed, as memberlist does: if the member refuted meanwhile (a healed
    // partition: the ping was lost before the heal, the refutation came after), its new
    // incarnation is younger than our evidence, and onSuspect drops the stale accusation.
    const m = this.table.get(probe.target);
    if (m && (m.state === 'alive' || m.state === 'suspect')) {
      this.onSuspect({ type: 'suspect', node: m.name, incarnation: probe.incarnation, from: this.name });
    }
  }

  private probeAcked(probe: PendingProbe, kind: ProbeKind = 'ack', via?: string): void {
    this.heardFrom(probe.target);
    probe.acked = true;
    this.counters.acks++;
    const m = this.table.change(probe.target);
    if (m) m.rttMs = this.clock.now() - probe.sentAt;
    this.recordProbe(probe, kind, via);
    this.adjustHealth(-1, 'probe-acked', probe.target);
  }

  /** Adds how `probe` ended to the target's evidence, when kept. */
  private recordProbe(probe: PendingProbe, kind: ProbeKind, via?: string): void {
    if (!this.evidence || !this.table.get(probe.target)) return;
    const acked = kind === 'ack' || kind === 'indirect-ack' || kind === 'tcp-ack';
    const indirect = probe.indirectAt !== undefined;
    this.evidence.probe(probe.target, {
      at: this.clock.now(), kind, rttMs: acked ? this.clock.now() - probe.sentAt : undefined, via,
      helpers: probe.expectedNacks, nacks: probe.nacks,
      tcp: kind === 'tcp-ack' ? 'ok' : probe.streamFailed ? 'failed' : indirect && this.opts.streamFallbackPing && !acked ? 'pending' : 'none',
      verification: probe.verification === true,
    });
  }

  private onPing(msg: PingMessage): void {
    if (msg.target !== this.name && msg.target !== '') {
      // a ping for a previous owner of our address: answering would vouch for it
      this.counters.misdirectedPings++;
      return;
    }
    this.heardFrom(msg.source);
    const payload = this.ackPayload?.();
    const ack: AckMessage = payload ? { type: 'ack', seq: msg.seq, payload } : { type: 'ack', seq: msg.seq };
    this.out.send(msg.sourceAddr, ack, true);
  }

  private onPingReq(msg: PingReqMessage): void {
    this.heardFrom(msg.source);
    this.counters.indirectProbesServed++;
    const seq = this.nextSeq();
    const now = this.clock.now();
    // relayed for one probe period, the longest the requester waits
    const relay: PendingProbe = { seq, until: now + this.opts.probeIntervalMs, target: msg.target, incarnation: 0, sentAt: now, acked: false, nacks: 0, expectedNacks: 0, relay: { seq: msg.seq, to: msg.sourceAddr } };
    this.pending.set(relay, now);
    this.out.send(msg.targetAddr, { type: 'ping', seq, target: msg.target, source: this.name, sourceAddr: this.self.addr }, true);
    // The requester sent this ping-req one probe timeout into its period and decides at the
    // period's end at the latest. Lifeguard proposes nacking at 80 % of the probe timeout (a
    // nack after a full timeout lands a round trip too late, and every failed probe then
    // costs a healthy requester its missing nacks in health); we nack sooner still, halfway
    // through the requester's remaining window, so that with every nack in hand it can judge
    // a failed probe there instead of at the period's end (decision 0040 §11). An ack after
    // our nack is still relayed: a nack is "no answer yet", and a relayed ack wins.
    this.clock.setTimer(this.nackDelay(), () => {
      if (!relay.acked && msg.nack) {
        this.counters.nacksSent++;
        this.out.send(msg.sourceAddr, { type: 'nack', seq: msg.seq }, true);
      }
    });
  }

  private onAck(msg: AckMessage, from: Address): void {
    const probe = this.pending.get(msg.seq, this.clock.now());
    if (!probe || probe.acked) return;
    if (probe.relay) {
      probe.acked = true;
      // the target's payload travels on to the prober, which attributes it to the target
      this.out.send(probe.relay.to, msg.payload ? { type: 'ack', seq: probe.relay.seq, payload: msg.payload } : { type: 'ack', seq: probe.relay.seq }, true);
      return;
    }
    if (this.evidence && probe.indirectAt !== undefined && from !== this.table.get(probe.target)?.addr) {
      // after the indirect stage, an ack from elsewhere than the target was relayed by a helper
      this.probeAcked(probe, 'indirect-ack', probe.helpers?.find((h) => h.addr === from)?.name ?? from);
    } else {
      this.probeAcked(probe);
    }
    if (msg.payload && this.onAckPayload) this.onAckPayload(probe.target, msg.payload);
  }

  private onNack(seq: number): void {
    const probe = this.pending.get(seq, this.clock.now());
    if (!probe || probe.relay) return;
    this.counters.nacksReceived++;
    probe.nacks++;
    this.judgeIfComplete(seq, probe);
  }

  /** How long a ping-req helper waits for the target before nacking: see onPingReq. */
  private nackDelay(): number {
    const late = this.opts.probeTimeoutMs * NACK_TIMEOUT_FRACTION;
    const window = this.opts.probeIntervalMs - this.opts.probeTimeoutMs;
    return Math.floor(window > 0 ? Math.min(late, window * NACK_WINDOW_FRACTION) : late);
  }

  // ---------------------------------------------------------------- state changes

  private onAlive(msg: AliveMessage): void {
    if (msg.meta.length > this.opts.maxMetaSize) {
      this.counters.rejectedMembers++;
      return;
    }
    if (msg.node === this.name) {
      if (msg.incarnation < this.self.incarnation) return;
      if (msg.incarnation === this.self.incarnation && msg.addr === this.self.addr && sameBytes(msg.meta, this.self.meta)) return;
      if (msg.addr !== this.self.addr && msg.incarnation >= this.self.incarnation) {
        this.counters.nameConflicts++;
        this.emit('name-conflict', { name: this.name, address: msg.addr, local: true });
      }
      this.refute(msg.incarnation);
      return;
    }
    // most alive messages repeat what we know: drop them on the table's dense copy
    const slot = this.table.slotOf(msg.node);
    if (slot >= 0 && msg.incarnation <= this.table.incarnationAt(slot)) return;
    const now = this.clock.now();
    const known = this.table.get(msg.node);
    if (!known) {
      if (this.table.size >= this.opts.maxMembers) {
        this.counters.rejectedMembers++;
        return;
      }
      const member: Member = { name: msg.node, addr: msg.addr, incarnation: msg.incarnation, state: 'alive', meta: msg.meta, changedAt: now, rttMs: undefined };
      this.table.add(member);
      this.evidence?.transition(member.name, 'alive', member.incarnation, member.name, now, undefined);
      this.trackBroker(member);
      this.queue.queueMessage(msg.node, msg);
      this.emit('member-join', this.info(member));
      return;
    }
    if (msg.incarnation <= known.incarnation) return;
    if ((known.state === 'alive' || known.state === 'suspect') && msg.addr !== known.addr) {
      // two live claimants of one name: keep the one we know, report the other
      this.counters.nameConflicts++;
      this.emit('name-conflict', { name: known.name, address: msg.addr, local: false });
      return;
    }
    const m = this.table.change(msg.node)!;
    const prev = m.state;
    const metaChanged = !sameBytes(m.meta, msg.meta);
    this.table.setIncarnation(m, msg.incarnation);
    m.addr = msg.addr;
    m.meta = msg.meta;
    if (prev === 'suspect') this.clearSuspicion(m.name);
    this.table.setState(m, 'alive', now);
    if (prev !== 'alive') this.evidence?.transition(m.name, 'alive', m.incarnation, m.name, now, prev);
    this.trackBroker(m);
    this.queue.queueMessage(msg.node, msg);
    if (prev === 'suspect') this.emit('member-alive', this.info(m));
    else if (prev === 'dead' || prev === 'left') this.emit('member-join', this.info(m));
    else if (metaChanged) this.emit('member-update', this.info(m));
  }

  private onSuspect(msg: SuspectMessage): void {
    if (msg.node === this.name && msg.incarnation < this.self.incarnation) return this.reannounce();
    // stale or about a member gone: decided on the table's dense copy, as most suspicions are
    const slot = this.table.slotOf(msg.node);
    if (slot < 0 || msg.incarnation < this.table.incarnationAt(slot) || this.table.goneAt(slot)) return;
    if (slot === this.table.localSlot) {
      if (!this.leaving) this.refute(msg.incarnation);
      return;
    }
    if (this.table.suspectAt(slot) && msg.incarnation === this.table.incarnationAt(slot)) {
      // a confirmation (or a repeat) of the suspicion we hold: the suspicion alone decides,
      // and once it is complete (marked) nothing that arrives can change it
      if (this.table.markedAt(slot)) return;
      const s = this.suspicions.get(msg.node);
      if (s && s.confirm(msg.from)) {
        this.counters.confirmations++;
        this.evidence?.confirmed(msg.node, msg.from, this.clock.now());
        this.deadlineNearer(s, msg.node, msg.incarnation);
        this.queue.queueMessage(msg.node, msg);
      }
      if (s?.complete) this.table.mark(slot);
      return;
    }
    // from here on it changes
    const m = this.table.change(msg.node)!;
    if (m.state === 'suspect') {
      // A suspicion of a newer incarnation (SWIM: it overrides ours): the member refuted
      // the suspicion we hold, we missed the refutation, and it is suspected afresh. Ours,
      // with its confirmations and its nearer deadline, is void; start over at the new one.
      this.clearSuspicion(m.name);
    }
    const now = this.clock.now();
    this.table.setIncarnation(m, msg.incarnation);
    const prev = m.state;
    this.table.setState(m, 'suspect', now);
    this.evidence?.transition(m.name, 'suspect', msg.incarnation, msg.from, now, prev);
    this.counters.suspicions++;
    const n = this.table.live;
    const k = n - 2 < this.opts.suspicionMult - 2 ? 0 : this.opts.suspicionMult - 2;
    const min = suspicionMinTimeout(this.opts.suspicionMult, n, this.opts.probeIntervalMs);
    const state = new SuspicionState(now, msg.from, k, min, min * this.opts.suspicionMaxTimeoutMult);
    this.armSuspicion(state, m.name, m.incarnation, min);
    this.suspicions.set(m.name, state);
    this.queue.queueMessage(m.name, msg);
    this.emit('member-suspect', this.info(m));
  }

  /**
   * Sets the timer of the suspicion `s` of `name`@`incarnation`, whose deadline is `ms`
   * away at the nearest: its verification one probe period before the deadline, so that
   * a healthy node's verdict lands on the deadline itself; or, with `verifyBeforeDeath`
   * off, the declaration on the deadline (memberlist).
   *
   * A suspicion starts with its longest timeout and confirmations shorten it towards the
   * minimum (Lifeguard). The timer is set for the minimum and, if it fires before the
   * deadline, set again for what is left (suspicionDue), so confirmations that arrive
   * before the minimum is up (nearly all of them) never move it: in a split of 1,000
   * nodes that saves a timer per confirmation, 1.5 million in the first two and a half
   * virtual minutes.
   */
  private armSuspicion(s: SuspicionState, name: string, incarnation: number, ms: number): void {
    const wait = this.opts.verifyBeforeDeath ? this.untilVerification(ms) : Math.max(0, ms);
    s.dueAt = this.clock.now() + wait;
    s.timer = this.clock.setTimer(wait, () => this.suspicionDue(name, incarnation));
  }

  /** A confirmation brought the deadline of `s` nearer: moves its timer if that is now due too late. */
  private deadlineNearer(s: SuspicionState, name: string, incarnation: number): void {
    // a verification under way decides at its own end
    if (s.verifying) return;
    const left = s.deadline() - this.clock.now();
    const wait = this.opts.verifyBeforeDeath ? this.untilVerification(left) : Math.max(0, left);
    if (s.dueAt !== undefined && s.dueAt <= this.clock.now() + wait) return;
    s.timer.cancel();
    this.armSuspicion(s, name, incarnation, left);
  }

  /** The deadline timer fired: verify (or expire) the suspicion if its deadline is near enough, else wait for it. */
  private suspicionDue(name: string, incarnation: number): void {
    const s = this.suspicions.get(name);
    if (!s || this.table.get(name)?.incarnation !== incarnation) return;
    s.dueAt = undefined;
    const left = s.deadline() - this.clock.now();
    if (this.opts.verifyBeforeDeath ? this.untilVerification(left) > 0 : left > 0) return this.armSuspicion(s, name, incarnation, left);
    if (this.opts.verifyBeforeDeath) this.verifySuspicion(name, incarnation);
    else this.suspicionExpired(name, incarnation);
  }

  /** Delay until a suspicion due in `ms` must be verified. */
  private untilVerification(ms: number): number {
    return Math.max(0, ms - this.opts.probeIntervalMs);
  }

  /**
   * An unverified suspicion ran out (`verifyBeforeDeath` off): the suspect is dead, once
   * what already arrived has been read. An event loop runs due timers before it polls the
   * socket, so a refutation may be waiting there; after a pause (the timer is late by more
   * than a probe timeout) many may be, and declaring now would be our own slowness talking
   * (Lifeguard's premise), so gossip gets a period; otherwise one loop turn.
   */
  private suspicionExpired(name: string, incarnation: number, graced = false): void {
    const s = this.suspicions.get(name);
    const m = this.table.get(name);
    if (!s || !m || m.state !== 'suspect' || m.incarnation !== incarnation) return;
    if (!graced) {
      const late = this.clock.now() - s.deadline() > this.opts.probeTimeoutMs;
      s.dueAt = undefined;
      s.timer = this.clock.setTimer(late ? this.opts.probeIntervalMs : 0, () => this.suspicionExpired(name, incarnation, true));
      return;
    }
    this.suspicions.delete(name);
    this.onDead({ type: 'dead', node: name, incarnation, from: this.name });
  }

  /**
   * A suspicion is about to expire: probe the suspect ourselves (the suspicion rides
   * along, buddy-style) and declare it dead only if that probe fails. The timeout only
   * says nobody told *us* of a refutation; an epidemic with a transmit limit misses a
   * member now and then, and a node waking from a pause has read nothing yet. A probe
   * answered now is better evidence than any suspicion heard before: postpone by the
   * minimum timeout (the suspect, told of our stale suspicion, re-announces its current
   * incarnation on the ack, which normally ends the suspicion at once). A probe our own
   * pause made unfair is run again.
   */
  private verifySuspicion(name: string, incarnation: number): void {
    const s = this.suspicions.get(name);
    const m = this.table.get(name);
    if (!s || s.verifying || !m || m.state !== 'suspect' || m.incarnation !== incarnation) return;
    s.verifying = true;
    this.probe(m, this.awareness.scale(this.opts.probeIntervalMs), (result) => {
      if (this.suspicions.get(name) !== s) return; // refuted, declared or replaced meanwhile
      s.verifying = false;
      if (m.state !== 'suspect' || m.incarnation !== incarnation) return;
      if (result === 'failed' && (s.heardAt ?? -Infinity) > s.start) {
        // The suspect reached us after the suspicion began: whatever it was, that silence
        // ended (we missed its refutation), and this one has just begun. Judge it afresh,
        // as a suspicion of our own, instead of on the old one's deadline.
        s.heardAt = undefined;
        s.restart(this.clock.now(), this.name);
        this.evidence?.restarted(name, this.name, this.clock.now());
        this.table.unmark(this.table.slotOf(name));
        this.armSuspicion(s, name, incarnation, s.minMs);
        return;
      }
      if (result === 'failed') {
        this.suspicions.delete(name);
        this.onDead({ type: 'dead', node: name, incarnation, from: this.name });
        return;
      }
      const delay = result === 'acked' ? this.untilVerification(s.minMs) : 0;
      s.dueAt = undefined;
      s.timer = this.clock.setTimer(delay, () => this.verifySuspicion(name, incarnation));
    });
  }

  /** Notes that `name` itself just reached us, which matters while we suspect it. */
  private heardFrom(name: string): void {
    // only suspects have a suspicion: most senders are not, as the dense copy tells
    const slot = this.table.slotOf(name);
    if (slot < 0) return;
    this.evidence?.heard(name, this.clock.now());
    if (!this.table.suspectAt(slot)) return;
    const s = this.suspicions.get(name);
    if (s) s.heardAt = this.clock.now();
  }

  /** Ends the suspicion of `name`, if any (only suspects have one: every state change away from suspect comes through here). */
  private clearSuspicion(name: string): void {
    const s = this.suspicions.get(name);
    if (s) {
      s.timer.cancel();
      this.suspicions.delete(name);
    }
  }

  private onDead(msg: DeadMessage): void {
    if (msg.node === this.name && msg.incarnation < this.self.incarnation) return this.reannounce();
    const slot = this.table.slotOf(msg.node);
    if (slot < 0 || msg.incarnation < this.table.incarnationAt(slot) || this.table.goneAt(slot)) return;
    const known = this.table.get(msg.node)!;
    if (known === this.self) {
      // a death certificate (not our own leave): peers dropped what we announced
      if (msg.from !== this.name) this.defunct = true;
      if (!this.leaving) this.refute(msg.incarnation);
      return;
    }
    // another node's verdict about a member we have no doubt of: check it first (decision 0050)
    if (msg.from !== this.name && msg.from !== msg.node && msg.incarnation === known.incarnation && this.undoubted(known)) return this.verifyCertificate(msg);
    this.acceptDead(msg);
  }

  /** Applies a death (or departure) that passed {@link onDead}'s checks. */
  private acceptDead(msg: DeadMessage): void {
    const m = this.table.change(msg.node)!;
    const state: MemberState = msg.from === msg.node ? 'left' : 'dead';
    this.evidence?.transition(m.name, state, msg.incarnation, msg.from, this.clock.now(), m.state);
    // only a suspect has a suspicion to end
    if (m.state === 'suspect') this.clearSuspicion(m.name);
    this.table.setIncarnation(m, msg.incarnation);
    this.table.setState(m, state, this.clock.now());
    this.trackBroker(m);
    this.queue.queueMessage(m.name, msg);
    if (state === 'dead') {
      this.counters.deaths++;
      this.emit('member-dead', this.info(m));
    } else {
      this.emit('member-leave', this.info(m));
    }
  }

  /**
   * True when our own view gives no reason to believe a death certificate about `m`: we
   * hold it alive (nobody on our side of the network failed to reach it, or their
   * suspicion would have reached us before any certificate could be issued), or our
   * suspicion of it is too young to be the one the certificate ends (it began less than
   * half a minimum suspicion timeout ago: the certificate's suspicion ran its course
   * somewhere we did not hear from), or the suspect reached us itself since we began
   * suspecting it. A truly crashed member is, nearly everywhere, a suspect of ours for a
   * whole suspicion timeout before its certificate arrives.
   */
  private undoubted(m: Readonly<Member>): boolean {
    if (m.state === 'alive') return true;
    if (m.state !== 'suspect') return false;
    const s = this.suspicions.get(m.name);
    if (!s) return false;
    return (s.heardAt ?? -Infinity) > s.start || this.clock.now() - s.start < s.minMs / 2;
  }

  /**
   * Verifies a death certificate before accepting it (decision 0050): the certificate is
   * held back (not applied, not relayed) and sent to the member, so that it refutes, while
   * we probe it as a suspicion's verification does (decision 0040 §8: ping, ping-reqs,
   * stream ping, judged at the period's end). An answer disproves the certificate: it is
   * dropped, and the member's refutation, with a higher incarnation, ends it everywhere.
   * No answer: the certificate stands and is applied as received. A newer certificate of
   * the same member replaces the one held.
   */
  private verifyCertificate(msg: DeadMessage): void {
    const held = this.certificates.get(msg.node);
    if (held && held.incarnation >= msg.incarnation) return;
    this.certificates.set(msg.node, msg);
    this.counters.certificatesVerified++;
    const m = this.table.get(msg.node)!;
    this.out.send(m.addr, msg, false);
    this.probe(m, this.awareness.scale(this.opts.probeIntervalMs), (result) => {
      if (this.certificates.get(msg.node) !== msg) return;
      this.certificates.delete(msg.node);
      const now = this.table.get(msg.node);
      // refuted, declared or replaced meanwhile: the certificate is moot
      if (!now || now.incarnation !== msg.incarnation || (now.state !== 'alive' && now.state !== 'suspect')) return;
      if (result === 'acked') {
        this.counters.certificatesRefused++;
        return;
      }
      // a probe our own pause made unfair says nothing: run it again
      if (result === 'inconclusive') return this.verifyCertificate(msg);
      this.acceptDead(msg);
    });
  }

  /** Claims life above `claimed`, Lifeguard-penalising ourselves for having needed to. */
  private refute(claimed: number): void {
    this.table.setIncarnation(this.self, Math.max(this.self.incarnation, claimed) + 1);
    this.counters.refutations++;
    this.adjustHealth(1, 'refuted', this.name, claimed);
    this.broadcastSelf();
  }

  /**
   * Someone still accuses an incarnation we already refuted: it missed every copy of our
   * refutation (an epidemic with a transmit limit reaches each member with high
   * probability, not surely), and nothing else would tell it before its suspicion timer
   * runs out. Queue our current alive again, without raising the incarnation or
   * penalising our health. When the claim came with a ping (the buddy system), the ack
   * carries it straight back to the accuser. Once per exhausted broadcast, so a burst of
   * stale claims costs one re-announcement.
   */
  private reannounce(): void {
    if (this.leaving || this.queue.has(this.name)) return;
    this.broadcastSelf();
  }

  private broadcastSelf(): void {
    if (this.leaving) return;
    const msg: AliveMessage = { type: 'alive', node: this.name, incarnation: this.self.incarnation, addr: this.self.addr, meta: this.self.meta };
    this.queue.queueMessage(this.name, msg, encodeMessage(msg));
  }

  /** Lifeguard: moves our health score by `delta`; `cause`, `about` and `x`, `y` say why (see EvidenceLog.health). */
  private adjustHealth(delta: number, cause: HealthRecord['cause'], about: string, x = 0, y = 0): void {
    if (!this.awareness.apply(delta)) return;
    this.evidence?.health(this.clock.now(), delta, this.awareness.score, cause, about, x, y);
    this.emit('health-changed', { score: this.awareness.score });
  }

  // ---------------------------------------------------------------- gossip and push-pull

  private gossipTick(): void {
    if (this.queue.size === 0) return;
    const now = this.clock.now();
    // dead (and left) members still hear gossip for a while, so they learn and can refute
    const targets = this.table.sample(this.opts.gossipNodes, ANY, (m) => now - m.changedAt < this.opts.gossipToTheDeadMs, GONE);
    if (targets.length > 0) this.counters.gossipRounds++;
    for (const m of targets) this.out.gossip(m.addr);
  }

  /** memberlist's scaling: the push-pull interval grows with log2(n / 32) past 32 members. */
  private pushPullInterval(): number {
    const n = this.table.live;
    if (n <= 32) return this.opts.pushPullIntervalMs;
    return this.opts.pushPullIntervalMs * (Math.ceil(Math.log2(n) - Math.log2(32)) + 1);
  }

  private pushPullTick(): void {
    if (this.leaving) return;
    const [peer] = this.table.sample(1, ALIVE);
    if (peer) this.pushPullWith(peer.addr, false);
  }

  /** Partition healing: try a dead member or an absent seed now and then. */
  private reconnectTick(): void {
    this.reap();
    if (this.leaving) return;
    // the same candidates in the same order as a full scan, without one when nothing
    // can be a candidate: no dead member and no seed (a converged cluster's usual state)
    const candidates: Address[] = [];
    if (this.seeds.length > 0) {
      const live = new Set<Address>();
      this.table.forEach((m) => {
        if (m.state === 'alive' || m.state === 'suspect') live.add(m.addr);
        else if (m.state === 'dead') candidates.push(m.addr);
      });
      for (const s of this.seeds) if (!live.has(s)) candidates.push(s);
    } else if (this.table.count('dead') > 0) {
      this.table.forEachGone((m) => {
        if (m.state === 'dead') candidates.push(m.addr);
      });
    }
    const target = this.random.pick(candidates);
    if (target !== undefined) this.pushPullWith(target, false);
  }

  private reap(): void {
    // only dead and left members are ever reaped: most ticks have none to look at
    if (this.table.count('dead') + this.table.count('left') - (this.self.state === 'left' ? 1 : 0) === 0) return;
    const now = this.clock.now();
    // removing the member being visited is safe, and no copy of the table is made
    this.table.forEachGone((m) => {
      if (m === this.self) return;
      const ttl = m.state === 'dead' ? this.opts.deadReapMs : this.opts.leftReapMs;
      if (now - m.changedAt >= ttl) {
        this.table.remove(m.name);
        this.evidence?.forget(m.name);
        this.brokerSet.delete(m.name);
        this.emit('member-reaped', this.info(m));
      }
    });
  }

  private pushPullWith(addr: Address, join: boolean, done?: (ok: boolean, err?: Error) => void): void {
    this.counters.pushPulls++;
    this.out.pushPull(addr, this.localState(join), (reply, err) => {
      if (!reply) {
        this.counters.pushPullFailures++;
        done?.(false, err);
        return;
      }
      this.merge(reply);
      this.notifyDefunct();
      done?.(true);
    });
  }

  /** Our full state, this node first (receivers take the first entry as the sender). */
  private localState(join: boolean): PushPullMessage {
    return { type: 'push-pull', join, members: this.table.snapshots() };
  }

  private merge(msg: PushPullMessage): void {
    const sender = msg.members[0]?.node ?? '';
    for (const s of msg.members) {
      // Most entries of a push-pull repeat what we know: skip them before building a
      // message object, exactly where onAlive / onSuspect / onDead would return at once.
      const known = this.table.get(s.node);
      if (known && known !== this.self && (s.state === 'alive' ? s.incarnation <= known.incarnation && s.meta.length <= this.opts.maxMetaSize : s.incarnation < known.incarnation || known.state === 'dead' || known.state === 'left')) continue;
      switch (s.state) {
        case 'alive':
          this.onAlive({ type: 'alive', node: s.node, incarnation: s.incarnation, addr: s.addr, meta: s.meta });
          break;
        case 'left':
          this.onDead({ type: 'dead', node: s.node, incarnation: s.incarnation, from: s.node });
          break;
        default:
          if (s.node === this.name && s.state === 'dead' && s.incarnation >= this.self.incarnation) this.defunct = true;
          // like memberlist: another node's "dead" is only a suspicion to us, since we
          // may still reach the member; and a dead/suspect claim about us makes us refute
          if (!this.table.get(s.node) && s.node !== this.name) {
            this.onAlive({ type: 'alive', node: s.node, incarnation: s.incarnation, addr: s.addr, meta: s.meta });
          }
          this.onSuspect({ type: 'suspect', node: s.node, incarnation: s.incarnation, from: sender });
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  private nextSeq(): number {
    this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  /**
   * Runs `fn` every `interval()` ms from `firstDelay` until `stop`. One closure and one
   * slot per loop for its whole life (this runs for every gossip round of every node).
   */
  private every(interval: () => number, fn: () => void, firstDelay: number): void {
    const slot: { timer: Timer | undefined } = { timer: undefined };
    const tick = (): void => {
      slot.timer = undefined;
      if (!this.running) return;
      fn();
      if (this.running) slot.timer = this.clock.setTimer(interval(), tick);
    };
    slot.timer = this.clock.setTimer(firstDelay, tick);
    this.loops.push(slot);
  }

  private decodeMetaOf(m: Readonly<Member>): NodeMeta {
    let meta = this.metaCache.get(m.meta);
    if (!meta) {
      try {
        meta = decodeMeta(m.meta);
      } catch {
        meta = emptyMeta();
      }
      this.metaCache.set(m.meta, meta);
    }
    return meta;
  }

  private info(m: Readonly<Member>): MemberInfo {
    return {
      name: m.name,
      address: m.addr,
      state: m.state,
      incarnation: m.incarnation,
      meta: this.decodeMetaOf(m),
      rttMs: m.rttMs,
      sinceMs: this.clock.now() - m.changedAt,
    };
  }

  /** Keeps the broker set current and fires brokers-changed when it changes. */
  private trackBroker(m: Readonly<Member>): void {
    // suspects stay listed: most suspicions are refuted, and clients should not flap
    const isBroker = (m.state === 'alive' || m.state === 'suspect') && this.decodeMetaOf(m).roles.includes('broker');
    const signature = isBroker ? `${m.addr} ${JSON.stringify(this.decodeMetaOf(m).endpoints)}` : undefined;
    const before = this.brokerSet.get(m.name);
    if (signature === before) return;
    if (signature === undefined) this.brokerSet.delete(m.name);
    else this.brokerSet.set(m.name, signature);
    // building the sorted list is O(brokers): skip it when nobody listens (simulations)
    if (this.hasListeners('brokers-changed')) this.emit('brokers-changed', this.brokers());
  }
}
