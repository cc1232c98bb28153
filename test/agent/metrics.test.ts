import t from 'tap';
import { readFileSync } from 'node:fs';
import { call, startTestAgent, waitFor } from './fixtures.js';

const value = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
};

t.test('the metrics families are the documented ones, with traffic by class and memory', async (t) => {
  const a = await startTestAgent({ name: 'm-a' });
  t.teardown(a.stop);
  const b = await startTestAgent({ name: 'm-b', join: [a.agent.node.transport.advertiseAddress] });
  t.teardown(b.stop);
  await waitFor('joined and ready', () => a.agent.node.ready && b.agent.node.ready && a.agent.node.members().filter((m) => m.state === 'alive').length === 2);
  for (let i = 0; i < 5; i++) t.equal((await call(`${a.url}/v1/channels/m/messages`, 'POST', { data: i })).status, 201);
  await waitFor('replicated', async () => ((await call(`${b.url}/v1/channels/m/messages`)).body.messages as unknown[]).length === 5);
  let text = '';
  // probes go out every protocol period: wait for the first ones both ways
  await waitFor('membership traffic', async () => {
    text = (await call(`${a.url}/metrics`)).text;
    return value(text, 'clusterd_class_messages_total{class="membership",direction="out"}') > 0 && value(text, 'clusterd_class_messages_total{class="membership",direction="in"}') > 0;
  });

  const exposed = new Set([...text.matchAll(/^# TYPE (clusterd_\w+) /gm)].map((m) => m[1]!).filter((n) => !n.startsWith('clusterd_process_')));
  const doc = readFileSync(new URL('../../docs/http-api.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Metrics'));
  const documented = new Set([...section.matchAll(/`(clusterd_[a-z_]+)(?:\{[^}]*\})?`/g)].map((m) => m[1]!).filter((n) => n !== 'clusterd_process_'));
  t.same([...exposed].filter((n) => !documented.has(n)).sort(), [], 'every exposed family is documented');
  t.same([...documented].filter((n) => !exposed.has(n)).sort(), [], 'every documented family is exposed');

  t.ok(value(text, 'clusterd_class_messages_total{class="membership",direction="out"}') > 0, 'membership out');
  t.ok(value(text, 'clusterd_class_messages_total{class="membership",direction="in"}') > 0, 'membership in');
  t.ok(value(text, 'clusterd_class_messages_total{class="replication",direction="out"}') > 0, 'replication deltas out');
  t.ok(value(text, 'clusterd_class_bytes_total{class="replication",direction="out"}') > 0);
  t.ok(value(text, 'clusterd_class_frames_total{class="membership",direction="out"}') > 0);
  const mem = process.memoryUsage();
  t.ok(value(text, 'clusterd_memory_bytes{kind="heap_used"}') > 1e6 && value(text, 'clusterd_memory_bytes{kind="rss"}') <= mem.rss * 2);
  t.ok(value(text, 'clusterd_memory_bytes{kind="array_buffers"}') >= 0);
  t.ok(value(text, 'clusterd_event_buffer{unit="events"}') >= 5, 'the published messages are held for resuming streams');
  t.ok(value(text, 'clusterd_event_buffer{unit="bytes"}') > 0);
});
