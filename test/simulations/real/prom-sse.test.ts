import t from 'tap';
import { parseSamples, parseTraffic } from '../../../simulations/real/prom-text.js';
import { SseParser } from '../../../simulations/real/sse.js';

const METRICS = `# HELP clusterd_transport_total Socket-level transport counters
# TYPE clusterd_transport_total counter
clusterd_transport_total{counter="packetsOut"} 120
clusterd_transport_total{counter="bytesOut"} 9000
clusterd_transport_total{counter="streamsOpened"} 3
clusterd_frame_bytes_total{direction="in"} 7000
clusterd_frame_bytes_total{direction="out"} 6500
clusterd_fault_injection_total{action="dropped"} 42
clusterd_health_score 0
garbage line {
clusterd_weird{x="y"} NaN
`;

t.test('the traffic counters of /metrics', async (t) => {
  t.same(parseTraffic(METRICS), { packetsOut: 120, datagramBytesOut: 6500, streamBytesOut: 2500, streamsOpened: 3, faultDropped: 42 });
  t.same(parseTraffic(''), { packetsOut: 0, datagramBytesOut: 0, streamBytesOut: 0, streamsOpened: 0, faultDropped: 0 }, 'absent counters are 0');
  const s = parseSamples(METRICS);
  t.equal(s.get('clusterd_health_score'), 0);
  t.notOk(s.has('clusterd_weird{x="y"}'), 'a value that is not a number is skipped');
});

t.test('SSE: events across chunks, comments and retry skipped', async (t) => {
  const p = new SseParser();
  t.same(p.push('retry: 2000\n: connected, cursor ab-0\n\nid: ab-1\nevent: member-join\nda'), []);
  t.same(p.push('ta: {"name":"n1"}\n\n: heartbeat\n\nevent: reset\r\ndata: {"reason":"cursor-expired"}\r\n\r\n'), [
    { id: 'ab-1', event: 'member-join', data: '{"name":"n1"}' },
    { id: undefined, event: 'reset', data: '{"reason":"cursor-expired"}' },
  ]);
  t.same(p.push('data: a\ndata: b\n\n'), [{ id: undefined, event: 'message', data: 'a\nb' }], 'multi-line data, default event name');
});

t.test('SSE: an endless line is an error, not unbounded memory', async (t) => {
  const p = new SseParser(100);
  t.throws(() => p.push('data: ' + 'x'.repeat(200)), /longer than 100/);
});
