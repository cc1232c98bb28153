import type { Clock, Timer } from '../clock.js';
import type { SwimOptions } from '../config.js';
import type { TrafficClass } from '../codec/batcher.js';
import { encodeMessage } from '../codec/messages.js';
import type { AnyMessage, Message, PingMessage } from '../codec/messages.js';
import '../codec/replication-messages.js';
import '../codec/app-messages.js';
import { AppMessages } from '../app-messages.js';
import type { AppMessagesOptions } from '../app-messages.js';
import { Channels } from '../replication/channels-api.js';
import { FramedStream } from '../replication/framed-stream.js';
import type { Random } from '../random.js';
import { Replicator } from '../replication/replicator.js';
import type { ReplicationOptions, ReplicatorHost, RestoreData } from '../replication/replicator.js';
import { Membership } from '../swim/membership.js';
import type { MembershipInit } from '../swim/membership.js';
import { simulatedMembership } from '../swim/simulator-access.js';
import type { SimulatorInit } from '../swim/simulator-access.js';
import type { Address, Stream } from '../transport/transport.js';
import { Dialing } from './dialing.js';
import type { DataWire, RuntimeWire, StreamCodec } from './wire.js';

/** Construction parameters of {@link NodeRuntime}. */
export interface NodeRuntimeInit {
  /** Unique node name. */
  name: string;
  /** The address peers reach this node at. */
  address: Address;
  /** Boot incarnation (raised above a restored snapshot's epoch). @default 0 */
  incarnation?: number;
  /** Encoded metadata. @default empty */
  meta?: Uint8Array;
  /** Membership timings (a profile with its overrides). */
  options: SwimOptions;
  /** Time and timers: the system clock in the daemon, the node's virtual clock in the simulator. */
  clock: Clock;
  /** Membership's randomness. */
  random: Random;
  /** Replication's randomness. @default random.fork('replication') */
  replicationRandom?: Random;
  /** What carries the node's messages (see {@link RuntimeWire}). */
  wire: RuntimeWire;
  /** The stream codecs (required with replication or application messages). @default undefined */
  codec?: StreamCodec;
  /** Batch flush interval in ms. @default 100 */
  flushIntervalMs?: number;
  /** Replicated presence and history, or false for membership only (the simulator's membership runs). @default {} */
  replica?: ReplicationOptions | false;
  /** Persisted state to start from. @default undefined */
  restore?: RestoreData;
  /** Application messages, or false for none (the simulator has no application). @default {} */
  messages?: AppMessagesOptions | false;
  /** Cluster label, part of every channel cursor. @default '' */
  label?: string;
  /** Keep failure-detection evidence (Membership.explain). @default false */
  evidence?: MembershipInit['evidence'];
  /** Simulator-only parameters of Membership (see {@link SimulatorInit}). @default undefined */
  simulator?: SimulatorInit;
}

/** Counters of what the runtime received and refused. */
export interface RuntimeCounters {
  messagesIn: number;
  messagesInByClass: Record<TrafficClass, number>;
  /** Streams that failed: dials refused or timed out, undecodable stream frames. */
  streamErrors: number;
  /** Replication payloads refused after their frame decoded. */
  replicationRejected: number;
  /** Vector digests attached to acks, and their bytes (with the msgpack header). */
  digestsOut: number;
  digestBytesOut: number;
}

/**
 * One node's protocol runtime: the membership state machine, the replicator and the
 * application messages, and the wiring between them, over a {@link RuntimeWire}. It
 * chooses the replica's epoch, dispatches decoded messages, adopts incoming streams,
 * runs the flush tick and re-announces the node under a new epoch when it was declared
 * dead. ClusterNode runs it over frames on a real transport; the simulator runs the same
 * class over its virtual wire. Pure: time comes from the injected clock, randomness from
 * the injected Random, every send and dial from the wire.
 */
export class NodeRuntime {
  readonly name: string;
  /** The address peers reach this node at. */
  readonly address: Address;
  readonly membership: Membership;
  /** Undefined in a membership-only runtime. */
  readonly replicator: Replicator | undefined;
  readonly channels: Channels | undefined;
  readonly messages: AppMessages | undefined;
  readonly counters: RuntimeCounters = {
    messagesIn: 0, messagesInByClass: { membership: 0, replication: 0, sync: 0 }, streamErrors: 0, replicationRejected: 0, digestsOut: 0, digestBytesOut: 0,
  };
  /**
   * Sees the first message of every incoming stream (the simulator attributes its
   * connections' bytes to what they carried). @default undefined
   */
  onStreamKind: ((stream: Stream, firstType: AnyMessage['type']) => void) | undefined;
  private readonly clock: Clock;
  private readonly options: SwimOptions;
  private readonly wire: RuntimeWire;
  private readonly codec: StreamCodec | undefined;
  private readonly flushIntervalMs: number;
  private readonly openStreams = new Set<Stream>();
  private flushTimer: Timer | undefined;
  private running = false;
  private closed = false;

  constructor(init: NodeRuntimeInit) {
    this.name = init.name;
    this.address = init.address;
    this.clock = init.clock;
    this.options = init.options;
    this.wire = init.wire;
    this.codec = init.codec;
    this.flushIntervalMs = init.flushIntervalMs ?? 100;
    const replica = init.replica ?? {};
    // the replica's epoch is the boot incarnation; it must exceed a restored snapshot's
    let incarnation = init.incarnation ?? 0;
    const snapEpoch = replica !== false && init.restore?.snapshot ? Replicator.snapshotEpoch(init.restore.snapshot) : undefined;
    if (snapEpoch !== undefined && incarnation <= snapEpoch) incarnation = snapEpoch + 1;
    const membershipInit: MembershipInit = {
      name: init.name,
      address: init.address,
      ...(init.meta ? { meta: init.meta } : {}),
      incarnation,
      options: init.options,
      clock: init.clock,
      random: init.random,
      out: init.wire.swim,
      ...(init.evidence !== undefined ? { evidence: init.evidence } : {}),
      ...(replica === false ? {} : {
        ackPayload: () => this.digest(),
        onAckPayload: (member: string, payload: Uint8Array) => this.replicator!.onDigest(member, payload),
        // a death certificate for us (not a leave): the others dropped our presence, so
        // after the refutation it comes back under a new epoch
        onDefunct: (inc: number) => this.replicator!.declaredDead(inc),
      }),
    };
    this.membership = init.simulator ? simulatedMembership(membershipInit, init.simulator) : new Membership(membershipInit);
    if (replica === false) {
      this.replicator = undefined;
      this.channels = undefined;
    } else {
      // forked after Membership took its draws, as ClusterNode always did
      this.replicator = new Replicator(this.replicationHost(init.replicationRandom ?? init.random.fork('replication')), incarnation, replica, init.restore);
      this.channels = new Channels(this.replicator, init.label ?? '');
    }
    this.messages = init.messages === false ? undefined : new AppMessages({
      name: this.name,
      clock: this.clock,
      membership: this.membership,
      dial: (to) => this.dialFramed(to, this.needCodec().app),
      frame: (messages) => this.needCodec().app.encode(messages),
    }, init.messages);
  }

  /** True once started and not stopped. */
  get isRunning(): boolean {
    return this.running;
  }

  /** Starts the protocol timers: membership, replication, the flush tick. */
  start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.membership.start();
    this.replicator?.start();
    if (this.wire.data) this.scheduleFlush();
  }

  /** Stops every timer and closes the streams this runtime holds. Final. */
  stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    this.flushTimer?.cancel();
    this.messages?.stop();
    this.replicator?.stop();
    this.membership.stop();
    for (const s of this.openStreams) s.close();
    this.openStreams.clear();
  }

  /**
   * Joins through `seeds`; `done` gets how many answered and the errors of the others.
   * The founder of a cluster (no seeds, or only itself) has no state to catch up on.
   */
  join(seeds: Address[], done?: (contacted: number, errors: Error[]) => void): void {
    this.membership.join(seeds, (contacted, errors) => {
      if (seeds.length === 0 || seeds.every((s) => s === this.address)) this.replicator?.bootstrap();
      done?.(contacted, errors);
    });
  }

  /** Leaves gracefully, then flushes what is queued; `done` once peers heard it (or the leave timed out). */
  leave(done: () => void): void {
    this.membership.leave(() => {
      this.flush();
      done();
    });
  }

  /** Flushes replication and application messages into the wire, then the wire's batch. */
  flush(): void {
    if (this.closed || !this.wire.data) return;
    this.replicator?.flush();
    this.messages?.flush();
    this.wire.data.flush();
  }

  /** Handles one decoded message received in a datagram (or on a stream nobody owns). */
  dispatch(m: AnyMessage, from: Address): void {
    if (this.closed) return;
    this.counters.messagesIn++;
    // application messages have their own counters (node.messages.stats), no traffic class
    if (m.type === 'app') return this.messages?.handle(m);
    this.counters.messagesInByClass[classOf(m)]++;
    if (Replicator.handles(m)) {
      if (this.replicator) this.replicator.handle(m, from);
      return;
    }
    this.membership.handle(m as Message, from);
  }

  /**
   * Serves an incoming stream: push-pull and fallback pings are answered, a replication
   * stream (Merkle session, bulk transfer, delta link) belongs to the replicator from its
   * first message on, an application stream to the application messages. A stream that
   * says nothing closes after the stream timeout.
   */
  acceptStream(stream: Stream): void {
    if (this.closed || !this.codec) return stream.close();
    const codec = this.codec;
    this.openStreams.add(stream);
    const timer = this.clock.setTimer(this.options.streamTimeoutMs, () => stream.close());
    stream.onClose(() => {
      timer.cancel();
      this.openStreams.delete(stream);
    });
    let owner: ((m: AnyMessage) => void) | undefined;
    // an application message stream stays open as long as its sender keeps it
    let app = false;
    let first = true;
    stream.onMessage((data) => {
      if (this.closed) return;
      const r = codec.decoder.decode(data);
      if (!r.ok) {
        this.counters.streamErrors++;
        return stream.close();
      }
      for (const m of r.messages) {
        if (first) {
          first = false;
          this.onStreamKind?.(stream, m.type);
        }
        if (owner) {
          this.counted(m);
          owner(m);
        } else if (Replicator.handles(m) && this.replicator) {
          timer.cancel();
          this.counted(m);
          owner = this.replicator.adoptStream(new FramedStream(stream, codec.stream, codec.decoder));
          owner(m);
        } else if (m.type === 'app' && this.messages) {
          if (!app) {
            app = true;
            timer.cancel();
            this.messages.adoptInbound(stream, m.from);
          }
          this.dispatch(m, stream.remote);
        } else if (m.type === 'push-pull') {
          const reply = this.membership.handlePushPull(m);
          stream.send(codec.stream.encode([encodeMessage(reply)]));
        } else if (m.type === 'ping') {
          const ping = m as PingMessage;
          if (this.membership.handleStreamPing(ping)) stream.send(codec.stream.encode([encodeMessage({ type: 'ack', seq: ping.seq })]));
        } else {
          this.dispatch(m, stream.remote);
        }
      }
    });
  }

  /** The replica's vector digest for an ack, counted. */
  private digest(): Uint8Array | undefined {
    const d = this.replicator!.digest();
    this.counters.digestsOut++;
    this.counters.digestBytesOut += d.length + 2;
    return d;
  }

  private counted(m: AnyMessage): void {
    this.counters.messagesIn++;
    this.counters.messagesInByClass[classOf(m)]++;
  }

  private scheduleFlush(): void {
    this.flushTimer = this.clock.setTimer(this.flushIntervalMs, () => {
      if (this.closed) return;
      this.flush();
      this.scheduleFlush();
    });
  }

  private needData(): DataWire {
    if (!this.wire.data) throw new Error('this runtime has no data wire (replication and application messages need one)');
    return this.wire.data;
  }

  private needCodec(): StreamCodec {
    if (!this.codec) throw new Error('this runtime has no stream codec (replication and application messages need one)');
    return this.codec;
  }

  /** Opens a framed stream (a synchronous thenable: see {@link Dialing}). */
  private dialFramed(to: Address, encoder: StreamCodec['stream']): Promise<FramedStream> {
    const d = new Dialing<FramedStream>();
    const decoder = this.needCodec().decoder;
    this.needData().dial(
      to,
      (s) => d.resolve(new FramedStream(s, encoder, decoder, () => this.counters.streamErrors++)),
      (err) => {
        this.counters.streamErrors++;
        d.reject(err);
      },
    );
    // the replicator and the application messages call `.then(ok, err)` once, which a
    // Dialing supports; typed as a Promise because that is what their hosts declare
    return d as unknown as Promise<FramedStream>;
  }

  /** What the replicator needs of the runtime. */
  private replicationHost(random: Random): ReplicatorHost {
    return {
      name: this.name,
      clock: this.clock,
      random,
      membership: this.membership,
      maxDatagramMessage: () => this.needData().maxDatagramMessage(),
      enqueue: (to, message, cls) => {
        if (!this.closed) this.needData().enqueue(to, message, cls);
      },
      dial: (to, fast) => this.dialFramed(to, fast ? this.needCodec().fast : this.needCodec().stream),
      rawFrame: (messages) => this.needCodec().raw.encode(messages),
      fastFrame: (messages) => this.needCodec().fast.encode(messages),
      rejected: () => this.counters.replicationRejected++,
      defer: (fn) => this.needData().defer(fn),
    };
  }
}

/** The traffic class of a received message, as the sender's batcher classed it. */
export function classOf(m: AnyMessage): TrafficClass {
  if (!Replicator.handles(m)) return 'membership';
  return m.type === 'deltas' ? 'replication' : 'sync';
}
