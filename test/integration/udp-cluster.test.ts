import t from 'tap';
import { ClusterNode } from '../../lib/node.js';
import { NetTransport } from '../../lib/transport/net.js';
import { FAST_SWIM as fast, waitFor } from './fixtures.js';

async function startNode(i: number): Promise<ClusterNode> {
  const transport = await NetTransport.listen({ bind: `127.0.0.${i}:0` });
  const node = new ClusterNode({ name: `node-${i}`, transport, swim: fast, meta: i === 2 ? { roles: ['broker'], endpoints: { ws: 'ws://127.0.0.2:8080' }, load: { clients: 3 } } : {} });
  node.start();
  return node;
}

t.test('five nodes on 127.0.0.x: join, broker list, crash detection, graceful leave', async (t) => {
  const nodes: ClusterNode[] = [];
  for (let i = 1; i <= 5; i++) nodes.push(await startNode(i));
  t.teardown(async () => {
    for (const n of nodes) await n.close();
  });
  const seed = nodes[0]!.transport.advertiseAddress;
  for (const n of nodes.slice(1)) t.equal(await n.join([seed]), 1, `${n.name} joined through the seed`);
  const alive = (n: ClusterNode): number => n.members().filter((m) => m.state === 'alive').length;
  await waitFor('all five alive everywhere', () => nodes.every((n) => alive(n) === 5));
  t.pass('converged');

  const brokers = nodes[4]!.brokers();
  t.same(brokers.map((b) => [b.name, b.endpoints.ws, b.load.clients]), [['node-2', 'ws://127.0.0.2:8080', 3]], 'broker list seen from another node');

  // crash: close without leaving
  const victim = nodes[3]!;
  await victim.close();
  const others = nodes.filter((n) => n !== victim);
  await waitFor('node-4 dead everywhere', () => others.every((n) => n.members().find((m) => m.name === 'node-4')?.state === 'dead'));
  t.pass('crash detected and confirmed dead');

  // graceful leave
  const leaver = nodes[4]!;
  let deadEvents = 0;
  for (const n of others) n.membership.on('member-dead', (m) => m.name === 'node-5' && deadEvents++);
  await leaver.leave();
  const rest = others.filter((n) => n !== leaver);
  await waitFor('node-5 left everywhere', () => rest.every((n) => n.members().find((m) => m.name === 'node-5')?.state === 'left'));
  t.equal(deadEvents, 0, 'a node that left is not reported dead');

  for (const n of rest) t.equal(Object.values(n.stats().rejected).reduce((a, b) => a + b, 0), 0, `${n.name}: no frame rejected`);
  t.ok(rest[0]!.stats().framesIn > 10, 'frames flowed');
});
