/**
 * The few counters the real-process runner reads from an agent's `/metrics`
 * (Prometheus text format). Only sample lines are parsed; comments and families not
 * asked for are skipped, and a malformed line is ignored rather than trusted (the
 * dashboard's parser, lib/dashboard/prometheus.ts).
 */
import { parsePrometheus, sumOf } from '../../lib/client/prometheus.js';

/** Traffic counters of one agent, cumulative since its process started. */
export interface AgentTraffic {
  /** Datagrams sent (`clusterd_transport_total{counter="packetsOut"}`). */
  packetsOut: number;
  /** Datagram (frame) bytes sent (`clusterd_frame_bytes_total{direction="out"}`). */
  datagramBytesOut: number;
  /**
   * Stream bytes sent: the transport's bytes out (datagrams plus stream messages,
   * `clusterd_transport_total{counter="bytesOut"}`) less the datagram bytes.
   */
  streamBytesOut: number;
  /** Streams opened (`clusterd_transport_total{counter="streamsOpened"}`). */
  streamsOpened: number;
  /** Datagrams and streams dropped by fault injection (`clusterd_fault_injection_total{action="dropped"}`). */
  faultDropped: number;
}

/** The traffic counters of an agent's `/metrics` text (0 for an absent sample: the agent skips zero counters). */
export function parseTraffic(text: string): AgentTraffic {
  const samples = parsePrometheus(text);
  const get = (name: string, where: Record<string, string>): number => sumOf(samples, name, where) ?? 0;
  const datagramBytesOut = get('clusterd_frame_bytes_total', { direction: 'out' });
  return {
    packetsOut: get('clusterd_transport_total', { counter: 'packetsOut' }),
    datagramBytesOut,
    streamBytesOut: Math.max(0, get('clusterd_transport_total', { counter: 'bytesOut' }) - datagramBytesOut),
    streamsOpened: get('clusterd_transport_total', { counter: 'streamsOpened' }),
    faultDropped: get('clusterd_fault_injection_total', { action: 'dropped' }),
  };
}
