import t from 'tap';
import { parseTraffic } from '../../../simulations/real/prom-text.js';

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
  t.same(parseTraffic('clusterd_frame_bytes_total{direction="out"} NaN\nclusterd_transport_total{counter="packetsOut"} 7\n'), { packetsOut: 7, datagramBytesOut: 0, streamBytesOut: 0, streamsOpened: 0, faultDropped: 0 }, 'a value that is not a number is skipped');
});
