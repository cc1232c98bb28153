import t from 'tap';
import { EXIT, runCli } from '../../lib/cli/cli.js';
import { call, startTestAgent, waitFor } from './fixtures.js';

interface Broker { name: string; load: Record<string, number> }

t.test('agents advertise their load; every node lists brokers least loaded first', async (t) => {
  const a = await startTestAgent({ name: 'broker-a', roles: ['broker'], loadIntervalMs: 100 });
  t.teardown(a.stop);
  const b = await startTestAgent({ name: 'broker-b', roles: ['broker'], loadIntervalMs: 100, join: [a.agent.node.transport.advertiseAddress] });
  t.teardown(b.stop);
  await waitFor('both ready and joined', async () => a.agent.node.ready && b.agent.node.ready && (await call(`${b.url}/v1/brokers`)).body.brokers instanceof Array && ((await call(`${b.url}/v1/brokers`)).body.brokers as Broker[]).length === 2);

  for (const id of ['c1', 'c2', 'c3']) t.equal((await call(`${a.url}/v1/channels/room/presence/${id}`, 'PUT', { user: id })).status, 200);
  // b's own client: presence is replicated, but only a's three count on a
  t.equal((await call(`${b.url}/v1/channels/room/presence/d1`, 'PUT', { user: 'd1' })).status, 200);
  for (let i = 0; i < 5; i++) await call(`${a.url}/v1/channels/room/messages`, 'POST', { data: i });
  const brokersOnB = async (): Promise<Broker[]> => (await call(`${b.url}/v1/brokers`)).body.brokers as Broker[];
  await waitFor('a\'s load seen on b', async () => (await brokersOnB()).find((x) => x.name === 'broker-a')?.load.clients === 3);
  const list = await brokersOnB();
  t.same(list.map((x) => x.name), ['broker-b', 'broker-a'], 'least loaded (clients) first');
  t.match(list[1]!.load, { clients: 3, streams: 0 });
  t.equal(list[0]!.load.clients, 1);
  t.equal(a.agent.load.auto().clients, 3);

  // an open event stream counts
  const ac = new AbortController();
  const stream = await fetch(`${a.url}/v1/events`, { signal: ac.signal });
  await waitFor('streams seen on b', async () => (await brokersOnB()).find((x) => x.name === 'broker-a')?.load.streams === 1);
  ac.abort();
  await stream.body?.cancel().catch(() => {});

  // leaving drops the count everywhere
  t.equal((await call(`${a.url}/v1/channels/room/presence/c1`, 'DELETE')).status, 200);
  t.equal((await call(`${a.url}/v1/channels/room/presence/c2`, 'DELETE')).status, 200);
  await waitFor('clients 1 on b', async () => (await brokersOnB()).find((x) => x.name === 'broker-a')?.load.clients === 1);
  // ties on clients: by name
  t.same((await brokersOnB()).map((x) => x.name), ['broker-a', 'broker-b']);
  let out = '';
  const code = await runCli('brokers', ['--http', b.agent.httpAddress!, '--sort-by', 'clients'], { out: (x) => (out += x), err: () => {}, env: {} });
  t.equal(code, EXIT.ok);
  t.match(out, /^NAME\s+ADDRESS\s+ENDPOINTS\s+LOAD\nbroker-a\s.*clients=1,streams=0,publishRate=[\d.]+\nbroker-b\s.*clients=1/);
});

t.test('the publish rate is measured per interval and updates stop when nothing changes', async (t) => {
  const a = await startTestAgent({ roles: ['broker'], loadIntervalMs: 200 });
  t.teardown(a.stop);
  await waitFor('ready', () => a.agent.node.ready);
  const inc0 = a.agent.node.membership.incarnation;
  await new Promise((r) => setTimeout(r, 500));
  t.equal(a.agent.load.updates, 0, 'the zero load is advertised from the start: no update for it');
  t.equal(a.agent.node.membership.incarnation, inc0);
  t.same(a.agent.node.membership.member(a.agent.node.name)?.meta.load, { clients: 0, streams: 0, publishRate: 0 });
  for (let i = 0; i < 20; i++) await call(`${a.url}/v1/channels/rate/messages`, 'POST', { data: i });
  await waitFor('rate advertised', () => (a.agent.node.membership.member(a.agent.node.name)?.meta.load.publishRate ?? 0) > 0);
  await waitFor('rate back to 0', () => a.agent.node.membership.member(a.agent.node.name)?.meta.load.publishRate === 0);
  const inc = a.agent.node.membership.incarnation;
  const updates = a.agent.load.updates;
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(a.agent.load.updates, updates, 'no update without a change');
  t.equal(a.agent.node.membership.incarnation, inc, 'no incarnation spent without a change');
});

t.test('custom load figures: set, overlay, clear, validated, bounded by the metadata limit', async (t) => {
  const big = 'x'.repeat(1000);
  const a = await startTestAgent({ roles: ['broker'], loadIntervalMs: 100, token: 'load-token', authReads: false, tags: { a: big, b: big, c: big } });
  t.teardown(a.stop);
  const auth = { authorization: 'Bearer load-token' };
  await waitFor('ready', () => a.agent.node.ready);

  t.equal((await call(`${a.url}/v1/self/load`, 'PUT', { load: { cpu: 0.5 } })).status, 401, 'writes need the token');
  const set = await call(`${a.url}/v1/self/load`, 'PUT', { load: { cpu: 0.5, clients: 42 } }, auth);
  t.equal(set.status, 200);
  t.match(set.body, { custom: { cpu: 0.5, clients: 42 }, next: { cpu: 0.5, clients: 42, streams: 0 }, auto: { clients: 0 } });
  await waitFor('advertised', async () => ((await call(`${a.url}/v1/self/load`)).body.advertised as Record<string, number>).clients === 42);
  t.match((await call(`${a.url}/v1/brokers`)).body, { brokers: [{ load: { cpu: 0.5, clients: 42, streams: 0, publishRate: 0 } }] });

  const bad = await call(`${a.url}/v1/self/load`, 'PUT', { load: { 'bad key': 1 } }, auth);
  t.equal(bad.status, 400);
  t.match(bad.body, { error: { code: 'E_INVALID_ARGUMENT', message: /load key "bad key"/ } });
  t.match((await call(`${a.url}/v1/self/load`, 'PUT', { load: { cpu: 'high' } }, auth)).body, { error: { code: 'E_INVALID_ARGUMENT', message: /finite numbers/ } });
  t.match((await call(`${a.url}/v1/self/load`, 'PUT', { load: 1, extra: 2 }, auth)).body, { error: { code: 'E_UNKNOWN_FIELD' } });
  const many = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`figure-${String(i).padStart(2, '0')}-${'k'.repeat(50)}`, i]));
  const tooBig = await call(`${a.url}/v1/self/load`, 'PUT', { load: many }, auth);
  t.equal(tooBig.status, 413);
  t.match(tooBig.body, { error: { code: 'E_LIMIT', message: /metadata is \d+ bytes encoded; the limit is/ } });
  t.match((await call(`${a.url}/v1/self/load`)).body, { custom: { cpu: 0.5, clients: 42 } }, 'a refused PUT changes nothing');

  const cleared = await call(`${a.url}/v1/self/load`, 'DELETE', undefined, auth);
  t.same(cleared.body.custom, {});
  await waitFor('back to measured', async () => ((await call(`${a.url}/v1/self/load`)).body.advertised as Record<string, number>).clients === 0);
  t.notOk('cpu' in ((await call(`${a.url}/v1/self/load`)).body.advertised as object));
});

t.test('--auto-load false advertises custom figures only', async (t) => {
  const a = await startTestAgent({ roles: ['broker'], loadIntervalMs: 100, autoLoad: false });
  t.teardown(a.stop);
  await waitFor('ready', () => a.agent.node.ready);
  await call(`${a.url}/v1/channels/x/presence/c`, 'PUT', { user: 'u' });
  await new Promise((r) => setTimeout(r, 300));
  t.same(a.agent.node.membership.member(a.agent.node.name)?.meta.load, {});
  await call(`${a.url}/v1/self/load`, 'PUT', { load: { rooms: 3 } });
  await waitFor('custom advertised', () => a.agent.node.membership.member(a.agent.node.name)?.meta.load.rooms === 3);
  t.same(a.agent.node.membership.member(a.agent.node.name)?.meta.load, { rooms: 3 });
});
