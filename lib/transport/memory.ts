import { ManualClock } from '../clock.js';
import type { Clock, Timer } from '../clock.js';
import { ClusterError } from '../errors.js';
import { Random } from '../random.js';
import { parseAddress } from './address.js';
import { DeliveryQueue } from './delivery-queue.js';
import { DEFAULT_STREAM_HIGH_WATER_MARK, emptyStats, resolveLimits } from './limits.js';
import type { ResolvedLimits } from './limits.js';
import { MemoryStream, StreamState } from './memory-stream.js';
import type { StreamCarrier } from './memory-stream.js';
import type { Address, PacketHandler, Stream, Transport, TransportLimits, TransportStats } from './transport.js';

/** How one direction of a link (or the whole network, by default) behaves. */
export interface LinkSettings {
  /** One-way delay in ms. @default 1 */
  latencyMs?: number;
  /** Extra delay drawn uniformly from [0, jitterMs) ms per datagram or stream message. @default 0 */
  jitterMs?: number;
  /** Probability that a datagram is lost (streams are reliable and never lose). @default 0 */
  loss?: number;
}

/** Options of {@link MemoryNetwork}. */
export interface MemoryNetworkOptions extends LinkSettings {
  /** The virtual clock everything is scheduled on. @default new ManualClock() */
  clock?: Clock;
  /** Source of loss and jitter draws; the same seed replays the same run. @default new Random(1) */
  random?: Random;
  /** Limits of transports created without their own. @default the TransportLimits defaults */
  limits?: TransportLimits;
  /** Undelivered bytes a stream end may have in flight before `send` refuses. @default 4194304 (4 MiB) */
  streamHighWaterMark?: number;
  /** Datagrams queued per direction for a stalled node; more are dropped. @default 10000 */
  maxBacklog?: number;
}

/** Options of {@link MemoryNetwork.createTransport}. */
export interface MemoryTransportOptions {
  /** This transport's limits. @default the network's limits */
  limits?: TransportLimits;
}

/** Why the memory network dropped a datagram. */
export type DropReason =
  | 'loss'
  | 'partition'
  | 'blocked'
  | 'isolated'
  | 'oversize'
  | 'unknown'
  | 'closed'
  | 'backlog';

/** Counters for the whole memory network. */
export interface MemoryNetworkStats {
  /** Datagrams accepted by the network (including those it then lost). */
  packetsSent: number;
  /** Datagrams handed to a receiver. */
  packetsDelivered: number;
  /** Datagrams dropped, all reasons. */
  packetsDropped: number;
  /** Datagrams dropped, by reason. */
  dropped: Record<DropReason, number>;
  /** Streams established. */
  streamsOpened: number;
  /** Dials refused (nobody listening, transport closed, maxInboundStreams reached). */
  streamsRefused: number;
  /** Streams broken by a partition, a block, an isolation or a crash. */
  streamsBroken: number;
  /** Stream messages carried. */
  streamMessages: number;
}

const PACKET = 0;
const DATA = 1;
const FIN = 2;
const RESET = 3;
const SYN = 4;
const SYN_ACK = 5;
const REFUSE = 6;

/** One scheduled arrival: a datagram, a stream message or a stream control event. */
interface Delivery {
  at: number;
  seq: number;
  kind: number;
  from: MemoryTransport | null;
  to: MemoryTransport | null;
  data: Uint8Array | null;
  /** The receiving stream end (DATA, FIN, RESET, SYN_ACK). */
  stream: MemoryStream | null;
  dial: PendingDial | null;
}

interface PendingDial {
  from: MemoryTransport;
  to: Address;
  settled: boolean;
  /** The SYN was dropped by a partition: the timeout then means unreachable. */
  lost: boolean;
  timer: Timer | null;
  end: MemoryStream | null;
  resolve(stream: Stream): void;
  reject(err: Error): void;
}

const newDelivery = (): Delivery => ({ at: 0, seq: 0, kind: 0, from: null, to: null, data: null, stream: null, dial: null });
const resetDelivery = (d: Delivery): void => {
  d.from = null;
  d.to = null;
  d.data = null;
  d.stream = null;
  d.dial = null;
};

/**
 * A simulated network for tests and the simulator, run entirely in virtual time on a
 * {@link ManualClock} with a seeded {@link Random}: no real timers, no Math.random, so
 * a seed replays a run exactly.
 *
 * - Datagrams take `latencyMs + U[0, jitterMs)` ms (so jitter reorders them, as on a real
 *   network) and are lost with probability `loss`. Settings are global, overridable per
 *   direction of a link with {@link setLink}.
 * - Streams are reliable and ordered, delayed by the link latency; they are not subject
 *   to loss. A partition, block or isolation between the ends breaks them (onClose with
 *   E_UNREACHABLE) at the next clock tick, and dials across it fail with E_UNREACHABLE
 *   when their timeout expires. A dial to an address nobody listens on is refused
 *   after one round trip (E_UNREACHABLE), like a TCP RST.
 * - Connectivity is checked when a datagram is sent: one already in flight still
 *   arrives after a partition starts.
 * - Payloads are never copied: the receiver gets the sender's buffer (see the
 *   ownership rule in transport.ts). All deliveries go through one heap with recycled
 *   entries and a single armed clock timer.
 */
export class MemoryNetwork {
  /** The clock everything runs on. */
  readonly clock: Clock;
  /** The random source for loss and jitter. */
  readonly random: Random;
  /** Network-wide counters. */
  readonly stats: MemoryNetworkStats = {
    packetsSent: 0,
    packetsDelivered: 0,
    packetsDropped: 0,
    dropped: { loss: 0, partition: 0, blocked: 0, isolated: 0, oversize: 0, unknown: 0, closed: 0, backlog: 0 },
    streamsOpened: 0,
    streamsRefused: 0,
    streamsBroken: 0,
    streamMessages: 0,
  };

  private latencyMs: number;
  private jitterMs: number;
  private loss: number;
  private readonly limits: ResolvedLimits;
  private readonly highWaterMark: number;
  /** @internal */
  readonly maxBacklog: number;
  private readonly nodes = new Map<Address, MemoryTransport>();
  // fault state is kept by address so that a transport created (or re-created after a
  // crash) later inherits it
  private readonly groups = new Map<Address, number>();
  private readonly blocks = new Map<Address, Set<Address>>();
  private readonly links = new Map<Address, Map<Address, LinkSettings>>();
  private readonly isolated = new Set<Address>();
  /** Dialing ends of open streams, to find those a new partition breaks. */
  private readonly openStreams = new Set<MemoryStream>();
  private readonly queue = new DeliveryQueue<Delivery>(newDelivery, resetDelivery);
  private timer: Timer | undefined;
  private armedAt = Infinity;
  private draining = false;
  private checkPending = false;
  private readonly carrier: StreamCarrier = { carry: (end, message) => this.carry(end, message) };
  private readonly drainFn = (): void => this.drain();

  /** @param options see {@link MemoryNetworkOptions} */
  constructor(options: MemoryNetworkOptions = {}) {
    this.clock = options.clock ?? new ManualClock();
    this.random = options.random ?? new Random(1);
    this.latencyMs = 1;
    this.jitterMs = 0;
    this.loss = 0;
    this.configure(options);
    this.limits = resolveLimits(options.limits);
    this.highWaterMark = options.streamHighWaterMark ?? DEFAULT_STREAM_HIGH_WATER_MARK;
    this.maxBacklog = options.maxBacklog ?? 10_000;
  }

  /** Creates a transport reachable at `address` (`host:port`). Throws E_ADDRESS if taken or malformed. */
  createTransport(address: Address, options: MemoryTransportOptions = {}): MemoryTransport {
    parseAddress(address);
    if (this.nodes.has(address)) throw new ClusterError('E_ADDRESS', `${address} is already in use on this memory network`);
    const limits = options.limits ? resolveLimits(options.limits) : this.limits;
    const node = new MemoryTransport(this, address, limits);
    node.group = this.groups.get(address) ?? 0;
    node.blocked = this.blocks.get(address) ?? null;
    node.links = this.links.get(address) ?? null;
    node.isolated = this.isolated.has(address);
    this.nodes.set(address, node);
    return node;
  }

  /** The live transport at `address`, if any. */
  transport(address: Address): MemoryTransport | undefined {
    return this.nodes.get(address);
  }

  /** Changes the network-wide link settings (fields left out keep their value). */
  configure(settings: LinkSettings): void {
    checkLink(settings);
    if (settings.latencyMs !== undefined) this.latencyMs = settings.latencyMs;
    if (settings.jitterMs !== undefined) this.jitterMs = settings.jitterMs;
    if (settings.loss !== undefined) this.loss = settings.loss;
  }

  /**
   * Overrides the settings of the link from `from` to `to` (and back when `twoWay`);
   * fields left out fall back to the network-wide ones. Replaces an earlier override.
   */
  setLink(from: Address, to: Address, settings: LinkSettings, twoWay = false): void {
    checkLink(settings);
    this.linkMap(from).set(to, { ...settings });
    if (twoWay) this.linkMap(to).set(from, { ...settings });
  }

  /** Removes the override of the link from `from` to `to` (and back when `twoWay`). */
  clearLink(from: Address, to: Address, twoWay = false): void {
    this.links.get(from)?.delete(to);
    if (twoWay) this.links.get(to)?.delete(from);
  }

  /**
   * Splits the network: nodes in different groups cannot exchange anything, either
   * way. Addresses not listed in any group (including transports created later) form
   * one more group together: they still reach each other, but none of the listed
   * groups. Replaces any earlier partition.
   */
  partition(groups: Address[][]): void {
    const next = new Map<Address, number>();
    groups.forEach((group, i) => {
      for (const address of group) {
        if (next.has(address)) throw new ClusterError('E_INVALID_ARGUMENT', `${address} is listed in two partition groups`);
        next.set(address, i + 1);
      }
    });
    this.groups.clear();
    for (const [address, group] of next) this.groups.set(address, group);
    for (const node of this.nodes.values()) node.group = this.groups.get(node.address) ?? 0;
    this.connectivityChanged();
  }

  /** Drops everything sent from `from` to `to` (the other direction still works). */
  blockOneWay(from: Address, to: Address): void {
    let set = this.blocks.get(from);
    if (!set) {
      set = new Set();
      this.blocks.set(from, set);
      const node = this.nodes.get(from);
      if (node) node.blocked = set;
    }
    set.add(to);
    this.connectivityChanged();
  }

  /** Lifts a {@link blockOneWay}. */
  unblock(from: Address, to: Address): void {
    this.blocks.get(from)?.delete(to);
  }

  /** Cuts `address` off from every other node (it stays up and can talk to itself). */
  isolate(address: Address): void {
    this.isolated.add(address);
    const node = this.nodes.get(address);
    if (node) node.isolated = true;
    this.connectivityChanged();
  }

  /** Lifts an {@link isolate}. */
  reconnect(address: Address): void {
    this.isolated.delete(address);
    const node = this.nodes.get(address);
    if (node) node.isolated = false;
  }

  /** Clears partitions, one-way blocks and isolations; link settings and stalls stay. */
  heal(): void {
    this.groups.clear();
    this.blocks.clear();
    this.isolated.clear();
    for (const node of this.nodes.values()) {
      node.group = 0;
      node.blocked = null;
      node.isolated = false;
    }
  }

  /**
   * Freezes a node for `ms` (a GC pause, a stopped VM): it receives and sends nothing.
   * What arrives for it and what it sends meanwhile is queued (datagrams bounded by
   * maxBacklog per direction, excess dropped as 'backlog'; stream traffic is bounded by
   * the stream high-water mark instead). When the stall ends its sends go out first,
   * in order, then what arrived is delivered, in order. Stalling a stalled node
   * extends the stall if the new end is later.
   */
  stall(address: Address, ms: number): void {
    const node = this.nodes.get(address);
    if (!node) throw new ClusterError('E_INVALID_ARGUMENT', `no transport at ${address}`);
    const until = this.clock.now() + Math.max(0, ms);
    node.stalled = true;
    if (until > node.stallUntil || !node.stallTimer) {
      node.stallUntil = until;
      node.stallTimer?.cancel();
      node.stallTimer = this.clock.setTimer(ms, () => this.unstall(node));
    }
  }

  /** Kills the node at `address` abruptly: same as closing its transport. */
  crash(address: Address): void {
    void this.nodes.get(address)?.close();
  }

  /** Whether a datagram sent now from `from` to `to` could arrive (ignoring loss). */
  canReach(from: Address, to: Address): boolean {
    const a = this.nodes.get(from);
    const b = this.nodes.get(to);
    return a !== undefined && b !== undefined && this.blockReason(a, b) === null;
  }

  /** Number of deliveries in flight (datagrams, stream messages and control events). */
  get inFlight(): number {
    return this.queue.size;
  }

  // ---- internal: called by MemoryTransport -------------------------------------------

  /** @internal */
  sendPacket(from: MemoryTransport, toAddress: Address, data: Uint8Array): void {
    const ns = this.stats;
    const fs = from.stats;
    if (from.closed) {
      this.dropAt(fs, 'closed');
      return;
    }
    if (from.stalled) {
      if (from.outboxPackets >= this.maxBacklog) {
        this.dropAt(fs, 'backlog');
        return;
      }
      from.outboxPackets++;
      from.outbox.push(() => this.sendPacket(from, toAddress, data));
      return;
    }
    if (data.length > from.limits.maxPacketSize) {
      this.dropAt(fs, 'oversize');
      return;
    }
    fs.packetsOut++;
    fs.bytesOut += data.length;
    ns.packetsSent++;
    const to = this.nodes.get(toAddress);
    if (to === undefined) {
      this.dropAt(fs, 'unknown');
      return;
    }
    const reason = this.blockReason(from, to);
    if (reason !== null) {
      this.dropAt(fs, reason);
      return;
    }
    const link = from.links === null ? undefined : from.links.get(toAddress);
    let latency = this.latencyMs;
    let jitter = this.jitterMs;
    let loss = this.loss;
    if (link !== undefined) {
      latency = link.latencyMs ?? latency;
      jitter = link.jitterMs ?? jitter;
      loss = link.loss ?? loss;
    }
    if (loss > 0 && this.random.next() < loss) {
      this.dropAt(fs, 'loss');
      return;
    }
    const d = this.queue.alloc();
    d.at = this.clock.now() + (jitter > 0 ? latency + this.random.next() * jitter : latency);
    d.kind = PACKET;
    d.from = from;
    d.to = to;
    d.data = data;
    this.schedule(d);
  }

  /** @internal */
  dial(from: MemoryTransport, to: Address, timeoutMs: number): Promise<Stream> {
    if (from.closed) return Promise.reject(new ClusterError('E_CLOSED', `cannot dial ${to}: transport is closed`));
    return new Promise<Stream>((resolve, reject) => {
      const dial: PendingDial = { from, to, settled: false, lost: false, timer: null, end: null, resolve, reject };
      dial.timer = this.clock.setTimer(timeoutMs, () => {
        this.settleDial(dial, dial.lost
          ? new ClusterError('E_UNREACHABLE', `cannot reach ${to}: no route (dial timed out after ${timeoutMs} ms)`)
          : new ClusterError('E_TIMEOUT', `dial ${to} timed out after ${timeoutMs} ms`));
      });
      from.dials.add(dial);
      if (from.stalled) from.outbox.push(() => this.sendSyn(dial));
      else this.sendSyn(dial);
    });
  }

  /** @internal */
  closeTransport(node: MemoryTransport): void {
    if (node.closed) return;
    node.closed = true;
    if (this.nodes.get(node.address) === node) this.nodes.delete(node.address);
    node.stallTimer?.cancel();
    node.stallTimer = null;
    node.stalled = false;
    for (const d of node.inbox) {
      // dialers waiting on a crashed node get the RST a real host would send
      if (d.kind === SYN) this.refuse(d.dial!, node);
      this.queue.release(d);
    }
    node.inbox = [];
    node.outbox = [];
    for (const dial of [...node.dials]) {
      this.settleDial(dial, new ClusterError('E_CLOSED', `transport closed while dialing ${dial.to}`));
    }
    const closed = new ClusterError('E_CLOSED', 'transport closed');
    for (const end of [...node.streams]) {
      this.endStream(end, closed);
      const peer = end.peer;
      if (peer.state !== StreamState.Closed) {
        this.stats.streamsBroken++;
        // the peer learns of the crash one link latency later, like a TCP RST
        const d = this.queue.alloc();
        d.at = this.clock.now() + this.linkLatency(node, end.remote);
        d.kind = RESET;
        d.to = peer.owner as MemoryTransport;
        d.stream = peer;
        this.schedule(d);
      }
    }
  }

  // ---- internal: delivery -------------------------------------------------------------

  private schedule(d: Delivery): void {
    this.queue.push(d);
    if (!this.draining && d.at < this.armedAt) this.arm(d.at);
  }

  private arm(at: number): void {
    this.timer?.cancel();
    this.armedAt = at;
    this.timer = this.clock.setTimer(at - this.clock.now(), this.drainFn);
  }

  private drain(): void {
    // compare against the time the timer was armed for, not clock.now(): now + (at - now)
    // can come out one ulp short of `at` and would then re-arm forever
    const limit = Math.max(this.armedAt, this.clock.now());
    this.timer = undefined;
    this.armedAt = Infinity;
    this.draining = true;
    try {
      for (let d = this.queue.popDue(limit); d !== undefined; d = this.queue.popDue(limit)) this.arrive(d);
    } finally {
      this.draining = false;
      const next = this.queue.peekAt();
      if (next !== Infinity) this.arm(next);
    }
  }

  private arrive(d: Delivery): void {
    const to = d.to!;
    if (to.closed) {
      if (d.kind === PACKET) this.dropAt(d.from!.stats, 'closed');
      else if (d.kind === SYN) this.refuse(d.dial!, to);
      this.queue.release(d);
      return;
    }
    if (to.stalled) {
      if (d.kind === PACKET) {
        if (to.inboxPackets >= this.maxBacklog) {
          this.dropAt(to.stats, 'backlog');
          this.queue.release(d);
          return;
        }
        to.inboxPackets++;
      }
      to.inbox.push(d);
      return;
    }
    switch (d.kind) {
      case PACKET:
        this.arrivePacket(to, d.from!, d.data!);
        break;
      case DATA:
        this.arriveData(to, d.stream!, d.data!);
        break;
      case FIN:
        this.arriveFin(d.stream!);
        break;
      case RESET:
        this.endStream(d.stream!, new ClusterError('E_UNREACHABLE', `connection reset by ${d.stream!.remote}`));
        break;
      case SYN:
        this.arriveSyn(to, d.dial!);
        break;
      case SYN_ACK:
        this.arriveSynAck(d.dial!);
        break;
      case REFUSE:
        this.settleDial(d.dial!, new ClusterError('E_UNREACHABLE', `cannot reach ${d.dial!.to}: connection refused`));
        break;
    }
    this.queue.release(d);
  }

  private arrivePacket(to: MemoryTransport, from: MemoryTransport, data: Uint8Array): void {
    const ts = to.stats;
    if (data.length > to.limits.maxPacketSize) {
      this.dropAt(ts, 'oversize');
      return;
    }
    ts.packetsIn++;
    ts.bytesIn += data.length;
    this.stats.packetsDelivered++;
    to.packetHandler?.(data, from.address);
  }

  private dropAt(stats: TransportStats, reason: DropReason): void {
    stats.packetsDropped++;
    this.stats.packetsDropped++;
    this.stats.dropped[reason]++;
  }

  // ---- internal: streams ---------------------------------------------------------------

  private carry(end: MemoryStream, message: Uint8Array | null): void {
    const from = end.owner as MemoryTransport;
    if (from.stalled) from.outbox.push(() => this.transmit(end, message));
    else this.transmit(end, message);
  }

  private transmit(end: MemoryStream, message: Uint8Array | null): void {
    if (end.state === StreamState.Closed) return;
    const from = end.owner as MemoryTransport;
    const peer = end.peer;
    let at = this.clock.now() + this.linkDelay(from, end.remote);
    // a stream never lets a message overtake an earlier one, whatever the jitter drew
    if (at < end.lastAt) at = end.lastAt;
    end.lastAt = at;
    const d = this.queue.alloc();
    d.at = at;
    d.kind = message ? DATA : FIN;
    d.from = from;
    d.to = peer.owner as MemoryTransport;
    d.stream = peer;
    d.data = message;
    if (message) {
      from.stats.bytesOut += message.length;
      this.stats.streamMessages++;
    }
    this.schedule(d);
  }

  private arriveData(to: MemoryTransport, end: MemoryStream, message: Uint8Array): void {
    if (end.state === StreamState.Closed) return;
    if (message.length > to.limits.maxStreamMessage) {
      to.stats.streamErrors++;
      this.breakPair(end, new ClusterError('E_LIMIT', `stream from ${end.remote} sent a ${message.length}-byte message; maxStreamMessage is ${to.limits.maxStreamMessage}`));
      return;
    }
    to.stats.bytesIn += message.length;
    end.deliver(message);
    end.peer.delivered(message.length);
  }

  private arriveFin(end: MemoryStream): void {
    if (end.state === StreamState.Closed) return;
    this.endStream(end);
    this.endStream(end.peer);
  }

  private sendSyn(dial: PendingDial): void {
    if (dial.settled) return;
    const from = dial.from;
    const target = this.nodes.get(dial.to);
    if (target === undefined) {
      // nobody there: refused after a round trip, like an RST from a host without the port
      const d = this.queue.alloc();
      d.at = this.clock.now() + 2 * this.linkLatency(from, dial.to);
      d.kind = REFUSE;
      d.to = from;
      d.dial = dial;
      this.schedule(d);
      return;
    }
    if (this.blockReason(from, target) !== null) {
      dial.lost = true;
      return;
    }
    const d = this.queue.alloc();
    d.at = this.clock.now() + this.linkDelay(from, dial.to);
    d.kind = SYN;
    d.from = from;
    d.to = target;
    d.dial = dial;
    this.schedule(d);
  }

  private refuse(dial: PendingDial, by: MemoryTransport): void {
    if (dial.settled) return;
    this.stats.streamsRefused++;
    const d = this.queue.alloc();
    d.at = this.clock.now() + this.linkLatency(by, dial.from.address);
    d.kind = REFUSE;
    d.to = dial.from;
    d.dial = dial;
    this.schedule(d);
  }

  private arriveSyn(target: MemoryTransport, dial: PendingDial): void {
    if (dial.settled) return;
    const handler = target.streamHandler;
    if (!handler || target.inbound >= target.limits.maxInboundStreams) {
      if (handler) target.stats.streamErrors++;
      this.refuse(dial, target);
      return;
    }
    const from = dial.from;
    const accepted = new MemoryStream(this.carrier, from.address, target, true, target.limits.maxStreamMessage, this.highWaterMark);
    const dialing = new MemoryStream(this.carrier, dial.to, from, false, from.limits.maxStreamMessage, this.highWaterMark);
    accepted.peer = dialing;
    dialing.peer = accepted;
    target.streams.add(accepted);
    target.inbound++;
    from.streams.add(dialing);
    this.openStreams.add(dialing);
    dial.end = dialing;
    const d = this.queue.alloc();
    d.at = this.clock.now() + this.linkDelay(target, from.address);
    d.kind = SYN_ACK;
    d.from = target;
    d.to = from;
    d.stream = dialing;
    d.dial = dial;
    // whatever the acceptor sends from its handler must arrive after the SYN-ACK
    accepted.lastAt = d.at;
    this.schedule(d);
    target.stats.streamsAccepted++;
    handler(accepted);
  }

  private arriveSynAck(dial: PendingDial): void {
    const end = dial.end!;
    if (dial.settled) {
      // the dialer gave up meanwhile: tear the half-made stream down on both sides
      if (end.state !== StreamState.Closed) this.breakPair(end, new ClusterError('E_TIMEOUT', `dial ${dial.to} gave up`));
      return;
    }
    if (end.state === StreamState.Closed) {
      this.settleDial(dial, new ClusterError('E_UNREACHABLE', `cannot reach ${dial.to}: connection lost during the handshake`));
      return;
    }
    dial.from.stats.streamsOpened++;
    this.stats.streamsOpened++;
    this.settleDial(dial, undefined, end);
  }

  private settleDial(dial: PendingDial, err?: Error, stream?: MemoryStream): void {
    if (dial.settled) return;
    dial.settled = true;
    dial.timer?.cancel();
    dial.from.dials.delete(dial);
    if (err) dial.reject(err);
    else dial.resolve(stream!);
  }

  private endStream(end: MemoryStream, err?: Error): void {
    if (end.state === StreamState.Closed) return;
    const owner = end.owner as MemoryTransport;
    owner.streams.delete(end);
    if (end.inbound) owner.inbound--;
    else this.openStreams.delete(end);
    end.finish(err);
  }

  private breakPair(end: MemoryStream, err: Error): void {
    this.stats.streamsBroken++;
    this.endStream(end, err);
    this.endStream(end.peer, err);
  }

  private connectivityChanged(): void {
    if (this.checkPending) return;
    this.checkPending = true;
    this.clock.setTimer(0, () => {
      this.checkPending = false;
      for (const end of [...this.openStreams]) {
        const a = end.owner as MemoryTransport;
        const b = end.peer.owner as MemoryTransport;
        if (this.blockReason(a, b) !== null || this.blockReason(b, a) !== null) {
          this.breakPair(end, new ClusterError('E_UNREACHABLE', `connection between ${a.address} and ${b.address} lost: network partition`));
        }
      }
    });
  }

  private unstall(node: MemoryTransport): void {
    node.stalled = false;
    node.stallTimer = null;
    const outbox = node.outbox;
    node.outbox = [];
    node.outboxPackets = 0;
    for (const send of outbox) send();
    const inbox = node.inbox;
    node.inbox = [];
    node.inboxPackets = 0;
    // arrive() re-queues in order if a handler stalls the node again
    for (const d of inbox) this.arrive(d);
  }

  // ---- internal: links -----------------------------------------------------------------

  private blockReason(from: MemoryTransport, to: MemoryTransport): DropReason | null {
    if (from === to) return null;
    if (from.isolated || to.isolated) return 'isolated';
    if (from.group !== to.group) return 'partition';
    if (from.blocked !== null && from.blocked.has(to.address)) return 'blocked';
    return null;
  }

  private linkLatency(from: MemoryTransport, to: Address): number {
    return from.links?.get(to)?.latencyMs ?? this.latencyMs;
  }

  private linkDelay(from: MemoryTransport, to: Address): number {
    const link = from.links === null ? undefined : from.links.get(to);
    const latency = link?.latencyMs ?? this.latencyMs;
    const jitter = link?.jitterMs ?? this.jitterMs;
    return jitter > 0 ? latency + this.random.next() * jitter : latency;
  }

  private linkMap(from: Address): Map<Address, LinkSettings> {
    let map = this.links.get(from);
    if (!map) {
      map = new Map();
      this.links.set(from, map);
      const node = this.nodes.get(from);
      if (node) node.links = map;
    }
    return map;
  }
}

/** A {@link Transport} on a {@link MemoryNetwork}; made by {@link MemoryNetwork.createTransport}. */
export class MemoryTransport implements Transport {
  readonly advertiseAddress: Address;
  readonly bindAddress: Address;
  readonly stats: TransportStats = emptyStats();
  /** @internal */ closed = false;
  /** @internal */ group = 0;
  /** @internal */ isolated = false;
  /** @internal */ blocked: Set<Address> | null = null;
  /** @internal */ links: Map<Address, LinkSettings> | null = null;
  /** @internal */ stalled = false;
  /** @internal */ stallUntil = 0;
  /** @internal */ stallTimer: Timer | null = null;
  /** @internal arrivals held during a stall */ inbox: Delivery[] = [];
  /** @internal */ inboxPackets = 0;
  /** @internal sends held during a stall */ outbox: (() => void)[] = [];
  /** @internal */ outboxPackets = 0;
  /** @internal */ readonly streams = new Set<MemoryStream>();
  /** @internal */ inbound = 0;
  /** @internal */ readonly dials = new Set<PendingDial>();
  /** @internal */ packetHandler: PacketHandler | undefined;
  /** @internal */ streamHandler: ((stream: Stream) => void) | undefined;

  /** @internal use {@link MemoryNetwork.createTransport} */
  constructor(
    private readonly network: MemoryNetwork,
    /** The address this transport lives at (bind and advertise alike). */
    readonly address: Address,
    /** @internal */ readonly limits: ResolvedLimits,
  ) {
    this.advertiseAddress = address;
    this.bindAddress = address;
  }

  sendPacket(to: Address, data: Uint8Array): void {
    this.network.sendPacket(this, to, data);
  }

  onPacket(handler: PacketHandler): void {
    this.packetHandler = handler;
  }

  dial(to: Address, timeoutMs: number): Promise<Stream> {
    return this.network.dial(this, to, timeoutMs);
  }

  onStream(handler: (stream: Stream) => void): void {
    this.streamHandler = handler;
  }

  close(): Promise<void> {
    this.network.closeTransport(this);
    return Promise.resolve();
  }
}

function checkLink(settings: LinkSettings): void {
  const { latencyMs, jitterMs, loss } = settings;
  if (latencyMs !== undefined && !(latencyMs >= 0 && Number.isFinite(latencyMs))) {
    throw new ClusterError('E_CONFIG', `latencyMs must be a finite number >= 0, got ${latencyMs}`);
  }
  if (jitterMs !== undefined && !(jitterMs >= 0 && Number.isFinite(jitterMs))) {
    throw new ClusterError('E_CONFIG', `jitterMs must be a finite number >= 0, got ${jitterMs}`);
  }
  if (loss !== undefined && !(loss >= 0 && loss <= 1)) {
    throw new ClusterError('E_CONFIG', `loss must be a probability in [0, 1], got ${loss}`);
  }
}
