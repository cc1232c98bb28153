import { PerformanceObserver, constants } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClusterNode, NetTransportStats } from '../internal.js';

/** Sources the metrics read at scrape time. */
export interface MetricsSources {
  node: ClusterNode;
  /** Subscribers to the event stream (SSE and WebSocket). */
  streams: () => number;
  /** Events and serialized bytes held by the event hub for resuming streams. */
  eventBuffer: () => { events: number; bytes: number };
  /** Entries in the history log since the last snapshot. */
  logEntries: () => number;
  /** Frames dropped or delayed by fault injection. */
  faults: () => { dropped: number; delayed: number } | undefined;
}

/** The agent's Prometheus registry plus the HTTP instruments the API updates directly. */
export interface AgentMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'route'>;
}

type Labels = Record<string, string>;

/**
 * Builds the registry. Everything but the HTTP instruments is read from the node when
 * Prometheus scrapes (collect callbacks), so metrics cost nothing between scrapes.
 * Counters that mirror the node's own running totals are reset and re-set on collect.
 */
export function createMetrics(src: MetricsSources): AgentMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'clusterd_process_' });
  const { node } = src;

  const mirror = (name: string, help: string, labelNames: string[], read: () => [Labels, number][]): void => {
    new Counter({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        for (const [labels, v] of read()) if (v > 0) this.inc(labels, v);
      },
    });
  };
  const gauge = (name: string, help: string, labelNames: string[], read: () => [Labels, number][]): void => {
    new Gauge({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        for (const [labels, v] of read()) this.set(labels, v);
      },
    });
  };

  gauge('clusterd_members', 'Members known by state, this node included', ['state'], () =>
    Object.entries(node.membership.counts()).map(([state, n]) => [{ state }, n]));
  gauge('clusterd_health_score', 'Lifeguard local health score (0 is healthy)', [], () => [[{}, node.membership.health]]);
  gauge('clusterd_incarnation', 'This node\'s incarnation', [], () => [[{}, node.membership.incarnation]]);
  gauge('clusterd_broadcasts_queued', 'Membership broadcasts waiting to be gossiped', [], () => [[{}, node.membership.queuedBroadcasts]]);
  mirror('clusterd_swim_events_total', 'SWIM protocol events (probes, acks, suspicions, ...)', ['event'], () =>
    Object.entries(node.membership.counters).map(([event, n]) => [{ event }, n]));
  mirror('clusterd_frames_total', 'Frames received and sent', ['direction'], () => {
    const s = node.stats();
    return [[{ direction: 'in' }, s.framesIn], [{ direction: 'out' }, s.framesOut]];
  });
  mirror('clusterd_frame_bytes_total', 'Frame bytes received and sent', ['direction'], () => {
    const s = node.stats();
    return [[{ direction: 'in' }, s.bytesIn], [{ direction: 'out' }, s.bytesOut]];
  });
  const perClass = (pick: (c: ReturnType<ClusterNode['stats']>['byClass']) => Record<string, number>, direction: string): [Labels, number][] =>
    Object.entries(pick(node.stats().byClass)).map(([cls, n]) => [{ class: cls, direction }, n]);
  mirror('clusterd_class_frames_total', 'Datagram frames sent that carried a class (membership, replication, sync)', ['class', 'direction'], () => perClass((c) => c.framesOut, 'out'));
  mirror('clusterd_class_bytes_total', 'Encoded message bytes sent, by class', ['class', 'direction'], () => perClass((c) => c.bytesOut, 'out'));
  mirror('clusterd_class_messages_total', 'Protocol messages sent and received, by class', ['class', 'direction'], () => [
    ...perClass((c) => c.messagesOut, 'out'), ...perClass((c) => c.messagesIn, 'in'),
  ]);
  mirror('clusterd_class_dropped_total', 'Messages dropped from full outboxes, by class', ['class'], () =>
    Object.entries(node.stats().byClass.dropped).map(([cls, n]) => [{ class: cls }, n]));
  mirror('clusterd_frames_rejected_total', 'Frames rejected, by reason (error code)', ['reason'], () =>
    Object.entries(node.stats().rejected).map(([reason, n]) => [{ reason }, n]));
  mirror('clusterd_messages_in_total', 'Protocol messages received', [], () => [[{}, node.stats().messagesIn]]);
  mirror('clusterd_stream_errors_total', 'Stream (TCP) errors in the runtime', [], () => [[{}, node.stats().streamErrors]]);
  mirror('clusterd_transport_total', 'Socket-level transport counters (packets, bytes, drops, streams)', ['counter'], () =>
    Object.entries(node.transport.stats as NetTransportStats).map(([counter, n]) => [{ counter }, n]));

  mirror('clusterd_sync_sessions_total', 'Anti-entropy sessions, by kind', ['kind'], () => {
    const s = node.syncStatus().sessions;
    return [[{ kind: 'merkle' }, s.merkle], [{ kind: 'bulk' }, s.bulk], [{ kind: 'delta_catch_up' }, s.deltaCatchUps]];
  });
  mirror('clusterd_sync_bytes_total', 'Replication bytes, by kind and direction', ['kind', 'direction'], () => {
    const b = node.syncStatus().bytes;
    return [
      [{ kind: 'delta', direction: 'out' }, b.deltasOut], [{ kind: 'delta', direction: 'in' }, b.deltasIn],
      [{ kind: 'sync', direction: 'out' }, b.syncOut], [{ kind: 'sync', direction: 'in' }, b.syncIn],
    ];
  });
  gauge('clusterd_sync_peers', 'Peers whose last digest matched ours (in_sync=true) or not', ['in_sync'], () => {
    const peers = node.syncStatus().peers;
    const inSync = peers.filter((p) => p.inSync).length;
    return [[{ in_sync: 'true' }, inSync], [{ in_sync: 'false' }, peers.length - inSync]];
  });
  gauge('clusterd_sync_ready', '1 once the node has caught up after start', [], () => {
    return [[{}, Number(node.ready)]];
  });
  gauge('clusterd_replication_lag_seconds', 'Seconds since the last digest from the peer heard from least recently (0 when in sync with all)', [], () => {
    const now = Date.now();
    let lag = 0;
    for (const p of node.syncStatus().peers) if (!p.inSync && p.lastDigestAt !== undefined) lag = Math.max(lag, (now - p.lastDigestAt) / 1000);
    return [[{}, lag]];
  });
  gauge('clusterd_channels', 'Channels with presence or history', [], () => {
    return [[{}, node.channels.list().length]];
  });
  gauge('clusterd_history_entries', 'History entries held, all channels', [], () => {
    return [[{}, node.channels.list().reduce((a, c) => a + c.messages, 0)]];
  });
  gauge('clusterd_presence_clients', 'Presence entries (connected clients), all channels', [], () => {
    return [[{}, node.channels.list().reduce((a, c) => a + c.clients, 0)]];
  });
  gauge('clusterd_history_log_entries', 'Entries in the history log since the last snapshot', [], () => [[{}, src.logEntries()]]);
  gauge('clusterd_event_buffer', 'Events held for resuming streams (unit=events) and their serialized size (unit=bytes)', ['unit'], () => {
    const b = src.eventBuffer();
    return [[{ unit: 'events' }, b.events], [{ unit: 'bytes' }, b.bytes]];
  });
  gauge('clusterd_event_streams', 'Open event streams (SSE and WebSocket)', [], () => [[{}, src.streams()]]);
  mirror('clusterd_fault_injection_total', 'Datagrams and streams dropped or delayed by fault injection', ['action'], () => {
    const f = src.faults();
    return f ? [[{ action: 'dropped' }, f.dropped], [{ action: 'delayed' }, f.delayed]] : [];
  });

  // prom-client's defaults lack arrayBuffers, and a soak needs all four side by side to
  // tell live data (heap used, external) from allocator and heap sizing (RSS, heap total)
  const afterGc = watchMajorGc();
  gauge('clusterd_memory_bytes', 'process.memoryUsage() by kind (rss, heap_total, heap_used, external, array_buffers), and heap used, external and array buffers right after the last major GC (live data)', ['kind'], () => {
    const m = process.memoryUsage();
    return [
      [{ kind: 'rss' }, m.rss], [{ kind: 'heap_total' }, m.heapTotal], [{ kind: 'heap_used' }, m.heapUsed], [{ kind: 'external' }, m.external], [{ kind: 'array_buffers' }, m.arrayBuffers],
      // before the first major collection the live figure is unknown: report the current one
      [{ kind: 'heap_used_after_gc' }, afterGc.at > 0 ? afterGc.heapUsed : m.heapUsed], [{ kind: 'external_after_gc' }, afterGc.at > 0 ? afterGc.external : m.external],
      [{ kind: 'array_buffers_after_gc' }, afterGc.at > 0 ? afterGc.arrayBuffers : m.arrayBuffers],
    ];
  });

  const httpRequests = new Counter({ name: 'clusterd_http_requests_total', help: 'HTTP API requests by method, route and status', labelNames: ['method', 'route', 'status'] as const, registers: [registry] });
  const httpDuration = new Histogram({
    name: 'clusterd_http_request_duration_seconds', help: 'HTTP API request duration by route', labelNames: ['route'] as const, registers: [registry],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  });
  return { registry, httpRequests, httpDuration };
}

/** Heap used and external as measured just after the latest major (mark-compact) GC. */
interface AfterGc {
  heapUsed: number;
  external: number;
  /** The part of `external` held by ArrayBuffers (Buffers, typed arrays): the rest is native memory reported to V8 (zlib, sockets). */
  arrayBuffers: number;
  /** When it was measured (ms since the epoch); 0 before the first major GC. */
  at: number;
}

let majorGc: AfterGc | undefined;

/**
 * Samples memory right after each major GC, once per process (agents in one test process
 * share it). A sample taken at a random moment carries up to a young generation's worth
 * of garbage; just after a mark-compact it is close to the live data, which is what a
 * leak shows in. The observer's callback runs shortly after the collection, so little is
 * allocated in between.
 */
function watchMajorGc(): AfterGc {
  if (majorGc) return majorGc;
  const state: AfterGc = { heapUsed: 0, external: 0, arrayBuffers: 0, at: 0 };
  majorGc = state;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      const m = process.memoryUsage();
      state.heapUsed = m.heapUsed;
      state.external = m.external;
      state.arrayBuffers = m.arrayBuffers;
      state.at = Date.now();
      break;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return state;
}
