/**
 * Replication on the simulated network: the production {@link Replicator} (and the
 * {@link Channels} API over it) on every node of a scenario that has a workload, driven
 * by the node's virtual clock (skewed when the scenario skews it) and talking through a
 * {@link ReplicatorHost} built on {@link SimNetwork}: datagram messages batched per peer
 * for the 100 ms flush window (loss, latency, jitter, partitions and stalls as for
 * membership frames), digests on membership acks, and simulated TCP connections
 * ({@link SimConn}) for Merkle sessions, bulk catch-up, delta links and one-shot
 * messages too big for a datagram. Membership-only scenarios never build any of this.
 */
import { decode as msgpackDecode } from '@msgpack/msgpack';
import { Batcher, FrameDecoder, FrameEncoder, Random, decodeMessage, hashString } from '../lib/internal.js';
import type { AnyMessage, Channels, Clock, DataWire, HistoryEntry, NodeRuntime, ReplicationOptions, Replicator, Stream, StreamCodec } from '../lib/internal.js';
import type { SimNetwork, SimNode, SimReplicationPlan } from './network.js';
import type { StreamHop } from './sim-node.js';
import { SimConn } from './sim-stream.js';
import type { ConnHost, SimStreamEnd } from './sim-stream.js';

/** The replication runtime of one simulated process. */
export interface RepNode {
  readonly node: SimNode;
  /** The process (SimNode.gen) this replicator belongs to. */
  readonly gen: number;
  /** The process's runtime (the one ClusterNode runs). */
  rt: NodeRuntime;
  rep: Replicator;
  channels: Channels;
  readonly clock: Clock;
  /** Encoded replication messages per peer address, waiting for the flush. */
  readonly pending: Map<string, Uint8Array[]>;
  readonly conns: Set<SimConn>;
}

/** Replication traffic, by what it is for. Bytes are encoded messages (datagrams) or frames (streams). */
export interface ReplicationTraffic {
  /** Delta batches pushed in datagrams. */
  deltaDatagramBytes: number;
  /** Digest catch-up: vector-request, delta-reply, origin-removed datagrams. */
  catchUpDatagramBytes: number;
  /** The 8-byte vector digests carried on acks (with their msgpack header). */
  digestBytes: number;
  digests: number;
  /** Stream bytes (both directions) by what the connection carried: merkle, bulk, deltas, catch-up. */
  streamBytes: Record<string, number>;
  streams: Record<string, number>;
  datagramsLost: number;
}

const COUNTER_KEYS = ['merkleSessions', 'merkleCompleted', 'bulkSessions', 'bulkServed', 'deltaCatchUps', 'deltasOut', 'deltasIn', 'syncOut', 'syncIn', 'invalid', 'linkDrops', 'relayed'] as const;
/** Replicator counters summed over every process of the run. */
export type ReplicatorCounters = Record<(typeof COUNTER_KEYS)[number], number>;

const STREAM_KIND: Record<string, string> = { merkle: 'merkle', 'bulk-request': 'bulk', deltas: 'deltas' };

/** Replication for every node of one simulated run. */
export class SimReplication implements ConnHost {
  readonly reps: (RepNode | undefined)[] = [];
  readonly traffic: ReplicationTraffic = { deltaDatagramBytes: 0, catchUpDatagramBytes: 0, digestBytes: 0, digests: 0, streamBytes: {}, streams: {}, datagramsLost: 0 };
  /** Persisted replica snapshot per node, taken when its process ended (the daemon's state file). */
  private readonly persisted = new Map<number, Uint8Array>();
  private readonly dead: ReplicatorCounters = Object.fromEntries(COUNTER_KEYS.map((k) => [k, 0])) as ReplicatorCounters;
  // open connections; a finished one folds its bytes into closedBytes/closedCount (keeping it
  // would keep the replicators of ended processes, and their replicas, alive)
  private readonly conns = new Set<SimConn>();
  private readonly closedBytes: Record<string, number> = {};
  private readonly closedCount: Record<string, number> = {};
  private readonly random: Random;
  private readonly decoded = new WeakMap<Uint8Array, AnyMessage>();
  private readonly byAddr = new Map<string, SimNode>();
  private readonly streamEncoder = new FrameEncoder({});
  private readonly decoder = new FrameDecoder({ maxFrameBytes: 16 * 1024 * 1024, maxBodyBytes: 16 * 1024 * 1024 });
  /** The stream codecs of every simulated node, as ClusterNode builds them (unsealed: the simulator has no keyring). */
  private readonly codec: StreamCodec = {
    stream: this.streamEncoder,
    fast: new FrameEncoder({ compressLevel: 1 }),
    raw: new FrameEncoder({ compressThreshold: Number.MAX_SAFE_INTEGER }),
    app: this.streamEncoder,
    decoder: this.decoder,
  };
  /** Digests on acks and replication payloads refused, by processes that ended. */
  private deadDigests = { count: 0, bytes: 0 };
  private readonly maxDatagram: number;
  /** Called with every history entry a replica stores (its 'message' events). */
  onMessage: ((r: RepNode, entry: HistoryEntry) => void) | undefined;
  /** Called when a process's replicator starts, empty or restored from its persisted snapshot. */
  onAttach: ((r: RepNode, restored: boolean) => void) | undefined;

  /**
   * @param net the network (its membershipHooks are set here: digests ride on acks).
   * @param seed the run's seed (replication draws its own stream from it, so that the
   *   network's and the runner's draws are the same with or without it).
   * @param options replication options of every node.
   * @param flushMs the runtime's batch window.
   */
  constructor(
    readonly net: SimNetwork,
    seed: number,
    private readonly options: ReplicationOptions,
    private readonly flushMs = 100,
  ) {
    this.random = new Random((seed ^ hashString('replication')) >>> 0);
    this.maxDatagram = new Batcher({ encoder: this.streamEncoder }).maxMessageBytes();
    net.replication = (node, restored) => this.plan(node, restored);
  }

  /** The live replicator of `node`'s current process, if any. */
  current(node: SimNode): RepNode | undefined {
    const r = this.reps[node.index];
    return r && r.gen === node.gen && node.up ? r : undefined;
  }

  now(): number {
    return this.net.clock.now();
  }

  latency(from: SimNode, to: SimNode): number | undefined {
    return this.net.route(from, to)?.latencyMs;
  }

  deliver(node: SimNode, gen: number, ms: number, fn: () => void): void {
    this.net.clock.setTimer(ms, () => {
      if (!node.up || node.gen !== gen) return;
      if (this.net.clock.now() < node.stalledUntil) node.deferred.push({ node, gen, run: fn } satisfies StreamHop);
      else fn();
    });
  }

  /**
   * How node `node`'s booting process replicates: the options, its persisted snapshot
   * when it restarts from one, and this network as its data wire (datagrams batched per
   * peer for the flush window, simulated TCP connections for streams).
   */
  private plan(node: SimNode, restored: boolean): SimReplicationPlan {
    const i = node.index;
    this.byAddr.set(node.addr, node);
    const gen = node.gen;
    const clock = this.net.nodeClock(node, gen);
    const snapshot = restored ? this.persisted.get(i) : undefined;
    // assigned when the runtime (which the wire refers to) exists
    let r!: RepNode;
    const data: DataWire = {
      maxDatagramMessage: () => this.maxDatagram,
      enqueue: (to, message) => this.enqueue(r, to, message),
      dial: (to, ok, fail) => this.dial(r, to, ok, fail),
      flush: () => this.sendPending(r),
      defer: (fn) => void clock.setTimer(0, fn),
    };
    return {
      init: {
        replica: this.options,
        ...(snapshot ? { restore: { snapshot } } : {}),
        replicationRandom: this.random.fork(`${i}:${gen}`),
        codec: this.codec,
        flushIntervalMs: this.flushMs,
      },
      data,
      created: (rt) => {
        r = { node, gen, rt, rep: rt.replicator!, channels: rt.channels!, clock, pending: new Map(), conns: new Set() };
        this.reps[i] = r;
        rt.onStreamKind = (stream, type) => {
          const conn = (stream as SimStreamEnd).conn;
          if (conn) conn.kind = STREAM_KIND[type] ?? 'catch-up';
        };
        if (this.onMessage) r.rep.events.on('message', (e) => this.onMessage?.(r, e.entry));
        this.onAttach?.(r, snapshot !== undefined);
      },
    };
  }

  /** Node `i` founded the cluster (nobody to catch up from). */
  bootstrap(i: number): void {
    this.reps[i]?.rep.bootstrap();
  }

  /**
   * Node `i`'s process ended (crash, or the end of a graceful leave): its replica is
   * persisted as the daemon would have it, its connections reset. Idempotent; does
   * nothing when the replicator belongs to a process still running.
   */
  ended(i: number): void {
    const r = this.reps[i];
    const node = this.net.nodes[i]!;
    if (!r || (r.gen === node.gen && node.up)) return;
    this.persisted.set(i, r.rep.snapshot());
    for (const k of COUNTER_KEYS) this.dead[k] += r.rep.counters[k];
    this.deadDigests.count += r.rt.counters.digestsOut;
    this.deadDigests.bytes += r.rt.counters.digestBytesOut;
    r.rt.stop();
    for (const c of [...r.conns]) c.crashed(c.a.node === node && c.a.gen === r.gen ? c.a : c.b);
    this.reps[i] = undefined;
  }

  /** Replicator counters over every process, past and present. */
  counters(): ReplicatorCounters {
    const out = { ...this.dead };
    for (const r of this.reps) if (r) for (const k of COUNTER_KEYS) out[k] += r.rep.counters[k];
    return out;
  }

  /** Stream traffic by kind (merkle, bulk, deltas, catch-up), folded into {@link traffic}. */
  streamTraffic(): ReplicationTraffic {
    const bytes: Record<string, number> = { ...this.closedBytes };
    const count: Record<string, number> = { ...this.closedCount };
    for (const c of this.conns) {
      bytes[c.kind] = (bytes[c.kind] ?? 0) + c.bytes;
      count[c.kind] = (count[c.kind] ?? 0) + 1;
    }
    this.traffic.streamBytes = sortKeys(bytes);
    this.traffic.streams = sortKeys(count);
    this.countDigests();
    return this.traffic;
  }

  /** Total replication bytes sent so far (datagrams, digests on acks, streams). */
  totalBytes(): number {
    this.countDigests();
    let n = this.traffic.deltaDatagramBytes + this.traffic.catchUpDatagramBytes + this.traffic.digestBytes;
    for (const c of this.conns) n += c.bytes;
    for (const k in this.closedBytes) n += this.closedBytes[k]!;
    return n;
  }

  /** Digests on acks, over every process past and present, into {@link traffic}. */
  private countDigests(): void {
    let count = this.deadDigests.count;
    let bytes = this.deadDigests.bytes;
    for (const r of this.reps) {
      if (!r) continue;
      count += r.rt.counters.digestsOut;
      bytes += r.rt.counters.digestBytesOut;
    }
    this.traffic.digests = count;
    this.traffic.digestBytes = bytes;
  }

  // ---------------------------------------------------------------- transport

  private enqueue(r: RepNode, to: string, message: Uint8Array): void {
    if (this.current(r.node) !== r) return;
    if (message.length > this.maxDatagram) return this.oneShot(r, to, message);
    const list = r.pending.get(to);
    if (list) list.push(message);
    else r.pending.set(to, [message]);
  }

  private decode(bytes: Uint8Array): AnyMessage {
    // the replicator hands the same buffer to every peer of a flush: decode it once, as
    // SimNetwork does for gossip (the replica copies what it keeps, never mutating it)
    let m = this.decoded.get(bytes);
    if (!m) {
      m = decodeMessage(msgpackDecode(bytes));
      this.decoded.set(bytes, m);
    }
    return m;
  }

  private sendPending(r: RepNode): void {
    if (r.pending.size === 0) return;
    const from = r.node;
    for (const [toAddr, list] of r.pending) {
      const msgs: AnyMessage[] = [];
      for (const b of list) {
        const m = this.decode(b);
        msgs.push(m);
        if (m.type === 'deltas') this.traffic.deltaDatagramBytes += b.length;
        else this.traffic.catchUpDatagramBytes += b.length;
      }
      const to = this.byAddr.get(toAddr);
      const link = to ? this.net.route(from, to) : undefined;
      if (!to || !link || (link.loss > 0 && this.random.next() < link.loss)) {
        this.traffic.datagramsLost++;
        continue;
      }
      const delay = link.jitterMs > 0 ? link.latencyMs + this.random.next() * link.jitterMs : link.latencyMs;
      const gen = to.gen;
      this.deliver(to, gen, delay, () => {
        const tr = this.current(to);
        if (!tr) return;
        for (const m of msgs) tr.rep.handle(m, from.addr);
      });
    }
    r.pending.clear();
  }

  private oneShot(r: RepNode, to: string, message: Uint8Array): void {
    this.dial(r, to, (stream) => {
      stream.send(this.streamEncoder.encode([message]));
      stream.close();
    }, () => {});
  }

  /**
   * Opens a connection: refused after a round trip by a node that is down, silent (then
   * timed out) across a partition, established after a round trip otherwise.
   */
  private dial(r: RepNode, toAddr: string, ok: (stream: Stream) => void, fail: (err: Error) => void): void {
    const from = r.node;
    const gen = r.gen;
    const to = this.byAddr.get(toAddr);
    const timeout = this.net.options.streamTimeoutMs;
    if (!to || !to.up) {
      this.deliver(from, gen, 2 * this.net.link.latencyMs, () => fail(new Error('connection refused')));
      return;
    }
    const out = this.net.route(from, to);
    const back = this.net.route(to, from);
    if (!out || !back) {
      this.deliver(from, gen, timeout, () => fail(new Error('connect timed out')));
      return;
    }
    const toGen = to.gen;
    this.net.clock.setTimer(out.latencyMs, () => {
      const tr = this.current(to);
      if (!tr || to.gen !== toGen || this.current(from) !== r) {
        this.deliver(from, gen, back.latencyMs, () => fail(new Error('connection refused')));
        return;
      }
      const conn = new SimConn(this, from, to, () => {
        this.conns.delete(conn);
        r.conns.delete(conn);
        tr.conns.delete(conn);
        this.closedBytes[conn.kind] = (this.closedBytes[conn.kind] ?? 0) + conn.bytes;
        this.closedCount[conn.kind] = (this.closedCount[conn.kind] ?? 0) + 1;
      });
      this.conns.add(conn);
      r.conns.add(conn);
      tr.conns.add(conn);
      tr.rt.acceptStream(conn.b);
      this.deliver(from, gen, back.latencyMs, () => ok(conn.a));
    });
  }

}

function sortKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
