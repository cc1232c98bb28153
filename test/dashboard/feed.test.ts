import t from 'tap';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClient, ApiError, UnreachableError } from '../../lib/client/api-client.js';
import { Feed } from '../../lib/dashboard/feed.js';
import { DashState } from '../../lib/dashboard/state.js';
import { member } from './fixtures.js';

/** A fake agent: routes answer from `routes`; the event stream is scripted per connection. */
async function fakeAgent(routes: Record<string, (res: ServerResponse) => void>, stream: (res: ServerResponse, cursor: string | null, n: number) => void): Promise<{ server: Server; http: string; cursors: (string | null)[] }> {
  const cursors: (string | null)[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/v1/events') {
      cursors.push(url.searchParams.get('cursor'));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': connected\n\n');
      stream(res, url.searchParams.get('cursor'), cursors.length);
      return;
    }
    const route = routes[url.pathname];
    if (route) return route(res);
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'E_NOT_FOUND', message: 'no route' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, http: `127.0.0.1:${(server.address() as AddressInfo).port}`, cursors };
}

const json = (body: unknown, status = 200) => (res: ServerResponse): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const waitFor = async (what: string, cond: () => boolean, ms = 5000): Promise<void> => {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

t.test('client: JSON, text, typed errors', async (t) => {
  const { server, http } = await fakeAgent({
    '/ok': json({ a: 1 }),
    '/bad': json({ error: { code: 'E_NOT_READY', message: 'replication is not available' } }, 503),
    '/text': (res) => res.end('not json'),
  }, (res) => res.end());
  t.teardown(() => server.close());
  const c = new ApiClient({ http, timeoutMs: 5000 });
  t.same(await c.getJson('/ok'), { a: 1 });
  t.equal(await c.getText('/text'), 'not json');
  await t.rejects(c.getJson('/bad'), new ApiError(503, 'E_NOT_READY', 'replication is not available'));
  await t.rejects(c.getJson('/text'), { code: 'E_BAD_RESPONSE' });
  const down = new ApiClient({ http: '127.0.0.1:1', timeoutMs: 500 });
  await t.rejects(down.getJson('/v1/self'), UnreachableError);
});

t.test('feed: stream resumes from its cursor; 503 routes show as unavailable / n/a', async (t) => {
  const { server, http, cursors } = await fakeAgent({
    '/v1/self': json({ name: 'fake', pid: 42, healthScore: 0 }),
    '/metrics': (res) => res.end('clusterd_frames_total{direction="in"} 10\nclusterd_frame_bytes_total{direction="in"} 100\n'),
    '/v1/sync': json({ error: { code: 'E_NOT_READY', message: 'replication is not available' } }, 503),
    '/v1/members': json({ members: [member('fake'), member('other')] }),
    '/v1/brokers': json({ brokers: [] }),
    '/v1/channels': json({ error: { code: 'E_NOT_READY', message: 'replication is not available' } }, 503),
  }, (res, cursor, n) => {
    if (n === 1) {
      // one event, then the connection drops
      res.end(`id: boot-1\nevent: member-suspect\ndata: ${JSON.stringify(member('other', { state: 'suspect' }))}\n\n`);
    } else if (cursor === 'boot-1') {
      res.write(`id: boot-2\nevent: member-dead\ndata: ${JSON.stringify(member('other', { state: 'dead' }))}\n\n`);
    }
  });
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const state = new DashState(http);
  const feed = new Feed(new ApiClient({ http, timeoutMs: 5000 }), state, { sampleMs: 100, listMs: 60_000 });
  t.teardown(() => feed.stop());
  feed.start();
  await waitFor('the death after the reconnect', () => state.log.some((e) => e.kind === 'dead'));
  t.same(cursors.slice(0, 2), [null, 'boot-1'], 'the reconnect asked to resume after the last event');
  t.same(state.log.filter((e) => e.kind === 'suspect' || e.kind === 'dead').map((e) => e.kind), ['suspect', 'dead']);
  await waitFor('lists and sync', () => state.channels !== undefined && state.sync !== undefined && state.memberCount === 2);
  t.equal(state.channels, 'unavailable', 'channel routes answering 503: replication not available');
  t.equal(state.sync, 'n/a', '/v1/sync answering 503: n/a');
  t.equal(state.self?.name, 'fake');
  await waitFor('live', () => state.connection.status === 'live');
  t.pass('the connection is live again after the drop');
});

t.test('feed: an unreachable agent and a missing token become state, not exceptions', async (t) => {
  const down = new DashState('127.0.0.1:1');
  const f1 = new Feed(new ApiClient({ http: '127.0.0.1:1', timeoutMs: 500 }), down, { sampleMs: 100 });
  f1.start();
  await waitFor('unreachable', () => down.connection.status === 'unreachable');
  f1.stop();
  t.match(down.connection, { status: 'unreachable', reason: /cannot reach the agent at http:\/\/127\.0\.0\.1:1/ });
  t.ok(down.log.some((e) => e.kind === 'error' && /unreachable/.test(e.text)), 'said in the event log too');

  const unauthorized = json({ error: { code: 'E_UNAUTHORIZED', message: 'this read needs "Authorization: Bearer <token>"' } }, 401);
  const { server, http } = await fakeAgent({ '/v1/self': unauthorized, '/metrics': unauthorized, '/v1/sync': unauthorized }, (res) => res.end());
  t.teardown(() => server.close());
  const s = new DashState(http);
  const f2 = new Feed(new ApiClient({ http, timeoutMs: 5000 }), s, { sampleMs: 100 });
  f2.start();
  await waitFor('auth problem', () => s.authProblem !== undefined);
  f2.stop();
  t.match(s.authProblem, /pass --token/);
});
