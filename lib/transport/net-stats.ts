import { emptyStats } from './limits.js';
import type { TransportStats } from './transport.js';

/** {@link TransportStats} plus the reasons a real-socket transport drops things. */
export interface NetTransportStats extends TransportStats {
  /** Datagrams dropped for exceeding maxPacketSize (outbound: never sent; inbound: discarded). */
  packetsOversize: number;
  /** Datagrams dropped because the UDP send queue was over its high-water mark. */
  packetsBackpressure: number;
  /** Datagrams dropped because the destination address was malformed or of the wrong family. */
  packetsUnaddressable: number;
  /** UDP send failures and socket errors (ICMP unreachable, EHOSTUNREACH, ...). */
  packetErrors: number;
  /** Inbound streams refused because maxInboundStreams were already open. */
  streamsRefused: number;
  /** Streams cut because a length prefix exceeded maxStreamMessage. */
  streamsOversize: number;
  /** Streams closed after idling longer than the idle timeout. */
  streamsIdle: number;
}

/** A zeroed {@link NetTransportStats}. */
export function emptyNetStats(): NetTransportStats {
  return {
    ...emptyStats(),
    packetsOversize: 0,
    packetsBackpressure: 0,
    packetsUnaddressable: 0,
    packetErrors: 0,
    streamsRefused: 0,
    streamsOversize: 0,
    streamsIdle: 0,
  };
}
