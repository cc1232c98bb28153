import t from 'tap';
import { AgentApiError, AgentClient } from '../../lib/client/index.js';
import type { ClientItem } from '../../lib/client/index.js';
import { call, startTestAgent, waitFor } from '../daemon/fixtures.js';

const presence = async (url: string, ch: string): Promise<string[]> =>
  ((await call(`${url}/v1/channels/${ch}/presence`)).body.clients as { clientId: string }[]).map((c) => c.clientId).sort();

for (const format of ['json', 'msgpack'] as const) {
  t.test(`${format}: publish acks, presence, history, errors as AgentApiError`, async (t) => {
    const { url, stop } = await startTestAgent();
    t.teardown(stop);
    const c = await AgentClient.connect(url, { format });
    t.teardown(() => c.close());
    // many in flight: each promise gets its own ack
    const acks = await Promise.all([1, 2, 3, 4, 5].map((i) => c.publish('chat', { i }, i === 5 ? { headers: { h: 'v' } } : {})));
    t.same(acks.map((a) => a.duplicate), [false, false, false, false, false]);
    t.equal(new Set(acks.map((a) => a.id)).size, 5);
    const page = await c.history('chat', { after: acks[2]!.cursor });
    t.same(page.messages.map((m) => m.data), [{ i: 4 }, { i: 5 }]);
    t.same(page.messages[1]!.headers, { h: 'v' });
    await c.join('room', 'c1', 'ann', { a: 1 });
    await c.update('room', 'c1', { a: 2 });
    t.same(await presence(url, 'room'), ['c1']);
    await c.leave('room', 'c1');
    t.same(await presence(url, 'room'), []);
    const err = await c.subscribe('chat', () => {}, { cursor: 'bogus' }).catch((e: unknown) => e);
    t.ok(err instanceof AgentApiError);
    t.match(err, { status: 400, code: 'E_BAD_CURSOR' });
    await t.rejects(c.leave('room', 'nobody'), { code: 'E_NOT_FOUND', status: 404 });
    t.match(await c.publish('chat', 'still works'), { duplicate: false }, 'usable after errors');
  });
}

t.test('a subscription resumes on another agent after its agent goes away: every message once; presence joined again', async (t) => {
  const a = await startTestAgent();
  const b = await startTestAgent({ join: [a.agent.node.transport.advertiseAddress] });
  t.teardown(b.stop);
  const states: string[] = [];
  const c = await AgentClient.connect([a.url, b.url], { reconnectMinMs: 50, reconnectMaxMs: 200, onState: (s, url) => states.push(`${s} ${url}`) });
  t.teardown(() => c.close());
  const items: ClientItem[] = [];
  const sub = await c.subscribe('feed', (item) => items.push(item));
  await c.join('room', 'c1', 'ann');
  await waitFor('presence on B', async () => (await presence(b.url, 'room')).join() === 'c1');
  for (let i = 0; i < 5; i++) await c.publish('feed', i);
  await waitFor('five items', () => items.length === 5, 5000);
  await waitFor('B holds the five', async () => ((await call(`${b.url}/v1/channels/feed/messages`)).body.messages as unknown[]).length === 5);
  await a.stop();
  // published on B while the client is away
  for (let i = 5; i < 10; i++) t.equal((await call(`${b.url}/v1/channels/feed/messages`, 'POST', { data: i })).status, 201);
  await waitFor('the ten, after the reconnection to B', () => items.length >= 10, 10_000);
  t.ok(states.includes(`connected ${b.url}`), 'reconnected to the other agent');
  await c.publish('feed', 10);
  await waitFor('the live one', () => items.length >= 11, 5000);
  await new Promise((r) => setTimeout(r, 200));
  t.same(items.map((x) => (x.type === 'message' ? x.message.data : 'gap')), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'each message once, in order');
  t.equal(sub.cursor, items[10]!.cursor, 'the subscription\'s cursor is the last item\'s');
  await waitFor('presence joined again, on B', async () => (await presence(b.url, 'room')).join() === 'c1');
  await sub.close();
  await c.publish('feed', 11);
  await new Promise((r) => setTimeout(r, 200));
  t.equal(items.length, 11, 'nothing after close');
});

t.test('no agent answers: E_UNREACHABLE naming the URLs', async (t) => {
  await t.rejects(AgentClient.connect(['http://127.0.0.1:1']), { code: 'E_UNREACHABLE', message: /127\.0\.0\.1:1/ });
});
