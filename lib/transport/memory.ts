import { ManualClock } from '../clock.js';
import type { Clock, Timer } from '../clock.js';
import { ClusterError } from '../errors.js';
import { Random } from '../random.js';
import { parseAddress } from './address.js';
import { DeliveryQueue } from './delivery-queue.js';
import { DEFAULT_STREAM_HIGH_WATER_MARK, resolveLimits } from './limits.js';
import type { ResolvedLimits } from './limits.js';
import type { Delivery } from './memory-delivery.js';
import { DATA, FIN, PACKET, REFUSE, RESET, SYN, SYN_ACK, newDelivery, resetDelivery } from './memory-delivery.js';
import { checkLink } from './memory-options.js';
import type { DropReason, LinkSettings, MemoryNetworkOptions, MemoryNetworkStats, MemoryTransportOptions } from './memory-options.js';
import { MemoryStreams } from './memory-streams.js';
import { MemoryTransport } from './memory-transport.js';
import type { Address, Stream, TransportStats } from './transport.js';
// the facade: importers keep importing the memory network's types from here
export type { DropReason, LinkSettings, MemoryNetworkOptions, MemoryNetworkStats, MemoryTransportOptions } from './memory-options.js';
export { MemoryTransport } from './memory-transport.js';

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
  /** @internal the one heap every delivery goes through */
  readonly queue = new DeliveryQueue<Delivery>(newDelivery, resetDelivery);
  private readonly streams: MemoryStreams;
  private timer: Timer | undefined;
  private armedAt = Infinity;
  private draining = false;
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
    this.streams = new MemoryStreams(this, options.streamHighWaterMark ?? DEFAULT_STREAM_HIGH_WATER_MARK);
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
    this.streams.connectivityChanged();
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
    this.streams.connectivityChanged();
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
    this.streams.connectivityChanged();
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
    return this.streams.dial(from, to, timeoutMs);
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
      if (d.kind === SYN) this.streams.refuse(d.dial!, node);
      this.queue.release(d);
    }
    node.inbox = [];
    node.outbox = [];
    this.streams.closeAll(node);
  }

  // ---- internal: delivery -------------------------------------------------------------

  /** @internal */
  schedule(d: Delivery): void {
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
      else if (d.kind === SYN) this.streams.refuse(d.dial!, to);
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
        this.streams.arriveData(to, d.stream!, d.data!);
        break;
      case FIN:
        this.streams.arriveFin(d.stream!);
        break;
      case RESET:
        this.streams.endStream(d.stream!, new ClusterError('E_UNREACHABLE', `connection reset by ${d.stream!.remote}`));
        break;
      case SYN:
        this.streams.arriveSyn(to, d.dial!);
        break;
      case SYN_ACK:
        this.streams.arriveSynAck(d.dial!);
        break;
      case REFUSE:
        this.streams.settleDial(d.dial!, new ClusterError('E_UNREACHABLE', `cannot reach ${d.dial!.to}: connection refused`));
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

  /** @internal why nothing passes from `from` to `to` now, or null */
  blockReason(from: MemoryTransport, to: MemoryTransport): DropReason | null {
    if (from === to) return null;
    if (from.isolated || to.isolated) return 'isolated';
    if (from.group !== to.group) return 'partition';
    if (from.blocked !== null && from.blocked.has(to.address)) return 'blocked';
    return null;
  }

  /** @internal the one-way latency from `from` to `to` (no jitter) */
  linkLatency(from: MemoryTransport, to: Address): number {
    return from.links?.get(to)?.latencyMs ?? this.latencyMs;
  }

  /** @internal the one-way delay of one message from `from` to `to` (jitter drawn) */
  linkDelay(from: MemoryTransport, to: Address): number {
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
