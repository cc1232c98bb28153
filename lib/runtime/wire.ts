import type { TrafficClass } from '../codec/batcher.js';
import type { FrameDecoder, FrameEncoder } from '../codec/frame.js';
import type { SwimOutbound } from '../swim/membership.js';
import type { Address, Stream } from '../transport/transport.js';

/**
 * What a {@link NodeRuntime} needs of the medium that carries its messages: the real
 * one ({@link FrameWire}: frames on a Transport) or the simulator's (messages in
 * virtual time). The runtime decides what to send; the wire only carries it.
 */
export interface RuntimeWire {
  /** Membership's datagrams, gossip-only frames, push-pull and fallback pings. */
  readonly swim: SwimOutbound;
  /**
   * Datagrams and streams for replication and application messages. Required when the
   * runtime replicates or carries application messages; a membership-only simulation
   * has none.
   */
  readonly data?: DataWire;
}

/** The datagram batch and the streams of replication and application messages. */
export interface DataWire {
  /** Largest encoded message that fits a datagram frame. */
  maxDatagramMessage(): number;
  /** Queues an encoded message for `to`'s next frame (a one-shot stream carries it when too big for a datagram). */
  enqueue(to: Address, message: Uint8Array, cls: TrafficClass): void;
  /** Opens a stream to `to`: exactly one of `ok` and `fail` is called, once. */
  dial(to: Address, ok: (stream: Stream) => void, fail: (err: Error) => void): void;
  /** Sends what the batch window gathered (the flush tick calls it after the runtime flushed into it). */
  flush(): void;
  /** Runs `fn` on a later turn (the bulk sender yields with it so that probes are not starved). */
  defer(fn: () => void): void;
}

/**
 * The frame codecs of a node's streams. Each encoder has its own nonce prefix when the
 * frames are sealed (decoders keep one replay window per prefix, and streams reorder
 * independently of one another).
 */
export interface StreamCodec {
  /** Push-pull, fallback pings, Merkle sessions, catch-up. */
  readonly stream: FrameEncoder;
  /** Delta links: up to megabytes per flush, deflated at level 1. */
  readonly fast: FrameEncoder;
  /** Bulk chunks, already deflated by the replicator: never deflated again. */
  readonly raw: FrameEncoder;
  /** Application message streams. */
  readonly app: FrameEncoder;
  /** Every incoming stream frame. */
  readonly decoder: FrameDecoder;
}
