import t from 'tap';
import { agentCounters, parsePrometheus, sumOf } from '../../lib/client/prometheus.js';

const TEXT = `# HELP clusterd_frames_total Frames received and sent
# TYPE clusterd_frames_total counter
clusterd_frames_total{direction="in"} 120
clusterd_frames_total{direction="out"} 80
clusterd_frame_bytes_total{direction="in"} 4096
clusterd_frame_bytes_total{direction="out"} 1024
clusterd_members{state="alive"} 3
clusterd_sync_sessions_total{kind="merkle"} 2
clusterd_sync_sessions_total{kind="bulk"} 1
weird_label{a="x\\"y",b="1"} 7
not a metric line
clusterd_health_score 0
`;

t.test('parses samples with labels, skips comments and junk', async (t) => {
  const s = parsePrometheus(TEXT);
  t.equal(s.length, 9);
  t.same(s[0], { name: 'clusterd_frames_total', labels: { direction: 'in' }, value: 120 });
  t.same(s.find((x) => x.name === 'weird_label')?.labels, { a: 'x"y', b: '1' });
  t.equal(sumOf(s, 'clusterd_frames_total'), 200);
  t.equal(sumOf(s, 'clusterd_frames_total', { direction: 'out' }), 80);
  t.equal(sumOf(s, 'absent'), undefined);
});

t.test('agent counters: absent mirrored counters are zero, absent replication is unknown', async (t) => {
  t.same(agentCounters(parsePrometheus(TEXT)), { frames: 200, bytes: 5120, protocolMessages: 0, syncSessions: 3 });
  t.same(agentCounters(parsePrometheus('clusterd_health_score 0\n')), { frames: 0, bytes: 0, protocolMessages: 0, syncSessions: undefined });
});
