import t from 'tap';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

t.test('heap used after the last major GC: live data, not the garbage between collections', async (t) => {
  const a = await startTestAgent();
  t.teardown(a.stop);
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  // the observer's callback runs after the collection, asynchronously
  await new Promise((r) => setTimeout(r, 50));
  const before = (await call(`${a.url}/metrics`)).text;
  const live = value(before, 'clusterd_memory_bytes{kind="heap_used_after_gc"}');
  t.ok(live > 1e6, `${live} bytes live`);
  t.ok(value(before, 'clusterd_memory_bytes{kind="external_after_gc"}') > 0);
  // ~40 MiB of short strings held: live at the next major GC, gone at the one after their release
  const hold: string[] = [];
  for (let i = 0; i < 400_000; i++) hold.push(`garbage-${i}-${'x'.repeat(80)}`);
  gc();
  await new Promise((r) => setTimeout(r, 50));
  const held = value((await call(`${a.url}/metrics`)).text, 'clusterd_memory_bytes{kind="heap_used_after_gc"}');
  t.ok(held > live + 30 * 1024 * 1024, `held: ${held} > ${live} + 30 MiB`);
  t.equal(hold.length, 400_000);
  hold.length = 0;
  gc();
  await new Promise((r) => setTimeout(r, 50));
  const released = value((await call(`${a.url}/metrics`)).text, 'clusterd_memory_bytes{kind="heap_used_after_gc"}');
  t.ok(released < live + 10 * 1024 * 1024, `released: ${released} back near ${live}`);
});

t.test('array buffers after the last major GC: the part of external memory that Buffers and typed arrays hold', async (t) => {
  const a = await startTestAgent();
  t.teardown(a.stop);
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const read = async (): Promise<{ ab: number; external: number }> => {
    gc();
    await new Promise((r) => setTimeout(r, 50));
    const text = (await call(`${a.url}/metrics`)).text;
    return { ab: value(text, 'clusterd_memory_bytes{kind="array_buffers_after_gc"}'), external: value(text, 'clusterd_memory_bytes{kind="external_after_gc"}') };
  };
  const before = await read();
  // 32 MiB of live Buffers: counted in both figures at the next major GC (the margin is
  // for dead buffers the background sweeper had not yet released at the first reading)
  const hold = Array.from({ length: 32 }, () => Buffer.alloc(1024 * 1024, 1));
  const held = await read();
  t.ok(held.ab >= before.ab + 24 * 1024 * 1024, `array buffers: ${held.ab} >= ${before.ab} + 24 MiB`);
  t.ok(held.external >= before.external + 24 * 1024 * 1024, `external: ${held.external} >= ${before.external} + 24 MiB`);
  t.equal(hold.length, 32);
});
