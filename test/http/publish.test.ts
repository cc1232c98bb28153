import t from 'tap';
import { call, startTestAgent } from '../daemon/fixtures.js';

t.test('batch publish: per-message results, atomic per message, the codes of single publish', async (t) => {
  const { url, stop } = await startTestAgent();
  t.teardown(stop);
  const big = 'x'.repeat(70 * 1024);
  const bad: [Record<string, unknown>, number, string][] = [
    [{ channel: 'bad name', data: 1 }, 400, 'E_BAD_CHANNEL'],
    [{ channel: 'a', headers: {} }, 400, 'E_MISSING_FIELD'],
    [{ channel: 'a', data: 1, colour: 'red' }, 400, 'E_UNKNOWN_FIELD'],
    [{ channel: 'a', data: 1, headers: { h: 1 } }, 400, 'E_INVALID_ARGUMENT'],
    [{ channel: 'a', data: 1, idempotencyKey: '' }, 400, 'E_INVALID_ARGUMENT'],
    [{ channel: 'a', data: big }, 413, 'E_LIMIT'],
  ];
  const messages = [
    { channel: 'a', data: { n: 1 } },
    ...bad.map(([m]) => m),
    { channel: 'b', data: { n: 2 }, headers: { kind: 'x' }, idempotencyKey: 'k1' },
    { channel: 'b', data: { n: 3 }, idempotencyKey: 'k1' },
    { channel: 'a', data: { n: 4 } },
    { data: 5 },
    'not an object',
  ];
  const r = await call(`${url}/v1/messages`, 'POST', { messages });
  t.equal(r.status, 200);
  const results = r.body.results as Record<string, unknown>[];
  t.equal(results.length, messages.length, 'one result per message, in order');
  t.match(results[0], { status: 201, id: String, cursor: String, duplicate: false });
  for (const [i, [m, status, code]] of bad.entries()) {
    t.match(results[i + 1], { status, error: { code } }, `messages[${i + 1}] → ${status} ${code}`);
    // single publish answers the same for the same message
    const { channel, ...rest } = m;
    const single = await call(`${url}/v1/channels/${encodeURIComponent(String(channel))}/messages`, 'POST', rest);
    t.equal(single.status, status, `single publish → ${status}`);
    t.equal((single.body.error as { code: string }).code, code, `single publish → ${code}`);
  }
  const n = bad.length + 1;
  t.match(results[n], { status: 201, duplicate: false }, 'first with the idempotency key');
  t.match(results[n + 1], { status: 200, duplicate: true, id: (results[n] as { id: string }).id }, 'same key again: a duplicate of the first');
  t.match(results[n + 2], { status: 201 });
  t.match(results[n + 3], { status: 400, error: { code: 'E_MISSING_FIELD', message: /"channel"/ } });
  t.match(results[n + 4], { status: 400, error: { code: 'E_INVALID_ARGUMENT', message: /messages\[11\] must be an object/ } });
  t.match(r.body, { published: 4, failed: 8 });
  // what was refused changed nothing; what was accepted is in history, in order
  const a = await call(`${url}/v1/channels/a/messages`);
  t.same((a.body.messages as { data: unknown }[]).map((m) => m.data), [{ n: 1 }, { n: 4 }]);
  const b = await call(`${url}/v1/channels/b/messages`);
  t.match(b.body.messages, [{ data: { n: 2 }, headers: { kind: 'x' } }]);
  t.equal((b.body.messages as unknown[]).length, 1);
});

t.test('batch publish: a body that is not a list of messages is refused whole', async (t) => {
  const { url, stop } = await startTestAgent();
  t.teardown(stop);
  const cases: [unknown, string, RegExp][] = [
    [{}, 'E_MISSING_FIELD', /"messages"/],
    [{ messages: [], extra: 1 }, 'E_UNKNOWN_FIELD', /"extra"/],
    [{ messages: {} }, 'E_INVALID_ARGUMENT', /array of 1–1000/],
    [{ messages: [] }, 'E_INVALID_ARGUMENT', /array of 1–1000/],
    [{ messages: Array.from({ length: 1001 }, () => ({ channel: 'a', data: 1 })) }, 'E_INVALID_ARGUMENT', /array of 1–1000/],
  ];
  for (const [body, code, message] of cases) {
    const r = await call(`${url}/v1/messages`, 'POST', body);
    t.equal(r.status, 400);
    t.match(r.body, { error: { code, message } });
  }
  t.same((await call(`${url}/v1/channels`)).body, { channels: [] }, 'nothing was published');
  const ok = await call(`${url}/v1/messages`, 'POST', { messages: Array.from({ length: 1000 }, (_, i) => ({ channel: `c${i % 3}`, data: i })) });
  t.match(ok.body, { published: 1000, failed: 0 });
});
