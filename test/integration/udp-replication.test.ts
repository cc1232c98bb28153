import t from 'tap';
import { ClusterNode } from '../../lib/node.js';
import { NetTransport } from '../../lib/transport/net.js';
import { FAST_SWIM as fast, waitFor } from './fixtures.js';

async function startNode(i: number): Promise<ClusterNode> {
  const transport = await NetTransport.listen({ bind: `127.0.0.${i}:0` });
  const node = new ClusterNode({ name: `repl-${i}`, transport, swim: fast, replica: { history: { defaultMaxEntries: 20_000 } } });
  node.start();
  return node;
}

t.test('three nodes on 127.0.0.x replicate presence and history; a late joiner streams the state in; a crash purges presence', async (t) => {
  const nodes: ClusterNode[] = [];
  for (let i = 1; i <= 3; i++) nodes.push(await startNode(i));
  t.teardown(async () => {
    for (const n of nodes) await n.close();
  });
  await nodes[0]!.join([]);
  const seed = nodes[0]!.transport.advertiseAddress;
  for (const n of nodes.slice(1)) await n.join([seed]);
  await waitFor('everyone ready', () => nodes.every((n) => n.ready && n.members().filter((m) => m.state === 'alive').length === 3));

  nodes[1]!.channels.join('lobby', 'c1', 'ann', { device: 'phone' });
  const started = Date.now();
  await waitFor('presence everywhere', () => nodes.every((n) => n.channels.presence('lobby').counts.clients === 1));
  t.ok(Date.now() - started < 1000, `presence visible everywhere in ${Date.now() - started} ms`);

  // 5,000 publishes from all three: small batches on datagrams, big ones on the delta streams
  for (let i = 0; i < 5000; i++) nodes[i % 3]!.channels.publish('feed', { i });
  await waitFor('history everywhere', () => nodes.every((n) => n.channels.history('feed', { limit: 10_000 }).messages.length === 5000));
  const ids = nodes.map((n) => n.channels.history('feed', { limit: 10_000 }).messages.map((m) => m.id).join());
  t.equal(new Set(ids).size, 1, 'same order everywhere');

  const late = await startNode(4);
  nodes.push(late);
  await late.join([seed]);
  await waitFor('late joiner ready', () => late.ready);
  t.equal(late.channels.history('feed', { limit: 10_000 }).messages.length, 5000, 'the joiner streamed the history in');
  t.equal(late.channels.presence('lobby').counts.clients, 1, 'and the presence');

  await nodes[1]!.close();
  const others = nodes.filter((n) => n !== nodes[1]);
  await waitFor('crash purges presence', () => others.every((n) => n.channels.presence('lobby').counts.clients === 0));
  t.pass('presence of the crashed node purged everywhere');
  for (const n of others) t.equal(n.stats().replicationRejected, 0, `${n.name}: nothing rejected`);
});
