import { randomBytes } from 'node:crypto';
import { SystemClock } from './clock.js';
import type { Clock, Timer } from './clock.js';
import { swimOptions } from './config.js';
import type { ProfileName, SwimOptions } from './config.js';
import { Batcher } from './codec/batcher.js';
import type { BatchOutput } from './codec/batcher.js';
import { FrameDecoder, FrameEncoder } from './codec/frame.js';
import type { Keyring } from './codec/keyring.js';
import { encodeMessage } from './codec/messages.js';
import type { AnyMessage, Message, PingMessage, PushPullMessage } from './codec/messages.js';
import { ClusterError } from './errors.js';
import { Random } from './random.js';
import { Membership } from './swim/membership.js';
import type { BrokerInfo, MemberInfo, SwimOutbound } from './swim/membership.js';
import { encodeMeta, emptyMeta } from './swim/meta.js';
import type { NodeMeta } from './swim/meta.js';
import type { Address, Stream, Transport } from './transport/transport.js';

/** Options of {@link ClusterNode}. */
export interface ClusterNodeOptions {
  /** Unique node name (1–128 bytes). */
  name: string;
  /** Datagrams and streams; NetTransport in production, a MemoryNetwork transport in tests. */
  transport: Transport;
  /** @default new SystemClock() */
  clock?: Clock;
  /** Seeded randomness for protocol choices. @default a Random seeded from node:crypto */
  random?: Random;
  /** Timing profile. @default 'lan' */
  profile?: ProfileName;
  /** Overrides of the profile's timings. @default {} */
  swim?: Partial<SwimOptions>;
  /** Roles, tags, endpoints and load advertised to the cluster. @default empty */
  meta?: Partial<NodeMeta>;
  /** Starting incarnation (persisted incarnation + 1 after a restart). @default 0 */
  incarnation?: number;
  /** Cluster label: frames of other labels are rejected. @default '' */
  label?: string;
  /** Encryption keys; frames are sealed with AES-256-GCM when set. @default undefined */
  keyring?: Keyring;
  /** Batch flush interval in ms: non-urgent messages wait at most this long. @default 100 */
  flushIntervalMs?: number;
  /** Largest datagram sent, overhead included. @default 1400 */
  maxFrameBytes?: number;
  /** Largest frame accepted on a stream (push-pull of a big cluster). @default 16777216 */
  maxStreamFrameBytes?: number;
}

/** Traffic counters of a node. */
export interface NodeStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  /** Frames rejected on datagrams and streams, by error code (E_FRAME_LABEL, E_FRAME_DECRYPT, ...). */
  rejected: Record<string, number>;
  /** Messages of types this version does not know, skipped. */
  unknownMessages: number;
  streamErrors: number;
}

/**
 * The runtime: the one place where the sans-IO protocol meets sockets and timers. It
 * encodes what the membership state machine sends into batched frames, decodes what
 * arrives, runs the flush timer, and carries push-pull and fallback pings on streams.
 */
export class ClusterNode {
  readonly name: string;
  readonly membership: Membership;
  readonly transport: Transport;
  readonly options: SwimOptions;
  private readonly clock: Clock;
  private readonly encoder: FrameEncoder;
  private readonly streamEncoder: FrameEncoder;
  private readonly decoder: FrameDecoder;
  private readonly streamDecoder: FrameDecoder;
  private readonly batcher: Batcher;
  private readonly maxFrameBytes: number;
  private readonly flushIntervalMs: number;
  private flushTimer: Timer | undefined;
  private closed = false;
  private readonly openStreams = new Set<Stream>();
  private readonly statsIn = { framesIn: 0, bytesIn: 0, messagesIn: 0, unknownMessages: 0, streamErrors: 0 };

  constructor(opts: ClusterNodeOptions) {
    this.name = opts.name;
    this.transport = opts.transport;
    this.clock = opts.clock ?? new SystemClock();
    const random = opts.random ?? new Random(randomBytes(4).readUInt32LE(0));
    this.options = swimOptions(opts.profile ?? 'lan', opts.swim ?? {});
    this.maxFrameBytes = opts.maxFrameBytes ?? 1400;
    this.flushIntervalMs = opts.flushIntervalMs ?? 100;
    const label = opts.label ?? '';
    const keyring = opts.keyring;
    const codec = { label, ...(keyring ? { keyring } : {}) };
    // separate nonce prefixes: datagrams and streams reorder independently, and one
    // replay window per prefix must only ever see one of the two paths
    this.encoder = new FrameEncoder({ ...codec, noncePrefix: randomBytes(6) });
    this.streamEncoder = new FrameEncoder({ ...codec, noncePrefix: randomBytes(6) });
    this.decoder = new FrameDecoder({ ...codec });
    const streamCap = opts.maxStreamFrameBytes ?? 16 * 1024 * 1024;
    this.streamDecoder = new FrameDecoder({ ...codec, maxFrameBytes: streamCap, maxBodyBytes: streamCap });
    this.batcher = new Batcher({
      encoder: this.encoder,
      maxFrameBytes: this.maxFrameBytes,
      piggyback: (_peer, remaining) => this.membership.piggyback(remaining),
    });
    const meta = { ...emptyMeta(), ...opts.meta };
    this.membership = new Membership({
      name: opts.name,
      address: opts.transport.advertiseAddress,
      meta: encodeMeta(meta, this.options.maxMetaSize),
      ...(opts.incarnation !== undefined ? { incarnation: opts.incarnation } : {}),
      options: this.options,
      clock: this.clock,
      random,
      out: this.outbound(),
    });
    this.transport.onPacket((data, from) => this.onPacket(data, from));
    this.transport.onStream((stream) => this.onStream(stream));
  }

  /** Starts the protocol timers. */
  start(): void {
    if (this.closed) throw new ClusterError('E_CLOSED', 'node is closed');
    this.membership.start();
    this.scheduleFlush();
  }

  /**
   * Joins through `seeds`, resolving with how many answered. Rejects with
   * E_UNREACHABLE when none did (the seeds stay on the reconnect list regardless).
   */
  join(seeds: Address[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.membership.join(seeds, (contacted, errors) => {
        if (contacted > 0 || seeds.length === 0) resolve(contacted);
        else reject(new ClusterError('E_UNREACHABLE', `no seed answered (${seeds.join(', ')}): ${errors.map((e) => e.message).join('; ')}`));
      });
    });
  }

  /** Leaves gracefully (peers see `left`, not `dead`) and closes. */
  async leave(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => this.membership.leave(resolve));
    this.flush();
    await this.close();
  }

  /** Stops everything without telling anyone (peers will detect a failure). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flushTimer?.cancel();
    this.membership.stop();
    for (const s of this.openStreams) s.close();
    await this.transport.close();
  }

  /** Replaces (merges) this node's advertised metadata. */
  updateMeta(meta: Partial<NodeMeta>): void {
    const current = this.membership.member(this.name)?.meta ?? emptyMeta();
    this.membership.updateMeta(encodeMeta({ ...current, ...meta }, this.options.maxMetaSize));
  }

  members(): MemberInfo[] {
    return this.membership.members();
  }

  brokers(filter?: { tag?: [string, string]; sortBy?: string }): BrokerInfo[] {
    return this.membership.brokers(filter);
  }

  stats(): NodeStats {
    const b = this.batcher.stats;
    return {
      ...this.statsIn,
      framesOut: b.frames + this.gossipFrames,
      bytesOut: b.frameBytes + this.gossipBytes,
      rejected: Object.fromEntries(
        Object.entries(this.decoder.rejected).map(([reason, n]) => [reason, n + (this.streamDecoder.rejected[reason as keyof typeof this.streamDecoder.rejected] ?? 0)]),
      ),
    };
  }

  // ---------------------------------------------------------------- outbound

  private gossipFrames = 0;
  private gossipBytes = 0;

  private outbound(): SwimOutbound {
    return {
      send: (to, msg, urgent) => this.send(to, msg, urgent),
      gossip: (to) => {
        const budget = this.maxFrameBytes - this.encoder.overhead() - 3;
        const parts = this.membership.piggyback(budget);
        if (parts.length === 0) return;
        const frame = this.encoder.encode(parts);
        this.gossipFrames++;
        this.gossipBytes += frame.length;
        this.transport.sendPacket(to, frame);
      },
      pushPull: (to, msg, done) => this.request(to, msg, (m) => m.type === 'push-pull', (reply) => done(reply as PushPullMessage | undefined, reply ? undefined : new ClusterError('E_UNREACHABLE', `push-pull with ${to} failed`))),
      streamPing: (to, ping, done) => this.request(to, ping, (m) => m.type === 'ack' && m.seq === ping.seq, (reply) => done(reply !== undefined)),
    };
  }

  private send(to: Address, msg: Message, urgent: boolean): void {
    if (this.closed) return;
    const bytes = encodeMessage(msg);
    if (urgent) this.emit(this.batcher.sendNow(to, bytes));
    else if (this.batcher.enqueue(to, bytes, 'membership') === 'needs-stream') this.sendOverStream(to, bytes);
  }

  private emit(out: BatchOutput): void {
    for (const f of out.frames) this.transport.sendPacket(f.peer, f.frame);
    for (const s of out.stream) this.sendOverStream(s.peer, s.message);
  }

  private flush(): void {
    if (!this.closed) this.emit(this.batcher.flush(this.clock.now()));
  }

  private scheduleFlush(): void {
    this.flushTimer = this.clock.setTimer(this.flushIntervalMs, () => {
      if (this.closed) return;
      this.flush();
      this.scheduleFlush();
    });
  }

  /** One message too big for a datagram: a short-lived stream carries it. */
  private sendOverStream(to: Address, message: Uint8Array): void {
    this.transport.dial(to, this.options.streamTimeoutMs).then(
      (stream) => {
        stream.send(this.streamEncoder.encode([message]));
        stream.close();
      },
      () => this.statsIn.streamErrors++,
    );
  }

  /** Sends `msg` on a new stream and waits for the first reply matching `accept`. */
  private request(to: Address, msg: Message, accept: (m: AnyMessage) => boolean, done: (reply: AnyMessage | undefined) => void): void {
    if (this.closed) return done(undefined);
    let finished = false;
    let stream: Stream | undefined;
    const finish = (reply: AnyMessage | undefined): void => {
      if (finished) return;
      finished = true;
      timer.cancel();
      if (stream) {
        this.openStreams.delete(stream);
        stream.close();
      }
      done(reply);
    };
    const timer = this.clock.setTimer(this.options.streamTimeoutMs, () => finish(undefined));
    this.transport.dial(to, this.options.streamTimeoutMs).then(
      (s) => {
        if (finished) return s.close();
        stream = s;
        this.openStreams.add(s);
        s.onMessage((data) => {
          const r = this.streamDecoder.decode(data);
          if (!r.ok) return finish(undefined);
          finish(r.messages.find(accept));
        });
        s.onClose(() => finish(undefined));
        s.send(this.streamEncoder.encode([encodeMessage(msg)]));
      },
      () => {
        this.statsIn.streamErrors++;
        finish(undefined);
      },
    );
  }

  // ---------------------------------------------------------------- inbound

  private onPacket(data: Uint8Array, from: Address): void {
    if (this.closed) return;
    this.statsIn.framesIn++;
    this.statsIn.bytesIn += data.length;
    const r = this.decoder.decode(data);
    if (!r.ok) return;
    this.statsIn.unknownMessages += r.skipped;
    for (const m of r.messages) this.dispatch(m, from);
  }

  private dispatch(m: AnyMessage, from: Address): void {
    this.statsIn.messagesIn++;
    // only membership messages exist so far; replication registers its own later
    this.membership.handle(m as Message, from);
  }

  private onStream(stream: Stream): void {
    if (this.closed) return stream.close();
    this.openStreams.add(stream);
    const timer = this.clock.setTimer(this.options.streamTimeoutMs, () => stream.close());
    stream.onClose(() => {
      timer.cancel();
      this.openStreams.delete(stream);
    });
    stream.onMessage((data) => {
      const r = this.streamDecoder.decode(data);
      if (!r.ok) {
        this.statsIn.streamErrors++;
        return stream.close();
      }
      for (const m of r.messages) {
        if (m.type === 'push-pull') {
          const reply = this.membership.handlePushPull(m);
          stream.send(this.streamEncoder.encode([encodeMessage(reply)]));
        } else if (m.type === 'ping') {
          const ping = m as PingMessage;
          if (this.membership.handleStreamPing(ping)) stream.send(this.streamEncoder.encode([encodeMessage({ type: 'ack', seq: ping.seq })]));
        } else {
          this.dispatch(m, stream.remote);
        }
      }
    });
  }
}
