/**
 * How clusterd reaches other nodes. The protocol core never touches a socket: the
 * runtime hands it a Transport, which is real UDP+TCP in the daemon and an in-memory
 * network in tests and the simulator. Every implementation passes the same
 * conformance suite (test/transport/conformance.ts).
 *
 * Addresses are strings: `host:port` for IPv4 and names, `[v6addr]:port` for IPv6.
 *
 * Buffer ownership: a sender must not mutate a buffer after handing it to `sendPacket`
 * or `Stream.send` (the memory network delivers the very same object, and a UDP send
 * may still be queued). A receiver must treat what it gets as read-only: the memory
 * network hands the same buffer to every peer a sender broadcast it to.
 */
export type Address = string;

/** Receives one datagram. `from` is the sender's socket address as seen by us. */
export type PacketHandler = (data: Uint8Array, from: Address) => void;

/** A reliable, ordered, message-oriented connection (length-prefixed on TCP). */
export interface Stream {
  /** The other end's address. */
  readonly remote: Address;
  /**
   * Queues one message. Returns false, without queueing it, when the stream is closed
   * or its send buffer is already over the high-water mark; wait for `onDrain` and
   * retry. Throws ClusterError E_LIMIT for a message larger than `maxStreamMessage`
   * (a programming error: the peer would cut the stream anyway).
   */
  send(message: Uint8Array): boolean;
  /**
   * Sets the handler for each whole message received. Messages that arrive before a
   * handler is set are held and delivered when it is set.
   */
  onMessage(handler: (message: Uint8Array) => void): void;
  /**
   * Adds a handler called once when the stream ends, with the error when it ended
   * abnormally. Added after the end, it is called at once.
   */
  onClose(handler: (err?: Error) => void): void;
  /**
   * Adds a handler called when a send buffer that refused a message (send returned
   * false) has drained below the high-water mark. Optional so that test doubles need
   * not implement it; both built-in transports do.
   */
  onDrain?(handler: () => void): void;
  /** Ends the stream after pending messages are flushed. */
  close(): void;
}

/** Counters every transport keeps, for metrics and for tests. */
export interface TransportStats {
  /** Datagrams received and handed to the packet handler. */
  packetsIn: number;
  /** Datagrams handed to the network (not those dropped before sending). */
  packetsOut: number;
  /** Bytes received: datagram payloads plus stream message payloads. */
  bytesIn: number;
  /** Bytes sent: datagram payloads plus stream message payloads. */
  bytesOut: number;
  /** Datagrams not sent or received: oversized, socket errors, network loss in memory. */
  packetsDropped: number;
  streamsOpened: number;
  streamsAccepted: number;
  /** Stream messages or connections refused for exceeding a limit. */
  streamErrors: number;
}

/** Options shared by all transports. */
export interface TransportLimits {
  /** Largest datagram sent or accepted, in bytes. @default 65507 */
  maxPacketSize?: number;
  /** Largest single stream message, in bytes. @default 16777216 (16 MiB) */
  maxStreamMessage?: number;
  /** Most concurrent inbound streams; more are refused. @default 128 */
  maxInboundStreams?: number;
}

/** Datagrams for gossip, streams for bulk state (push-pull, catch-up). */
export interface Transport {
  /** The address peers should use to reach us (may differ from the bound one behind NAT). */
  readonly advertiseAddress: Address;
  /** The address actually bound (with the real port when 0 was asked for). */
  readonly bindAddress: Address;
  /** Fire-and-forget datagram. Never throws for network reasons; failures are counted. */
  sendPacket(to: Address, data: Uint8Array): void;
  /** Sets the single datagram handler. */
  onPacket(handler: PacketHandler): void;
  /** Opens a stream; rejects with ClusterError E_UNREACHABLE / E_TIMEOUT. */
  dial(to: Address, timeoutMs: number): Promise<Stream>;
  /** Sets the handler for accepted inbound streams. */
  onStream(handler: (stream: Stream) => void): void;
  readonly stats: TransportStats;
  /** Releases sockets; pending dials reject with E_CLOSED. Idempotent. */
  close(): Promise<void>;
}

/** Splits `host:port` / `[v6]:port`; throws ClusterError E_ADDRESS when malformed. */
export { parseAddress, formatAddress } from './address.js';
