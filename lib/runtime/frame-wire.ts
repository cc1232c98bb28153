import type { Clock } from '../clock.js';
import { Batcher } from '../codec/batcher.js';
import type { BatchOutput, TrafficClass } from '../codec/batcher.js';
import type { FrameDecoder, FrameEncoder } from '../codec/frame.js';
import { encodeMessage } from '../codec/messages.js';
import type { AnyMessage, Message, PushPullMessage } from '../codec/messages.js';
import { ClusterError } from '../errors.js';
import type { SwimOutbound } from '../swim/membership.js';
import type { Address, Stream, Transport } from '../transport/transport.js';
import type { NodeRuntime } from './node-runtime.js';
import type { DataWire, RuntimeWire, StreamCodec } from './wire.js';

/** Construction parameters of {@link FrameWire}. */
export interface FrameWireInit {
  transport: Transport;
  clock: Clock;
  /** Seals and compresses datagram frames. */
  datagrams: FrameEncoder;
  /** Reads datagram frames. */
  datagramDecoder: FrameDecoder;
  codec: StreamCodec;
  /** Largest datagram sent, overhead included. */
  maxFrameBytes: number;
  /** How long a stream operation (push-pull, fallback ping, dial) may take. */
  streamTimeoutMs: number;
  /** Runs `fn` on a later turn of the event loop. */
  defer: (fn: () => void) => void;
}

/**
 * The real wire: a {@link NodeRuntime}'s messages batched into frames (label,
 * compression, encryption) on a {@link Transport}'s datagrams, and carried on its
 * streams. It owns the batcher and the datagram codec; the runtime owns what is sent.
 */
export class FrameWire implements RuntimeWire {
  readonly swim: SwimOutbound;
  readonly data: DataWire;
  /** Datagram frames and bytes received, and messages of unknown types skipped in them. */
  readonly statsIn = { framesIn: 0, bytesIn: 0, unknownMessages: 0 };
  /** Gossip-only frames (no batched message to carry them) and their bytes. */
  gossipFrames = 0;
  gossipBytes = 0;
  readonly batcher: Batcher;
  private runtime: NodeRuntime | undefined;
  private closed = false;
  /** Streams of requests under way, closed with the wire. */
  private readonly requests = new Set<Stream>();

  constructor(private readonly init: FrameWireInit) {
    this.batcher = new Batcher({
      encoder: init.datagrams,
      maxFrameBytes: init.maxFrameBytes,
      piggyback: (_peer, remaining) => this.rt().membership.piggyback(remaining),
    });
    this.swim = {
      send: (to, msg, urgent) => this.send(to, msg, urgent),
      gossip: (to) => {
        const budget = init.maxFrameBytes - init.datagrams.overhead() - 3;
        const parts = this.rt().membership.piggyback(budget);
        if (parts.length === 0) return;
        const frame = init.datagrams.encode(parts);
        this.gossipFrames++;
        this.gossipBytes += frame.length;
        init.transport.sendPacket(to, frame);
      },
      pushPull: (to, msg, done) => this.request(to, msg, (m) => m.type === 'push-pull', (reply) => {
        done(reply as PushPullMessage | undefined, reply ? undefined : new ClusterError('E_UNREACHABLE', `push-pull with ${to} failed`));
      }),
      streamPing: (to, ping, done) => this.request(to, ping, (m) => m.type === 'ack' && m.seq === ping.seq, (reply) => done(reply !== undefined)),
    };
    this.data = {
      maxDatagramMessage: () => this.batcher.maxMessageBytes(),
      enqueue: (to, message, cls) => this.enqueue(to, message, cls),
      dial: (to, ok, fail) => init.transport.dial(to, init.streamTimeoutMs).then(ok, (err: unknown) => fail(err instanceof Error ? err : new Error(String(err)))),
      flush: () => {
        if (!this.closed) this.emit(this.batcher.flush(init.clock.now()));
      },
      defer: init.defer,
    };
  }

  /** Connects the runtime this wire carries: received datagrams and streams go to it. */
  attach(runtime: NodeRuntime): void {
    this.runtime = runtime;
    this.init.transport.onPacket((data, from) => this.onPacket(data, from));
    this.init.transport.onStream((stream) => (this.closed ? stream.close() : runtime.acceptStream(stream)));
  }

  /** Stops sending; the transport itself is closed by its owner. */
  close(): void {
    this.closed = true;
    for (const s of this.requests) s.close();
    this.requests.clear();
  }

  private rt(): NodeRuntime {
    if (!this.runtime) throw new Error('FrameWire used before attach()');
    return this.runtime;
  }

  private send(to: Address, msg: Message, urgent: boolean): void {
    if (this.closed) return;
    const bytes = encodeMessage(msg);
    if (urgent) this.emit(this.batcher.sendNow(to, bytes));
    else this.enqueue(to, bytes, 'membership');
  }

  private enqueue(to: Address, message: Uint8Array, cls: TrafficClass): void {
    if (this.closed) return;
    if (this.batcher.enqueue(to, message, cls) === 'needs-stream') this.sendOverStream(to, message);
  }

  private emit(out: BatchOutput): void {
    for (const f of out.frames) this.init.transport.sendPacket(f.peer, f.frame);
    for (const s of out.stream) this.sendOverStream(s.peer, s.message);
  }

  /** One message too big for a datagram: a short-lived stream carries it. */
  private sendOverStream(to: Address, message: Uint8Array): void {
    this.init.transport.dial(to, this.init.streamTimeoutMs).then(
      (stream) => {
        stream.send(this.init.codec.stream.encode([message]));
        stream.close();
      },
      () => this.rt().counters.streamErrors++,
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
        this.requests.delete(stream);
        stream.close();
      }
      done(reply);
    };
    const timer = this.init.clock.setTimer(this.init.streamTimeoutMs, () => finish(undefined));
    this.init.transport.dial(to, this.init.streamTimeoutMs).then(
      (s) => {
        if (finished) return s.close();
        stream = s;
        this.requests.add(s);
        s.onMessage((data) => {
          const r = this.init.codec.decoder.decode(data);
          if (!r.ok) return finish(undefined);
          finish(r.messages.find(accept));
        });
        s.onClose(() => finish(undefined));
        s.send(this.init.codec.stream.encode([encodeMessage(msg)]));
      },
      () => {
        this.rt().counters.streamErrors++;
        finish(undefined);
      },
    );
  }

  private onPacket(data: Uint8Array, from: Address): void {
    if (this.closed) return;
    this.statsIn.framesIn++;
    this.statsIn.bytesIn += data.length;
    const r = this.init.datagramDecoder.decode(data);
    if (!r.ok) return;
    this.statsIn.unknownMessages += r.skipped;
    const rt = this.rt();
    for (const m of r.messages) rt.dispatch(m, from);
  }
}
