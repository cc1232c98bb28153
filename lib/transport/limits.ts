import { ClusterError } from '../errors.js';
import type { TransportLimits, TransportStats } from './transport.js';

/** Default for {@link TransportLimits.maxPacketSize}: the largest IPv4 UDP payload. */
export const DEFAULT_MAX_PACKET_SIZE = 65_507;
/** Default for {@link TransportLimits.maxStreamMessage}: 16 MiB. */
export const DEFAULT_MAX_STREAM_MESSAGE = 16 * 1024 * 1024;
/** Default for {@link TransportLimits.maxInboundStreams}. */
export const DEFAULT_MAX_INBOUND_STREAMS = 128;
/** Default stream send-buffer high-water mark: 4 MiB. */
export const DEFAULT_STREAM_HIGH_WATER_MARK = 4 * 1024 * 1024;

/** {@link TransportLimits} with every default filled in. */
export type ResolvedLimits = Required<TransportLimits>;

/** Fills in defaults and rejects nonsense with ClusterError E_CONFIG. */
export function resolveLimits(limits: TransportLimits = {}): ResolvedLimits {
  const resolved: ResolvedLimits = {
    maxPacketSize: limits.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE,
    maxStreamMessage: limits.maxStreamMessage ?? DEFAULT_MAX_STREAM_MESSAGE,
    maxInboundStreams: limits.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS,
  };
  checkInteger('maxPacketSize', resolved.maxPacketSize, 1, DEFAULT_MAX_PACKET_SIZE);
  // the length prefix is 32 bits, so nothing above 2^32-1 can even be expressed
  checkInteger('maxStreamMessage', resolved.maxStreamMessage, 1, 0xffff_ffff);
  checkInteger('maxInboundStreams', resolved.maxInboundStreams, 0, 1_000_000);
  return resolved;
}

/** Throws ClusterError E_CONFIG unless `value` is an integer in [min, max]. */
export function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ClusterError('E_CONFIG', `${name} must be an integer between ${min} and ${max}, got ${String(value)}`);
  }
}

/** A zeroed {@link TransportStats}. */
export function emptyStats(): TransportStats {
  return {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    packetsDropped: 0,
    streamsOpened: 0,
    streamsAccepted: 0,
    streamErrors: 0,
  };
}
